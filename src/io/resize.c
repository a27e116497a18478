#include "io/resize.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sides beyond this are refused, which keeps every intermediate in
 * coeffs_init (center + support, tap counts) far inside int. The target
 * size may be larger than the window that is computed, hence the two. */
enum { RESIZE_MAX_SIDE = 1 << 20, RESIZE_MAX_TARGET = 1 << 26 };

/* Pillow's fixed point: 8 bits of pixel and 2 bits of headroom (for
 * filters with negative lobes) leave 22 bits of fraction. */
enum { PRECISION_BITS = 32 - 8 - 2 };

/* The weights of one pass. Output sample i is the weighted sum of
 * bounds[2i+1] input samples starting at index bounds[2i]. */
typedef struct {
    int ksize;     // taps reserved per output sample
    int *bounds;   // (out_size, 2): first input index, number of taps
    int32_t *k;    // (out_size, ksize) fixed-point weights
} Coeffs;

static void coeffs_free(Coeffs *c) {
    free(c->bounds);
    free(c->k);
    c->bounds = NULL;
    c->k = NULL;
}

static double triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear
 * filter (support 1) and the whole-image box, for the `count` output
 * samples from `first` on (each sample's weights depend on its index
 * alone, so a window of them is exact). The expressions keep Pillow's
 * operand order: the weights are compared bit for bit after rounding, and
 * a different association can move one across a rounding boundary. */
static int coeffs_init(Coeffs *c, int in_size, int out_size, int first, int count, Error *e) {
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;  // widen only when shrinking
    double support = 1.0 * filterscale;
    double ss = 1.0 / filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *w = NULL;

    c->ksize = ksize;
    c->bounds = NULL;
    c->k = NULL;
    if ((size_t)count > SIZE_MAX / sizeof(int32_t) / (size_t)ksize)
        return error_set(e, "resize: %d weights for each of %d samples do not fit in memory",
                         ksize, count);
    c->bounds = malloc((size_t)count * 2 * sizeof *c->bounds);
    c->k = calloc((size_t)count * (size_t)ksize, sizeof *c->k);
    w = malloc((size_t)ksize * sizeof *w);
    if (!c->bounds || !c->k || !w) {
        free(w);
        coeffs_free(c);
        return error_set(e, "resize: out of memory for the weights of %d -> %d samples",
                         in_size, out_size);
    }

    for (int o = 0; o < count; o++) {
        int i = first + o;
        double center = (i + 0.5) * scale;
        // Pillow rounds the window ends by adding 0.5 and truncating.
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        int n = hi - lo;
        double sum = 0.0;
        for (int j = 0; j < n; j++) {
            w[j] = triangle(((double)(j + lo) - center + 0.5) * ss);
            sum += w[j];
        }
        int32_t *k = c->k + (size_t)o * (size_t)ksize;
        for (int j = 0; j < n; j++) {
            double v = sum != 0.0 ? w[j] / sum : w[j];
            // Round half away from zero, as normalize_coeffs_8bpc does.
            v *= (double)(1 << PRECISION_BITS);
            k[j] = (int32_t)(v < 0.0 ? v - 0.5 : v + 0.5);
        }
        c->bounds[2 * o] = lo;
        c->bounds[2 * o + 1] = n;
    }
    free(w);
    return 0;
}

/* Pillow's clip8: the integer part of a 22-bit fixed-point sum, clamped. */
static uint8_t clip8(int32_t v) {
    if (v < 0) return 0;
    v >>= PRECISION_BITS;
    return v > 255 ? 255 : (uint8_t)v;
}

/* Resamples each row of src (rows, src_w, 3) into dst (rows, dst_w, 3). */
static void resample_horizontal(uint8_t *dst, int dst_w, const uint8_t *src, int src_w, int rows,
                                const Coeffs *c) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *s = src + (size_t)y * (size_t)src_w * 3;
        uint8_t *d = dst + (size_t)y * (size_t)dst_w * 3;
        for (int x = 0; x < dst_w; x++) {
            const int32_t *k = c->k + (size_t)x * (size_t)c->ksize;
            const uint8_t *p = s + (size_t)c->bounds[2 * x] * 3;
            int n = c->bounds[2 * x + 1];
            int32_t r = 1 << (PRECISION_BITS - 1), g = r, b = r;
            for (int j = 0; j < n; j++) {
                r += p[3 * j + 0] * k[j];
                g += p[3 * j + 1] * k[j];
                b += p[3 * j + 2] * k[j];
            }
            d[3 * x + 0] = clip8(r);
            d[3 * x + 1] = clip8(g);
            d[3 * x + 2] = clip8(b);
        }
    }
}

/* Resamples the columns of src (.., w, 3), whose first row is input row
 * row0, into dst (dst_h, w, 3). */
static void resample_vertical(uint8_t *dst, int dst_h, int w, const uint8_t *src, int row0,
                              const Coeffs *c) {
    size_t stride = (size_t)w * 3;
    for (int y = 0; y < dst_h; y++) {
        const int32_t *k = c->k + (size_t)y * (size_t)c->ksize;
        const uint8_t *s = src + (size_t)(c->bounds[2 * y] - row0) * stride;
        int n = c->bounds[2 * y + 1];
        uint8_t *d = dst + (size_t)y * stride;
        for (size_t x = 0; x < stride; x++) {
            int32_t v = 1 << (PRECISION_BITS - 1);
            for (int j = 0; j < n; j++) v += s[(size_t)j * stride + x] * k[j];
            d[x] = clip8(v);
        }
    }
}

/* Bytes of a (h, w, 3) image, or 0 when that overflows size_t. */
static size_t rgb_bytes(int w, int h) {
    if ((size_t)w > SIZE_MAX / 3 / (size_t)h) return 0;
    return (size_t)w * (size_t)h * 3;
}

