/* torchvision's ResNets against PyTorch (test/gen/fixtures_resnet.py):
 * reduced-width ResNet-18 (BasicBlock) and ResNet-50 (Bottleneck) of true
 * depth, converted by scripts/convert_pth.py (BatchNorm folded), every
 * method, both --guide scopes, a 224x224 and a resized input; and the
 * full-size ResNet-18 and -50 geometry on weights both sides draw from
 * random:ARCH:0. Each case's logits and map are compared with PyTorch's,
 * relative to their largest magnitude; the errors are printed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "explain/explain.h"
#include "explain/render.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "files.h"
#include "isa.h"
#include "manifest.h"
#include "test.h"
#include "weights_cache.h"

#define MANIFEST "test/fixtures/resnet/manifest.json"
enum { S = PREPROCESS_SIZE, PLANE = S * S, MAP = 3 * PLANE };

static cJSON *manifest;
static WeightsCache cache;

static void test_manifest_is_present(void) {
    char *text = slurp(MANIFEST);
    CHECK_MSG(text != NULL, "%s is missing: run 'make fixtures'", MANIFEST);
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(manifest && cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases")) >= 20);
}

/* One case: its weights, recipe, layers and target, run through explain,
 * against PyTorch's logits and map. Returns 1 when it ran. */
static int run_case(const cJSON *c, double *logit_err, double *map_err) {
    const char *name = str(c, "case");
    MethodSpec spec;
    int known = name && method_spec(c, &spec) == 0;
    CHECK_MSG(known, "case %s", name ? name : "?");
    if (!known) return 0;
    const Weights *w = weights_cached(&cache, str(c, "weights"));
    CHECK_MSG(w != NULL, "%s: weights %s", name, str(c, "weights"));
    if (!w) return 0;
    const char *missing = method_layers(c, &w->graph, &spec);
    CHECK_MSG(!missing, "%s: no layer %s", name, missing);
    // A batch of two: SmoothGrad's and integrated gradients' passes then
    // run two at a time, which must not change a bit.
    Explainer x;
    Error e;
    if (explain_init(&x, w, &spec, 2, 2, test_isa(), &e) != 0) {
        CHECK_MSG(0, "%s: %s", name, e.msg);
        return 0;
    }
    Image img = {0};
    int ok = image_load(str(c, "image"), IMAGE_MAX_PIXELS, &img, &e) == 0 &&
             preprocess_imagenet(&img, explain_input(&x, 0), NULL, &e) == 0;
    image_free(&img);
    CHECK_MSG(ok, "%s: %s", name, e.msg);
    int target = num(c, "target", -1), cam = method_is_cam(spec.method);
    float *logits = npy_load(str(c, "logits"), (size_t)x.classes);
    float *ref = npy_load(str(c, "map"), cam ? PLANE : MAP);
    CHECK_MSG(logits && ref, "%s: reference files missing", name);
    // A layer target has no class (-1: the predicted one, which does not matter).
    ok = ok && logits && ref && explain_run(&x, 1, target, &e) == 0;
    CHECK_MSG(ok, "%s: did not run", name);
    if (ok) {
        *logit_err = max_rel(x.logits, logits, (size_t)x.classes);
        *map_err = max_rel(cam ? x.cams : x.maps, ref, cam ? PLANE : MAP);
        // The saliency PNG of each, for the map methods: a level apart at
        // most, where a value sits on a rounding boundary.
        int worst = 0, differ = 0;
        if (!cam) {
            uint8_t *a = malloc(MAP), *b = malloc(MAP);
            render_color(a, x.maps, S, S);
            render_color(b, ref, S, S);
            for (int i = 0; i < MAP; i++) {
                int d = abs((int)a[i] - (int)b[i]);
                worst = d > worst ? d : worst;
                differ += d != 0;
            }
            free(a), free(b);
        }
        printf("  %-40s logits %.2e  map %.2e  png %d values differ, by up to %d\n", name,
               *logit_err, *map_err, differ, worst);
        CHECK_MSG(worst <= 1 && differ <= 16, "%s: %d PNG values differ, by up to %d", name,
                  differ, worst);
    }
    free(logits);
    free(ref);
    explain_free(&x);
    return ok;
}

/* Float rounding only: the maps of a deep network differ where a ReLU or a
 * max-pool choice sits on a rounding tie, which the fixtures avoid. */
static void test_resnets_match_pytorch(void) {
    const cJSON *c;
    int n = 0, cases = cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases"));
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        double le = 1, me = 1;
        if (!run_case(c, &le, &me)) continue;
        n++;
        CHECK_MSG(le <= 2e-6, "%s: logits differ by %.3g of their max", str(c, "case"), le);
        CHECK_MSG(me <= 2e-6, "%s: map differs by %.3g of its max", str(c, "case"), me);
    }
    CHECK_MSG(n == cases && n >= 20, "%d of %d cases ran", n, cases);
}

/* Full-size ResNet-18: each image's logits and map have the same bits alone
 * on one thread as in a batch of 3 on 2 threads (the residual sums and the
 * ReLU module called thrice included). */
static void test_resnet_bits_do_not_depend_on_batch_or_threads(void) {
    const Weights *w = weights_cached(&cache, "random:resnet18:0");
    CHECK(w != NULL);
    if (!w) return;
    MethodSpec spec = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES, .layer = -1};
    Explainer one, three;
    Error e;
    CHECK_MSG(explain_init(&one, w, &spec, 1, 1, test_isa(), &e) == 0 &&
                  explain_init(&three, w, &spec, 3, 2, test_isa(), &e) == 0,
              "%s", e.msg);
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < MAP; i++)
            explain_input(&three, b)[i] = (float)((i * 7919 + b * 104729) % 1000) / 250.0f - 2.0f;
    CHECK(explain_run(&three, 3, -1, &e) == 0);
    for (int b = 0; b < 3; b++) {
        memcpy(explain_input(&one, 0), explain_input(&three, b), sizeof(float) * MAP);
        CHECK(explain_run(&one, 1, three.targets[b], &e) == 0);
        CHECK_MSG(memcmp(one.logits, three.logits + (size_t)b * one.classes,
                         sizeof(float) * (size_t)one.classes) == 0, "logits of image %d", b);
        CHECK_MSG(memcmp(one.maps, three.maps + (size_t)b * MAP, sizeof(float) * MAP) == 0,
                  "map of image %d", b);
    }
    explain_free(&one);
    explain_free(&three);
}

int main(void) {
    RUN(test_manifest_is_present);
    if (manifest) RUN(test_resnets_match_pytorch);
    RUN(test_resnet_bits_do_not_depend_on_batch_or_threads);
    cJSON_Delete(manifest);
    weights_cache_free(&cache);
    return test_summary();
}
