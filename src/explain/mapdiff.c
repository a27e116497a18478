#include "explain/mapdiff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"

void mapdiff_pixels(const uint8_t *golden, const uint8_t *actual, size_t n, MapDiffPixels *d) {
    int64_t sum = 0, differing = 0;
    int max = 0;
    for (size_t i = 0; i < n; i++) {
        int diff = abs((int)golden[i] - (int)actual[i]);
        sum += diff;
        differing += diff != 0;
        max = diff > max ? diff : max;
    }
    d->max_level = max;
    d->values = (int64_t)n;
    d->differing = differing;
    d->mean_level = n ? (double)sum / (double)n : 0.0;
    d->differing_frac = n ? (double)differing / (double)n : 0.0;
}

int mapdiff_floats(const float *golden, const float *actual, size_t n, MapDiffFloats *d,
                   Error *e) {
    double err = 0, mag = 0, dot = 0, gg = 0, aa = 0;
    for (size_t i = 0; i < n; i++) {
        double g = golden[i], a = actual[i];
        if (!isfinite(g) || !isfinite(a))
            return error_set(e, "value %zu of the %s is not finite", i,
                             isfinite(g) ? "map" : "golden");
        err = fmax(err, fabs(g - a));
        mag = fmax(mag, fabs(g));
        dot += g * a, gg += g * g, aa += a * a;
    }
    d->values = n;
    d->max_rel = err == 0 ? 0.0 : mag > 0 ? err / mag : INFINITY;
    if (err == 0) d->cosine = 1.0; // equal, zero maps included: exactly 1, whatever the rounding
    else if (gg == 0 || aa == 0) d->cosine = 0.0;
    else d->cosine = fmax(-1.0, fmin(1.0, dot / (sqrt(gg) * sqrt(aa))));
    return 0;
}

int mapdiff_png_files(const char *golden, const char *actual, MapDiffPixels *d, Error *e) {
    Image g = {0}, a = {0};
    int rc = -1;
    if (image_load(golden, IMAGE_MAX_PIXELS, &g, e) != 0 ||
        image_load(actual, IMAGE_MAX_PIXELS, &a, e) != 0) {
        // e says which and why
    } else if (g.width != a.width || g.height != a.height) {
        error_set(e, "%s is %dx%d, its golden %s %dx%d", actual, a.width, a.height, golden,
                  g.width, g.height);
    } else {
        mapdiff_pixels(g.rgb, a.rgb, (size_t)g.width * g.height * 3, d);
        d->width = g.width, d->height = g.height;
        rc = 0;
    }
    image_free(&g);
    image_free(&a);
    return rc;
}

/* A map with a NaN or an infinity is broken whatever its golden says. */
static int check_finite(const NpyArray *a, const char *path, Error *e) {
    for (size_t i = 0; i < a->count; i++)
        if (!isfinite(a->data[i]))
            return error_set(e, "%s holds %s at flat index %zu; a map is finite", path,
                             isnan(a->data[i]) ? "NaN" : "an infinity", i);
    return 0;
}

int mapdiff_npy_files(const char *golden, const char *actual, MapDiffFloats *d, Error *e) {
    NpyArray g = {0}, a = {0};
    int rc = -1;
    if (npy_array_load(golden, &g, e) != 0 || npy_array_load(actual, &a, e) != 0 ||
        check_finite(&g, golden, e) != 0 || check_finite(&a, actual, e) != 0) {
        // e says which and why
    } else if (g.ndim != a.ndim || memcmp(g.shape, a.shape, sizeof g.shape[0] * g.ndim) != 0) {
        char gs[64], as[64];
        npy_shape_text(&g, gs, sizeof gs);
        npy_shape_text(&a, as, sizeof as);
        error_set(e, "%s has shape %s, its golden %s %s", actual, as, golden, gs);
    } else if (mapdiff_floats(g.data, a.data, g.count, d, e) == 0) {
        d->ndim = g.ndim;
        memcpy(d->shape, g.shape, sizeof d->shape);
        rc = 0;
    }
    npy_array_free(&g);
    npy_array_free(&a);
    return rc;
}

unsigned mapdiff_pixels_failures(const MapDiffPixels *d, const MapDiffLimits *l) {
    return (d->max_level > l->max_level ? MAPDIFF_MAX_LEVEL : 0) |
           (d->differing_frac > l->max_differing ? MAPDIFF_DIFFERING : 0);
}

unsigned mapdiff_floats_failures(const MapDiffFloats *d, const MapDiffLimits *l) {
    return (!(d->max_rel <= l->max_rel) ? MAPDIFF_MAX_REL : 0) |
           (!(d->cosine >= l->min_cosine) ? MAPDIFF_COSINE : 0);
}
