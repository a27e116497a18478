#include "explain/colormaps.h"

#include <math.h>

int colormap_index(double v) {
    if (isnan(v)) return -1;
    v *= COLORMAP_SIZE;
    return v < 0.0 ? 0 : v >= COLORMAP_SIZE ? COLORMAP_SIZE - 1 : (int)v;
}

void colormap_bytes(Colormap map, int index, uint8_t *rgb) {
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)(colormap_lut[map][index][c] * 255.0);
}
