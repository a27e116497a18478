/* Kernels against naive references: convolution (im2col + sgemm) against
 * direct loops, its input gradient against the direct adjoint, pooling
 * (including PyTorch's first-maximum tie rule), ReLU rules, the linear
 * layers, and thread-count independence of the GEMM path. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/pool.h"
#include "nn/relu.h"
#include "util/rng.h"
#include "test.h"

static GemmIsa isa; // GUIDEDBP_ISA, else the fastest

static uint64_t draws;
static float frand(void) { // uniform in [-1, 1), from rng.h's stream 42
    return (float)(2.0 * rng_uniform(42, draws++) - 1.0);
}
static float *randn_buf(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

/* Largest |a-b| relative to the largest |b|. */
static double rel_err(const float *a, const double *b, size_t n) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        err = d > err ? d : err;
        scale = fabs(b[i]) > scale ? fabs(b[i]) : scale;
    }
    return scale > 0 ? err / scale : err;
}

static void conv_naive(double *y, const float *x, const float *w, const float *b,
                       const ConvShape *s) {
    for (int o = 0; o < s->out_c; o++)
        for (int i = 0; i < s->out_h; i++)
            for (int j = 0; j < s->out_w; j++) {
                double acc = b[o];
                for (int c = 0; c < s->in_c; c++)
                    for (int kh = 0; kh < s->k; kh++)
                        for (int kw = 0; kw < s->k; kw++) {
                            int iy = i * s->stride - s->pad + kh, ix = j * s->stride - s->pad + kw;
                            if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
                            acc += (double)w[((o * s->in_c + c) * s->k + kh) * s->k + kw] *
                                   x[(c * s->in_h + iy) * s->in_w + ix];
                        }
                y[(o * s->out_h + i) * s->out_w + j] = acc;
            }
}

/* dx = sum over every tap that read x[c, iy, ix] of w * dy: the adjoint. */
static void conv_backward_naive(double *dx, const float *dy, const float *w, const ConvShape *s) {
    memset(dx, 0, sizeof(double) * s->in_c * s->in_h * s->in_w);
    for (int o = 0; o < s->out_c; o++)
        for (int i = 0; i < s->out_h; i++)
            for (int j = 0; j < s->out_w; j++)
                for (int c = 0; c < s->in_c; c++)
                    for (int kh = 0; kh < s->k; kh++)
                        for (int kw = 0; kw < s->k; kw++) {
                            int iy = i * s->stride - s->pad + kh, ix = j * s->stride - s->pad + kw;
                            if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
                            dx[(c * s->in_h + iy) * s->in_w + ix] +=
                                (double)w[((o * s->in_c + c) * s->k + kh) * s->k + kw] *
                                dy[(o * s->out_h + i) * s->out_w + j];
                        }
}

static const ConvShape conv_cases[] = {
    {.in_c = 3, .in_h = 31, .in_w = 29, .out_c = 5, .k = 11, .stride = 4, .pad = 2}, // AlexNet conv1
    {.in_c = 4, .in_h = 13, .in_w = 17, .out_c = 6, .k = 5, .stride = 1, .pad = 2},
    {.in_c = 7, .in_h = 9, .in_w = 6, .out_c = 3, .k = 3, .stride = 1, .pad = 1},
    {.in_c = 2, .in_h = 10, .in_w = 11, .out_c = 4, .k = 3, .stride = 2, .pad = 0},
    {.in_c = 5, .in_h = 4, .in_w = 5, .out_c = 2, .k = 1, .stride = 1, .pad = 0},
    {.in_c = 2, .in_h = 3, .in_w = 2, .out_c = 3, .k = 5, .stride = 3, .pad = 2}, // kernel > input
    // Wide enough that col2im cuts each channel into bands of rows (conv.c).
    {.in_c = 2, .in_h = 13, .in_w = 400, .out_c = 3, .k = 5, .stride = 2, .pad = 2},
    {.in_c = 1, .in_h = 9, .in_w = 1000, .out_c = 2, .k = 3, .stride = 1, .pad = 1},
};

