/* mapdiff.h: how far a saliency map is from its golden, and the limits that
 * tell "the same map, within float rounding" from "another map": the
 * measures of `guidedbp compare` (cli/compare.h). README's "Golden-image
 * tests" has the measurements the default limits come from.
 *
 *     MapDiffPixels d;
 *     if (mapdiff_png_files("golden.png", "out.png", &d, &err) != 0) ...; // unreadable, sizes
 *     MapDiffLimits limits = MAPDIFF_DEFAULT_LIMITS;
 *     if (mapdiff_pixels_failures(&d, &limits) == 0) ...;                // passes
 *
 * A PNG is compared by its decoded pixels (image_load, so a hostile file is
 * refused as any input is; grey is compared as RGB), never by its bytes: the
 * values are 8-bit levels, and a map within float rounding of its golden
 * differs by a level where a value sits on a rounding boundary. A .npy
 * (npy.h: float32) is compared by max |a - b| / max |golden| and the cosine
 * similarity, both in double.
 */
#ifndef GUIDEDBP_MAPDIFF_H
#define GUIDEDBP_MAPDIFF_H

#include <stddef.h>
#include <stdint.h>

#include "io/npy.h"
#include "util/error.h"

typedef struct {
    int width, height;
    int max_level;          // the largest |golden - actual| of any value, 0-255
    double mean_level;      // the mean |golden - actual| over every value
    int64_t differing;      // values that differ at all
    int64_t values;         // values compared: width * height * 3
    double differing_frac;  // differing / values
} MapDiffPixels;

typedef struct {
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    size_t values;
    double max_rel;  // max |golden - actual| / max |golden|: 0 when equal, +inf when the
                     // golden is all zero and actual is not
    double cosine;   // <golden, actual> / (|golden| |actual|), in [-1, 1]: 1 when equal
                     // (two zero maps included), 0 when only one is zero
} MapDiffFloats;

/* The limits a pair is held to; a pair passes when every measure of its
 * kind is within. */
typedef struct {
    int max_level;        // PNG: largest level difference allowed
    double max_differing; // PNG: largest fraction of values that may differ
    double max_rel;       // .npy: largest max |a - b| / max |golden|
    double min_cosine;    // .npy: smallest cosine similarity
} MapDiffLimits;

/* The defaults, measured (README: Golden-image tests): the same map within
 * float rounding (ours against PyTorch's goldens, 34 maps) differs by at
 * most 1 level in at most 3 of 150,528 values, 9.6e-7 of the max, cosine
 * 1 - 4e-13; another map (another class, other weights, one layer
 * re-drawn, 28 pairs) by at least 40 levels in at least 84% of the values,
 * 0.147 of the max, cosine at most 0.977. Each limit sits orders of
 * magnitude from both. */
#define MAPDIFF_DEFAULT_MAX_LEVEL 2
#define MAPDIFF_DEFAULT_MAX_DIFFERING 0.001
#define MAPDIFF_DEFAULT_MAX_REL 1e-4
#define MAPDIFF_DEFAULT_MIN_COSINE 0.99999
#define MAPDIFF_DEFAULT_LIMITS                                                                 \
    {.max_level = MAPDIFF_DEFAULT_MAX_LEVEL, .max_differing = MAPDIFF_DEFAULT_MAX_DIFFERING,   \
     .max_rel = MAPDIFF_DEFAULT_MAX_REL, .min_cosine = MAPDIFF_DEFAULT_MIN_COSINE}

/* The measures of n 8-bit values (width and height are left to the caller). */
void mapdiff_pixels(const uint8_t *golden, const uint8_t *actual, size_t n, MapDiffPixels *d);
/* The measures of n float values; -1 with e when a value of either is not
 * finite (a map never holds one). */
int mapdiff_floats(const float *golden, const float *actual, size_t n, MapDiffFloats *d,
                   Error *e);

/* The two files decoded and measured: -1 with e when one cannot be read or
 * decoded, or their sizes (shapes) differ. */
int mapdiff_png_files(const char *golden, const char *actual, MapDiffPixels *d, Error *e);
int mapdiff_npy_files(const char *golden, const char *actual, MapDiffFloats *d, Error *e);

/* Which measures are beyond their limits: 0 when the pair passes. */
enum { MAPDIFF_MAX_LEVEL = 1, MAPDIFF_DIFFERING = 2, MAPDIFF_MAX_REL = 4, MAPDIFF_COSINE = 8 };
unsigned mapdiff_pixels_failures(const MapDiffPixels *d, const MapDiffLimits *l);
unsigned mapdiff_floats_failures(const MapDiffFloats *d, const MapDiffLimits *l);

#endif
