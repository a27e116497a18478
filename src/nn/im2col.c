#include "nn/im2col.h"

#include <string.h>

/* col2im's stride-1 sums, four floats at a time (the compiler cannot prove
 * that image and col do not overlap, so it would not vectorize them). */
typedef float Vec __attribute__((vector_size(4 * sizeof(float))));

/* out[x + off] += in[x] for x in [lo, hi). */
static void add_row(float *out, const float *in, int lo, int hi, int off) {
    int x = lo;
    for (; x + 4 <= hi; x += 4) {
        Vec a, b;
        memcpy(&a, out + x + off, sizeof a);
        memcpy(&b, in + x, sizeof b);
        a += b;
        memcpy(out + x + off, &a, sizeof a);
    }
    for (; x < hi; x++) out[x + off] += in[x];
}

/* The outputs x whose input column x * stride - pad + kw lies inside the
 * image: [*lo, *hi). */
static void valid_range(int kw, int pad, int stride, int in_w, int out_w, int *lo, int *hi) {
    int first = pad - kw, last = in_w - 1 + pad - kw; // x * stride must be in [first, last]
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > out_w) *hi = out_w;
    if (*lo > *hi) *lo = *hi;
}

void im2col(float *col, const float *image, const ConvShape *s, int r0, int r1) {
    int k = s->k, oh = s->out_h, ow = s->out_w, st = s->stride;
    for (int r = r0; r < r1; r++) {
        int c = r / (k * k), kh = r / k % k, kw = r % k, lo, hi;
        valid_range(kw, s->pad, st, s->in_w, ow, &lo, &hi);
        const float *plane = image + (size_t)c * s->in_h * s->in_w;
        float *row = col + (size_t)r * oh * ow;
        for (int y = 0; y < oh; y++) {
            int iy = y * st - s->pad + kh;
            float *out = row + (size_t)y * ow;
            if (iy < 0 || iy >= s->in_h) {
                memset(out, 0, sizeof(float) * ow);
                continue;
            }
            const float *in = plane + (size_t)iy * s->in_w;
            int off = kw - s->pad; // output x reads in[x * st + off]
            memset(out, 0, sizeof(float) * lo);
            if (st == 1 && hi > lo) memcpy(out + lo, in + lo + off, sizeof(float) * (hi - lo));
            else
                for (int x = lo; x < hi; x++) out[x] = in[x * st + off];
            memset(out + hi, 0, sizeof(float) * (ow - hi));
        }
    }
}

void col2im(float *image, const float *col, const ConvShape *s, int c, int y0, int y1) {
    int k = s->k, oh = s->out_h, ow = s->out_w, st = s->stride;
    float *plane = image + (size_t)c * s->in_h * s->in_w;
    memset(plane + (size_t)y0 * s->in_w, 0, sizeof(float) * (y1 - y0) * s->in_w);
    for (int kh = 0; kh < k; kh++) {
        // The output rows y whose input row y * st - pad + kh is in [y0, y1).
        int ylo, yhi;
        valid_range(kh, s->pad + y0, st, y1 - y0, oh, &ylo, &yhi);
        for (int kw = 0; kw < k; kw++) {
            int lo, hi;
            valid_range(kw, s->pad, st, s->in_w, ow, &lo, &hi);
            const float *row = col + ((size_t)(c * k + kh) * k + kw) * oh * ow;
            for (int y = ylo; y < yhi; y++) {
                float *out = plane + (size_t)(y * st - s->pad + kh) * s->in_w;
                const float *in = row + (size_t)y * ow;
                int off = kw - s->pad;
                if (st == 1)
                    add_row(out, in, lo, hi, off);
                else
                    for (int x = lo; x < hi; x++) out[x * st + off] += in[x];
            }
        }
    }
}
