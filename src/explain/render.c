#include "explain/render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/resize.h"

const char *const style_names[] = {"color", "gray", "pos", "neg", "heatmap"};
_Static_assert(sizeof style_names / sizeof *style_names == STYLES, "a name for each value");
const char *const sign_names[] = {"abs", "pos", "neg"};
_Static_assert(sizeof sign_names / sizeof *sign_names == SIGNS, "a name for each value");

int style_channels(Style style) { return style == STYLE_GRAY ? 1 : 3; }

static uint8_t to_byte(double v) {
    v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
    return (uint8_t)rint(v * 255.0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* np.percentile(x, 99) of x[0, n), n > 0, sorting x: the linear
 * interpolation at rank 0.99 (n - 1), NumPy's _lerp (from the upper value
 * when the fraction is 0.5 or more). */
static double percentile99(double *x, size_t n) {
    qsort(x, n, sizeof *x, cmp_double);
    double rank = 0.99 * (double)(n - 1);
    size_t below = (size_t)rank, above = below + 1 < n ? below + 1 : n - 1;
    double t = rank - (double)below, d = x[above] - x[below];
    return t >= 0.5 ? x[above] - d * (1.0 - t) : x[below] + d * t;
}

/* The gray style's values of a map's `sign` part, in [0, 1], into v (h w):
 * 1 when there is no contrast (v all 0), -1 out of memory. */
static int scaled_sums(double *v, const float *hwc, size_t n, Sign sign) {
    double *sorted = malloc(sizeof *sorted * n);
    if (!sorted) return -1;
    for (size_t p = 0; p < n; p++) {
        double a = hwc[3 * p], b = hwc[3 * p + 1], c = hwc[3 * p + 2], sum = a + b + c;
        v[p] = sign == SIGN_ABS ? fabs(a) + fabs(b) + fabs(c)
               : sign == SIGN_POS ? (sum > 0.0 ? sum : 0.0)
                                  : (-sum > 0.0 ? -sum : 0.0);
    }
    memcpy(sorted, v, sizeof *v * n);
    double p99 = percentile99(sorted, n), lo = sorted[0];
    free(sorted);
    for (size_t p = 0; p < n; p++) {
        double x = p99 > lo ? (v[p] - lo) / (p99 - lo) : 0.0;
        v[p] = x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
    }
    return p99 > lo ? 0 : 1;
}

int render_heat(float *heat, const float *hwc, int h, int w, Sign sign) {
    size_t n = (size_t)h * w;
    double *v = malloc(sizeof *v * n);
    if (!v) return -1;
    int rc = scaled_sums(v, hwc, n, sign);
    for (size_t p = 0; rc >= 0 && p < n; p++) heat[p] = (float)v[p];
    free(v);
    return rc;
}

int render_styled(Style style, const float *hwc, int h, int w, uint8_t *out) {
    size_t n = (size_t)h * w;
    double *v = malloc(sizeof *v * (style == STYLE_GRAY ? n : 3 * n));
    if (!v) return -1;
    int rc;
    if (style == STYLE_GRAY) {
        rc = scaled_sums(v, hwc, n, SIGN_ABS);
        for (size_t p = 0; rc >= 0 && p < n; p++) out[p] = to_byte(v[p]);
    } else {
        // The part's nonzero values, for their percentile.
        double sign = style == STYLE_POS ? 1.0 : -1.0;
        size_t m = 0;
        for (size_t i = 0; i < 3 * n; i++)
            if (sign * (double)hwc[i] > 0.0) v[m++] = sign * (double)hwc[i];
        double p99 = m > 0 ? percentile99(v, m) : 0.0;
        for (size_t i = 0; i < 3 * n; i++) {
            double part = sign * (double)hwc[i];
            out[i] = p99 > 0.0 ? to_byte((part > 0.0 ? part : 0.0) / p99) : 0;
        }
        rc = p99 > 0.0 ? 0 : 1;
    }
    free(v);
    return rc;
}

void render_heatmap(uint8_t *out, const float *heat, const uint8_t *rgb, size_t n,
                    const Overlay *ov) {
    for (size_t p = 0; p < n; p++) {
        int index = colormap_index(heat[p]);
        uint8_t c[3];
        if (index < 0) {
            memmove(out + 3 * p, rgb + 3 * p, 3);
            continue;
        }
        colormap_bytes(ov->colormap, index, c);
        for (int k = 0; k < 3; k++)
            out[3 * p + k] = (uint8_t)rint(ov->alpha * c[k] + (1.0 - ov->alpha) * rgb[3 * p + k]);
    }
}

int render_full_size(uint8_t *out, Style style, const Overlay *ov, const uint8_t *picture,
                     const float *heat, const Image *img, const CropBox *box, Error *e) {
    const int iw = box->crop_w, ih = box->crop_h, ch = style_channels(style);
    int W = img->width, H = img->height;
    // The crop's corners mapped back through the resize.
    int x0 = (int)lround(box->crop_x * (double)W / box->resized_w);
    int y0 = (int)lround(box->crop_y * (double)H / box->resized_h);
    int x1 = (int)lround((box->crop_x + iw) * (double)W / box->resized_w);
    int y1 = (int)lround((box->crop_y + ih) * (double)H / box->resized_h);
    x1 = x1 > W ? W : x1, y1 = y1 > H ? H : y1;
    int rw = x1 - x0 < 1 ? 1 : x1 - x0, rh = y1 - y0 < 1 ? 1 : y1 - y0;
    size_t n = (size_t)W * H;
    if (style == STYLE_HEATMAP) {
        float *up = malloc(sizeof *up * (size_t)rw * rh);
        if (!up) return error_set(e, "full-size heatmap: out of memory");
        upsample_bilinear(up, rh, rw, heat, ih, iw);
        memcpy(out, img->rgb, n * 3);
        for (int y = 0; y < rh; y++) {
            uint8_t *dst = out + ((size_t)(y0 + y) * W + x0) * 3;
            render_heatmap(dst, up + (size_t)y * rw, dst, (size_t)rw, ov);
        }
        free(up);
        return 0;
    }
    // The picture as an RGB image (grey replicated), resized like torchvision would.
    Image tile = {.width = iw, .height = ih, .rgb = malloc((size_t)iw * ih * 3)}, region = {0};
    if (!tile.rgb) return error_set(e, "full-size: out of memory");
    for (size_t p = 0; p < (size_t)iw * ih; p++)
        for (int c = 0; c < 3; c++) tile.rgb[3 * p + c] = picture[p * ch + (ch == 3 ? c : 0)];
    int rc = image_resize(&tile, rw, rh, &region, e);
    free(tile.rgb);
    if (rc != 0) return -1;
    memset(out, style == STYLE_COLOR ? 128 : 0, n * ch);
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
            for (int c = 0; c < ch; c++)
                out[((size_t)(y0 + y) * W + x0 + x) * ch + c] = region.rgb[((size_t)y * rw + x) * 3 + c];
    image_free(&region);
    return 0;
}

int render_color(uint8_t *rgb, const float *hwc, int h, int w) {
    size_t n = (size_t)h * w * 3;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += hwc[i];
    double mean = sum / (double)n, var = 0.0;
    for (size_t i = 0; i < n; i++) var += ((double)hwc[i] - mean) * ((double)hwc[i] - mean);
    double std = sqrt(var / (double)n);
    if (!(std > 0.0) || !isfinite(std)) {
        memset(rgb, 128, n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        double v = ((double)hwc[i] - mean) / std * 0.1 + 0.5;
        v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
        rgb[i] = (uint8_t)rint(v * 255.0);
    }
    return 0;
}

int render_picture(uint8_t *out, float *heat, Style style, const Overlay *ov, int is_cam,
                   const float *map, const float *cam, const uint8_t *crop, int h, int w) {
    size_t n = (size_t)h * w;
    int flat = 0;
    switch (style) {
    case STYLE_COLOR: return render_color(out, map, h, w);
    case STYLE_HEATMAP:
        if (is_cam)
            memcpy(heat, cam, sizeof *heat * n);
        else if ((flat = render_heat(heat, map, h, w, ov->sign)) < 0)
            return -1;
        render_heatmap(out, heat, crop, n, ov);
        return flat;
    case STYLE_GRAY:
        if (is_cam) {
            for (size_t p = 0; p < n; p++) out[p] = (uint8_t)rint(255.0 * cam[p]);
            return 0;
        }
        return render_styled(STYLE_GRAY, map, h, w, out);
    case STYLE_POS:
    case STYLE_NEG: return render_styled(style, map, h, w, out);
    case STYLES: break;
    }
    return 0;
}

/* Tile t of a strip of `tiles`: its title in the band, its picture (h, w,
 * 3) below. */
static void strip_tile(uint8_t *out, const uint8_t *picture, const char *title, int t, int tiles,
                       int h, int w) {
    size_t row = (size_t)w * 3, strip_row = row * (size_t)tiles;
    static const uint8_t white[3] = {255, 255, 255};
    for (int y = 0; y < RENDER_STRIP_BAND; y++) memset(out + y * strip_row + t * row, 0, row);
    for (int l = 0; title && l < RENDER_TITLE_LINES; l++) {
        font_draw(out, w * tiles, RENDER_STRIP_BAND, t * w + RENDER_TITLE_MARGIN,
                  RENDER_TITLE_MARGIN + l * FONT_LINE, w - 2 * RENDER_TITLE_MARGIN, title, white);
        title = strchr(title, '\n');
        title = title ? title + 1 : NULL;
    }
    for (int y = 0; y < h; y++)
        memcpy(out + (RENDER_STRIP_BAND + (size_t)y) * strip_row + t * row, picture + (size_t)y * row,
               row);
}

int render_strip(uint8_t *out, const float *maps, const char *const *titles, int tiles, int h,
                 int w) {
    size_t map = (size_t)h * w * 3;
    uint8_t *tile = malloc(map);
    if (!tile) return -1;
    for (int t = 0; t < tiles; t++) {
        render_color(tile, maps + (size_t)t * map, h, w);
        strip_tile(out, tile, titles ? titles[t] : NULL, t, tiles, h, w);
    }
    free(tile);
    return 0;
}

void render_strip_pictures(uint8_t *out, const uint8_t *pictures, const char *const *titles,
                           int tiles, int h, int w) {
    for (int t = 0; t < tiles; t++)
        strip_tile(out, pictures + (size_t)t * h * w * 3, titles ? titles[t] : NULL, t, tiles, h, w);
}
