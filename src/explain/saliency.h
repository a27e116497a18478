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

#include "util/error.h"

#include "io/image.h"
#include "io/preprocess.h"

/* How a map becomes a picture (--style):
 *   color    the reference normalization above, (h, w, 3)
 *   gray     pytorch-cnn-visualizations' grayscale: s = sum of |g| over the
 *            channels, clip((s - min) / (p99 - min), 0, 1) with p99 NumPy's
 *            99th percentile (linear interpolation), (h, w, 1)
 *   pos/neg  its positive and negative saliency: max(0, g) / max(g) and
 *            max(0, -g) / -min(g), (h, w, 3)
 *   heatmap  a cam in matplotlib's "jet" colormap averaged 50/50 with the
 *            cropped photo, (h, w, 3)
 * Values in [0, 1] become bytes as rint(255 v). */
typedef enum { STYLE_COLOR, STYLE_GRAY, STYLE_POS, STYLE_NEG, STYLE_HEATMAP } Style;

int style_parse(const char *name, Style *style);
const char *style_name(Style style);
int style_channels(Style style);

void saliency_chw_to_hwc(float *hwc, const float *chw, int h, int w);
/* Returns 1 when the map was flat and came out mid-grey, 0 otherwise. */
int saliency_to_rgb8(uint8_t *rgb, const float *hwc, int h, int w);
/* Renders a map (h, w, 3) HWC in gray, pos or neg style into out
 * (style_channels(style) bytes a pixel). Returns 1 when the map has no
 * contrast to show (out is then all zeros), 0 otherwise, -1 out of memory. */
int saliency_render(Style style, const float *hwc, int h, int w, uint8_t *out);
/* A cam (h, w) in [0, 1] as a heatmap over the photo rgb (h, w, 3). */
void saliency_heatmap(uint8_t *out, const float *cam, const uint8_t *rgb, int h, int w);

/* --full-size: a picture (224, 224, channels) of the crop placed back onto
 * the original image's frame: the crop region of img (see CropBox) gets
 * the picture resized to it with Pillow's bilinear filter, the rest stays
 * neutral (mid-grey for color, black for gray/pos/neg). For a heatmap pass
 * the cam instead of the picture: it is upsampled to the region and blended
 * with the photo at full resolution, the rest is the photo. out is
 * (img->height, img->width, channels). */
int saliency_full_size(uint8_t *out, Style style, const uint8_t *picture, const float *cam,
                       const Image *img, const CropBox *box, Error *e);

/* Writes an uncompressed RGB PNG of a map, atomically (see png.h). */
int saliency_write_png(const char *path, const uint8_t *rgb, int h, int w, Error *e);
/* The same for 1 (grey) or 3 (RGB) channels; compress: deflate it with
 * stb_image_write, worth it for smooth pictures only. */
int saliency_write_pixels(const char *path, const uint8_t *px, int h, int w, int channels,
                          int compress, Error *e);
/* A NumPy .npy (format 1.0, '<f4', C order) of a (h, w, channels) map,
 * shaped (h, w) when channels is 1. */
int saliency_write_npy(const char *path, const float *data, int h, int w, int channels, Error *e);

#endif
