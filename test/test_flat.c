/* The methods on one- and two-colour images against float64 PyTorch
 * (test/gen/fixtures_flat.py wrote test/fixtures/flat/). On such images
 * every max-pooling window of a flat region holds exact ties, which
 * PyTorch breaks by the first maximum: float32 PyTorch, whose convolutions
 * give equal columns different last bits, lands anywhere (its distance to
 * float64 is in the manifest), float64 lands on the first. guidedbp sums
 * equal columns identically, so its ties are float64's and its maps must be
 * float64's to float rounding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "nn/gemm.h"
#include "io/image.h"
#include "explain/explain.h"
#include "isa.h"
#include "io/preprocess.h"
#include "files.h"
#include "manifest.h"
#include "weights_cache.h"
#include "test.h"

#define MANIFEST "test/fixtures/flat/manifest.json"
enum { S = PREPROCESS_SIZE, MAP = 3 * S * S };
static const double TOLERANCE = 1e-5; // of the reference's max |value|


static cJSON *manifest;

static void test_manifest_is_present(void) {
    char *text = slurp(MANIFEST);
    CHECK_MSG(text != NULL, "%s is missing: run test/gen/fixtures_flat.py", MANIFEST);
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(text == NULL || manifest != NULL, "%s does not parse", MANIFEST);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "images")) >= 5);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases")) >= 11);
    GemmIsa isa;
    if (gemm_isa_from_env(&isa) == 0) printf("  gemm: %s\n", gemm_isa_names[isa]);
}

/* The inputs are what the manifest says: their size and their number of
 * colours (one or two), so a case cannot silently lose its ties. */
static void test_images_are_flat(void) {
    const cJSON *im;
    cJSON_ArrayForEach(im, cJSON_GetObjectItem(manifest, "images")) {
        const char *path = str(im, "image");
        Image img = {0};
        Error e;
        int ok = path && image_load(path, IMAGE_MAX_PIXELS, &img, &e) == 0;
        CHECK_MSG(ok, "%s: %s", path ? path : "(no image path)", ok ? "" : e.msg);
        if (!ok) continue;
        const uint8_t *first = img.rgb, *second = NULL;
        int colours = 1;
        for (size_t i = 0; i < (size_t)img.width * img.height && colours <= 2; i++) {
            const uint8_t *p = img.rgb + 3 * i;
            if (memcmp(p, first, 3) == 0 || (second && memcmp(p, second, 3) == 0)) continue;
            second = p;
            colours++;
        }
        CHECK_MSG(img.width == num(im, "width", -1) && img.height == num(im, "height", -1) &&
                      colours == num(im, "colours", -1),
                  "%s: %dx%d with %s%d colours, the manifest says %dx%d with %d", path, img.width,
                  img.height, colours > 2 ? "over " : "", colours > 2 ? 2 : colours,
                  num(im, "width", -1), num(im, "height", -1), num(im, "colours", -1));
        image_free(&img);
    }
}

static WeightsCache cache;

static void test_flat_maps_match_float64(void) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        const char *name = str(c, "case"), *method = str(c, "method");
        MethodSpec spec;
        int known = name && method_spec(c, &spec) == 0 && !method_is_cam(spec.method);
        CHECK_MSG(known, "case %s: method %s", name ? name : "?", method ? method : "?");
        if (!known) continue;
        const Weights *w = weights_cached(&cache, str(c, "weights"));
        CHECK_MSG(w != NULL, "%s: weights", name);
        if (!w) continue;
        // A batch of two: integrated gradients' passes then run two at a
        // time, which must not change any bit.
        Explainer x;
        Error e;
        int ok = explain_init(&x, w, &spec, 2, 2, test_isa(), &e) == 0;
        CHECK_MSG(ok, "%s: %s", name, e.msg);
        if (!ok) continue;
        Image img = {0};
        ok = image_load(str(c, "image"), IMAGE_MAX_PIXELS, &img, &e) == 0 &&
             preprocess_imagenet(&img, explain_input(&x, 0), NULL, &e) == 0;
        image_free(&img);
        CHECK_MSG(ok, "%s: %s", name, e.msg);
        int target = num(c, "target", -1);
        CHECK_MSG(target >= 0, "%s: no target", name);
        float *ref = npy_load(str(c, "map"), MAP);
        CHECK_MSG(ref != NULL, "%s: reference map %s missing", name, str(c, "map"));
        if (ok && ref && target >= 0) {
            ok = explain_run(&x, 1, target, &e) == 0;
            CHECK_MSG(ok, "%s: %s", name, e.msg);
            const float *ours = x.maps;
            double err = 0, mag = 0;
            size_t bad = 0;
            for (size_t i = 0; ok && i < MAP; i++) {
                double d = fabs((double)ours[i] - ref[i]);
                err = d > err ? d : err;
                mag = fabs(ref[i]) > mag ? fabs(ref[i]) : mag;
            }
            for (size_t i = 0; ok && i < MAP; i++)
                bad += fabs((double)ours[i] - ref[i]) > TOLERANCE * mag;
            printf("  %-34s max error %.2e of max |ref| %.3g\n", name, mag > 0 ? err / mag : err,
                   mag);
            CHECK_MSG(ok && mag > 0 && err <= TOLERANCE * mag,
                      "%s: %zu values off by more than %.0e of the max", name, bad, TOLERANCE);
        }
        free(ref);
        explain_free(&x);
    }
}

int main(void) {
    RUN(test_manifest_is_present);
    if (manifest) {
        RUN(test_images_are_flat);
        RUN(test_flat_maps_match_float64);
    }
    cJSON_Delete(manifest);
    weights_cache_free(&cache);
    return test_summary();
}
