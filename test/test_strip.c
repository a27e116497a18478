/* The strips of a check and of --compare-methods: their titles, the bitmap font (its glyphs are whole and
 * distinct; a known string draws the expected pixels; text that does not
 * fit is cut, never drawn outside) and render_strip's layout (its size,
 * each tile's picture at its place, each title in its own tile's band;
 * each compared method's tile its own picture). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/check.h"
#include "explain/font.h"
#include "explain/render.h"
#include "pipeline.h"
#include "isa.h"
#include "weights_cache.h"
#include "test.h"

#include <stb_image.h>

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

static WeightsCache cache;

/* One image through the pipeline: its PNG at png, and with `compare` the
 * methods' strip at strip. The target is class 281. */
static int run_one(const Weights *w, Method m, Style style, const CompareMethods *compare,
                   const char *png, const char *strip) {
    Input in = {.path = "test/fixtures/images/cat.png", .png = (char *)png};
    PipelineConfig c = {.spec = {.method = m, .guide = GUIDE_FEATURES, .layer = -1,
                                 .cam_layer = 11, .steps = 4},
                        .style = style, .overlay = {.colormap = COLORMAP_VIRIDIS, .alpha = 0.4},
                        .target = 281, .vs = -1, .max_pixels = IMAGE_MAX_PIXELS, .batch = 1,
                        .threads = 2, .isa = test_isa(), .strip = strip};
    if (compare) c.compare = *compare;
    Pipeline p;
    PipelineCounts counts;
    Error e = {0};
    int ok = pipeline_init(&p, &c, w, 1, &e) == 0;
    if (ok) {
        ok = pipeline_run(&p, &in, 1, &counts, &e) == 0 && counts.done == 1;
        pipeline_free(&p);
    }
    CHECK_MSG(ok, "%s: %s", png, e.msg);
    return ok;
}

/* --compare-methods: each tile is, pixel for pixel, the picture the method
 * makes on its own, under its title. */
static void test_compare_methods_tiles(void) {
    const Weights *w = weights_cached(&cache, "test/fixtures/golden/tiny.safetensors");
    CHECK(w != NULL);
    if (!w) return;
    // features.11 is the tiny AlexNet's last ReLU, the cams' default layer.
    CHECK(strcmp(w->graph.layers[11].name, "features.11") == 0);
    CompareMethods cm = {.n = 4,
                         .method = {METHOD_GUIDED, METHOD_GRADCAM, METHOD_INTEGRATED, METHOD_GRADIENT},
                         .style = {STYLE_HEATMAP, STYLE_GRAY, STYLE_COLOR, STYLE_POS}};
    char dir[] = "/tmp/guidedbp_test_strip_XXXXXX", strip[128], png[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(strip, sizeof strip, "%s/strip.png", dir);
    snprintf(png, sizeof png, "%s/main.png", dir);
    if (!run_one(w, METHOD_GUIDED, STYLE_COLOR, &cm, png, strip)) return;
    int sw, sh, sc;
    uint8_t *s = stbi_load(strip, &sw, &sh, &sc, 3);
    CHECK_MSG(s && sw == 4 * 224 && sh == RENDER_STRIP_BAND + 224, "strip %dx%d", sw, sh);
    for (int t = 0; s && sw == 4 * 224 && t < cm.n; t++) {
        snprintf(png, sizeof png, "%s/%d.png", dir, t);
        if (!run_one(w, cm.method[t], cm.style[t], NULL, png, NULL)) continue;
        int pw, ph, pc, wrong = 0;
        uint8_t *one = stbi_load(png, &pw, &ph, &pc, 3); // gray comes back in all three channels
        CHECK(one && pw == 224 && ph == 224);
        for (int y = 0; one && y < 224; y++)
            wrong += memcmp(s + ((size_t)(RENDER_STRIP_BAND + y) * sw + t * 224) * 3,
                            one + (size_t)y * 224 * 3, 224 * 3) != 0;
        CHECK_MSG(wrong == 0, "tile %d (%s %s): %d rows differ from its own picture", t,
                  method_names[cm.method[t]], style_names[cm.style[t]], wrong);
        int lit = 0;
        for (int y = 0; y < RENDER_STRIP_BAND; y++)
            for (int x = 0; x < 224; x++) lit += s[((size_t)y * sw + t * 224 + x) * 3] != 0;
        CHECK_MSG(lit > 0, "tile %d has no title", t);
        stbi_image_free(one);
        remove(png);
    }
    stbi_image_free(s);
    remove(strip);
    snprintf(png, sizeof png, "%s/main.png", dir);
    remove(png);
    remove(dir);
}

int main(void) {
    RUN(test_glyphs_are_whole_and_distinct);
    RUN(test_a_known_string);
    RUN(test_text_is_cut_not_spilled);
    RUN(test_strip_layout);
    RUN(test_check_titles);
    RUN(test_compare_methods_tiles);
    weights_cache_free(&cache);
    return test_summary();
}
