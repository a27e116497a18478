/* png.h: the PNG pieces guidedbp writes itself.
 *
 * A saliency map is noise to deflate: stb_image_write's level-8 PNG of a
 * 224x224 map came out larger than its raw pixels and cost 15 ms, the
 * biggest single cost of an image after the network. So maps are written
 * with deflate's stored blocks (no compression: 0.2 ms), and smooth
 * pictures (heatmaps, full-size overlays), which do compress, still go
 * through stb. */
#ifndef GUIDEDBP_PNG_H
#define GUIDEDBP_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "io/fileio.h"
#include "util/error.h"

/* The CRC-32 PNG chunks carry (ISO 3309, zlib's crc32), continuing a
 * running crc that starts from 0. */
uint32_t png_crc32(uint32_t crc, const unsigned char *p, size_t n);

/* Appends an uncompressed PNG of (h, w, channels) 8-bit pixels, channels 1
 * (grey) or 3 (RGB), to out; out->failed reports a failed allocation. */
void png_encode_stored(Buf *out, const uint8_t *px, int h, int w, int channels);

/* A text chunk: iTXt, uncompressed UTF-8, `keyword` 1-79 printable Latin-1
 * characters (PNG's rule). What a map says about itself (provenance). */
typedef struct {
    const char *keyword;
    const char *text;
} PngText;

/* The text chunks' largest text png_read_texts accepts: provenance is a few
 * kilobytes, and a hostile file must not make it allocate more. */
enum { PNG_TEXT_MAX = 1 << 20 };

/* Writes (h, w, channels) 8-bit pixels, 1 (grey) or 3 (RGB) channels, as a
 * PNG at path, atomically (fileio.h), or on standard output for "-": stored,
 * or with `compress` deflated by stb_image_write, worth it for smooth
 * pictures only. The n_texts chunks go right after IHDR, before the pixels,
 * so a reader finds them without reading the image. */
int png_write(const char *path, const uint8_t *px, int h, int w, int channels, int compress,
              const PngText *texts, int n_texts, Error *e);

/* Reads the tEXt and iTXt chunks before the image data of the PNG at path:
 * for each keyword of keywords[0..n), out[k] is a malloc'd NUL-terminated
 * copy of its (uncompressed) text, or NULL when the file has none. 0, or -1
 * when the file is not a readable PNG (e says why; out is all NULL). */
int png_read_texts(const char *path, const char *const *keywords, int n, char **out, Error *e);

#endif
