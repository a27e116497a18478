/* conv.h: 2-D convolution as im2col + OpenBLAS sgemm (darknet's recipe).
 *
 * Layout is PyTorch's: x (C, H, W), y (OC, OH, OW), w (OC, C, K, K), b (OC),
 * float32 row-major, one image. Square kernels, equal stride and padding on
 * both axes, as every AlexNet/VGG convolution has. `col` is caller-owned
 * scratch of conv_col_size() floats; the kernels never allocate. The GEMMs
 * run on up to `threads` threads with bitwise the same result for any count;
 * they expect OpenBLAS itself to be single-threaded (openblas_set_num_threads(1)).
 *
 *   forward:        y = w * x + b
 *   backward_input: dx = col2im(w^T . dy)   (no weight gradients: we only
 *                   ever need the gradient with respect to the image)
 */
#ifndef GUIDEDBP_CONV_H
#define GUIDEDBP_CONV_H

#include <stddef.h>

typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int k, stride, pad;
} ConvShape;

/* Fills out_h/out_w from the other fields (PyTorch's floor rule); returns -1
 * when the kernel does not fit the padded input. */
int conv_shape_init(ConvShape *s);
size_t conv_col_size(const ConvShape *s);

void conv2d_forward(float *y, const float *x, const float *w, const float *b,
                    const ConvShape *s, float *col, int threads);
void conv2d_backward_input(float *dx, const float *dy, const float *w,
                           const ConvShape *s, float *col, int threads);

#endif
