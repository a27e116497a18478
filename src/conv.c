#include "conv.h"

#include <cblas.h>

#include "im2col.h"
#include "parallel.h"

/* The GEMMs are cut into fixed tiles, each a single-threaded sgemm, spread
 * over the threads: the tiles do not depend on the thread count, so neither
 * do the bits (see parallel.h). 64 x 256 keeps every AlexNet layer in at
 * least 4 tiles and each tile large enough for OpenBLAS's kernels. */
enum { TILE_M = 64, TILE_N = 256 };

typedef struct {
    CBLAS_TRANSPOSE trans_a;
    int m, n, k;
    const float *a, *b;
    float beta;
    float *c;
    int tiles_n;
} Gemm;

static void gemm_tile(void *ctx, int task) {
    const Gemm *g = ctx;
    int m0 = task / g->tiles_n * TILE_M, n0 = task % g->tiles_n * TILE_N;
    int m = g->m - m0 < TILE_M ? g->m - m0 : TILE_M;
    int n = g->n - n0 < TILE_N ? g->n - n0 : TILE_N;
    // Row-major A is (m, k), lda k; transposed it is stored (k, m), lda m.
    const float *a = g->trans_a == CblasNoTrans ? g->a + (size_t)m0 * g->k : g->a + m0;
    int lda = g->trans_a == CblasNoTrans ? g->k : g->m;
    cblas_sgemm(CblasRowMajor, g->trans_a, CblasNoTrans, m, n, g->k, 1.0f, a, lda, g->b + n0,
                g->n, g->beta, g->c + (size_t)m0 * g->n + n0, g->n);
}

/* c (m, n) = op(a) . b (k, n) + beta * c, all row-major. */
static void gemm(CBLAS_TRANSPOSE trans_a, int m, int n, int k, const float *a, const float *b,
                 float beta, float *c, int threads) {
    Gemm g = {trans_a, m, n, k, a, b, beta, c, (n + TILE_N - 1) / TILE_N};
    parallel_for((m + TILE_M - 1) / TILE_M * g.tiles_n, threads, gemm_tile, &g);
}

int conv_shape_init(ConvShape *s) {
    if (s->k < 1 || s->stride < 1 || s->pad < 0) return -1;
    int span_h = s->in_h + 2 * s->pad - s->k, span_w = s->in_w + 2 * s->pad - s->k;
    if (span_h < 0 || span_w < 0) return -1;
    s->out_h = span_h / s->stride + 1;
    s->out_w = span_w / s->stride + 1;
    return 0;
}

size_t conv_col_size(const ConvShape *s) {
    return (size_t)s->in_c * s->k * s->k * s->out_h * s->out_w;
}

void conv2d_forward(float *y, const float *x, const float *w, const float *b,
                    const ConvShape *s, float *col, int threads) {
    int m = s->out_c, n = s->out_h * s->out_w, kk = s->in_c * s->k * s->k;
    // The output starts as the bias and the GEMM accumulates onto it, the
    // order PyTorch's own im2col convolution uses.
    for (int o = 0; o < m; o++)
        for (int p = 0; p < n; p++) y[(size_t)o * n + p] = b[o];
    im2col(col, x, s);
    gemm(CblasNoTrans, m, n, kk, w, col, 1.0f, y, threads);
}

void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, int threads) {
    int m = s->out_c, n = s->out_h * s->out_w, kk = s->in_c * s->k * s->k;
    gemm(CblasTrans, kk, n, m, w, dy, 0.0f, col, threads);
    col2im(dx, col, s);
}
