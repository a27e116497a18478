#include "nn/linear.h"

#include <string.h>

#include "util/parallel.h"

/* Eight partial sums per dot product: lane l sums the products at i = l,
 * l + 8, l + 16, ... in order; one 8-float vector holds the eight lanes, so
 * the compiler may use SSE, AVX or AVX-512 registers (target_clones below)
 * and the sums are the same bits on every one. */
enum { LANES = 8 };
typedef float Vec __attribute__((vector_size(LANES * sizeof(float))));
/* Backward sums each output in row order, one column per vector element:
 * any width gives the same bits, so it takes AVX-512's. */
enum { WIDE = 16 };
typedef float Wide __attribute__((vector_size(WIDE * sizeof(float))));

/* Work units for the threads: fixed, so the split never changes a result.
 * Rows of W (forward) and columns of W (backward: 4 KB of each row, a page,
 * long enough runs for the hardware prefetcher). */
enum { ROWS_PER_TASK = 64, COLS_PER_TASK = 1024 };
/* The floats of dx a backward task may keep in flight: 256 KB, half of a
 * Zen 3 or Skylake core's L2. */
enum { L2_FLOATS = 64 << 10 };

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* Unaligned vector access. (Macros: a function passing a vector by value
 * would have a different ABI in each clone.) */
#define LOAD(v, p) memcpy(&(v), (p), sizeof(v))
#define STORE(p, v) memcpy((p), &(v), sizeof(v))

/* Adds the tail (the last n % 8 products, lane by lane) and sums the lanes. */
static inline float lanes_sum(const Vec *acc, const float *w, const float *x, int i, int n) {
    float a[LANES];
    memcpy(a, acc, sizeof a);
    for (int l = 0; i < n; i++, l++) a[l] += w[i] * x[i];
    float s01 = a[0] + a[1], s23 = a[2] + a[3], s45 = a[4] + a[5], s67 = a[6] + a[7];
    return (s01 + s23) + (s45 + s67);
}

typedef struct {
    float *out;
    const float *in, *w, *bias;
    int n_in, n_out, batch;
    int cols; // backward: columns a task sums
} Linear;

/* Four rows of W against two images at a time: each weight vector loaded
 * serves two images, each input vector four rows. A missing fourth row or
 * second image repeats the last one, and its result is not stored. */
CLONES static void forward_rows(void *ctx, int task) {
    const Linear *l = ctx;
    int n = l->n_in, o1 = (task + 1) * ROWS_PER_TASK < l->n_out ? (task + 1) * ROWS_PER_TASK : l->n_out;
    for (int o = task * ROWS_PER_TASK; o < o1; o += 4) {
        const float *w[4];
        for (int r = 0; r < 4; r++) w[r] = l->w + (size_t)(o + r < o1 ? o + r : o1 - 1) * n;
        for (int b = 0; b < l->batch; b += 2) {
            const float *x0 = l->in + (size_t)b * n, *x1 = b + 1 < l->batch ? x0 + n : x0;
            Vec a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
            int i = 0;
            for (; i + LANES <= n; i += LANES) {
                Vec u, v, w0, w1, w2, w3;
                LOAD(u, x0 + i), LOAD(v, x1 + i), LOAD(w0, w[0] + i), LOAD(w1, w[1] + i);
                a00 += w0 * u, a01 += w0 * v, a10 += w1 * u, a11 += w1 * v;
                LOAD(w2, w[2] + i), LOAD(w3, w[3] + i);
                a20 += w2 * u, a21 += w2 * v, a30 += w3 * u, a31 += w3 * v;
            }
            float s[4][2] = {{lanes_sum(&a00, w[0], x0, i, n), lanes_sum(&a01, w[0], x1, i, n)},
                             {lanes_sum(&a10, w[1], x0, i, n), lanes_sum(&a11, w[1], x1, i, n)},
                             {lanes_sum(&a20, w[2], x0, i, n), lanes_sum(&a21, w[2], x1, i, n)},
                             {lanes_sum(&a30, w[3], x0, i, n), lanes_sum(&a31, w[3], x1, i, n)}};
            for (int r = 0; r < 4 && o + r < o1; r++)
                for (int k = 0; k < 2 && b + k < l->batch; k++)
                    l->out[(size_t)(b + k) * l->n_out + o + r] = l->bias[o + r] + s[r][k];
        }
    }
}

