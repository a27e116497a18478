/* relu.h: the ReLU and the rules for passing a gradient back through it.
 *
 * The backward rules all read the forward *output* y (y > 0 exactly where
 * the input was > 0) and overwrite dx; dx may alias dy.
 *   RELU_PLAIN   dx = dy * (y > 0)               the true gradient
 *   RELU_GUIDED  dx = max(dy, 0) * (y > 0)       Springenberg et al. 2015
 *   RELU_DECONV  dx = max(dy, 0)                 Zeiler & Fergus 2014: the
 *                                                forward activation is ignored
 */
#ifndef GUIDEDBP_RELU_H
#define GUIDEDBP_RELU_H

#include <stddef.h>

typedef enum { RELU_PLAIN, RELU_GUIDED, RELU_DECONV } ReluRule;

void relu_forward(float *y, const float *x, size_t n);
void relu_backward(float *dx, const float *dy, const float *y, size_t n, ReluRule rule);

#endif
