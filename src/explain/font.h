/* font.h: a 5x7 bitmap font for the titles of picture strips, so that
 * rendering needs no font library.
 *
 * One glyph for each printable ASCII byte (32-126), 5 pixels wide and 7
 * high, drawn for guidedbp (font.c holds them as pictures, '#' a pixel
 * set), in the manner of the common 5x7 character-LCD fonts. A glyph
 * advances FONT_ADVANCE pixels, a line FONT_LINE.
 *
 *     int drawn = font_draw(rgb, width, height, x, y, limit, "classifier.6", white);
 */
#ifndef GUIDEDBP_FONT_H
#define GUIDEDBP_FONT_H

#include <stdint.h>

enum { FONT_W = 5, FONT_H = 7, FONT_ADVANCE = 6, FONT_LINE = 9, FONT_FIRST = 32, FONT_LAST = 126 };

/* The glyph of byte c (a '?' for one outside 32-126): FONT_H rows of
 * FONT_W characters, '#' set and '.' clear. */
const char (*font_glyph(unsigned char c))[FONT_W + 1];

/* Draws text from (x, y), its first glyph's top-left corner, into rgb
 * (height, width, 3) in `colour`, up to its end or a newline, and only
 * glyphs that fit whole in the `limit` pixels from x and in the image: the
 * rest is cut, nothing is drawn outside. Returns the number of glyphs
 * drawn. */
int font_draw(uint8_t *rgb, int width, int height, int x, int y, int limit, const char *text,
              const uint8_t colour[3]);

#endif
