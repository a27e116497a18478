#include "explain/plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "explain/font.h"

/* Room for the y labels (9 glyphs, "-0.000123"), the title above, the x labels and the
 * x label below. */
enum { MARGIN_LEFT = 10 * FONT_ADVANCE, MARGIN_TOP = 2 * FONT_LINE, MARGIN_RIGHT = 12,
       MARGIN_BOTTOM = 3 * FONT_LINE + 4 };

static const uint8_t INK[3] = {0, 0, 0}, GRID[3] = {225, 225, 225};

PlotFrame plot_frame(int width, int height) {
    return (PlotFrame){MARGIN_LEFT, MARGIN_TOP, width - 1 - MARGIN_RIGHT, height - 1 - MARGIN_BOTTOM};
}

static void put(uint8_t *rgb, int width, int height, int x, int y, const uint8_t c[3]) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    memcpy(rgb + ((size_t)y * width + x) * 3, c, 3);
}

static void hline(uint8_t *rgb, int width, int height, int x0, int x1, int y, const uint8_t c[3]) {
    for (int x = x0; x <= x1; x++) put(rgb, width, height, x, y, c);
}

static void vline(uint8_t *rgb, int width, int height, int x, int y0, int y1, const uint8_t c[3]) {
    for (int y = y0; y <= y1; y++) put(rgb, width, height, x, y, c);
}

/* A 2-pixel line from (x0, y0) to (x1, y1) (Bresenham's, the pixel below
 * each one too), only its pixels inside f. */
static void segment(uint8_t *rgb, int width, int height, const PlotFrame *f, int x0, int y0,
                    int x1, int y1, const uint8_t c[3]) {
    int dx = x1 > x0 ? x1 - x0 : x0 - x1, dy = y1 > y0 ? y0 - y1 : y1 - y0;
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        for (int k = 0; k < 2; k++)
            if (x0 >= f->left && x0 <= f->right && y0 + k >= f->top && y0 + k <= f->bottom)
                put(rgb, width, height, x0, y0 + k, c);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

/* Text ending at x (right-aligned), from y. */
static void text_right(uint8_t *rgb, int width, int height, int x, int y, const char *s) {
    int len = (int)strlen(s), x0 = x - len * FONT_ADVANCE + 1;
    font_draw(rgb, width, height, x0 < 0 ? 0 : x0, y, x - (x0 < 0 ? 0 : x0) + 1, s, INK);
}

void plot_draw(uint8_t *rgb, int width, int height, const char *title, const char *xlabel,
               const PlotSeries *series, int n) {
    memset(rgb, 255, (size_t)width * height * 3);
    PlotFrame f = plot_frame(width, height);
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].y[i])) {
                if (series[s].y[i] < lo) lo = series[s].y[i];
                if (series[s].y[i] > hi) hi = series[s].y[i];
            }
    if (!(lo < hi)) { // no finite value, or all the same
        double mid = isfinite(lo) ? lo : 0;
        lo = mid - 0.5, hi = mid + 0.5;
    }
    // The grid at the middles, the frame, the labels.
    int mx = (f.left + f.right) / 2, my = (f.top + f.bottom) / 2;
    vline(rgb, width, height, mx, f.top + 1, f.bottom - 1, GRID);
    hline(rgb, width, height, f.left + 1, f.right - 1, my, GRID);
    hline(rgb, width, height, f.left, f.right, f.top, INK);
    hline(rgb, width, height, f.left, f.right, f.bottom, INK);
    vline(rgb, width, height, f.left, f.top, f.bottom, INK);
    vline(rgb, width, height, f.right, f.top, f.bottom, INK);
    char label[32];
    const double ys[3] = {hi, (lo + hi) / 2, lo};
    const int yp[3] = {f.top, my, f.bottom};
    for (int k = 0; k < 3; k++) {
        snprintf(label, sizeof label, "%.3g", ys[k]);
        int y = yp[k] - FONT_H / 2;
        if (y < 0) y = 0;
        text_right(rgb, width, height, f.left - 4, y, label);
    }
    const char *xs[3] = {"0", "0.5", "1"};
    const int xp[3] = {f.left, mx, f.right};
    for (int k = 0; k < 3; k++) {
        int len = (int)strlen(xs[k]);
        font_draw(rgb, width, height, xp[k] - len * FONT_ADVANCE / 2, f.bottom + 4,
                  len * FONT_ADVANCE, xs[k], INK);
    }
    if (xlabel) {
        int len = (int)strlen(xlabel);
        font_draw(rgb, width, height, mx - len * FONT_ADVANCE / 2, f.bottom + 4 + FONT_LINE + 2,
                  f.right - f.left, xlabel, INK);
    }
    if (title) font_draw(rgb, width, height, f.left, (MARGIN_TOP - FONT_H) / 2, f.right - f.left, title, INK);
    // The series.
    double xscale = f.right - f.left, yscale = f.bottom - f.top;
    for (int s = 0; s < n; s++) {
        const PlotSeries *p = &series[s];
        int have = 0, px = 0, py = 0;
        for (int i = 0; i < p->n; i++) {
            if (!isfinite(p->y[i]) || !isfinite(p->x[i])) {
                have = 0;
                continue;
            }
            int x = f.left + (int)lrint(p->x[i] * xscale);
            int y = f.bottom - (int)lrint((p->y[i] - lo) / (hi - lo) * yscale);
            if (have) segment(rgb, width, height, &f, px, py, x, y, p->colour);
            else segment(rgb, width, height, &f, x, y, x, y, p->colour);
            have = 1, px = x, py = y;
        }
    }
    // The legend, over the curves, in the top right corner.
    int longest = 0;
    for (int s = 0; s < n; s++)
        if ((int)strlen(series[s].label) > longest) longest = (int)strlen(series[s].label);
    int box_w = 16 + longest * FONT_ADVANCE + 6;
    if (box_w > f.right - f.left - 4) box_w = f.right - f.left - 4;
    int x0 = f.right - 2 - box_w, y0 = f.top + 3;
    for (int y = y0; y < y0 + n * FONT_LINE + 4 && y < f.bottom; y++)
        hline(rgb, width, height, x0, f.right - 3, y, (const uint8_t[3]){255, 255, 255});
    for (int s = 0; s < n; s++) {
        int y = y0 + 2 + s * FONT_LINE;
        for (int k = 0; k < 2; k++) hline(rgb, width, height, x0 + 2, x0 + 12, y + 3 + k, series[s].colour);
        font_draw(rgb, width, height, x0 + 16, y, box_w - 18, series[s].label, INK);
    }
}
