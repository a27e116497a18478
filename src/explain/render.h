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

#include "explain/colormaps.h"
#include "explain/font.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "util/error.h"

/* How a map becomes a picture (--style):
 *   color    the reference normalization above, (h, w, 3)
 *   gray     pytorch-cnn-visualizations' and PAIR saliency's grayscale:
 *            s = sum of |g| over the channels, clip((s - min) / (p99 - min),
 *            0, 1), (h, w, 1)
 *   pos/neg  the positive and negative parts: max(0, g) / p and
 *            max(0, -g) / p clipped to 1, p the 99th percentile of the
 *            part's nonzero values (a few extreme gradients no longer make
 *            the rest black), (h, w, 3)
 *   heatmap  a heat value a pixel (render_heat; for a cam the cam) in a
 *            matplotlib colormap, blended with the photo (render_heatmap),
 *            (h, w, 3)
 * p99 is NumPy's np.percentile(x, 99): linear interpolation at rank
 * 0.99 (n - 1), with NumPy's two-sided lerp. Statistics are computed in
 * double. Values in [0, 1] become bytes as rint(255 v). */
typedef enum { STYLE_COLOR, STYLE_GRAY, STYLE_POS, STYLE_NEG, STYLE_HEATMAP, STYLES } Style;
/* --style's names, in Style's order. */
extern const char *const style_names[STYLES];

/* --sign: the part of a map a heatmap shows, from s, the sum over the
 * channels: abs the sum of |g| (the gray style's s), pos max(0, s), neg
 * max(0, -s) (Captum's visualize_image_attr signs). */
typedef enum { SIGN_ABS, SIGN_POS, SIGN_NEG, SIGNS } Sign;
extern const char *const sign_names[SIGNS];

/* A heatmap's settings (--colormap, --alpha, --sign). */
typedef struct {
    Colormap colormap;
    double alpha;      // the colormap's weight in the blend, in [0, 1]
    Sign sign;         // maps only; a cam is shown as it is
} Overlay;
#define OVERLAY_DEFAULT_ALPHA 0.5

int style_channels(Style style);

/* The color style. Returns 1 when the map was flat and came out mid-grey,
 * 0 otherwise. */
int render_color(uint8_t *rgb, const float *hwc, int h, int w);
/* Renders a map (h, w, 3) HWC in gray, pos or neg style into out
 * (style_channels(style) bytes a pixel). Returns 1 when the map has no
 * contrast to show (out is then all zeros), 0 otherwise, -1 out of memory. */
int render_styled(Style style, const float *hwc, int h, int w, uint8_t *out);
/* A map's heat (h, w): its `sign` part s scaled as the gray style scales
 * it, clip((s - min) / (p99 - min), 0, 1), rounded to float. 1 when there
 * is no contrast (heat all 0), 0 otherwise, -1 out of memory. */
int render_heat(float *heat, const float *hwc, int h, int w, Sign sign);
/* n pixels of heat over the photo rgb (n, 3): each channel
 * rint(alpha * c + (1 - alpha) * photo) in double, c the colormap's colour
 * of the heat as matplotlib's cmap(heat, bytes=True) gives it
 * (colormaps.h); a NaN heat is matplotlib's transparent "bad" colour and
 * leaves the photo. At alpha 1 the picture is plt.imsave(heat, cmap=..,
 * vmin=0, vmax=1)'s. out may be rgb: each pixel is read before it is written. */
void render_heatmap(uint8_t *out, const float *heat, const uint8_t *rgb, size_t n,
                    const Overlay *ov);

/* The picture (h, w, style_channels) of one result in `style`: of the map
 * (h, w, 3), or for a cam method's result (`is_cam`) of the cam (h, w),
 * gray being the cam itself. A heatmap is drawn over `crop`, the photo (h,
 * w, 3), from `heat` (h, w), which it fills: the cam, or the map's
 * render_heat; heat and crop are unused by the other styles (may be NULL).
 * Returns 1 when there was no contrast to show (a flat picture is written
 * all the same), 0 otherwise, -1 out of memory. */
int render_picture(uint8_t *out, float *heat, Style style, const Overlay *ov, int is_cam,
                   const float *map, const float *cam, const uint8_t *crop, int h, int w);

/* --full-size: a picture (box->crop_h, box->crop_w, channels) of the input
 * placed back onto the original image's frame: the crop region of img (see
 * CropBox) gets the picture resized to it with Pillow's bilinear filter, the rest stays
 * neutral (mid-grey for color, black for gray/pos/neg). A heatmap is drawn
 * from render_picture's heat instead: upsampled to the region in float as
 * F.interpolate(mode='bilinear', align_corners=False) (resize.h), and
 * blended with the photo at full resolution; the rest is the photo. out is
 * (img->height, img->width, channels). */
int render_full_size(uint8_t *out, Style style, const Overlay *ov, const uint8_t *picture,
                     const float *heat, const Image *img, const CropBox *box, Error *e);

/* A check's strip: the color pictures of `tiles` maps (tiles, h, w, 3),
 * each normalized on its own, side by side under a band of titles; out is
 * (RENDER_STRIP_BAND + h, tiles * w, 3). Tile t's title titles[t] (NULL:
 * none) has up to RENDER_TITLE_LINES lines parted by '\n', drawn in white
 * on the black band with font.h's glyphs from RENDER_TITLE_MARGIN pixels
 * in; a line longer than its tile's width less the margins is cut there
 * (never drawn over the next tile), further lines are dropped. -1 out of
 * memory. */
enum {
    RENDER_TITLE_LINES = 2,
    RENDER_TITLE_MARGIN = 2,
    RENDER_STRIP_BAND = RENDER_TITLE_MARGIN + RENDER_TITLE_LINES * FONT_LINE,
};
int render_strip(uint8_t *out, const float *maps, const char *const *titles, int tiles, int h,
                 int w);
/* The same strip of pictures already made, (tiles, h, w, 3) RGB. */
void render_strip_pictures(uint8_t *out, const uint8_t *pictures, const char *const *titles,
                           int tiles, int h, int w);

#endif
