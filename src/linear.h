/* linear.h: fully-connected layers, y = W x + b, W (out, in) row-major.
 *
 * Hand-written rather than OpenBLAS sgemv: sgemv's summation order depends
 * on its thread split, and our PNGs must be byte-identical for any --threads.
 * Forward sums each dot product in 8 interleaved partial sums combined in a
 * fixed order (vectorizable without -ffast-math); backward accumulates the
 * rows of W scaled by dy in row order and skips the rows whose dy is zero,
 * which after a guided or plain ReLU is about half of them. No allocation.
 */
#ifndef GUIDEDBP_LINEAR_H
#define GUIDEDBP_LINEAR_H

void linear_forward(float *y, const float *x, const float *w, const float *b, int in, int out);
void linear_backward_input(float *dx, const float *dy, const float *w, int in, int out);

#endif
