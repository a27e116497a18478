/* im2col.h: unfolding an image into convolution patches and back.
 *
 * Shapes are one image, NCHW float32 with N = 1 (see ConvShape in conv.h):
 *   image (C, H, W)  <->  col (C*K*K, OH*OW)
 * Row (c*K + kh)*K + kw of col holds, for every output position, the input
 * pixel that kernel tap (c, kh, kw) reads; taps that fall in the zero padding
 * read 0. col2im is its adjoint: it sums each column entry back into the
 * pixel it came from (the input-gradient step of a convolution). Neither
 * allocates; col2im overwrites image.
 */
#ifndef GUIDEDBP_IM2COL_H
#define GUIDEDBP_IM2COL_H

#include "conv.h"

void im2col(float *col, const float *image, const ConvShape *s);
void col2im(float *image, const float *col, const ConvShape *s);

#endif
