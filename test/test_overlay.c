/* The pictures against numpy and matplotlib (test/gen/fixtures_overlay.py
 * wrote test/fixtures/overlay/): the colormap tables and lookup rule
 * against matplotlib's cmap(v, bytes=True), heatmaps of maps and cams over
 * the photo in the crop and at full size, and the gray, pos and neg styles.
 * Compared by decoded pixels; every picture must match exactly (the
 * reference does the same double and float operations in the same order). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <stb_image.h>

#include "explain/colormaps.h"
#include "explain/render.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "util/text.h"
#include "files.h"
#include "manifest.h"
#include "test.h"

#define MANIFEST "test/fixtures/overlay/manifest.json"
enum { S = PREPROCESS_SIZE, PLANE = S * S, MAP = 3 * PLANE };

static cJSON *manifest;
static Image photo;
static CropBox box;
static uint8_t crop[MAP];

static void test_manifest_is_present(void) {
    char *text = slurp(MANIFEST);
    CHECK_MSG(text != NULL, "%s is missing: run test/gen/fixtures_overlay.py", MANIFEST);
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(text == NULL || manifest != NULL, "%s does not parse", MANIFEST);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "overlays")) >= 9);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "styles")) >= 6);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "colormaps")) == COLORMAPS);
}

/* The photo is cropped as the reference cropped it. */
static void test_photo_and_box(void) {
    const cJSON *ph = cJSON_GetObjectItem(manifest, "photo"), *b = cJSON_GetObjectItem(ph, "box");
    Error e;
    static float input[MAP];
    int ok = image_load(str(ph, "image"), IMAGE_MAX_PIXELS, &photo, &e) == 0 &&
             preprocess_imagenet(&photo, input, &box, &e) == 0 &&
             preprocess_apply(&photo, &box, input, crop, &e) == 0;
    CHECK_MSG(ok, "%s: %s", str(ph, "image"), ok ? "" : e.msg);
    CHECK_MSG(box.resized_w == num(b, "resized_w", -1) && box.resized_h == num(b, "resized_h", -1) &&
                  box.crop_x == num(b, "crop_x", -1) && box.crop_y == num(b, "crop_y", -1),
              "box %dx%d at %d,%d", box.resized_w, box.resized_h, box.crop_x, box.crop_y);
}

/* Each colormap's rows and edge values are matplotlib's bytes. */
static void test_colormaps_are_matplotlibs(void) {
    const cJSON *t;
    int n = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(manifest, "colormaps")) {
        const char *name = str(t, "name"), *hex = str(t, "rows_hex");
        int m = name ? text_index(name, colormap_names, 0, COLORMAPS) : -1;
        CHECK_MSG(m == n, "colormap %d is %s, expected %s", n, name ? name : "?",
                  n < COLORMAPS ? colormap_names[n] : "none");
        CHECK_MSG(hex && strlen(hex) == 2 * 3 * COLORMAP_SIZE, "%s: rows", name ? name : "?");
        if (m < 0 || !hex || strlen(hex) != 2 * 3 * COLORMAP_SIZE) continue;
        int wrong = 0;
        for (int i = 0; i < COLORMAP_SIZE; i++) {
            uint8_t rgb[3];
            int index = colormap_index((i + 0.5) / COLORMAP_SIZE);
            colormap_bytes((Colormap)m, index, rgb);
            for (int c = 0; c < 3; c++) {
                unsigned want;
                sscanf(hex + 2 * (3 * i + c), "%2x", &want);
                wrong += index != i || rgb[c] != want;
            }
        }
        CHECK_MSG(wrong == 0, "%s: %d bytes differ from matplotlib's", name, wrong);
        const cJSON *edge;
        cJSON_ArrayForEach(edge, cJSON_GetObjectItem(t, "edges")) {
            const char *v = str(edge, "v");
            const cJSON *rgba = cJSON_GetObjectItem(edge, "rgba");
            double x = v && strcmp(v, "nan") == 0 ? NAN : v ? strtod(v, NULL) : 0.0;
            int index = colormap_index(x);
            uint8_t rgb[3] = {0, 0, 0}; // matplotlib's "bad" colour: transparent black
            if (index >= 0) colormap_bytes((Colormap)m, index, rgb);
            int alpha = index >= 0 ? 255 : 0, same = cJSON_GetArraySize(rgba) == 4;
            for (int c = 0; same && c < 4; c++)
                same = cJSON_GetArrayItem(rgba, c)->valueint == (c < 3 ? rgb[c] : alpha);
            CHECK_MSG(same, "%s(%s): row %d", name, v ? v : "?", index);
        }
        n++;
    }
    CHECK(n == COLORMAPS);
}

static Overlay overlay_of(const cJSON *c) {
    const cJSON *alpha = cJSON_GetObjectItem(c, "alpha");
    const char *sign = str(c, "sign"), *map = str(c, "colormap");
    int s = sign ? text_index(sign, sign_names, 0, SIGNS) : SIGN_ABS;
    int m = map ? text_index(map, colormap_names, 0, COLORMAPS) : -1;
    CHECK_MSG(s >= 0 && m >= 0 && cJSON_IsNumber(alpha), "%s: overlay", str(c, "case"));
    return (Overlay){.colormap = m < 0 ? COLORMAP_JET : (Colormap)m,
                     .alpha = cJSON_IsNumber(alpha) ? alpha->valuedouble : 0.5,
                     .sign = s < 0 ? SIGN_ABS : (Sign)s};
}

