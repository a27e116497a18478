#include "linear.h"

#include <string.h>

#include "parallel.h"

enum { LANES = 8 };
/* Work units for the threads: fixed, so the split never changes a result.
 * Rows of W (forward) and columns of W (backward). */
enum { ROWS_PER_TASK = 64, COLS_PER_TASK = 1024 };

static float dot(const float *a, const float *b, int n) {
    float acc[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
    for (; i < n; i++) acc[i % LANES] += a[i] * b[i];
    float s01 = acc[0] + acc[1], s23 = acc[2] + acc[3];
    float s45 = acc[4] + acc[5], s67 = acc[6] + acc[7];
    return (s01 + s23) + (s45 + s67);
}

typedef struct {
    float *out;
    const float *in, *w, *bias;
    int n_in, n_out, batch;
} Linear;

static void forward_rows(void *ctx, int task) {
    const Linear *l = ctx;
    int end = (task + 1) * ROWS_PER_TASK < l->n_out ? (task + 1) * ROWS_PER_TASK : l->n_out;
    for (int o = task * ROWS_PER_TASK; o < end; o++) {
        const float *row = l->w + (size_t)o * l->n_in;
        for (int b = 0; b < l->batch; b++)
            l->out[(size_t)b * l->n_out + o] = l->bias[o] + dot(row, l->in + (size_t)b * l->n_in, l->n_in);
    }
}

void linear_forward(float *y, const float *x, const float *w, const float *bias, int in, int out,
                    int batch, int threads) {
    Linear l = {y, x, w, bias, in, out, batch};
    parallel_for((out + ROWS_PER_TASK - 1) / ROWS_PER_TASK, threads, forward_rows, &l);
}

static void backward_cols(void *ctx, int task) {
    const Linear *l = ctx; // out = dx (batch, n_in), in = dy (batch, n_out)
    int i0 = task * COLS_PER_TASK;
    int i1 = i0 + COLS_PER_TASK < l->n_in ? i0 + COLS_PER_TASK : l->n_in;
    for (int b = 0; b < l->batch; b++) memset(l->out + (size_t)b * l->n_in + i0, 0, sizeof(float) * (i1 - i0));
    for (int o = 0; o < l->n_out; o++) {
        const float *row = l->w + (size_t)o * l->n_in;
        for (int b = 0; b < l->batch; b++) {
            float g = l->in[(size_t)b * l->n_out + o];
            if (g == 0.0f) continue;
            float *dx = l->out + (size_t)b * l->n_in;
            for (int i = i0; i < i1; i++) dx[i] += g * row[i];
        }
    }
}

void linear_backward_input(float *dx, const float *dy, const float *w, int in, int out, int batch,
                           int threads) {
    Linear l = {dx, dy, w, NULL, in, out, batch};
    parallel_for((in + COLS_PER_TASK - 1) / COLS_PER_TASK, threads, backward_cols, &l);
}
