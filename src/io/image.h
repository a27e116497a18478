/* image.h: decoding PNG and JPEG files to 8-bit RGB images, and the limits
 * that keep a hostile file from costing more than a real one (the ImageNet
 * preprocessing is preprocess.h's).
 *
 * The Image type and the limits are raster.h's.
 *
 *     Image img = {0};
 *     if (image_load("cat.png", IMAGE_MAX_PIXELS, &img, &err) != 0) ...; // PNG or JPEG -> RGB
 *     image_free(&img);
 */
#ifndef GUIDEDBP_IMAGE_H
#define GUIDEDBP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "io/raster.h"
#include "util/error.h"

/* Decodes a PNG (with stb_image) or JPEG (with libjpeg-turbo, exactly as
 * Pillow does: jpeg.h), recognised by its first bytes, not its name, to RGB
 * the way PIL's convert('RGB') sees it: grey replicated, alpha dropped
 * without compositing, 16-bit samples reduced to their high byte. Images
 * above IMAGE_MAX_SIDE a side or max_pixels in all are refused. */
int image_load(const char *path, int64_t max_pixels, Image *img, Error *e);
/* (path "-" reads standard input, to its end.) */
/* The same, also writing the SHA-256 of the bytes read (digest.h's hex,
 * DIGEST_HEX chars) to sha256 once they are read, whatever the decoding. */
int image_load_digest(const char *path, int64_t max_pixels, Image *img, char *sha256, Error *e);

/* The same from bytes in memory; name is only used in messages. */
int image_decode(const unsigned char *data, size_t size, const char *name, int64_t max_pixels,
                 Image *img, Error *e);

#endif
