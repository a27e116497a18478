#include "linear.h"

#include <string.h>

enum { LANES = 8 };

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

void linear_forward(float *y, const float *x, const float *w, const float *b, int in, int out) {
    for (int o = 0; o < out; o++) y[o] = b[o] + dot(w + (size_t)o * in, x, in);
}

void linear_backward_input(float *dx, const float *dy, const float *w, int in, int out) {
    memset(dx, 0, sizeof(float) * in);
    for (int o = 0; o < out; o++) {
        float g = dy[o];
        if (g == 0.0f) continue;
        const float *row = w + (size_t)o * in;
        for (int i = 0; i < in; i++) dx[i] += g * row[i];
    }
}
