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

/* image_load in its steps, for a caller that budgets memory (pipeline.h).
 * Reads a whole file (path "-": standard input, to its end), at most
 * IMAGE_MAX_FILE_BYTES, into *data (malloc'd); writes the SHA-256 of its
 * bytes (digest.h's hex, DIGEST_HEX chars) to sha256 unless NULL. */
int image_read(const char *path, unsigned char **data, size_t *size, char *sha256, Error *e);
/* The most memory image_decode of these bytes holds at once, the bytes
 * included, from the header alone: about 3 bytes a pixel for a baseline
 * JPEG, 9 for a progressive 4:4:4 one, 6 for an 8-bit RGB PNG, 16 for a
 * 16-bit RGBA one (the decoders' buffers, stage by stage), plus
 * IMAGE_DECODE_SLACK; just size for a file image_decode refuses from its
 * header. test_decode_memory measures it against the decoders. */
size_t image_decode_memory(const unsigned char *data, size_t size, int64_t max_pixels);
enum { IMAGE_DECODE_SLACK = 4 << 20 }; // the decoders' tables and rows

/* The same from bytes in memory; name is only used in messages. */
int image_decode(const unsigned char *data, size_t size, const char *name, int64_t max_pixels,
                 Image *img, Error *e);

#endif
