/* The strip of a check: its titles, the bitmap font (its glyphs are whole and
 * distinct; a known string draws the expected pixels; text that does not
 * fit is cut, never drawn outside) and render_strip's layout (its size,
 * each tile's picture at its place, each title in its own tile's band). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/check.h"
#include "explain/font.h"
#include "explain/render.h"
#include "test.h"

static const uint8_t white[3] = {255, 255, 255};

static void test_glyphs_are_whole_and_distinct(void) {
    int bad = 0, same = 0;
    for (int c = FONT_FIRST; c <= FONT_LAST; c++) {
        const char(*g)[FONT_W + 1] = font_glyph((unsigned char)c);
        for (int r = 0; r < FONT_H; r++)
            bad += strlen(g[r]) != FONT_W || strspn(g[r], "#.") != FONT_W;
        for (int d = FONT_FIRST; d < c; d++)
            same += memcmp(g, font_glyph((unsigned char)d), sizeof *g * FONT_H) == 0;
    }
    CHECK_MSG(bad == 0, "%d glyph rows are not 5 of '#' and '.'", bad);
    CHECK_MSG(same == 0, "%d pairs of characters share a glyph", same);
    // Bytes outside printable ASCII draw as '?'.
    CHECK(font_glyph(7) == font_glyph('?') && font_glyph(200) == font_glyph('?'));
}

/* "Hi!" at (1, 1) of a 19x9 image, as it must come out: drawn here by hand,
 * not from the font's table. */
static void test_a_known_string(void) {
    static const char *const want[9] = {
        "...................",
        ".#...#...#.....#...",
        ".#...#.........#...",
        ".#...#..##.....#...",
        ".#####...#.....#...",
        ".#...#...#.....#...",
        ".#...#...#.........",
        ".#...#..###....#...",
        "...................",
    };
    uint8_t img[9 * 19 * 3] = {0};
    CHECK(font_draw(img, 19, 9, 1, 1, 18, "Hi!", white) == 3);
    int wrong = 0;
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 19; x++)
            for (int k = 0; k < 3; k++)
                wrong += img[(y * 19 + x) * 3 + k] != (want[y][x] == '#' ? 255 : 0);
    CHECK_MSG(wrong == 0, "%d values differ from the expected \"Hi!\"", wrong);
}

static int lit_outside(const uint8_t *img, int w, int h, int x0, int x1) {
    int n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            n += (x < x0 || x >= x1) && img[(y * w + x) * 3] != 0;
    return n;
}

static void test_text_is_cut_not_spilled(void) {
    enum { W = 40, H = 10 };
    uint8_t img[H * W * 3];
    memset(img, 0, sizeof img);
    // 17 pixels hold two glyphs and a gap (6 + 5 = 11), not three (17 + 1).
    CHECK(font_draw(img, W, H, 3, 1, 16, "MMMMMM", white) == 2);
    CHECK(lit_outside(img, W, H, 3, 3 + 16) == 0);
    memset(img, 0, sizeof img);
    CHECK(font_draw(img, W, H, 3, 1, 17, "MMMMMM", white) == 3);
    memset(img, 0, sizeof img);
    // Past the image's right edge, or its bottom, nothing is drawn.
    CHECK(font_draw(img, W, H, 30, 1, 100, "MMMMMM", white) == 1);
    CHECK(lit_outside(img, W, H, 30, 36) == 0);
    memset(img, 0, sizeof img);
    CHECK(font_draw(img, W, H, 0, 4, 100, "M", white) == 0);
    CHECK(font_draw(img, W, H, 0, -1, 100, "M", white) == 0);
    CHECK(font_draw(img, W, H, -2, 0, 100, "M", white) == 0);
    CHECK(lit_outside(img, W, H, W, W) == 0);
    // A line ends at a newline.
    CHECK(font_draw(img, W, H, 0, 0, W, "ab\ncd", white) == 2);
}

/* A map whose color picture is not flat: a ramp, different per tile. */
static void ramp(float *map, int h, int w, int t) {
    for (int i = 0; i < h * w * 3; i++) map[i] = (float)((i * (t + 3)) % 17);
}

