#include "explain/render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/resize.h"

const char *const style_names[] = {"color", "gray", "pos", "neg", "heatmap"};
_Static_assert(sizeof style_names / sizeof *style_names == STYLES, "a name for each value");

int style_channels(Style style) { return style == STYLE_GRAY ? 1 : 3; }

static uint8_t to_byte(double v) {
    v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
    return (uint8_t)rint(v * 255.0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int render_styled(Style style, const float *hwc, int h, int w, uint8_t *out) {
    size_t n = (size_t)h * w;
    if (style == STYLE_GRAY) {
        double *s = malloc(sizeof *s * n), *sorted = malloc(sizeof *sorted * n);
        if (!s || !sorted) {
            free(s);
            free(sorted);
            return -1;
        }
        for (size_t p = 0; p < n; p++)
            s[p] = fabs((double)hwc[3 * p]) + fabs((double)hwc[3 * p + 1]) +
                   fabs((double)hwc[3 * p + 2]);
        memcpy(sorted, s, sizeof *s * n);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double rank = 0.99 * (double)(n - 1);
        size_t below = (size_t)rank;
        double p99 = sorted[below] + (below + 1 < n ? (sorted[below + 1] - sorted[below]) * (rank - (double)below) : 0.0);
        double lo = sorted[0];
        for (size_t p = 0; p < n; p++) out[p] = p99 > lo ? to_byte((s[p] - lo) / (p99 - lo)) : 0;
        free(s);
        free(sorted);
        return p99 > lo ? 0 : 1;
    }
    float hi = hwc[0], lo = hwc[0];
    for (size_t i = 1; i < 3 * n; i++) hi = hwc[i] > hi ? hwc[i] : hi, lo = hwc[i] < lo ? hwc[i] : lo;
    double scale = style == STYLE_POS ? (double)hi : -(double)lo;
    for (size_t i = 0; i < 3 * n; i++) {
        double v = style == STYLE_POS ? (double)hwc[i] : -(double)hwc[i];
        out[i] = scale > 0.0 ? to_byte((v > 0.0 ? v : 0.0) / scale) : 0;
    }
    return scale > 0.0 ? 0 : 1;
}

/* matplotlib's "jet": per channel, (x, y) breakpoints of a piecewise-linear map. */
static double jet(int channel, double v) {
    static const double pts[3][6][2] = {
        {{0, 0}, {0.35, 0}, {0.66, 1}, {0.89, 1}, {1, 0.5}, {1, 0.5}},
        {{0, 0}, {0.125, 0}, {0.375, 1}, {0.64, 1}, {0.91, 0}, {1, 0}},
        {{0, 0.5}, {0.11, 1}, {0.34, 1}, {0.65, 0}, {1, 0}, {1, 0}},
    };
    const double(*p)[2] = pts[channel];
    for (int i = 1; i < 6; i++)
        if (v <= p[i][0])
            return p[i][0] > p[i - 1][0]
                       ? p[i - 1][1] + (p[i][1] - p[i - 1][1]) * (v - p[i - 1][0]) / (p[i][0] - p[i - 1][0])
                       : p[i][1];
    return p[5][1];
}

void render_heatmap(uint8_t *out, const float *cam, const uint8_t *rgb, int h, int w) {
    for (size_t p = 0; p < (size_t)h * w; p++) {
        double v = cam[p] < 0.0f ? 0.0 : cam[p] > 1.0f ? 1.0 : (double)cam[p];
        for (int c = 0; c < 3; c++) {
            double heat = rint(255.0 * jet(c, v));
            out[3 * p + c] = (uint8_t)rint(0.5 * heat + 0.5 * (double)rgb[3 * p + c]);
        }
    }
}

int render_full_size(uint8_t *out, Style style, const uint8_t *picture, const float *cam,
                       const Image *img, const CropBox *box, Error *e) {
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
        upsample_bilinear(up, rh, rw, cam, ih, iw);
        memcpy(out, img->rgb, n * 3);
        uint8_t *row = malloc((size_t)rw * 3);
        if (!row) {
            free(up);
            return error_set(e, "full-size heatmap: out of memory");
        }
        for (int y = 0; y < rh; y++) {
            uint8_t *dst = out + ((size_t)(y0 + y) * W + x0) * 3;
            render_heatmap(row, up + (size_t)y * rw, dst, 1, rw);
            memcpy(dst, row, (size_t)rw * 3);
        }
        free(row);
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

int render_picture(uint8_t *out, Style style, int is_cam, const float *map, const float *cam,
                   const uint8_t *crop, int h, int w) {
    switch (style) {
    case STYLE_COLOR: return render_color(out, map, h, w);
    case STYLE_HEATMAP: render_heatmap(out, cam, crop, h, w); return 0;
    case STYLE_GRAY:
        if (is_cam) {
            for (size_t p = 0; p < (size_t)h * w; p++) out[p] = (uint8_t)rint(255.0 * cam[p]);
            return 0;
        }
        return render_styled(STYLE_GRAY, map, h, w, out);
    case STYLE_POS:
    case STYLE_NEG: return render_styled(style, map, h, w, out);
    case STYLES: break;
    }
    return 0;
}

int render_strip(uint8_t *out, const float *maps, int tiles, int h, int w) {
    size_t row = (size_t)w * 3, map = (size_t)h * row;
    uint8_t *tile = malloc(map);
    if (!tile) return -1;
    for (int t = 0; t < tiles; t++) {
        render_color(tile, maps + (size_t)t * map, h, w);
        for (int y = 0; y < h; y++)
            memcpy(out + ((size_t)y * tiles + t) * row, tile + (size_t)y * row, row);
    }
    free(tile);
    return 0;
}