void linear_forward(float *y, const float *x, const float *w, const float *bias, int in, int out,
                    int batch, int threads) {
    Linear l = {y, x, w, bias, in, out, batch, 0};
    parallel_for((out + ROWS_PER_TASK - 1) / ROWS_PER_TASK, threads, forward_rows, &l);
}

/* The nonzero entries of column b of dy's rows [o0, o1), in row order. */
static int nonzero_rows(const Linear *l, int b, int o0, int o1, int *rows) {
    int n = 0;
    for (int o = o0; o < o1; o++)
        if (l->in[(size_t)b * l->n_out + o] != 0.0f) rows[n++] = o;
    return n;
}

/* dx[i0, i1) += g[0] r[0] + ... + g[n-1] r[n-1], added in that order with
 * dx in registers, for n of 1 to 4: the same additions as a row at a time. */
static inline __attribute__((always_inline)) void add_rows(float *dx, int i0, int i1,
                                                           const float *const *r, const float *g,
                                                           int n) {
    int vec_end = i0 + (i1 - i0) / WIDE * WIDE, i = i0;
    Wide g0 = g[0] - (Wide){0}, g1 = g[n > 1] - (Wide){0}, g2 = g[n > 2 ? 2 : 0] - (Wide){0},
         g3 = g[n > 3 ? 3 : 0] - (Wide){0};
    for (; i < vec_end; i += WIDE) {
        Wide d, a, b, c, e;
        LOAD(d, dx + i), LOAD(a, r[0] + i);
        d += g0 * a;
        if (n > 1) LOAD(b, r[1] + i), d += g1 * b;
        if (n > 2) LOAD(c, r[2] + i), d += g2 * c;
        if (n > 3) LOAD(e, r[3] + i), d += g3 * e;
        STORE(dx + i, d);
    }
    for (; i < i1; i++)
        for (int k = 0; k < n; k++) dx[i] += g[k] * r[k][i];
}

CLONES static void backward_cols(void *ctx, int task) {
    const Linear *l = ctx; // out = dx (batch, n_in), in = dy (batch, n_out)
    int i0 = task * l->cols;
    int i1 = i0 + l->cols < l->n_in ? i0 + l->cols : l->n_in;
    for (int b = 0; b < l->batch; b++) memset(l->out + (size_t)b * l->n_in + i0, 0, sizeof(float) * (i1 - i0));
    // GROUP rows at a time, whose segments stay in L1 for every image; for
    // each image the group's nonzero rows are added to its dx in row order.
    enum { GROUP = 4 };
    for (int o = 0; o < l->n_out; o += GROUP) {
        int o1 = o + GROUP < l->n_out ? o + GROUP : l->n_out;
        for (int b = 0; b < l->batch; b++) {
            int rows[GROUP], n = nonzero_rows(l, b, o, o1, rows);
            const float *r[GROUP];
            float g[GROUP];
            for (int k = 0; k < n; k++)
                r[k] = l->w + (size_t)rows[k] * l->n_in, g[k] = l->in[(size_t)b * l->n_out + rows[k]];
            float *dx = l->out + (size_t)b * l->n_in;
            // A constant n for each call, so each loop is compiled for it.
            switch (n) {
            case 1: add_rows(dx, i0, i1, r, g, 1); break;
            case 2: add_rows(dx, i0, i1, r, g, 2); break;
            case 3: add_rows(dx, i0, i1, r, g, 3); break;
            case 4: add_rows(dx, i0, i1, r, g, 4); break;
            default: break; // no nonzero row
            }
        }
    }
}

void linear_backward_input(float *dx, const float *dy, const float *w, int in, int out, int batch,
                           int threads) {
    Linear l = {dx, dy, w, NULL, in, out, batch, 0};
    // Which task sums a column changes nothing (each sums its own columns
    // in row order), so the split is free: one long run of each row per
    // thread, as long as the batch's dx for it stays within L2.
    int per_thread = (in + threads - 1) / threads, fits = L2_FLOATS / batch;
    l.cols = per_thread < fits ? per_thread : fits;
    l.cols = (l.cols + WIDE - 1) / WIDE * WIDE;
    if (l.cols < COLS_PER_TASK) l.cols = COLS_PER_TASK;
    parallel_for((in + l.cols - 1) / l.cols, threads, backward_cols, &l);
}
