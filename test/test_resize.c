/* test_resize.c: image_resize against Pillow, bit for bit.
 *
 * The goldens in test/fixtures/resize/ are written by
 * test/gen/fixtures_resize.py; cases.txt lists "input.png W H expected.png".
 * PNG is lossless, so the decoded pixels are exactly Pillow's.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "io/image.h"
#include "io/resize.h"
#include "test.h"

#define FIXTURES "test/fixtures/resize/"

static int load_png(const char *name, Image *img) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    int w, h, n;
    uint8_t *rgb = stbi_load(path, &w, &h, &n, 3);
    if (!rgb) return -1;
    // stb's buffer goes to image_free, which uses free(): copy it into our own.
    size_t bytes = (size_t)w * (size_t)h * 3;
    img->rgb = malloc(bytes);
    if (img->rgb) memcpy(img->rgb, rgb, bytes);
    stbi_image_free(rgb);
    if (!img->rgb) return -1;
    img->width = w;
    img->height = h;
    return 0;
}

static void run_case(const char *input, int w, int h, const char *expected_name) {
    Image in = {0}, want = {0}, got = {0};
    Error err = {0};
    int loaded = load_png(input, &in) == 0 && load_png(expected_name, &want) == 0;
    CHECK_MSG(loaded, "cannot decode %s or %s under " FIXTURES, input, expected_name);
    if (!loaded) goto done;
    CHECK_MSG(want.width == w && want.height == h, "%s is %dx%d, cases.txt says %dx%d",
              expected_name, want.width, want.height, w, h);
    int rc = image_resize(&in, w, h, &got, &err);
    CHECK_MSG(rc == 0, "%s -> %dx%d: %s", input, w, h, err.msg);
    if (rc != 0 || want.width != w || want.height != h) goto done;
    CHECK_MSG(got.width == w && got.height == h, "%s -> %dx%d: got %dx%d", input, w, h, got.width,
              got.height);
    size_t n = (size_t)w * (size_t)h * 3, differ = 0, first = 0;
    int max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)got.rgb[i] - (int)want.rgb[i]);
        if (d && !differ++) first = i;
        if (d > max_diff) max_diff = d;
    }
    CHECK_MSG(differ == 0,
              "%s -> %dx%d: %zu of %zu values differ from Pillow, max |diff| %d, first at "
              "x=%zu y=%zu channel %zu",
              input, w, h, differ, n, max_diff, first / 3 % (size_t)w, first / 3 / (size_t)w,
              first % 3);
done:
    image_free(&in);
    image_free(&want);
    image_free(&got);
}

static void test_matches_pillow(void) {
    FILE *f = fopen(FIXTURES "cases.txt", "r");
    CHECK_MSG(f != NULL, "missing " FIXTURES "cases.txt (make fixtures)");
    if (!f) return;
    char line[1024], input[256], expected[256];
    int cases = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        int w, h;
        int fields = sscanf(line, "%255s %d %d %255s", input, &w, &h, expected);
        CHECK_MSG(fields == 4, "cases.txt:%d: expected 'input.png W H expected.png'", lineno);
        if (fields != 4) continue;
        run_case(input, w, h, expected);
        cases++;
    }
    fclose(f);
    CHECK_MSG(cases > 0, "cases.txt lists no cases");
    printf("  %d Pillow cases\n", cases);
}

static void test_unchanged_size_is_a_copy(void) {
    uint8_t px[2 * 3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    Image in = {.width = 3, .height = 2, .rgb = px}, out = {0};
    Error err = {0};
    CHECK_MSG(image_resize(&in, 3, 2, &out, &err) == 0, "%s", err.msg);
    CHECK(out.rgb != NULL && out.rgb != px);
    CHECK(out.width == 3 && out.height == 2);
    CHECK(out.rgb && memcmp(out.rgb, px, sizeof px) == 0);
    image_free(&out);
}

/* Normalized weights keep a flat image flat at any scale, including
 * factors far beyond the fixtures' (thousands of taps per sample). */
static void test_flat_image_stays_flat(void) {
    enum { W = 3000, H = 2 };
    static uint8_t px[W * H * 3];
    memset(px, 200, sizeof px);
    Image in = {.width = W, .height = H, .rgb = px};
    const int sizes[][2] = {{1, 1}, {7, 2}, {W, 9}, {2999, 1}, {6001, 3}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        Image out = {0};
        Error err = {0};
        int w = sizes[s][0], h = sizes[s][1];
        CHECK_MSG(image_resize(&in, w, h, &out, &err) == 0, "%dx%d: %s", w, h, err.msg);
        size_t bad = 0;
        for (size_t i = 0; out.rgb && i < (size_t)w * (size_t)h * 3; i++) bad += out.rgb[i] != 200;
        CHECK_MSG(out.rgb && bad == 0, "-> %dx%d: %zu values are not 200", w, h, bad);
        image_free(&out);
    }
}

