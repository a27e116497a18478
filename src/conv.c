#include "conv.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> // execv

#include "im2col.h"
#include "parallel.h"

/* The GEMMs are cut into fixed tiles, each a single-threaded sgemm, spread
 * over the threads: the tiles depend only on the layer's shape, never on
 * the thread count or the batch, so neither do the bits (see parallel.h).
 * Tiles are at most TILE_M (forward) or TILE_M_BACK (backward) rows by
 * TILE_N columns, split evenly, sides multiples of TILE_ROUND (OpenBLAS's
 * kernels work in blocks of 16). Taller tiles pack the shared operand fewer
 * times (256 rows take 20% less time than 64 on one thread), but AlexNet's
 * forward GEMMs have only 64-384 rows, and one image must still make enough
 * tiles for two threads. */
enum { TILE_M = 128, TILE_M_BACK = 256, TILE_N = 256, TILE_ROUND = 16 };
/* im2col and col2im run over the threads too, in pieces of about this many
 * floats. */
enum { COPY_TASK = 1 << 15 };

static int tile_side(int n, int max) {
    int tiles = (n + max - 1) / max, side = (n + tiles - 1) / tiles;
    return (side + TILE_ROUND - 1) / TILE_ROUND * TILE_ROUND;
}

/* One layer over a group of images; task t works on image t / (tasks per
 * image), so the images of a group share the threads. */
typedef struct {
    const ConvShape *s;
    const float *w, *bias;
    const float *in;  // x (forward) or dy (backward), (images, ...)
    float *out;       // y or dx, (images, ...)
    float *col;       // (images, C*K*K, OH*OW)
    size_t in_size, out_size, col_size; // floats per image
    int tile_m, tile_n, tiles_n, tiles; // GEMM tiles, per image
    int per_piece, pieces;              // unfolding: col rows (im2col) or
    int pieces_per_plane;               // dx rows of one channel (col2im)
} Conv;

/* c (m, n) = op(a) . b (k, n) [+ bias, else beta 0] on one tile, row-major. */
static void gemm_tile(const Conv *v, int tile, CBLAS_TRANSPOSE trans_a, int m_all, int n_all, int k,
                      const float *a, const float *b, const float *bias, float *c) {
    int m0 = tile / v->tiles_n * v->tile_m, n0 = tile % v->tiles_n * v->tile_n;
    int m = m_all - m0 < v->tile_m ? m_all - m0 : v->tile_m;
    int n = n_all - n0 < v->tile_n ? n_all - n0 : v->tile_n;
    c += (size_t)m0 * n_all + n0;
    // The output starts as the bias and the GEMM accumulates onto it, the
    // order PyTorch's own im2col convolution uses.
    if (bias)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * n_all + j] = bias[m0 + i];
    // Row-major A is (m, k), lda k; transposed it is stored (k, m), lda m.
    a += trans_a == CblasNoTrans ? (size_t)m0 * k : (size_t)m0;
    cblas_sgemm(CblasRowMajor, trans_a, CblasNoTrans, m, n, k, 1.0f, a,
                trans_a == CblasNoTrans ? k : m_all, b + n0, n_all, bias ? 1.0f : 0.0f, c, n_all);
}

static void forward_tile(void *ctx, int task) {
    const Conv *v = ctx;
    const ConvShape *s = v->s;
    int i = task / v->tiles;
    gemm_tile(v, task % v->tiles, CblasNoTrans, s->out_c, s->out_h * s->out_w, s->in_c * s->k * s->k,
              v->w, v->col + i * v->col_size, v->bias, v->out + i * v->out_size);
}

static void backward_tile(void *ctx, int task) {
    const Conv *v = ctx;
    const ConvShape *s = v->s;
    int i = task / v->tiles;
    gemm_tile(v, task % v->tiles, CblasTrans, s->in_c * s->k * s->k, s->out_h * s->out_w, s->out_c,
              v->w, v->in + i * v->in_size, NULL, v->col + i * v->col_size);
}

static void im2col_piece(void *ctx, int task) {
    const Conv *v = ctx;
    int i = task / v->pieces, r0 = task % v->pieces * v->per_piece;
    int rows = v->s->in_c * v->s->k * v->s->k, r1 = r0 + v->per_piece < rows ? r0 + v->per_piece : rows;
    im2col(v->col + i * v->col_size, v->in + i * v->in_size, v->s, r0, r1);
}

