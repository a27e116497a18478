/* Every method and style against PyTorch (test/gen/fixtures_methods.py
 * wrote test/fixtures/methods/ from the definitions in src/explain/methods.h),
 * plus the numerical pieces on their own: Gauss-Legendre nodes, PyTorch's
 * bilinear upsampling, the jet heatmap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <stb_image.h>

#include "explain/explain.h"
#include "explain/render.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "io/resize.h"
#include "isa.h"
#include "util/text.h"
#include "files.h"
#include "manifest.h"
#include "weights_cache.h"
#include "test.h"

#define MANIFEST "test/fixtures/methods/manifest.json"
enum { S = PREPROCESS_SIZE, PLANE = S * S, MAP = 3 * PLANE };


static void test_gauss_legendre_nodes(void) {
    double a[5], w[5];
    CHECK(gauss_legendre(1, a, w) == 0 && a[0] == 0.5 && w[0] == 1.0);
    CHECK(gauss_legendre(2, a, w) == 0);
    CHECK(fabs(a[0] - (0.5 - 0.5 / sqrt(3.0))) < 1e-15 && fabs(w[0] - 0.5) < 1e-15);
    CHECK(fabs(a[1] - (0.5 + 0.5 / sqrt(3.0))) < 1e-15 && fabs(w[1] - 0.5) < 1e-15);
    // Five nodes integrate x^8 exactly on [0, 1]: 1/9.
    CHECK(gauss_legendre(5, a, w) == 0);
    double sum = 0, total = 0;
    for (int i = 0; i < 5; i++) sum += w[i] * pow(a[i], 8), total += w[i];
    CHECK_MSG(fabs(sum - 1.0 / 9.0) < 1e-15 && fabs(total - 1.0) < 1e-15, "%.17g", sum);
    CHECK(a[2] == 0.5 && a[0] < a[1] && a[3] < a[4]);
}

static void test_bilinear_upsampling_is_pytorchs(void) {
    // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4),
    //               mode='bilinear', align_corners=False)
    const float in[4] = {1, 2, 3, 4};
    const float want[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                            2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    float out[16];
    upsample_bilinear(out, 4, 4, in, 2, 2);
    CHECK(memcmp(out, want, sizeof out) == 0);
    float one[9];
    upsample_bilinear(one, 3, 3, in, 1, 1); // a single value spreads everywhere
    CHECK(one[0] == 1 && one[8] == 1);
}

static void test_heatmap_colours(void) {
    // jet(0) = (0, 0, 0.5), jet(1) = (0.5, 0, 0): as matplotlib's bytes
    // (truncated) 127; blended 50/50 with the photo, rint(63.5) = 64.
    const float cam[2] = {0.0f, 1.0f};
    const uint8_t black[6] = {0}, white[6] = {255, 255, 255, 255, 255, 255};
    uint8_t out[6];
    const Overlay jet = {.colormap = COLORMAP_JET, .alpha = 0.5};
    render_heatmap(out, cam, black, 2, &jet);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 64 && out[3] == 64 && out[4] == 0 &&
          out[5] == 0);
    render_heatmap(out, cam, white, 2, &jet);
    CHECK(out[0] == 128 && out[2] == 191 && out[3] == 191 && out[4] == 128); // 127.5 to even
}

static cJSON *manifest;

static WeightsCache cache;

/* guided-gradcam is the guided map of its --guide scope times the cam, bit
 * for bit (both factors are golden-tested against PyTorch on their own);
 * and the scope matters: with every ReLU guided the map is another one. */
static void test_guided_gradcam_uses_its_guide_scope(void) {
    const Weights *w = weights_cached(&cache, "test/fixtures/golden/tiny.safetensors");
    CHECK(w != NULL);
    if (!w) return;
    float *maps[2] = {malloc(sizeof(float) * MAP), malloc(sizeof(float) * MAP)};
    int target = 707, cam_layer = graph_find(&w->graph, "features.11"), ok = 1;
    for (int g = 0; ok && g < 2; g++) {
        GuideScope scope = g ? GUIDE_ALL : GUIDE_FEATURES;
        MethodSpec gg = {.method = METHOD_GUIDED_GRADCAM, .guide = scope, .layer = -1,
                         .cam_layer = cam_layer};
        MethodSpec gd = {.method = METHOD_GUIDED, .guide = scope, .layer = -1};
        Explainer x, y;
        Error e;
        Image img = {0};
        ok = explain_init(&x, w, &gg, 1, 2, test_isa(), &e) == 0 &&
             explain_init(&y, w, &gd, 1, 2, test_isa(), &e) == 0 &&
             image_load("test/fixtures/images/cat224.png", IMAGE_MAX_PIXELS, &img, &e) == 0 &&
             preprocess_imagenet(&img, explain_input(&x, 0), NULL, &e) == 0;
        image_free(&img);
        CHECK_MSG(ok, "%s", e.msg);
        if (ok) memcpy(explain_input(&y, 0), explain_input(&x, 0), sizeof(float) * MAP);
        ok = ok && explain_run(&x, 1, target, &e) == 0 && explain_run(&y, 1, target, &e) == 0;
        CHECK_MSG(ok, "%s", e.msg);
        size_t differ = 0;
        for (int p = 0; ok && p < PLANE; p++)
            for (int c = 0; c < 3; c++) differ += y.maps[3 * p + c] * x.cams[p] != x.maps[3 * p + c];
        CHECK_MSG(differ == 0, "--guide %s: %zu values are not guided * cam", g ? "all" : "features",
                  differ);
        if (ok) memcpy(maps[g], x.maps, sizeof(float) * MAP);
        explain_free(&x);
        explain_free(&y);
    }
    if (ok) CHECK_MSG(memcmp(maps[0], maps[1], sizeof(float) * MAP) != 0,
                      "--guide all gives the --guide features map");
    free(maps[0]), free(maps[1]);
}