static void test_conv_forward_matches_direct_loops(void) {
    for (size_t t = 0; t < sizeof conv_cases / sizeof *conv_cases; t++) {
        ConvShape s = conv_cases[t];
        CHECK(conv_shape_init(&s) == 0);
        size_t nx = (size_t)s.in_c * s.in_h * s.in_w, ny = (size_t)s.out_c * s.out_h * s.out_w;
        float *x = randn_buf(nx), *w = randn_buf((size_t)s.out_c * s.in_c * s.k * s.k);
        float *b = randn_buf(s.out_c), *y = malloc(ny * 4), *col = malloc(conv_col_size(&s) * 4);
        double *ref = malloc(ny * 8);
        conv2d_forward(y, x, w, b, &s, col, isa, 1);
        conv_naive(ref, x, w, b, &s);
        double err = rel_err(y, ref, ny);
        CHECK_MSG(err < 1e-6, "case %zu: relative error %.3g", t, err);
        free(x), free(w), free(b), free(y), free(col), free(ref);
    }
}

static void test_conv_backward_matches_adjoint(void) {
    for (size_t t = 0; t < sizeof conv_cases / sizeof *conv_cases; t++) {
        ConvShape s = conv_cases[t];
        CHECK(conv_shape_init(&s) == 0);
        size_t nx = (size_t)s.in_c * s.in_h * s.in_w, ny = (size_t)s.out_c * s.out_h * s.out_w;
        float *dy = randn_buf(ny), *w = randn_buf((size_t)s.out_c * s.in_c * s.k * s.k);
        float *dx = malloc(nx * 4), *col = malloc(conv_col_size(&s) * 4);
        double *ref = malloc(nx * 8);
        conv2d_backward_input(dx, dy, w, &s, col, isa, 1);
        conv_backward_naive(ref, dy, w, &s);
        double err = rel_err(dx, ref, nx);
        CHECK_MSG(err < 1e-6, "case %zu: relative error %.3g", t, err);
        free(dy), free(w), free(dx), free(col), free(ref);
    }
}

static void test_conv_shape_rejects_kernel_larger_than_padded_input(void) {
    ConvShape s = {.in_c = 1, .in_h = 4, .in_w = 4, .out_c = 1, .k = 11, .stride = 4, .pad = 2};
    CHECK(conv_shape_init(&s) != 0);
    ConvShape alex = {.in_c = 3, .in_h = 224, .in_w = 224, .out_c = 64, .k = 11, .stride = 4,
                      .pad = 2};
    CHECK(conv_shape_init(&alex) == 0 && alex.out_h == 55 && alex.out_w == 55);
}

/* AlexNet's first two convolutions at full size, on 1 and 3 threads: the
 * bits must not depend on the thread count. */
static void test_conv_is_bitwise_independent_of_threads(void) {
    ConvShape shapes[2] = {
        {.in_c = 3, .in_h = 224, .in_w = 224, .out_c = 64, .k = 11, .stride = 4, .pad = 2},
        {.in_c = 64, .in_h = 27, .in_w = 27, .out_c = 192, .k = 5, .stride = 1, .pad = 2},
    };
    for (int t = 0; t < 2; t++) {
        ConvShape s = shapes[t];
        conv_shape_init(&s);
        size_t nx = (size_t)s.in_c * s.in_h * s.in_w, ny = (size_t)s.out_c * s.out_h * s.out_w;
        float *x = randn_buf(nx), *w = randn_buf((size_t)s.out_c * s.in_c * s.k * s.k);
        float *b = randn_buf(s.out_c), *col = malloc(conv_col_size(&s) * 4);
        float *y1 = malloc(ny * 4), *y2 = malloc(ny * 4), *d1 = malloc(nx * 4),
              *d2 = malloc(nx * 4);
        conv2d_forward(y1, x, w, b, &s, col, isa, 1);
        conv2d_backward_input(d1, y1, w, &s, col, isa, 1);
        conv2d_forward(y2, x, w, b, &s, col, isa, 3);
        conv2d_backward_input(d2, y2, w, &s, col, isa, 3);
        CHECK_MSG(memcmp(y1, y2, ny * 4) == 0, "conv %d forward differs between 1 and 3 threads",
                  t);
        CHECK_MSG(memcmp(d1, d2, nx * 4) == 0, "conv %d backward differs between 1 and 3 threads",
                  t);
        free(x), free(w), free(b), free(col), free(y1), free(y2), free(d1), free(d2);
    }
}

