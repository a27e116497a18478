/* linear.h: fully-connected layers over a batch, y_b = W x_b + bias.
 *
 * W (out, in) row-major; x (batch, in); y (batch, out). Hand-written rather
 * than OpenBLAS sgemv/sgemm: those sum in orders that depend on the thread
 * split and on the batch size, and our outputs must be byte-identical for
 * any --threads and any --batch. Here every output is one dot product with
 * 8 interleaved partial sums combined in a fixed order (vectorizable without
 * -ffast-math), whatever the batch or thread count; each weight row is read
 * once for the whole batch, which is what makes batching pay (the weights,
 * 234 MB for AlexNet, do not fit in cache).
 *
 * Backward accumulates the rows of W scaled by dy in row order, skipping the
 * rows whose dy is zero (after a plain or guided ReLU, about half; for the
 * one-hot at the logits, all but one): up to four rows a pass over dx, which
 * stays in registers, for each image while the rows are in L1. Each thread
 * takes one long run of columns (a column's sum does not depend on who
 * computes it). No allocation.
 */
#ifndef GUIDEDBP_LINEAR_H
#define GUIDEDBP_LINEAR_H

void linear_forward(float *y, const float *x, const float *w, const float *bias, int in, int out,
                    int batch, int threads);
void linear_backward_input(float *dx, const float *dy, const float *w, int in, int out, int batch,
                           int threads);

#endif
