/* saliency.h: from an input gradient to the files a person looks at.
 *
 * The gradient comes out of the network as (3, H, W); the map users get is
 * HWC (H, W, 3), as the reference recipe's grad[0].permute(1, 2, 0).
 * Its picture is clip((g - mean) / std * 0.1 + 0.5, 0, 1) with the
 * population std over all H*W*3 values, scaled by 255 and rounded half to
 * even; statistics are computed in double. A map whose std is zero (or not
 * finite) has no contrast to show: it becomes mid-grey (128) and the
 * function says so by returning 1.
 */
#ifndef GUIDEDBP_SALIENCY_H
#define GUIDEDBP_SALIENCY_H

#include <stdint.h>

#include "error.h"

void saliency_chw_to_hwc(float *hwc, const float *chw, int h, int w);
/* Returns 1 when the map was flat and came out mid-grey, 0 otherwise. */
int saliency_to_rgb8(uint8_t *rgb, const float *hwc, int h, int w);
int saliency_write_png(const char *path, const uint8_t *rgb, int h, int w, Error *e);
/* A NumPy .npy (format 1.0, '<f4', C order) of the (h, w, 3) map. */
int saliency_write_npy(const char *path, const float *hwc, int h, int w, Error *e);

#endif