/* A batch of 5 (more than CONV_GROUP) on 3 threads: every image gets the
 * bits it gets alone on one thread. AlexNet's conv3 shape at full size. */
static void test_conv_batch_gives_each_image_its_own_bits(void) {
    ConvShape s = {.in_c = 192, .in_h = 13, .in_w = 13, .out_c = 384, .k = 3, .stride = 1, .pad = 1};
    conv_shape_init(&s);
    enum { N = 5 };
    size_t nx = (size_t)s.in_c * s.in_h * s.in_w, ny = (size_t)s.out_c * s.out_h * s.out_w;
    size_t ncol = conv_col_size(&s);
    float *x = randn_buf(N * nx), *w = randn_buf((size_t)s.out_c * s.in_c * s.k * s.k);
    float *b = randn_buf(s.out_c), *col = malloc(ncol * CONV_GROUP * 4);
    float *y = malloc(N * ny * 4), *dx = malloc(N * nx * 4), *y1 = malloc(ny * 4), *dx1 = malloc(nx * 4);
    conv2d_forward_batch(y, x, N, w, b, &s, col, isa, 3);
    conv2d_backward_input_batch(dx, y, N, w, &s, col, isa, 3);
    for (int i = 0; i < N; i++) {
        conv2d_forward(y1, x + i * nx, w, b, &s, col, isa, 1);
        conv2d_backward_input(dx1, y + i * ny, w, &s, col, isa, 1);
        CHECK_MSG(memcmp(y1, y + i * ny, ny * 4) == 0, "forward, image %d", i);
        CHECK_MSG(memcmp(dx1, dx + i * nx, nx * 4) == 0, "backward, image %d", i);
    }
    free(x), free(w), free(b), free(col), free(y), free(dx), free(y1), free(dx1);
}

static void test_maxpool_takes_first_maximum_and_routes_gradient_there(void) {
    // One 5x5 plane of equal values: every 3x3/2 window ties everywhere, so
    // each output must pick its window's top-left element.
    float x[25], y[4], dy[4] = {1, 2, 3, 4}, dx[25];
    int32_t at[4];
    for (int i = 0; i < 25; i++) x[i] = 0.5f;
    maxpool_forward(y, at, x, 1, 5, 5, 3, 2, 0, 2, 2);
    CHECK(at[0] == 0 && at[1] == 2 && at[2] == 10 && at[3] == 12);
    maxpool_backward(dx, dy, at, 1, 5, 5, 2, 2);
    CHECK(dx[0] == 1 && dx[2] == 2 && dx[10] == 3 && dx[12] == 4);
    // A shared maximum in the overlap: all four windows pick the centre,
    // which then receives the sum of their gradients.
    x[12] = 9.0f;
    maxpool_forward(y, at, x, 1, 5, 5, 3, 2, 0, 2, 2);
    maxpool_backward(dx, dy, at, 1, 5, 5, 2, 2);
    CHECK(y[0] == 9.0f && y[3] == 9.0f);
    CHECK_MSG(dx[12] == 10.0f, "dx[12] = %g", dx[12]);
    float total = 0;
    for (int i = 0; i < 25; i++) total += dx[i];
    CHECK(total == 10.0f);
}

/* 3x3/2 pools, unpadded (AlexNet's) and padded by 1 (ResNet's), against
 * the first maximum of each window's cells inside the input. */
static void test_maxpool_matches_naive_on_random_input(void) {
    int c = 3, h = 13, w = 11;
    float *x = randn_buf((size_t)c * h * w), y[126];
    int32_t at[126];
    // Coarse values make ties common.
    for (int i = 0; i < c * h * w; i++) x[i] = roundf(x[i] * 2.0f);
    for (int pad = 0; pad <= 1; pad++) {
        int oh = (h + 2 * pad - 3) / 2 + 1, ow = (w + 2 * pad - 3) / 2 + 1;
        maxpool_forward(y, at, x, c, h, w, 3, 2, pad, oh, ow);
        int ok = 1;
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int best = -1;
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++) {
                            int yy = 2 * i + a - pad, xx = 2 * j + b - pad, idx = yy * w + xx;
                            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                            if (best < 0 || x[ch * h * w + idx] > x[ch * h * w + best]) best = idx;
                        }
                    int o = (ch * oh + i) * ow + j;
                    ok &= at[o] == best && y[o] == x[ch * h * w + best];
                }
        CHECK_MSG(ok, "pad %d", pad);
    }
    free(x);
}

