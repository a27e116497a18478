/* plot.h, the curves of --eval-plot: points land where the axes put them,
 * lines stay inside the frame, a value that is not finite breaks the line,
 * a constant series sits in the middle, the legend shows each series'
 * colour and label, and the rest is white. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/plot.h"
#include "test.h"

enum { W = PLOT_W, H = PLOT_H };
static const uint8_t RED[3] = {214, 39, 40};

static int is(const uint8_t *rgb, int x, int y, const uint8_t c[3]) {
    return memcmp(rgb + ((size_t)y * W + x) * 3, c, 3) == 0;
}

/* Pixels of colour c in the box [x0, x1] x [y0, y1]. */
static int count(const uint8_t *rgb, int x0, int y0, int x1, int y1, const uint8_t c[3]) {
    int n = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) n += is(rgb, x, y, c);
    return n;
}

static void test_diagonal_goes_corner_to_corner(void) {
    uint8_t *rgb = malloc((size_t)W * H * 3);
    double x[3] = {0, 0.5, 1}, y[3] = {2, 3, 4};
    PlotSeries s = {"diagonal", x, y, 3, {214, 39, 40}};
    plot_draw(rgb, W, H, "title", "x", &s, 1);
    PlotFrame f = plot_frame(W, H);
    int mx = f.left + (int)lrint(0.5 * (f.right - f.left)), my = f.bottom - (int)lrint(0.5 * (f.bottom - f.top));
    CHECK_MSG(count(rgb, f.left, f.bottom - 2, f.left + 2, f.bottom, RED) > 0, "no line at (0, lowest)");
    CHECK_MSG(count(rgb, mx - 1, my - 1, mx + 1, my + 1, RED) > 0, "no line at the middle");
    // The top right corner is under the legend; just below it, the line.
    CHECK(count(rgb, f.left, 0, W - 1, f.top - 1, RED) == 0);        // not above the frame
    CHECK(count(rgb, f.right + 1, 0, W - 1, H - 1, RED) == 0);       // nor right of it
    CHECK(count(rgb, 0, f.bottom + 1, W - 1, H - 1, RED) == 0);      // nor below
    // White away from the curve, the frame, the grid and the text.
    CHECK(is(rgb, f.left + 40, f.top + 100, (const uint8_t[3]){255, 255, 255}));
    free(rgb);
}

static void test_values_outside_x_range_are_clipped(void) {
    uint8_t *rgb = malloc((size_t)W * H * 3);
    double x[2] = {0.5, 3}, y[2] = {0, 1};
    PlotSeries s = {"", x, y, 2, {214, 39, 40}};
    plot_draw(rgb, W, H, NULL, NULL, &s, 1);
    PlotFrame f = plot_frame(W, H);
    CHECK(count(rgb, f.right + 1, 0, W - 1, H - 1, RED) == 0);
    CHECK(count(rgb, f.left + 1, f.top + 1, f.right - 1, f.bottom - 1, RED) > 0);
    free(rgb);
}

static void test_nan_breaks_the_line(void) {
    uint8_t *rgb = malloc((size_t)W * H * 3);
    double x[4] = {0, 0.25, 0.75, 1}, y[4] = {0, 0, NAN, 0};
    double ref[2] = {1, 1};
    PlotSeries s[2] = {{"", x, y, 4, {214, 39, 40}}, {"", x, ref, 2, {0, 0, 255}}};
    plot_draw(rgb, W, H, NULL, NULL, s, 2);
    PlotFrame f = plot_frame(W, H);
    int x_mid = f.left + (int)lrint(0.5 * (f.right - f.left));
    CHECK_MSG(count(rgb, f.left + 2, f.bottom - 2, f.left + 20, f.bottom, RED) > 0, "no line from 0 to 0.25");
    CHECK_MSG(count(rgb, x_mid - 5, f.bottom - 3, x_mid + 5, f.bottom, RED) == 0,
              "a line drawn across the NaN");
    free(rgb);
}

static void test_constant_series_in_the_middle(void) {
    uint8_t *rgb = malloc((size_t)W * H * 3);
    double x[2] = {0, 1}, y[2] = {0.25, 0.25};
    PlotSeries s = {"", x, y, 2, {214, 39, 40}};
    plot_draw(rgb, W, H, NULL, NULL, &s, 1);
    PlotFrame f = plot_frame(W, H);
    int my = f.bottom - (int)lrint(0.5 * (f.bottom - f.top));
    CHECK(count(rgb, f.left + 10, my - 1, f.left + 100, my + 1, RED) > 80);
    free(rgb);
}

static void test_legend_shows_colour_and_label(void) {
    uint8_t *rgb = malloc((size_t)W * H * 3);
    double x[2] = {0, 1}, y[2] = {0, 0}, z[2] = {1, 1};
    PlotSeries s[2] = {{"first series", x, y, 2, {214, 39, 40}},
                       {"second series", x, z, 2, {31, 119, 180}}};
    plot_draw(rgb, W, H, NULL, NULL, s, 2);
    PlotFrame f = plot_frame(W, H);
    const uint8_t blue[3] = {31, 119, 180}, ink[3] = {0, 0, 0};
    // The legend box: the top right of the frame, a line a series.
    int x0 = f.right - 120, y0 = f.top + 3, y1 = f.top + 30; // below the top line
    CHECK_MSG(count(rgb, x0, y0, f.right - 1, y1, RED) >= 20, "no red swatch");
    CHECK_MSG(count(rgb, x0, y0, f.right - 1, y1, blue) >= 20, "no blue swatch");
    CHECK_MSG(count(rgb, x0, y0, f.right - 1, y1, ink) > 100, "no label text");
    free(rgb);
}

int main(void) {
    RUN(test_diagonal_goes_corner_to_corner);
    RUN(test_values_outside_x_range_are_clipped);
    RUN(test_nan_breaks_the_line);
    RUN(test_constant_series_in_the_middle);
    RUN(test_legend_shows_colour_and_label);
    return test_summary();
}