static void col2im_piece(void *ctx, int task) {
    const Conv *v = ctx;
    int i = task / v->pieces, p = task % v->pieces;
    int c = p / v->pieces_per_plane, y0 = p % v->pieces_per_plane * v->per_piece;
    int y1 = y0 + v->per_piece < v->s->in_h ? y0 + v->per_piece : v->s->in_h;
    col2im(v->out + i * v->out_size, v->col + i * v->col_size, v->s, c, y0, y1);
}

static Conv conv_plan(const ConvShape *s, CBLAS_TRANSPOSE trans_a) {
    Conv v = {.s = s, .col_size = conv_col_size(s)};
    int m = trans_a == CblasNoTrans ? s->out_c : s->in_c * s->k * s->k, n = s->out_h * s->out_w;
    v.tile_m = tile_side(m, trans_a == CblasNoTrans ? TILE_M : TILE_M_BACK);
    v.tile_n = tile_side(n, TILE_N);
    v.tiles_n = (n + v.tile_n - 1) / v.tile_n;
    v.tiles = (m + v.tile_m - 1) / v.tile_m * v.tiles_n;
    return v;
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

void conv2d_forward_batch(float *y, const float *x, int n, const float *w, const float *b,
                          const ConvShape *s, float *col, int threads) {
    Conv v = conv_plan(s, CblasNoTrans);
    int pixels = s->out_h * s->out_w, rows = s->in_c * s->k * s->k;
    v.w = w, v.bias = b;
    v.in_size = (size_t)s->in_c * s->in_h * s->in_w, v.out_size = (size_t)s->out_c * pixels;
    v.per_piece = (COPY_TASK + pixels - 1) / pixels;
    v.pieces = (rows + v.per_piece - 1) / v.per_piece;
    for (int i = 0; i < n; i += CONV_GROUP) {
        int g = n - i < CONV_GROUP ? n - i : CONV_GROUP;
        v.in = x + i * v.in_size, v.out = y + i * v.out_size, v.col = col;
        parallel_for(g * v.pieces, threads, im2col_piece, &v);
        parallel_for(g * v.tiles, threads, forward_tile, &v);
    }
}

void conv2d_backward_input_batch(float *dx, const float *dy, int n, const float *w,
                                 const ConvShape *s, float *col, int threads) {
    Conv v = conv_plan(s, CblasTrans);
    v.w = w;
    v.in_size = (size_t)s->out_c * s->out_h * s->out_w, v.out_size = (size_t)s->in_c * s->in_h * s->in_w;
    // Each piece of col2im owns a band of rows of one channel of dx.
    v.per_piece = (COPY_TASK / (s->k * s->k) + s->in_w - 1) / s->in_w;
    if (v.per_piece > s->in_h) v.per_piece = s->in_h;
    v.pieces_per_plane = (s->in_h + v.per_piece - 1) / v.per_piece;
    v.pieces = s->in_c * v.pieces_per_plane;
    for (int i = 0; i < n; i += CONV_GROUP) {
        int g = n - i < CONV_GROUP ? n - i : CONV_GROUP;
        v.in = dy + i * v.in_size, v.out = dx + i * v.out_size, v.col = col;
        parallel_for(g * v.tiles, threads, backward_tile, &v);
        parallel_for(g * v.pieces, threads, col2im_piece, &v);
    }
}

void conv2d_forward(float *y, const float *x, const float *w, const float *b,
                    const ConvShape *s, float *col, int threads) {
    conv2d_forward_batch(y, x, 1, w, b, s, col, threads);
}

void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, int threads) {
    conv2d_backward_input_batch(dx, dy, 1, w, s, col, threads);
}

const char *conv_blas_better_core(void) {
    if (getenv("OPENBLAS_CORETYPE") || strcmp(openblas_get_corename(), "Prescott") != 0) return NULL;
#if defined(__GNUC__) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void conv_blas_reexec(char **argv) {
    if (getenv("OPENBLAS_NUM_THREADS")) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0) execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_NUM_THREADS");
}