/* Decoded pixels of png against ours (w, h, ch): the max per-channel delta. */
static int compare(const char *what, const char *png, const uint8_t *ours, int w, int h, int ch) {
    int pw, ph, pc;
    uint8_t *ref = png ? stbi_load(png, &pw, &ph, &pc, ch) : NULL;
    CHECK_MSG(ref && pw == w && ph == h, "%s: %s is missing or not %dx%d", what,
              png ? png : "(no png)", w, h);
    if (!ref || pw != w || ph != h) {
        stbi_image_free(ref);
        return 256;
    }
    int worst = 0;
    size_t differ = 0;
    for (size_t i = 0; i < (size_t)w * h * ch; i++) {
        int d = abs((int)ours[i] - (int)ref[i]);
        worst = d > worst ? d : worst;
        differ += d != 0;
    }
    printf("  %-28s max delta %d, %zu values differ\n", what, worst, differ);
    stbi_image_free(ref);
    return worst;
}

static void test_overlays_match_numpy(void) {
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "overlays")) {
        const char *name = str(c, "case");
        int is_cam = cJSON_IsTrue(cJSON_GetObjectItem(c, "cam"));
        int full = cJSON_IsTrue(cJSON_GetObjectItem(c, "full_size"));
        float *data = npy_load(str(c, "map"), is_cam ? PLANE : MAP);
        CHECK_MSG(data != NULL, "%s: %s", name, str(c, "map"));
        if (!data || !photo.rgb) {
            free(data);
            continue;
        }
        Overlay ov = overlay_of(c);
        static uint8_t picture[MAP];
        static float heat[PLANE];
        int rc = render_picture(picture, heat, STYLE_HEATMAP, &ov, is_cam, is_cam ? NULL : data,
                                is_cam ? data : NULL, crop, S, S);
        CHECK_MSG(rc == 0, "%s: render_picture %d", name, rc);
        if (full) {
            size_t size = (size_t)photo.width * photo.height * 3;
            uint8_t *big = malloc(size);
            Error e;
            int ok = big && render_full_size(big, STYLE_HEATMAP, &ov, picture, heat, &photo, &box,
                                             &e) == 0;
            CHECK_MSG(ok, "%s: full size", name);
            if (ok) CHECK(compare(name, str(c, "png"), big, photo.width, photo.height, 3) == 0);
            free(big);
        } else {
            CHECK(compare(name, str(c, "png"), picture, S, S, 3) == 0);
        }
        free(data);
        n++;
    }
    CHECK(n >= 9);
}

static void test_styles_match_numpy(void) {
    const cJSON *st;
    int n = 0;
    cJSON_ArrayForEach(st, cJSON_GetObjectItem(manifest, "styles")) {
        const char *name = str(st, "style");
        int found = name ? text_index(name, style_names, 0, STYLES) : -1;
        CHECK_MSG(found == STYLE_GRAY || found == STYLE_POS || found == STYLE_NEG, "style %s",
                  name ? name : "?");
        if (found < 0) continue;
        Style style = (Style)found;
        float *map = npy_load(str(st, "map"), MAP);
        CHECK_MSG(map != NULL, "%s: %s", name, str(st, "map"));
        if (!map) continue;
        static uint8_t ours[MAP];
        CHECK(render_styled(style, map, S, S, ours) == 0);
        const char *png = str(st, "png"), *slash = png ? strrchr(png, '/') : NULL;
        CHECK(compare(slash ? slash + 1 : "?", png, ours, S, S, style_channels(style)) == 0);
        free(map);
        n++;
    }
    CHECK(n >= 6);
}

/* pos/neg must show a typical map: a guided map's positive part is no
 * longer almost black (its old max-scaling had a mean byte of a few). */
static void test_pos_is_visible(void) {
    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItem(manifest, "styles")) {
        if (strcmp(str(st, "style") ? str(st, "style") : "", "pos") != 0) continue;
        float *map = npy_load(str(st, "map"), MAP);
        if (!map) continue;
        static uint8_t ours[MAP];
        render_styled(STYLE_POS, map, S, S, ours);
        double sum = 0, old = 0, hi = 0;
        for (int i = 0; i < MAP; i++) hi = map[i] > hi ? map[i] : hi;
        for (int i = 0; i < MAP; i++) {
            sum += ours[i];
            old += rint(255.0 * (map[i] > 0 ? map[i] : 0) / hi);
        }
        printf("  pos %-40s mean byte %.1f (max-scaled: %.1f)\n", str(st, "map"), sum / MAP,
               old / MAP);
        CHECK(sum / MAP > 2 * old / MAP);
        free(map);
    }
}

int main(void) {
    RUN(test_manifest_is_present);
    if (manifest) {
        RUN(test_photo_and_box);
        RUN(test_colormaps_are_matplotlibs);
        RUN(test_overlays_match_numpy);
        RUN(test_styles_match_numpy);
        RUN(test_pos_is_visible);
    }
    image_free(&photo);
    cJSON_Delete(manifest);
    return test_summary();
}
