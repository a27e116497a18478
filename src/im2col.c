#include "im2col.h"

#include <string.h>

void im2col(float *col, const float *image, const ConvShape *s) {
    int k = s->k, oh = s->out_h, ow = s->out_w;
    for (int c = 0; c < s->in_c; c++) {
        const float *plane = image + (size_t)c * s->in_h * s->in_w;
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                float *row = col + ((size_t)(c * k + kh) * k + kw) * oh * ow;
                for (int y = 0; y < oh; y++) {
                    int iy = y * s->stride - s->pad + kh;
                    float *out = row + (size_t)y * ow;
                    if (iy < 0 || iy >= s->in_h) {
                        memset(out, 0, sizeof(float) * ow);
                        continue;
                    }
                    const float *in = plane + (size_t)iy * s->in_w;
                    for (int x = 0; x < ow; x++) {
                        int ix = x * s->stride - s->pad + kw;
                        out[x] = (ix >= 0 && ix < s->in_w) ? in[ix] : 0.0f;
                    }
                }
            }
        }
    }
}

void col2im(float *image, const float *col, const ConvShape *s) {
    int k = s->k, oh = s->out_h, ow = s->out_w;
    memset(image, 0, sizeof(float) * s->in_c * s->in_h * s->in_w);
    for (int c = 0; c < s->in_c; c++) {
        float *plane = image + (size_t)c * s->in_h * s->in_w;
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                const float *row = col + ((size_t)(c * k + kh) * k + kw) * oh * ow;
                for (int y = 0; y < oh; y++) {
                    int iy = y * s->stride - s->pad + kh;
                    if (iy < 0 || iy >= s->in_h) continue;
                    float *out = plane + (size_t)iy * s->in_w;
                    const float *in = row + (size_t)y * ow;
                    for (int x = 0; x < ow; x++) {
                        int ix = x * s->stride - s->pad + kw;
                        if (ix >= 0 && ix < s->in_w) out[ix] += in[x];
                    }
                }
            }
        }
    }
}
