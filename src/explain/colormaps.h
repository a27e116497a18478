/* colormaps.h: matplotlib's colormaps, exactly.
 *
 * colormap_lut holds each colormap's 256-entry lookup table, the rows
 * matplotlib's Colormap.__call__ indexes (colormap_data.c is generated from
 * matplotlib by colormaps_to_c.py beside it). colormap_index is that call's
 * rule for a value v: row min(int(v * 256), 255) for v in [0, 1], so 1.0 is
 * the last row; below 0 the first row (the "under" colour, which defaults to
 * it), above 1 the last ("over"), NaN none (-1: matplotlib's "bad" colour,
 * transparent black). colormap_bytes is cmap(v, bytes=True): each channel
 * (uint8)(lut * 255), truncated as NumPy's astype(uint8) does.
 */
#ifndef GUIDEDBP_COLORMAPS_H
#define GUIDEDBP_COLORMAPS_H

#include <stdint.h>

/* --colormap's values, in colormap_names' order (colormaps_to_c.py's NAMES). */
typedef enum { COLORMAP_JET, COLORMAP_VIRIDIS, COLORMAP_INFERNO, COLORMAP_TURBO, COLORMAP_GRAY,
               COLORMAPS } Colormap;
extern const char *const colormap_names[COLORMAPS];

enum { COLORMAP_SIZE = 256 };
extern const double colormap_lut[COLORMAPS][COLORMAP_SIZE][3];

/* The row of the table for v, or -1 for NaN. */
int colormap_index(double v);
/* The colour of row `index` as bytes (rgb, 3). */
void colormap_bytes(Colormap map, int index, uint8_t *rgb);

#endif
