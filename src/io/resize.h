/* resize.h: Pillow's bilinear resize, bit for bit.
 *
 * image_resize gives exactly the pixels of Pillow 9.4's
 * img.resize((width, height), Image.BILINEAR) on an RGB image (no box, no
 * reducing_gap), which is what torchvision's Resize does to a PIL image:
 * a triangle filter widened by the scale factor when shrinking (so it
 * antialiases), coefficients rounded to 22-bit fixed point, a horizontal
 * pass then a vertical pass, each rounded and clipped to 0..255. A
 * dimension that keeps its size is not resampled; an unchanged size is a copy.
 *
 *     Image small = {0};
 *     if (image_resize(&img, 336, 224, &small, &err) != 0) ...;
 *     image_free(&small);
 *
 * Ownership: in is only read. On success out->rgb is a new allocation the
 * caller releases with image_free; out's previous contents are overwritten,
 * not freed, so pass an empty Image. On failure out is left untouched and
 * e says why (bad size, no pixels, out of memory).
 */
#ifndef GUIDEDBP_RESIZE_H
#define GUIDEDBP_RESIZE_H

#include <stdint.h>

#include "util/error.h"
#include "io/raster.h"

int image_resize(const Image *in, int width, int height, Image *out, Error *e);

/* Only the cw x ch window at (x0, y0) of that resize, bit for bit the same
 * pixels, computed without the rest: what torchvision's Resize followed by
 * CenterCrop needs, in memory bounded by the window whatever the aspect
 * ratio. out is cw x ch. */
int image_resize_window(const Image *in, int width, int height, int x0, int y0, int cw, int ch,
                        Image *out, Error *e);

/* F.interpolate(mode='bilinear', align_corners=False) of a (h, w) float
 * plane to (oh, ow), in float like PyTorch's CPU kernel: how a cam is
 * brought to the input's size. */
void upsample_bilinear(float *out, int oh, int ow, const float *in, int h, int w);

/* A picture (h, w, channels) shrunk to (oh, ow), oh <= h and ow <= w, each
 * output pixel the rounded mean of the input pixels its box covers: a
 * thumbnail, not the recipe's resize. */
void resize_box(uint8_t *out, int oh, int ow, const uint8_t *in, int h, int w, int channels);

#endif
