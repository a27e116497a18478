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
    Linear l = {y, x, w, bias, in, out, batch};
    parallel_for((out + ROWS_PER_TASK - 1) / ROWS_PER_TASK, threads, forward_rows, &l);
}

CLONES static void backward_cols(void *ctx, int task) {
    const Linear *l = ctx; // out = dx (batch, n_in), in = dy (batch, n_out)
    int i0 = task * COLS_PER_TASK;
    int i1 = i0 + COLS_PER_TASK < l->n_in ? i0 + COLS_PER_TASK : l->n_in;
    int vec_end = i0 + (i1 - i0) / WIDE * WIDE;
    for (int b = 0; b < l->batch; b++) memset(l->out + (size_t)b * l->n_in + i0, 0, sizeof(float) * (i1 - i0));
    for (int o = 0; o < l->n_out; o++) {
        const float *row = l->w + (size_t)o * l->n_in;
        for (int b = 0; b < l->batch; b++) {
            float g = l->in[(size_t)b * l->n_out + o];
            if (g == 0.0f) continue;
            float *dx = l->out + (size_t)b * l->n_in;
            Wide gv = g - (Wide){0}; // g in every element
            int i = i0;
            for (; i < vec_end; i += WIDE) {
                Wide d, r;
                LOAD(d, dx + i), LOAD(r, row + i);
                d += gv * r;
                STORE(dx + i, d);
            }
            for (; i < i1; i++) dx[i] += g * row[i];
        }
    }
}

void linear_backward_input(float *dx, const float *dy, const float *w, int in, int out, int batch,
                           int threads) {
    Linear l = {dx, dy, w, NULL, in, out, batch};
    parallel_for((in + COLS_PER_TASK - 1) / COLS_PER_TASK, threads, backward_cols, &l);
}
