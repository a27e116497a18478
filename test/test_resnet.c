/* torchvision's ResNets against PyTorch (test/gen/fixtures_resnet.py):
 * reduced-width ResNet-18 (BasicBlock) and ResNet-50 (Bottleneck) of true
 * depth, converted by scripts/convert_pth.py (BatchNorm folded), every
 * method, both --guide scopes, a 224x224 and a resized input; and the
 * full-size ResNet-18 and -50 geometry on weights both sides draw from
 * random:ARCH:0. Each case's logits and map are compared with PyTorch's,
 * relative to their largest magnitude; the errors are printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "explain/explain.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "files.h"
#include "isa.h"
#include "manifest.h"
#include "test.h"
#include "weights_cache.h"

#define MANIFEST "test/fixtures/resnet/manifest.json"
enum { S = PREPROCESS_SIZE, PLANE = S * S, MAP = 3 * PLANE };

/* Largest |ours - ref| over the largest |ref|. */
static double max_rel(const float *ours, const float *ref, size_t n) {
    double err = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)ours[i] - ref[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    return mag > 0 ? err / mag : err;
}

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
    const char *layer = str(c, "layer"), *cam_layer = str(c, "cam_layer");
    if (layer) {
        spec.layer = graph_find(&w->graph, layer);
        spec.channel = num(c, "channel", 0);
        CHECK_MSG(spec.layer >= 0, "%s: no layer %s", name, layer);
    }
    if (cam_layer) {
        spec.cam_layer = graph_find(&w->graph, cam_layer);
        CHECK_MSG(spec.cam_layer >= 0, "%s: no layer %s", name, cam_layer);
    }
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
        printf("  %-40s logits %.2e  map %.2e\n", name, *logit_err, *map_err);
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

int main(void) {
    RUN(test_manifest_is_present);
    if (manifest) RUN(test_resnets_match_pytorch);
    cJSON_Delete(manifest);
    weights_cache_free(&cache);
    return test_summary();
}
