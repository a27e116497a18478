#include "nn/relu.h"

#include <stdint.h>
#include <string.h>

/* Four floats at a time (one SSE register), as masks rather than branches:
 * a branch on the sign of activations is mispredicted half the time. The
 * bits are those of the scalar rules: the value itself or +0. */
enum { LANES = 4 };
typedef float Vec __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t Mask __attribute__((vector_size(LANES * sizeof(int32_t))));

void relu_forward(float *y, const float *x, size_t n) {
    const Vec zero = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        Vec v;
        memcpy(&v, x + i, sizeof v);
        v = (Vec)((Mask)v & (v > zero));
        memcpy(y + i, &v, sizeof v);
    }
    for (; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *dy, const float *y, size_t n, ReluRule rule) {
    const Vec zero = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        Vec g, a;
        memcpy(&g, dy + i, sizeof g);
        memcpy(&a, y + i, sizeof a);
        Mask keep = rule == RELU_DECONV ? g > zero : a > zero;
        if (rule == RELU_GUIDED) keep &= g > zero;
        g = (Vec)((Mask)g & keep);
        memcpy(dx + i, &g, sizeof g);
    }
    for (; i < n; i++) {
        int keep = rule == RELU_DECONV ? dy[i] > 0.0f
                                       : y[i] > 0.0f && (rule == RELU_PLAIN || dy[i] > 0.0f);
        dx[i] = keep ? dy[i] : 0.0f;
    }
}
