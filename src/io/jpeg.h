/* jpeg.h: JPEG decoding exactly as Pillow decodes it.
 *
 * The reference recipe opens images with Pillow, whose JPEG decoder is the
 * libjpeg-turbo that Debian's Pillow links; so is ours, with Pillow's
 * settings (Pillow 9.4, libImaging/JpegDecode.c and JpegImagePlugin.py):
 *   - mode from the frame's component count: 1 -> L, 3 -> RGB, 4 -> CMYK;
 *     any other count, or samples of other than 8 bits, refused;
 *   - L decoded to grayscale and replicated by convert('RGB'); RGB asked of
 *     libjpeg as JCS_RGB (it converts YCbCr, or takes RGB as it is);
 *   - CMYK asked as JCS_CMYK (libjpeg turns YCCK into CMYK), read as Adobe's
 *     inverted CMYK ("CMYK;I": Pillow assumes Adobe's polarity for every
 *     4-component file), then convert('RGB') as Pillow's cmyk2rgb;
 *   - libjpeg's defaults otherwise: accurate integer DCT, fancy upsampling;
 *   - warnings (corrupt but decodable data) ignored, as Pillow does; data
 *     that ends before the last scanline is refused, as Pillow refuses it
 *     ("image file is truncated"), while a missing EOI after the last scan
 *     of a sequential file is not;
 *   - the EXIF orientation is ignored (so is it by Image.open).
 *
 * Limits against hostile input, beyond Pillow's: the size is checked from
 * the header before any pixel buffer exists (image_size_ok), a file may
 * have at most JPEG_MAX_SCANS scans (a progressive file can make libjpeg
 * redo its whole coefficient buffer per scan: thousands of tiny scans are a
 * known denial of service), and libjpeg's own memory is bounded.
 */
#ifndef GUIDEDBP_JPEG_H
#define GUIDEDBP_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "io/raster.h"

enum { JPEG_MAX_SCANS = 500 };

/* Decodes data (size bytes) into img->rgb; name is only used in messages. */
int jpeg_decode(const unsigned char *data, size_t size, const char *name, int64_t max_pixels,
                Image *img, Error *e);

/* The most memory decoding data takes at once beside data, from its
 * header: the RGB image, and the coefficients of every block when the file
 * has more than one scan (a progressive file); 0 when jpeg_decode refuses
 * the header (before allocating). Height 0 (a DNL marker) is refused too. */
size_t jpeg_decode_memory(const unsigned char *data, size_t size, int64_t max_pixels);

/* The libjpeg-turbo version guidedbp was built with, e.g. "2.1.5". */
const char *jpeg_version(void);

#endif
