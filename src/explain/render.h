/* render.h: from a map or a cam to the picture a person looks at.
 *
 * A map is HWC (H, W, 3), as the reference recipe's grad[0].permute(1, 2, 0)
 * (methods.h). Its picture is clip((g - mean) / std * 0.1 + 0.5, 0, 1) with the
 * population std over all H*W*3 values, scaled by 255 and rounded half to
 * even; statistics are computed in double. A map whose std is zero (or not
 * finite) has no contrast to show: it becomes mid-grey (128) and the
 * function says so by returning 1.
 */
#ifndef GUIDEDBP_RENDER_H
#define GUIDEDBP_RENDER_H

#include <stdint.h>

#include "io/image.h"
#include "io/preprocess.h"
#include "util/error.h"

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
typedef enum { STYLE_COLOR, STYLE_GRAY, STYLE_POS, STYLE_NEG, STYLE_HEATMAP, STYLES } Style;
/* --style's names, in Style's order. */
extern const char *const style_names[STYLES];

int style_channels(Style style);

/* The color style. Returns 1 when the map was flat and came out mid-grey,
 * 0 otherwise. */
int render_color(uint8_t *rgb, const float *hwc, int h, int w);
/* Renders a map (h, w, 3) HWC in gray, pos or neg style into out
 * (style_channels(style) bytes a pixel). Returns 1 when the map has no
 * contrast to show (out is then all zeros), 0 otherwise, -1 out of memory. */
int render_styled(Style style, const float *hwc, int h, int w, uint8_t *out);
/* A cam (h, w) in [0, 1] as a heatmap over the photo rgb (h, w, 3). */
void render_heatmap(uint8_t *out, const float *cam, const uint8_t *rgb, int h, int w);

/* The picture (h, w, style_channels) of one result in `style`: of the map
 * (h, w, 3), or for a cam method's result (`is_cam`) of the cam (h, w),
 * gray being the cam itself and heatmap the cam over `crop`, the photo (h,
 * w, 3). Returns 1 when there was no contrast to show (a flat picture is
 * written all the same), 0 otherwise, -1 out of memory. */
int render_picture(uint8_t *out, Style style, int is_cam, const float *map, const float *cam,
                   const uint8_t *crop, int h, int w);

/* --full-size: a picture (box->crop_h, box->crop_w, channels) of the input
 * placed back onto the original image's frame: the crop region of img (see
 * CropBox) gets the picture resized to it with Pillow's bilinear filter, the rest stays
 * neutral (mid-grey for color, black for gray/pos/neg). For a heatmap pass
 * the cam instead of the picture: it is upsampled to the region and blended
 * with the photo at full resolution, the rest is the photo. out is
 * (img->height, img->width, channels). */
int render_full_size(uint8_t *out, Style style, const uint8_t *picture, const float *cam,
                       const Image *img, const CropBox *box, Error *e);

/* The color pictures of `tiles` maps (tiles, h, w, 3), each normalized on
 * its own, side by side into out (h, tiles * w, 3): a check's strip. -1
 * out of memory. */
int render_strip(uint8_t *out, const float *maps, int tiles, int h, int w);

#endif