static void expect_error(const Image *in, int w, int h, Image *out, const char *what) {
    Error err = {0};
    Image before = out ? *out : (Image){0};
    CHECK_MSG(image_resize(in, w, h, out, &err) == -1, "%s: accepted", what);
    CHECK_MSG(err.msg[0] != '\0', "%s: no error message", what);
    if (out)
        CHECK_MSG(out->rgb == before.rgb && out->width == before.width &&
                      out->height == before.height,
                  "%s: out was modified", what);
}

static void test_rejects_bad_arguments(void) {
    uint8_t px[4 * 3] = {0};
    Image in = {.width = 2, .height = 2, .rgb = px}, out = {0};
    expect_error(&in, 0, 5, &out, "width 0");
    expect_error(&in, 5, 0, &out, "height 0");
    expect_error(&in, -3, 5, &out, "negative width");
    expect_error(&in, 5, INT_MIN, &out, "negative height");
    expect_error(&in, INT_MAX, 1, &out, "huge width");
    expect_error(&in, 1, INT_MAX, &out, "huge height");
    expect_error(NULL, 5, 5, &out, "NULL input");
    expect_error(&in, 5, 5, NULL, "NULL output");
    expect_error(&in, 5, 5, &in, "output is the input");

    Image no_pixels = {.width = 2, .height = 2, .rgb = NULL};
    expect_error(&no_pixels, 5, 5, &out, "input without pixels");
    Image zero_width = {.width = 0, .height = 2, .rgb = px};
    expect_error(&zero_width, 5, 5, &out, "input 0 wide");
    Image negative = {.width = 2, .height = -1, .rgb = px};
    expect_error(&negative, 5, 5, &out, "input of negative height");
    Image huge = {.width = INT_MAX, .height = INT_MAX, .rgb = px};
    expect_error(&huge, 5, 5, &out, "input whose size overflows");

    // A NULL Error is allowed: the status alone reports the failure.
    CHECK(image_resize(&in, 0, 0, &out, NULL) == -1);
}

/* A window of a resize is exactly that part of the whole resize. */
static void test_window_is_part_of_the_whole(void) {
    Image in = {.width = 97, .height = 61, .rgb = malloc(97 * 61 * 3)}, whole = {0}, part = {0};
    for (int i = 0; i < 97 * 61 * 3; i++) in.rgb[i] = (uint8_t)(i * 7919 % 251);
    const int sizes[][2] = {{336, 224}, {50, 40}, {97, 30}, {300, 61}, {97, 61}};
    const int windows[][4] = {{56, 0, 224, 224}, {3, 5, 40, 30}, {0, 7, 97, 20},
                              {100, 1, 150, 60}, {10, 20, 30, 40}};
    for (int t = 0; t < 5; t++) {
        Error e;
        int w = sizes[t][0], h = sizes[t][1];
        const int *win = windows[t];
        CHECK(image_resize(&in, w, h, &whole, &e) == 0);
        CHECK_MSG(image_resize_window(&in, w, h, win[0], win[1], win[2], win[3], &part, &e) == 0,
                  "%s", e.msg);
        int same = part.width == win[2] && part.height == win[3];
        for (int y = 0; same && y < win[3]; y++)
            same = memcmp(part.rgb + (size_t)y * win[2] * 3,
                          whole.rgb + ((size_t)(win[1] + y) * w + win[0]) * 3,
                          (size_t)win[2] * 3) == 0;
        CHECK_MSG(same, "case %d: the window differs from the whole", t);
        image_free(&whole);
        image_free(&part);
    }
    Error e;
    CHECK(image_resize_window(&in, 50, 40, 40, 0, 20, 10, &part, &e) != 0); // sticks out
    free(in.rgb);
}

int main(void) {
    RUN(test_matches_pillow);
    RUN(test_unchanged_size_is_a_copy);
    RUN(test_flat_image_stays_flat);
    RUN(test_rejects_bad_arguments);
    RUN(test_window_is_part_of_the_whole);
    return test_summary();
}
