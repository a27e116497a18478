/* raster.h: an 8-bit RGB image, and the size limits every decoder checks.
 *
 * An Image owns its pixels: rgb is (height, width, 3) row-major, 8 bits per
 * channel, allocated by image_load / image_resize and released by image_free.
 */
#ifndef GUIDEDBP_RASTER_H
#define GUIDEDBP_RASTER_H

#include <stdint.h>

#include "util/error.h"

typedef struct {
    int width, height;
    uint8_t *rgb;    // (height, width, 3)
    int64_t clipped; // samples of a 16-bit grey PNG above 255, made 255 (image.h)
} Image;

/* Limits checked against the file's header before anything is decoded, so
 * a small file that claims a huge image is refused without allocating.
 * IMAGE_MAX_PIXELS is the default of image_load's max_pixels. */
enum {
    IMAGE_MAX_FILE_BYTES = 256 << 20,
    IMAGE_MAX_SIDE = 16384,
    IMAGE_MAX_PIXELS = 64 << 20,
};

/* 0 when a w x h image is within the limits above and max_pixels, else -1
 * and a message naming the file: what every decoder checks from the header
 * before it allocates a pixel. */
int image_size_ok(const char *name, const char *format, int64_t w, int64_t h, int64_t max_pixels,
                  Error *e);

/* Releases the pixels and zeroes the struct; NULL and zeroed images are fine. */
void image_free(Image *img);

#endif
