/* similarity.h: how alike two saliency maps are, by the metrics of Adebayo
 * et al., "Sanity Checks for Saliency Maps" (2018), defined exactly so that
 * SciPy and scikit-image recompute them:
 *
 *   spearman_abs  Spearman rank correlation of the two maps' per-pixel sums
 *                 of |g| over the channels (h*w values each);
 *   spearman      the same for the signed per-pixel channel sums;
 *   ssim          skimage.metrics.structural_similarity(A, B, data_range=1)
 *                 of the per-pixel |g| sums, each min-max scaled to [0, 1]
 *                 by its own minimum and maximum.
 *
 * Everything is computed in double; the channel sums add the three float
 * values in channel order, as NumPy's sum(axis=2) of the float64 map does.
 * test/test_similarity.c checks all three against SciPy 1.10 and
 * scikit-image 0.19 (test/gen/fixtures_similarity.py) to 1e-9; SSIM follows
 * SciPy's and NumPy's order of operations and agrees bit for bit; Spearman
 * agrees to a unit or two in the last place (we sum the rank deviations
 * exactly, SciPy goes through np.corrcoef).
 *
 * Conventions where the formulas are undefined:
 *   - Spearman of a constant input (every value equal; -0.0 equals 0.0), or
 *     of fewer than 2 values, or of input containing NaN, is NaN, as
 *     scipy.stats.spearmanr returns: a rank correlation with a constant
 *     does not exist, and any number we chose instead (0, say) would be
 *     averaged into results as if it had been measured.
 *   - A constant |g|-sum map (an all-zero gradient, say) is min-max scaled to
 *     all zeros rather than 0/0, so ssim is always a number: two constant
 *     maps give 1, a constant map against a structured one gives nearly 0.
 *
 * Memory: the functions allocate their scratch (about 11 doubles per pixel
 * for similarity_maps) and free it before returning; they keep no state and
 * may run concurrently.
 */
#ifndef GUIDEDBP_SIMILARITY_H
#define GUIDEDBP_SIMILARITY_H

#include <stddef.h>

#include "util/error.h"

/* SSIM's window side (skimage's default win_size); images must be at least
 * this many pixels in each direction. */
#define SIMILARITY_SSIM_WIN 7

typedef struct {
    double spearman_abs, spearman, ssim;
} Similarity;

/* The three metrics of maps a and b, both (h, w, 3) HWC. Fails, with out
 * untouched, when h or w is below SIMILARITY_SSIM_WIN, when a map holds a
 * value that is not finite, or when memory runs out. A constant map gives
 * NaN Spearman values (see above); that is a success. */
int similarity_maps(const float *a, const float *b, int h, int w, Similarity *out, Error *e);

/* Spearman's rho of x and y (n values each): the Pearson correlation of
 * their ranks, ties sharing the average of the ranks they span, as
 * scipy.stats.rankdata(method='average') assigns them. The result is
 * clamped to [-1, 1]: exactly 1 for identically ordered inputs, -1 for
 * reversed ones. NaN for a constant input, n < 2, NaN in the input, or when
 * the scratch (4 doubles per value) cannot be allocated. */
double similarity_spearman(const double *x, const double *y, size_t n);

/* skimage.metrics.structural_similarity(a, b, data_range=1) of two (h, w)
 * row-major images, with its defaults: a 7x7 uniform window
 * (scipy.ndimage.uniform_filter, mode 'reflect': d c b a | a b c d),
 * sample covariances (the factor 49/48), K1 = 0.01, K2 = 0.03, and the mean
 * of the SSIM image after cropping 3 pixels at each border. NaN when h or w
 * is below SIMILARITY_SSIM_WIN or the scratch (8 doubles per pixel) cannot
 * be allocated. */
double similarity_ssim(const double *a, const double *b, int h, int w);

#endif
