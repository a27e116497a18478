#include "io/raster.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int image_size_ok(const char *name, const char *format, int64_t w, int64_t h, int64_t max_pixels,
                  Error *e) {
    if (w >= 1 && h >= 1 && w <= IMAGE_MAX_SIDE && h <= IMAGE_MAX_SIDE && w * h <= max_pixels)
        return 0;
    return error_set(e, "%s: %s of %" PRId64 "x%" PRId64 " pixels is outside the limits (at most "
                     "%d a side, %" PRId64 " pixels in all; see --max-pixels)", name, format, w, h,
                     IMAGE_MAX_SIDE, max_pixels);
}

void image_free(Image *img) {
    if (!img) return;
    free(img->rgb); // stb_image allocates with malloc (STBI_MALLOC is not overridden)
    memset(img, 0, sizeof *img);
}