int image_resize(const Image *in, int width, int height, Image *out, Error *e) {
    return image_resize_window(in, width, height, 0, 0, width, height, out, e);
}

int image_resize_window(const Image *in, int width, int height, int x0, int y0, int cw, int ch,
                        Image *out, Error *e) {
    if (!in || !out) return error_set(e, "resize: input and output images are required");
    if (out == in) return error_set(e, "resize: the output must be a different Image from the input");
    if (!in->rgb || in->width < 1 || in->height < 1)
        return error_set(e, "resize: the input image has no pixels (%dx%d)", in->width, in->height);
    if (in->width > RESIZE_MAX_SIDE || in->height > RESIZE_MAX_SIDE)
        return error_set(e, "resize: input image %dx%d has a side over %d", in->width, in->height,
                         RESIZE_MAX_SIDE);
    if (width < 1 || height < 1 || width > RESIZE_MAX_TARGET || height > RESIZE_MAX_TARGET)
        return error_set(e, "resize: target size %dx%d is invalid, each side must be 1..%d", width,
                         height, RESIZE_MAX_TARGET);
    if (cw < 1 || ch < 1 || cw > RESIZE_MAX_SIDE || ch > RESIZE_MAX_SIDE || x0 < 0 || y0 < 0 ||
        x0 > width - cw || y0 > height - ch)
        return error_set(e, "resize: window %dx%d at (%d, %d) is not inside %dx%d", cw, ch, x0, y0,
                         width, height);
    size_t in_bytes = rgb_bytes(in->width, in->height);
    size_t out_bytes = rgb_bytes(cw, ch);
    if (!in_bytes || !out_bytes)
        return error_set(e, "resize: %dx%d -> %dx%d does not fit in memory", in->width, in->height,
                         cw, ch);

    uint8_t *rgb = malloc(out_bytes);
    if (!rgb) return error_set(e, "resize: out of memory for a %dx%d image", cw, ch);
    int need_horizontal = width != in->width;
    int need_vertical = height != in->height;
    Coeffs hc = {0}, vc = {0};
    uint8_t *tmp = NULL;
    int status = -1;
    // Like Pillow, the horizontal pass only makes the rows the vertical pass
    // reads; here also only the window's columns.
    int row0 = y0, rows = ch;
    if (need_vertical) {
        if (coeffs_init(&vc, in->height, height, y0, ch, e) != 0) goto done;
        row0 = vc.bounds[0];
        rows = vc.bounds[2 * ch - 2] + vc.bounds[2 * ch - 1] - row0;
    }
    const uint8_t *src = in->rgb + (size_t)row0 * (size_t)in->width * 3;
    uint8_t *dst = need_vertical ? NULL : rgb;
    if (need_vertical) {
        size_t tmp_bytes = rgb_bytes(cw, rows);
        if (!tmp_bytes || !(tmp = malloc(tmp_bytes))) {
            error_set(e, "resize: out of memory for a %dx%d intermediate image", cw, rows);
            goto done;
        }
        dst = tmp;
    }
    if (need_horizontal) {
        if (coeffs_init(&hc, in->width, width, x0, cw, e) != 0) goto done;
        resample_horizontal(dst, cw, src, in->width, rows, &hc);
    } else {
        // The window's columns, as they are.
        for (int y = 0; y < rows; y++)
            memcpy(dst + (size_t)y * cw * 3, src + ((size_t)y * in->width + x0) * 3,
                   (size_t)cw * 3);
    }
    if (need_vertical) resample_vertical(rgb, ch, cw, tmp, row0, &vc);
    *out = (Image){.width = cw, .height = ch, .rgb = rgb};
    rgb = NULL;
    status = 0;
done:
    free(tmp);
    coeffs_free(&hc);
    coeffs_free(&vc);
    free(rgb);
    return status;
}

void upsample_bilinear(float *out, int oh, int ow, const float *in, int h, int w) {
    const float sh = (float)h / (float)oh, sw = (float)w / (float)ow;
    for (int y = 0; y < oh; y++) {
        float fy = sh * ((float)y + 0.5f) - 0.5f;
        if (fy < 0) fy = 0;
        int y0 = (int)fy, y1 = y0 + (y0 < h - 1);
        float ly1 = fy - (float)y0, ly0 = 1.0f - ly1;
        for (int x = 0; x < ow; x++) {
            float fx = sw * ((float)x + 0.5f) - 0.5f;
            if (fx < 0) fx = 0;
            int x0 = (int)fx, x1 = x0 + (x0 < w - 1);
            float lx1 = fx - (float)x0, lx0 = 1.0f - lx1;
            out[y * ow + x] = ly0 * (lx0 * in[y0 * w + x0] + lx1 * in[y0 * w + x1]) +
                              ly1 * (lx0 * in[y1 * w + x0] + lx1 * in[y1 * w + x1]);
        }
    }
}

void resize_box(uint8_t *out, int oh, int ow, const uint8_t *in, int h, int w, int channels) {
    for (int y = 0; y < oh; y++) {
        int y0 = (int)((int64_t)y * h / oh), y1 = (int)((int64_t)(y + 1) * h / oh);
        for (int x = 0; x < ow; x++) {
            int x0 = (int)((int64_t)x * w / ow), x1 = (int)((int64_t)(x + 1) * w / ow);
            int64_t n = (int64_t)(y1 - y0) * (x1 - x0);
            for (int c = 0; c < channels; c++) {
                int64_t sum = 0;
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++)
                        sum += in[((size_t)yy * w + xx) * channels + c];
                out[((size_t)y * ow + x) * channels + c] = (uint8_t)((sum + n / 2) / n);
            }
        }
    }
}
