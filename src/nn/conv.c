#include "nn/conv.h"

#include "nn/gemm.h"
#include "nn/im2col.h"
#include "util/parallel.h"

/* The GEMMs are cut into tiles, each a single-threaded gemm (gemm.h: its
 * bits do not depend on the tiling), spread over the threads. Tiles are at
 * most TILE_M (forward) or TILE_M_BACK (backward) rows by TILE_N columns,
 * split evenly, sides multiples of TILE_ROUND (gemm's strips of 16 columns).
 * Taller tiles pack the shared operand fewer times, but AlexNet's forward
 * GEMMs have only 64-384 rows, and one image must still make enough tiles
 * for two threads. */
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
    GemmIsa isa;
    const float *w, *bias;
    const float *in;  // x (forward) or dy (backward), (images, ...)
    float *out;       // y or dx, (images, ...)
    float *col;       // (images, C*K*K, OH*OW)
    size_t in_size, out_size, col_size; // floats per image
    int tile_m, tile_n, tiles_n, tiles; // GEMM tiles, per image
    int per_piece, pieces;              // unfolding: col rows (im2col) or
    int pieces_per_plane;               // dx rows of one channel (col2im)
} Conv;

/* c (m, n) = [bias +] op(a) . b (k, n) on one tile, row-major; a is the
 * weight matrix (m, k), or (k, m) used transposed. */
static void gemm_tile(const Conv *v, int tile, int transposed, int m_all, int n_all, int k,
                      const float *a, const float *b, const float *bias, float *c) {
    int m0 = tile / v->tiles_n * v->tile_m, n0 = tile % v->tiles_n * v->tile_n;
    int m = m_all - m0 < v->tile_m ? m_all - m0 : v->tile_m;
    int n = n_all - n0 < v->tile_n ? n_all - n0 : v->tile_n;
    if (transposed)
        gemm(v->isa, c + (size_t)m0 * n_all + n0, n_all, a + m0, 1, m_all, b + n0, n_all, NULL, m,
             n, k);
    else
        gemm(v->isa, c + (size_t)m0 * n_all + n0, n_all, a + (size_t)m0 * k, k, 1, b + n0, n_all,
             bias ? bias + m0 : NULL, m, n, k);
}

static void forward_tile(void *ctx, int task) {
    const Conv *v = ctx;
    const ConvShape *s = v->s;
    int i = task / v->tiles;
    gemm_tile(v, task % v->tiles, 0, s->out_c, s->out_h * s->out_w, s->in_c * s->k * s->k,
              v->w, v->col + i * v->col_size, v->bias, v->out + i * v->out_size);
}

static void backward_tile(void *ctx, int task) {
    const Conv *v = ctx;
    const ConvShape *s = v->s;
    int i = task / v->tiles;
    gemm_tile(v, task % v->tiles, 1, s->in_c * s->k * s->k, s->out_h * s->out_w, s->out_c,
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

static Conv conv_plan(const ConvShape *s, GemmIsa isa, int transposed) {
    Conv v = {.s = s, .isa = isa, .col_size = conv_col_size(s)};
    int m = transposed ? s->in_c * s->k * s->k : s->out_c, n = s->out_h * s->out_w;
    v.tile_m = tile_side(m, transposed ? TILE_M_BACK : TILE_M);
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
                          const ConvShape *s, float *col, GemmIsa isa, int threads) {
    Conv v = conv_plan(s, isa, 0);
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
                                 const ConvShape *s, float *col, GemmIsa isa, int threads) {
    Conv v = conv_plan(s, isa, 1);
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
                    const ConvShape *s, float *col, GemmIsa isa, int threads) {
    conv2d_forward_batch(y, x, 1, w, b, s, col, isa, threads);
}

void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, GemmIsa isa, int threads) {
    conv2d_backward_input_batch(dx, dy, 1, w, s, col, isa, threads);
}
