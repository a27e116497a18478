/* --crop none against PyTorch (test/gen/fixtures_crop.py): a wide and a
 * tall image, resized so the shorter side is 224 and fed uncropped through
 * the tiny AlexNet (both), a reduced ResNet-18 (wide) and a reduced VGG-11
 * (tall), whose adaptive average pools take any size. Each case's input
 * must match torchvision's bit for bit, its logits and guided map PyTorch's
 * to float rounding. Then the same cases through the pipeline, one run over
 * images of every size at --batch 3 (the pipeline reshapes for each): the
 * .npy it writes must hold the same bits as the library's map, the PNG be
 * within a level of PyTorch's picture, the --full-size PNG within a level
 * of PyTorch's picture resized to the photo by Pillow. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <stb_image.h>

#include "explain/explain.h"
#include "explain/render.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "pipeline.h"
#include "files.h"
#include "isa.h"
#include "manifest.h"
#include "test.h"
#include "weights_cache.h"

#define MANIFEST "test/fixtures/crop/manifest.json"

static cJSON *manifest;
static WeightsCache cache;

/* The largest difference of two PNGs of the same size, or -1 when one
 * cannot be read or the sizes differ (printed). */
static int png_distance(const char *a, const char *b, int *differ) {
    int wa, ha, ca, wb, hb, cb, worst = -1;
    uint8_t *pa = stbi_load(a, &wa, &ha, &ca, 3), *pb = stbi_load(b, &wb, &hb, &cb, 3);
    if (pa && pb && wa == wb && ha == hb) {
        worst = *differ = 0;
        for (size_t i = 0; i < (size_t)wa * ha * 3; i++) {
            int d = abs((int)pa[i] - (int)pb[i]);
            worst = d > worst ? d : worst;
            *differ += d != 0;
        }
    } else {
        printf("  %s (%dx%d) and %s (%dx%d)\n", a, pa ? wa : 0, pa ? ha : 0, b, pb ? wb : 0,
               pb ? hb : 0);
    }
    stbi_image_free(pa);
    stbi_image_free(pb);
    return worst;
}

static void test_manifest_is_present(void) {
    char *text = slurp(MANIFEST);
    CHECK_MSG(text != NULL, "%s is missing: run 'make fixtures'", MANIFEST);
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(manifest && cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases")) >= 4);
}

/* The box: no crop, shorter side 224, longer int(224 long / short). */
static void test_box_keeps_the_whole_resized_image(void) {
    CropBox b;
    Error e;
    CHECK(preprocess_box(1200, 150, CROP_NONE, &b, &e) == 0 && b.resized_w == 1792 &&
          b.resized_h == 224 && b.crop_x == 0 && b.crop_y == 0 && b.crop_w == 1792 &&
          b.crop_h == 224);
    CHECK(preprocess_box(451, 300, CROP_NONE, &b, &e) == 0 && b.crop_w == 336 && b.crop_h == 224);
    CHECK(preprocess_box(451, 300, CROP_CENTER, &b, &e) == 0 && b.crop_x == 56 && b.crop_y == 0 &&
          b.crop_w == 224 && b.crop_h == 224);
    // 8:1 is the limit: 1792 is allowed, 1793 is not.
    CHECK(preprocess_box(224, 1792, CROP_NONE, &b, &e) == 0 && b.crop_h == 1792);
    CHECK_MSG(preprocess_box(224, 1793, CROP_NONE, &b, &e) != 0 && strstr(e.msg, "8:1"), "%s",
              e.msg);
    CHECK(preprocess_box(224, 1793, CROP_CENTER, &b, &e) == 0);
}

/* Every case through the library at its own size: input bits, logits, map. */
static void test_uncropped_inputs_match_pytorch(void) {
    const cJSON *c;
    int n = 0, cases = cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases"));
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        const char *name = str(c, "case");
        const Weights *w = weights_cached(&cache, str(c, "model"));
        CHECK_MSG(w != NULL, "%s: weights %s", name, str(c, "model"));
        if (!w) continue;
        Image img = {0};
        CropBox box;
        Error e = {0};
        int ok = image_load(str(c, "image"), IMAGE_MAX_PIXELS, &img, &e) == 0 &&
                 preprocess_box(img.width, img.height, CROP_NONE, &box, &e) == 0;
        CHECK_MSG(ok, "%s: %s", name, e.msg);
        if (!ok) {
            image_free(&img);
            continue;
        }
        CHECK_MSG(box.crop_w == num(c, "input_w", -1) && box.crop_h == num(c, "input_h", -1),
                  "%s: input %dx%d, PyTorch's %dx%d", name, box.crop_w, box.crop_h,
                  num(c, "input_w", -1), num(c, "input_h", -1));
        size_t plane = (size_t)box.crop_w * box.crop_h;
        MethodSpec spec = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES, .layer = -1};
        Explainer x;
        ok = explain_init_size(&x, w, &spec, box.crop_h, box.crop_w, 1, 2, test_isa(), &e) == 0;
        CHECK_MSG(ok, "%s: %s", name, e.msg);
        if (!ok) {
            image_free(&img);
            continue;
        }
        float *input = npy_load(str(c, "input"), 3 * plane);
        float *logits = npy_load(str(c, "logits"), (size_t)x.classes);
        float *map = npy_load(str(c, "map"), 3 * plane);
        CHECK_MSG(input && logits && map, "%s: reference files missing or of another size", name);
        ok = input && logits && map &&
             preprocess_apply(&img, &box, explain_input(&x, 0), NULL, &e) == 0;
        if (ok) {
            CHECK_MSG(memcmp(explain_input(&x, 0), input, sizeof(float) * 3 * plane) == 0,
                      "%s: the input differs from torchvision's", name);
            ok = explain_run(&x, 1, -1, &e) == 0;
            CHECK_MSG(ok, "%s: %s", name, e.msg);
        }
        if (ok) {
            double le = max_rel(x.logits, logits, (size_t)x.classes);
            double me = max_rel(x.maps, map, 3 * plane);
            printf("  %-28s %4dx%-4d target %3d  logits %.2e  map %.2e\n", name, box.crop_w,
                   box.crop_h, x.targets[0], le, me);
            CHECK_MSG(x.targets[0] == num(c, "target", -1), "%s: target %d, PyTorch's %d", name,
                      x.targets[0], num(c, "target", -1));
            CHECK_MSG(le <= 2e-6, "%s: logits differ by %.3g of their max", name, le);
            CHECK_MSG(me <= 2e-6, "%s: map differs by %.3g of its max", name, me);
            n++;
        }
        free(input), free(logits), free(map);
        explain_free(&x);
        image_free(&img);
    }
    CHECK_MSG(n == cases && n >= 4, "%d of %d cases ran", n, cases);
}

