#include "conv.h"

#include <cblas.h>

#include "im2col.h"
#include "parallel.h"

/* The GEMMs are cut into fixed tiles, each a single-threaded sgemm, spread
 * over the threads: the tiles depend only on the layer's shape, never on
 * the thread count or the batch, so neither do the bits (see parallel.h).
 * Tiles are at most TILE_M x TILE_N, split evenly, sides multiples of
 * TILE_ROUND (OpenBLAS's kernels work in blocks of 16). */
enum { TILE_M = 128, TILE_N = 256, TILE_ROUND = 16 };
/* im2col and col2im run over the threads too, in pieces of about this many
 * floats. */
enum { COPY_TASK = 1 << 15 };

static int tile_side(int n, int max) {
    int tiles = (n + max - 1) / max, side = (n + tiles - 1) / tiles;
    return (side + TILE_ROUND - 1) / TILE_ROUND * TILE_ROUND;
}

typedef struct {
    CBLAS_TRANSPOSE trans_a;
    int m, n, k;
    const float *a, *b, *bias; // bias (m), or NULL: c = op(a) . b
    float *c;
    int tile_m, tile_n, tiles_n;
} Gemm;

static void gemm_tile(void *ctx, int task) {
    const Gemm *g = ctx;
    int m0 = task / g->tiles_n * g->tile_m, n0 = task % g->tiles_n * g->tile_n;
    int m = g->m - m0 < g->tile_m ? g->m - m0 : g->tile_m;
    int n = g->n - n0 < g->tile_n ? g->n - n0 : g->tile_n;
    float *c = g->c + (size_t)m0 * g->n + n0;
    // The output starts as the bias and the GEMM accumulates onto it, the
    // order PyTorch's own im2col convolution uses.
    if (g->bias)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * g->n + j] = g->bias[m0 + i];
    // Row-major A is (m, k), lda k; transposed it is stored (k, m), lda m.
    const float *a = g->trans_a == CblasNoTrans ? g->a + (size_t)m0 * g->k : g->a + m0;
    int lda = g->trans_a == CblasNoTrans ? g->k : g->m;
    cblas_sgemm(CblasRowMajor, g->trans_a, CblasNoTrans, m, n, g->k, 1.0f, a, lda, g->b + n0,
                g->n, g->bias ? 1.0f : 0.0f, c, g->n);
}

/* c (m, n) = op(a) . b (k, n) [+ bias], all row-major. */
static void gemm(CBLAS_TRANSPOSE trans_a, int m, int n, int k, const float *a, const float *b,
                 const float *bias, float *c, int threads) {
    Gemm g = {trans_a, m, n, k, a, b, bias, c, tile_side(m, TILE_M), tile_side(n, TILE_N), 0};
    g.tiles_n = (n + g.tile_n - 1) / g.tile_n;
    parallel_for((m + g.tile_m - 1) / g.tile_m * g.tiles_n, threads, gemm_tile, &g);
}

typedef struct {
    float *out;
    const float *in;
    const ConvShape *s;
    int per_task; // col rows (im2col) or image rows (col2im)
    int tasks_per_plane;
} Unfold;

static void im2col_task(void *ctx, int task) {
    const Unfold *u = ctx;
    int rows = u->s->in_c * u->s->k * u->s->k, r0 = task * u->per_task;
    im2col(u->out, u->in, u->s, r0, r0 + u->per_task < rows ? r0 + u->per_task : rows);
}

static void col2im_task(void *ctx, int task) {
    const Unfold *u = ctx;
    int c = task / u->tasks_per_plane, y0 = task % u->tasks_per_plane * u->per_task;
    col2im(u->out, u->in, u->s, c, y0, y0 + u->per_task < u->s->in_h ? y0 + u->per_task : u->s->in_h);
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
    Unfold u = {col, x, s, (COPY_TASK + n - 1) / n, 0};
    parallel_for((kk + u.per_task - 1) / u.per_task, threads, im2col_task, &u);
    gemm(CblasNoTrans, m, n, kk, w, col, b, y, threads);
}

void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, int threads) {
    int m = s->out_c, n = s->out_h * s->out_w, kk = s->in_c * s->k * s->k;
    gemm(CblasTrans, kk, n, m, w, dy, NULL, col, threads);
    // Each task owns a band of rows of one channel of dx.
    int band = (COPY_TASK / (s->k * s->k) + s->in_w - 1) / s->in_w;
    if (band > s->in_h) band = s->in_h;
    Unfold u = {dx, col, s, band, (s->in_h + band - 1) / band};
    parallel_for(s->in_c * u.tasks_per_plane, threads, col2im_task, &u);
}