static void test_maxpool_propagates_nan_like_pytorch(void) {
    float x[9] = {1, 2, 3, 4, NAN, 9, 7, 8, 6}, y[1];
    int32_t at[1];
    maxpool_forward(y, at, x, 1, 3, 3, 3, 2, 0, 1, 1);
    CHECK(isnan(y[0]) && at[0] == 4);
    // Padded, the windows that hold the NaN take it too, and only them.
    float yp[4];
    int32_t ap[4];
    maxpool_forward(yp, ap, x, 1, 3, 3, 3, 2, 1, 2, 2);
    CHECK(isnan(yp[0]) && ap[0] == 4 && isnan(yp[3]) && ap[3] == 4);
}

static void check_avgpool(int c, int h, int w, int oh, int ow) {
    size_t nx = (size_t)c * h * w, ny = (size_t)c * oh * ow;
    float *x = randn_buf(nx), *y = malloc(ny * 4), *dy = randn_buf(ny), *dx = malloc(nx * 4);
    double *ref = calloc(ny, 8), *dref = calloc(nx, 8);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                // PyTorch's window: [floor(i*h/oh), ceil((i+1)*h/oh)).
                int h0 = (int)floor((double)i * h / oh), h1 = (int)ceil((double)(i + 1) * h / oh);
                int w0 = (int)floor((double)j * w / ow), w1 = (int)ceil((double)(j + 1) * w / ow);
                double cnt = (h1 - h0) * (w1 - w0), s = 0;
                for (int a = h0; a < h1; a++)
                    for (int b = w0; b < w1; b++) s += x[(ch * h + a) * w + b];
                ref[(ch * oh + i) * ow + j] = s / cnt;
                for (int a = h0; a < h1; a++)
                    for (int b = w0; b < w1; b++)
                        dref[(ch * h + a) * w + b] += dy[(ch * oh + i) * ow + j] / cnt;
            }
    avgpool_adaptive_forward(y, x, c, h, w, oh, ow);
    avgpool_adaptive_backward(dx, dy, c, h, w, oh, ow);
    double e1 = rel_err(y, ref, ny), e2 = rel_err(dx, dref, nx);
    CHECK_MSG(e1 < 1e-6 && e2 < 1e-6, "%dx%d -> %dx%d: forward %.3g backward %.3g", h, w, oh, ow,
              e1, e2);
    free(x), free(y), free(dy), free(dx), free(ref), free(dref);
}

static void test_adaptive_avgpool_matches_pytorch_windows(void) {
    check_avgpool(2, 6, 6, 6, 6);   // AlexNet at 224: the identity
    check_avgpool(3, 13, 13, 6, 6); // overlapping windows
    check_avgpool(2, 5, 3, 6, 6);   // smaller input than output
    check_avgpool(1, 7, 9, 3, 4);
    float x[4] = {1, 2, 3, 4}, y[36];
    avgpool_adaptive_forward(y, x, 1, 2, 2, 6, 6);
    CHECK(y[0] == 1 && y[5] == 2 && y[30] == 3 && y[35] == 4);
}

static void test_relu_rules(void) {
    float x[6] = {-2, -0.0f, 0, 1, 3, 5}, y[6], dy[6] = {1, 1, 1, -2, 4, 0}, dx[6];
    relu_forward(y, x, 6);
    CHECK(y[0] == 0 && y[2] == 0 && y[3] == 1 && y[4] == 3 && y[5] == 5);
    relu_backward(dx, dy, y, 6, RELU_PLAIN);
    CHECK(dx[0] == 0 && dx[1] == 0 && dx[2] == 0 && dx[3] == -2 && dx[4] == 4 && dx[5] == 0);
    relu_backward(dx, dy, y, 6, RELU_GUIDED);
    CHECK(dx[0] == 0 && dx[1] == 0 && dx[2] == 0 && dx[3] == 0 && dx[4] == 4 && dx[5] == 0);
    relu_backward(dx, dy, y, 6, RELU_DECONV); // whatever the activation
    CHECK(dx[0] == 1 && dx[1] == 1 && dx[2] == 1 && dx[3] == 0 && dx[4] == 4 && dx[5] == 0);
    // In place, as the network may use it.
    memcpy(dx, dy, sizeof dx);
    relu_backward(dx, dx, y, 6, RELU_GUIDED);
    CHECK(dx[3] == 0 && dx[4] == 4);
}

