/* conv.h: 2-D convolution as im2col + gemm (darknet's recipe).
 *
 * Layout is PyTorch's: x (C, H, W), y (OC, OH, OW), w (OC, C, K, K), b (OC),
 * float32 row-major, one image (or n, below). Square kernels, equal stride
 * and padding on both axes, as every AlexNet/VGG convolution has. `col` is
 * caller-owned scratch (conv_col_size); the kernels never allocate. All the
 * work runs on up to `threads` threads with bitwise the same result for any
 * count, and equal im2col columns give equal outputs (gemm.h); `isa` is
 * gemm's instruction set.
 *
 *   forward:        y = w * x + b
 *   backward_input: dx = col2im(w^T . dy)   (no weight gradients: we only
 *                   ever need the gradient with respect to the image)
 */
#ifndef GUIDEDBP_CONV_H
#define GUIDEDBP_CONV_H

#include <stddef.h>

#include "nn/gemm.h"
#include "nn/im2col.h"

/* Fills out_h/out_w from the other fields (PyTorch's floor rule); returns -1
 * when the kernel does not fit the padded input. */
int conv_shape_init(ConvShape *s);
/* Scratch for one image, in floats; the batch functions take
 * min(n, CONV_GROUP) times as much. */
size_t conv_col_size(const ConvShape *s);

void conv2d_forward(float *y, const float *x, const float *w, const float *b,
                    const ConvShape *s, float *col, GemmIsa isa, int threads);
void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, GemmIsa isa, int threads);

/* The same for n images, x/dx (n, C, H, W) and y/dy (n, OC, OH, OW): each
 * image gets exactly the bits the one-image functions give it, but the
 * threads share the tiles of CONV_GROUP images at a time (one image of
 * AlexNet's later layers makes only 2-3 forward tiles). */
enum { CONV_GROUP = 4 };
void conv2d_forward_batch(float *y, const float *x, int n, const float *w, const float *b,
                          const ConvShape *s, float *col, GemmIsa isa, int threads);
void conv2d_backward_input_batch(float *dx, const float *dy, int n, const float *w,
                                 const ConvShape *s, float *col, GemmIsa isa, int threads);

#endif
