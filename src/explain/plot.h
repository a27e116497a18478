/* plot.h: line plots drawn into an RGB picture, for --eval-plot's curves,
 * so that guidedbp needs no plotting library.
 *
 *     PlotSeries s[2] = {{"deletion AUC 0.081", xs, del, n, {214, 39, 40}},
 *                        {"insertion AUC 0.327", xs, ins, n, {31, 119, 180}}};
 *     plot_draw(rgb, PLOT_W, PLOT_H, "281 tabby", "fraction of pixels", s, 2);
 *
 * White ground, the plot's frame, the x axis from 0 to 1 and the y axis
 * from the lowest to the highest value of all series (those of a constant
 * series +-0.5), each labelled at both ends and the middle ("%.3g"), the
 * title above, the x label below, and a legend (a swatch and the label of
 * each series) in the top right corner. Each series is a 2-pixel polyline
 * through its points in order, clipped to the frame; a point whose value
 * is not finite breaks the line. Text is font.h's, cut where it does not
 * fit.
 */
#ifndef GUIDEDBP_PLOT_H
#define GUIDEDBP_PLOT_H

#include <stdint.h>

/* --eval-plot's picture size. */
enum { PLOT_W = 480, PLOT_H = 320 };

typedef struct {
    const char *label;
    const double *x, *y; // (n) x in [0, 1]
    int n;
    uint8_t colour[3];
} PlotSeries;

/* The frame's pixel box in a width x height plot, for the tests. */
typedef struct {
    int left, top, right, bottom; // inclusive
} PlotFrame;
PlotFrame plot_frame(int width, int height);

/* Draws into rgb (height, width, 3); width and height at least 160 and 120. */
void plot_draw(uint8_t *rgb, int width, int height, const char *title, const char *xlabel,
               const PlotSeries *series, int n);

#endif