/* The cases of one model through the pipeline in one run (the tiny
 * AlexNet's of two sizes; with cat.png first, so that every case needs a
 * reshape), then compared with the library's maps and PyTorch's pictures. */
static void run_pipeline(const char *model, int full_size, const char *dir) {
    const Weights *w = weights_cached(&cache, model);
    CHECK_MSG(w != NULL, "%s", model);
    if (!w) return;
    Input inputs[16];
    const cJSON *cases[16], *c;
    int n = 0;
    char first_png[512];
    snprintf(first_png, sizeof first_png, "%s/cat.png", dir);
    // cat.png (336x224), unchecked, first: the pipeline must reshape from it.
    cases[n] = NULL;
    inputs[n++] = (Input){.path = "test/fixtures/images/cat.png", .png = strdup(first_png)};
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        if (n == 16 || strcmp(str(c, "model"), model) != 0) continue;
        char png[512], npy[512];
        snprintf(png, sizeof png, "%s/%s.png", dir, str(c, "case"));
        snprintf(npy, sizeof npy, "%s/%s.npy", dir, str(c, "case"));
        cases[n] = c;
        inputs[n++] = (Input){.path = (char *)str(c, "image"), .png = strdup(png),
                              .npy = strdup(npy)};
    }
    CHECK_MSG(n >= 2, "%s: %d cases", model, n - 1);
    PipelineConfig config = {.spec = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES,
                                      .layer = -1},
                             .style = STYLE_COLOR, .crop = CROP_NONE, .full_size = full_size,
                             .npy = 1, .target = -1, .vs = -1, .max_pixels = IMAGE_MAX_PIXELS,
                             .batch = 3, .threads = 2, .isa = test_isa()};
    Pipeline p;
    PipelineCounts counts;
    Error e = {0};
    int ok = pipeline_init(&p, &config, w, n, &e) == 0;
    CHECK_MSG(ok, "%s: %s", model, e.msg);
    if (ok) {
        ok = pipeline_run(&p, inputs, n, &counts, &e) == 0 && counts.done == n;
        CHECK_MSG(ok, "%s: %d of %d done: %s", model, counts.done, n, e.msg);
        pipeline_free(&p);
    }
    for (int i = 1; ok && i < n; i++) {
        const char *name = str(cases[i], "case");
        size_t plane = (size_t)num(cases[i], "input_w", 0) * num(cases[i], "input_h", 0);
        float *ours = npy_load(inputs[i].npy, 3 * plane), *ref = npy_load(str(cases[i], "map"), 3 * plane);
        CHECK_MSG(ours && ref, "%s: %s missing or of another size", name, inputs[i].npy);
        double me = ours && ref ? max_rel(ours, ref, 3 * plane) : 1;
        CHECK_MSG(me <= 2e-6, "%s: the pipeline's map differs by %.3g of its max", name, me);
        int differ = 0;
        const char *golden = str(cases[i], full_size ? "full_png" : "png");
        int worst = png_distance(inputs[i].png, golden, &differ);
        printf("  %-28s %s  map %.2e  png %d values differ, by up to %d\n", name,
               full_size ? "full-size" : "input    ", me, differ, worst);
        CHECK_MSG(worst >= 0 && worst <= 1 && differ <= 16, "%s: %d PNG values differ from %s, "
                  "by up to %d", name, differ, golden, worst);
        free(ours), free(ref);
    }
    for (int i = 0; i < n; i++) {
        unlink(inputs[i].png);
        if (inputs[i].npy) unlink(inputs[i].npy);
        free(inputs[i].png), free(inputs[i].npy);
    }
}

static void test_pipeline_runs_every_size_as_pytorch(void) {
    char dir[] = "/tmp/guidedbp_crop_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *models[16];
    int m = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        int seen = 0;
        for (int i = 0; i < m; i++) seen |= strcmp(models[i], str(c, "model")) == 0;
        if (!seen && m < 16) models[m++] = str(c, "model");
    }
    CHECK_MSG(m >= 3, "%d models", m);
    for (int i = 0; i < m; i++) {
        run_pipeline(models[i], 0, dir);
        run_pipeline(models[i], 1, dir);
    }
    rmdir(dir);
}

int main(void) {
    RUN(test_manifest_is_present);
    RUN(test_box_keeps_the_whole_resized_image);
    if (manifest) {
        RUN(test_uncropped_inputs_match_pytorch);
        RUN(test_pipeline_runs_every_size_as_pytorch);
    }
    weights_cache_free(&cache);
    cJSON_Delete(manifest);
    return test_summary();
}