static void test_strip_layout(void) {
    enum { T = 3, H = 8, W = 40, SH = RENDER_STRIP_BAND + H, SW = T * W };
    static float maps[T * H * W * 3];
    for (int t = 0; t < T; t++) ramp(maps + t * H * W * 3, H, W, t);
    const char *titles[T] = {"original\n281 tabby", "a title far too long for its tile\nsp 0.5", NULL};
    static uint8_t out[SH * SW * 3], pic[H * W * 3], band[RENDER_STRIP_BAND * W * 3];
    memset(out, 7, sizeof out);
    CHECK(render_strip(out, maps, titles, T, H, W) == 0);
    int wrong = 0;
    for (int t = 0; t < T; t++) {
        // The picture under the band, at the tile's place.
        render_color(pic, maps + t * H * W * 3, H, W);
        for (int y = 0; y < H; y++)
            wrong += memcmp(out + ((RENDER_STRIP_BAND + y) * SW + t * W) * 3, pic + y * W * 3,
                            W * 3) != 0;
        // The band: black, with the tile's title lines from the margin in.
        memset(band, 0, sizeof band);
        const char *line = titles[t];
        for (int l = 0; line && l < RENDER_TITLE_LINES; l++) {
            font_draw(band, W, RENDER_STRIP_BAND, RENDER_TITLE_MARGIN,
                      RENDER_TITLE_MARGIN + l * FONT_LINE, W - 2 * RENDER_TITLE_MARGIN, line, white);
            line = strchr(line, '\n');
            line = line ? line + 1 : NULL;
        }
        for (int y = 0; y < RENDER_STRIP_BAND; y++)
            wrong += memcmp(out + (y * SW + t * W) * 3, band + y * W * 3, W * 3) != 0;
        // Nothing lit in the margins that part the tiles.
        for (int y = 0; y < RENDER_STRIP_BAND; y++)
            for (int x = 0; x < RENDER_TITLE_MARGIN; x++)
                wrong += out[(y * SW + t * W + x) * 3] != 0 ||
                         out[(y * SW + t * W + W - 1 - x) * 3] != 0;
    }
    CHECK_MSG(wrong == 0, "%d rows or margin pixels of the strip are wrong", wrong);
    // The titles were drawn: the first tile's band has lit pixels, the third none.
    int lit0 = 0, lit2 = 0;
    for (int y = 0; y < RENDER_STRIP_BAND; y++)
        for (int x = 0; x < W; x++) {
            lit0 += out[(y * SW + x) * 3] != 0;
            lit2 += out[(y * SW + 2 * W + x) * 3] != 0;
        }
    CHECK(lit0 > 0 && lit2 == 0);
}

/* The titles a check gives its strip's tiles. */
static void test_check_titles(void) {
    static CheckResult r;
    static char text[3][CHECK_TITLE_LEN];
    r.class_sim = (Similarity){0.9574, 0.96649, 0.9396};
    check_titles(&r, CHECK_CLASS, "281 tabby", "382 squirrel monkey", text);
    CHECK_MSG(strcmp(text[0], "281 tabby\nthe class explained") == 0, "%s", text[0]);
    CHECK_MSG(strcmp(text[1], "382 squirrel monkey\nsp_abs 0.957 sp 0.966 ssim 0.940") == 0, "%s",
              text[1]);
    r.steps = 2;
    snprintf(r.cascading[0].layer, sizeof r.cascading[0].layer, "classifier.6");
    r.cascading[0].sim = (Similarity){0.5, -0.25, 1};
    snprintf(r.cascading[1].layer, sizeof r.cascading[1].layer, "classifier.4");
    r.cascading[1].sim = (Similarity){NAN, NAN, 0.0004};
    check_titles(&r, CHECK_RANDOMIZE, "281 tabby", "", text);
    CHECK_MSG(strcmp(text[0], "original\n281 tabby") == 0, "%s", text[0]);
    CHECK_MSG(strcmp(text[1], "classifier.6\nsp_abs 0.500 sp -0.250 ssim 1.000") == 0, "%s", text[1]);
    CHECK_MSG(strcmp(text[2], "classifier.4\nsp_abs undef sp undef ssim 0.000") == 0, "%s", text[2]);
}

int main(void) {
    RUN(test_glyphs_are_whole_and_distinct);
    RUN(test_a_known_string);
    RUN(test_text_is_cut_not_spilled);
    RUN(test_strip_layout);
    RUN(test_check_titles);
    return test_summary();
}
