#include "nn/pool.h"

#include <string.h>

/* Four outputs of a row at a time, with masks rather than branches (which
 * would be mispredicted on real activations): a lane takes v when v is
 * larger, or when v is the first NaN; once a lane's max is NaN nothing
 * replaces it. A row's last group repeats its last output. */
enum { LANES = 4 };
typedef float Vec __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t Mask __attribute__((vector_size(LANES * sizeof(int32_t))));

/* With padding (ResNet's 3x3/2 pad 1): the padded cells are -infinity,
 * never taken, so a window's first maximum among its real cells, by the
 * same rule; one output at a time, as such a pool comes once per image. */
static void maxpool_padded(float *y, int32_t *argmax, const float *x, int c, int h, int w, int k,
                           int stride, int pad, int oh, int ow) {
    for (int ch = 0; ch < c; ch++) {
        const float *in = x + (size_t)ch * h * w;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int y0 = i * stride - pad, x0 = j * stride - pad, best = -1;
                float max = 0.0f;
                for (int yy = y0 < 0 ? 0 : y0; yy < y0 + k && yy < h; yy++)
                    for (int xx = x0 < 0 ? 0 : x0; xx < x0 + k && xx < w; xx++) {
                        float v = in[yy * w + xx];
                        if (best < 0 || v > max || (v != v && max == max)) max = v, best = yy * w + xx;
                    }
                y[((size_t)ch * oh + i) * ow + j] = max;
                argmax[((size_t)ch * oh + i) * ow + j] = best;
            }
    }
}

void maxpool_forward(float *y, int32_t *argmax, const float *x, int c, int h, int w, int k,
                     int stride, int pad, int oh, int ow) {
    if (pad > 0) {
        maxpool_padded(y, argmax, x, c, h, w, k, stride, pad, oh, ow);
        return;
    }
    for (int ch = 0; ch < c; ch++) {
        const float *in = x + (size_t)ch * h * w;
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j += LANES) {
                Mask first;
                for (int l = 0; l < LANES; l++)
                    first[l] = i * stride * w + (j + l < ow ? j + l : ow - 1) * stride;
                Vec max;
                for (int l = 0; l < LANES; l++) max[l] = in[first[l]];
                Mask best = first;
                for (int di = 0; di < k; di++) {
                    for (int dj = 0; dj < k; dj++) {
                        int off = di * w + dj;
                        Vec v;
                        for (int l = 0; l < LANES; l++) v[l] = in[first[l] + off];
                        Mask take = (v > max) | ((v != v) & (max == max));
                        max = (Vec)(((Mask)v & take) | ((Mask)max & ~take));
                        best = ((first + off) & take) | (best & ~take);
                    }
                }
                float *out = y + ((size_t)ch * oh + i) * ow;
                int32_t *at = argmax + ((size_t)ch * oh + i) * ow;
                for (int l = 0; l < LANES && j + l < ow; l++) out[j + l] = max[l], at[j + l] = best[l];
            }
        }
    }
}

void maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int c, int h, int w,
                      int oh, int ow) {
    memset(dx, 0, sizeof(float) * c * h * w);
    for (int ch = 0; ch < c; ch++) {
        float *out = dx + (size_t)ch * h * w;
        const float *g = dy + (size_t)ch * oh * ow;
        const int32_t *at = argmax + (size_t)ch * oh * ow;
        for (int p = 0; p < oh * ow; p++) out[at[p]] += g[p];
    }
}

static int window_start(int i, int in, int out) { return (int)((int64_t)i * in / out); }
static int window_end(int i, int in, int out) {
    return (int)(((int64_t)(i + 1) * in + out - 1) / out);
}

void avgpool_adaptive_forward(float *y, const float *x, int c, int h, int w, int oh, int ow) {
    for (int ch = 0; ch < c; ch++) {
        const float *in = x + (size_t)ch * h * w;
        for (int i = 0; i < oh; i++) {
            int h0 = window_start(i, h, oh), h1 = window_end(i, h, oh);
            for (int j = 0; j < ow; j++) {
                int w0 = window_start(j, w, ow), w1 = window_end(j, w, ow);
                float sum = 0.0f;
                for (int a = h0; a < h1; a++)
                    for (int b = w0; b < w1; b++) sum += in[a * w + b];
                // Divided by each extent in turn, as PyTorch's kernel does.
                y[((size_t)ch * oh + i) * ow + j] = sum / (float)(h1 - h0) / (float)(w1 - w0);
            }
        }
    }
}

void avgpool_adaptive_backward(float *dx, const float *dy, int c, int h, int w, int oh, int ow) {
    memset(dx, 0, sizeof(float) * c * h * w);
    for (int ch = 0; ch < c; ch++) {
        float *out = dx + (size_t)ch * h * w;
        for (int i = 0; i < oh; i++) {
            int h0 = window_start(i, h, oh), h1 = window_end(i, h, oh);
            for (int j = 0; j < ow; j++) {
                int w0 = window_start(j, w, ow), w1 = window_end(j, w, ow);
                float g = dy[((size_t)ch * oh + i) * ow + j] / (float)(h1 - h0) / (float)(w1 - w0);
                for (int a = h0; a < h1; a++)
                    for (int b = w0; b < w1; b++) out[a * w + b] += g;
            }
        }
    }
}
