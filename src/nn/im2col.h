/* im2col.h: unfolding an image into convolution patches and back.
 *
 * Shapes are one image, NCHW float32 with N = 1:
 *   image (C, H, W)  <->  col (C*K*K, OH*OW)
 * Row (c*K + kh)*K + kw of col holds, for every output position, the input
 * pixel that kernel tap (c, kh, kw) reads; taps that fall in the zero padding
 * read 0. col2im is its adjoint: it sums each column entry back into the
 * pixel it came from (the input-gradient step of a convolution), taps in
 * (kh, kw) order, so a pixel's sum never depends on how the work was cut.
 * Both work on a part, for the threads to share one image: im2col writes
 * rows [r0, r1) of col; col2im overwrites rows [y0, y1) of channel c's plane
 * of image, reading only that channel's rows of col. Neither allocates.
 */
#ifndef GUIDEDBP_IM2COL_H
#define GUIDEDBP_IM2COL_H

/* A convolution's shape: square kernels, equal stride and padding on both
 * axes, as every AlexNet/VGG convolution has (conv_shape_init fills out_h
 * and out_w). */
typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int k, stride, pad;
} ConvShape;

void im2col(float *col, const float *image, const ConvShape *s, int r0, int r1);
void col2im(float *image, const float *col, const ConvShape *s, int c, int y0, int y1);

#endif
