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

/* The CRC-32 PNG chunks carry (ISO 3309, as zlib's crc32): fill a table
 * once, then continue a running crc, starting from 0. (A table per call
 * would cost a file of many tiny chunks 2048 steps a chunk.) */
void png_crc_table(uint32_t table[256]);
uint32_t png_crc32(const uint32_t table[256], uint32_t crc, const unsigned char *p, size_t n);

/* Appends an uncompressed PNG of (h, w, channels) 8-bit pixels, channels 1
 * (grey) or 3 (RGB), to out; out->failed reports a failed allocation. */
void png_encode_stored(Buf *out, const uint8_t *px, int h, int w, int channels);

/* Writes (h, w, channels) 8-bit pixels, 1 (grey) or 3 (RGB) channels, as a
 * PNG at path, atomically (fileio.h), or on standard output for "-": stored, or with `compress` deflated
 * by stb_image_write, worth it for smooth pictures only. */
int png_write(const char *path, const uint8_t *px, int h, int w, int channels, int compress,
              Error *e);

#endif
