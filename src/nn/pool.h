/* pool.h: max pooling and adaptive average pooling, forward and backward.
 *
 * One image, NCHW float32: x (C, H, W), y (C, OH, OW). No allocation.
 *
 * maxpool: kernel K, stride S, padding P (cells outside the input never
 * win, as PyTorch's -infinity padding), floor mode (AlexNet's 3/2, VGG's
 * 2/2, ResNet's 3/2 pad 1).
 * Forward records in `argmax` (C, OH, OW) the flat index (within its channel
 * plane) of the element each output took: the *first* maximum of the window
 * in row-major order, as PyTorch does (a NaN wins, like PyTorch's isnan
 * rule). Backward routes each output gradient to that element only, summing
 * where windows overlap; it overwrites dx.
 *
 * adaptive average pooling to (OH, OW), PyTorch's AdaptiveAvgPool2d: output
 * cell i covers input rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1 (likewise
 * columns), so it also works when the input is smaller than the output.
 */
#ifndef GUIDEDBP_POOL_H
#define GUIDEDBP_POOL_H

#include <stdint.h>

void maxpool_forward(float *y, int32_t *argmax, const float *x, int c, int h, int w, int k,
                     int stride, int pad, int oh, int ow);
void maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int c, int h, int w,
                      int oh, int ow);

void avgpool_adaptive_forward(float *y, const float *x, int c, int h, int w, int oh, int ow);
void avgpool_adaptive_backward(float *dx, const float *dy, int c, int h, int w, int oh, int ow);

#endif