static void test_linear_matches_naive(void) {
    int sizes[][2] = {{1, 1}, {7, 3}, {9216, 5}, {37, 19}};
    for (int t = 0; t < 4; t++) {
        int in = sizes[t][0], out = sizes[t][1];
        float *x = randn_buf(in), *w = randn_buf((size_t)in * out), *b = randn_buf(out);
        float *y = malloc(out * 4), *dy = randn_buf(out), *dx = malloc(in * 4);
        double *ref = malloc(out * 8), *dref = calloc(in, 8);
        dy[0] = 0.0f; // a skipped row
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++) s += (double)w[(size_t)o * in + i] * x[i];
            ref[o] = s;
            for (int i = 0; i < in; i++) dref[i] += (double)w[(size_t)o * in + i] * dy[o];
        }
        linear_forward(y, x, w, b, in, out, 1, 1);
        linear_backward_input(dx, dy, w, in, out, 1, 1);
        double e1 = rel_err(y, ref, out), e2 = rel_err(dx, dref, in);
        CHECK_MSG(e1 < 1e-5 && e2 < 1e-5, "%dx%d: forward %.3g backward %.3g", out, in, e1, e2);
        free(x), free(w), free(b), free(y), free(dy), free(dx), free(ref), free(dref);
    }
}

/* Each image of a batch gets the bits it gets alone, on any thread count
 * (which, with the batch, sets how the backward pass splits the columns). */
static void linear_bits(int in, int out, int batch, int threads) {
    float *x = randn_buf((size_t)in * batch), *w = randn_buf((size_t)in * out), *b = randn_buf(out);
    float *dy = randn_buf((size_t)out * batch);
    float *y = malloc(sizeof(float) * out * batch), *y1 = malloc(sizeof(float) * out);
    float *dx = malloc(sizeof(float) * in * batch), *dx1 = malloc(sizeof(float) * in);
    for (int i = 0; i < out * batch; i += 3) dy[i] = 0.0f;
    linear_forward(y, x, w, b, in, out, batch, threads);
    linear_backward_input(dx, dy, w, in, out, batch, threads);
    for (int k = 0; k < batch; k++) {
        linear_forward(y1, x + (size_t)k * in, w, b, in, out, 1, 1);
        linear_backward_input(dx1, dy + (size_t)k * out, w, in, out, 1, 1);
        CHECK_MSG(memcmp(y1, y + (size_t)k * out, sizeof(float) * out) == 0, "forward, image %d", k);
        CHECK_MSG(memcmp(dx1, dx + (size_t)k * in, sizeof(float) * in) == 0,
                  "%dx%d batch %d on %d threads: backward, image %d", out, in, batch, threads, k);
    }
    free(x), free(w), free(b), free(dy), free(y), free(y1), free(dx), free(dx1);
}

static void test_linear_batch_and_threads_do_not_change_bits(void) {
    linear_bits(3000, 300, 3, 3);
    linear_bits(9221, 61, 40, 2); // a batch whose gradients fill L2: shorter column runs
    linear_bits(9221, 61, 5, 7);
}

int main(void) {
    if (gemm_isa_from_env(&isa) != 0) return 2;
    printf("# gemm: %s\n", gemm_isa_names[isa]);
    RUN(test_conv_forward_matches_direct_loops);
    RUN(test_conv_backward_matches_adjoint);
    RUN(test_conv_shape_rejects_kernel_larger_than_padded_input);
    RUN(test_conv_is_bitwise_independent_of_threads);
    RUN(test_conv_batch_gives_each_image_its_own_bits);
    RUN(test_maxpool_takes_first_maximum_and_routes_gradient_there);
    RUN(test_maxpool_matches_naive_on_random_input);
    RUN(test_maxpool_propagates_nan_like_pytorch);
    RUN(test_adaptive_avgpool_matches_pytorch_windows);
    RUN(test_relu_rules);
    RUN(test_linear_matches_naive);
    RUN(test_linear_batch_and_threads_do_not_change_bits);
    return test_summary();
}