static void test_manifest_is_present(void) {
    char *text = slurp(MANIFEST);
    CHECK_MSG(text != NULL, "%s is missing: run 'make fixtures'", MANIFEST);
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(manifest && cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases")) >= 10);
}


/* Tolerances, relative to the reference's largest magnitude: the single
 * backward passes agree to float rounding; passes summed over many noisy or
 * scaled inputs, and cams (ReLU of a weighted sum), a little less. */
static double tolerance(Method m, int smooth) {
    if (smooth || m == METHOD_INTEGRATED) return 1e-4;
    if (m == METHOD_GRADCAM || m == METHOD_GUIDED_GRADCAM) return 1e-4;
    return 1e-5;
}

/* A reference stored as the product of two files (it is exactly that in
 * float32): an input (CHW) or map (HWC) times a map (HWC) or cam (HW). */
static float *derived(const cJSON *c) {
    const cJSON *parts = cJSON_GetObjectItem(c, "product");
    if (cJSON_GetArraySize(parts) != 2) return NULL;
    float *out = malloc(sizeof(float) * MAP), *f[2];
    const char *layout[2];
    for (int k = 0; k < 2; k++) {
        const cJSON *p = cJSON_GetArrayItem(parts, k);
        layout[k] = str(p, "layout");
        f[k] = npy_load(str(p, "path"), layout[k] && strcmp(layout[k], "HW") == 0 ? PLANE : MAP);
    }
    int ok = out && f[0] && f[1] && layout[0] && layout[1];
    for (int p = 0; ok && p < PLANE; p++)
        for (int ch = 0; ch < 3; ch++) {
            float v[2];
            for (int k = 0; k < 2; k++)
                v[k] = strcmp(layout[k], "CHW") == 0  ? f[k][ch * PLANE + p]
                       : strcmp(layout[k], "HW") == 0 ? f[k][p]
                                                      : f[k][3 * p + ch];
            out[3 * p + ch] = v[0] * v[1];
        }
    free(f[0]);
    free(f[1]);
    if (!ok) free(out);
    return ok ? out : NULL;
}

static void run_cases(const cJSON *cases);

static void test_methods_match_pytorch(void) {
    run_cases(cJSON_GetObjectItem(manifest, "cases"));
}

static void test_derived_methods_match_pytorch(void) {
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "derived")) >= 3);
    run_cases(cJSON_GetObjectItem(manifest, "derived"));
}

static void run_cases(const cJSON *cases) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *name = str(c, "case");
        MethodSpec spec;
        int known = name && method_spec(c, &spec) == 0;
        CHECK_MSG(known, "case %s", name ? name : "?");
        if (!known) continue;
        const Weights *w = weights_cached(&cache, str(c, "weights"));
        CHECK_MSG(w != NULL, "%s: weights", name);
        if (!w) continue;
        // A batch of two: the passes of SmoothGrad and integrated gradients
        // then run two at a time, which must not change any bit.
        Error e;
        const char *missing = method_layers(c, &w->graph, &spec);
        CHECK_MSG(!missing, "%s: no layer %s", name, missing);
        Explainer x;
        CHECK_MSG(explain_init(&x, w, &spec, 2, 2, test_isa(), &e) == 0, "%s", e.msg);
        Image img = {0};
        int ok = image_load(str(c, "image"), IMAGE_MAX_PIXELS, &img, &e) == 0 &&
                 preprocess_imagenet(&img, explain_input(&x, 0), NULL, &e) == 0;
        image_free(&img);
        CHECK_MSG(ok, "%s: %s", name, e.msg);
        int target = num(c, "target", -1);
        size_t count = method_is_cam(spec.method) ? PLANE : MAP;
        float *ref = str(c, "map") ? npy_load(str(c, "map"), count) : derived(c);
        CHECK_MSG(ref != NULL, "%s: reference map missing", name);
        if (ok && ref) {
            CHECK_MSG(explain_run(&x, 1, target, &e) == 0, "%s", e.msg);
            const float *ours = method_is_cam(spec.method) ? x.cams : x.maps;
            double err = 0, mag = 0;
            size_t bad = 0;
            for (size_t i = 0; i < count; i++) {
                double d = fabs((double)ours[i] - ref[i]);
                err = d > err ? d : err;
                mag = fabs(ref[i]) > mag ? fabs(ref[i]) : mag;
            }
            double tol = tolerance(spec.method, spec.smooth);
            for (size_t i = 0; i < count; i++) bad += fabs((double)ours[i] - ref[i]) > tol * mag;
            printf("  %-34s max error %.2e of max |ref| %.3g\n", name, mag > 0 ? err / mag : err,
                   mag);
            CHECK_MSG(err <= tol * mag, "%s: %zu values off by more than %.0e of the max", name,
                      bad, tol);
        }
        free(ref);
        explain_free(&x);
    }
}

int main(void) {
    RUN(test_gauss_legendre_nodes);
    RUN(test_bilinear_upsampling_is_pytorchs);
    RUN(test_heatmap_colours);
    RUN(test_manifest_is_present);
    if (manifest) {
        RUN(test_methods_match_pytorch);
        RUN(test_derived_methods_match_pytorch);
        RUN(test_guided_gradcam_uses_its_guide_scope);
    }
    cJSON_Delete(manifest);
    weights_cache_free(&cache);
    return test_summary();
}
