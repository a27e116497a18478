/* Golden tests against PyTorch. test/gen/make_fixtures.py ran torchvision's
 * preprocessing and the guided-backprop hook recipe on the images and
 * weights listed in test/fixtures/golden/manifest.json and saved what
 * PyTorch computed; here the library recomputes everything and reports the
 * errors it measures. A missing golden file is a failure.
 *
 * Tolerances: inputs must match bit for bit, JPEG as PNG (our Pillow resize
 * is exact, and JPEGs are decoded by the libjpeg-turbo Pillow uses, with its
 * settings). The saliency PNG may differ by a level or two where a value sits on a
 * rounding boundary; more than that must be rare. */
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
#include "isa.h"
#include "files.h"
#include "weights_cache.h"
#include "test.h"

#define MANIFEST "test/fixtures/golden/manifest.json"
enum { S = PREPROCESS_SIZE, N_INPUT = 3 * S * S };

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}


static cJSON *manifest;

static void test_manifest_is_present(void) {
    char *text = slurp(MANIFEST);
    CHECK_MSG(text != NULL, "%s is missing: run 'make fixtures'", MANIFEST);
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(manifest != NULL, "%s does not parse", MANIFEST);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "inputs")) >= 3);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(manifest, "cases")) >= 6);
}

static int preprocess_file(const char *path, float *out) {
    Image img = {0};
    Error e = {0};
    int rc = image_load(path, IMAGE_MAX_PIXELS, &img, &e) || preprocess_imagenet(&img, out, NULL, &e);
    if (rc) printf("  %s\n", e.msg);
    image_free(&img);
    return rc;
}

static void test_preprocessing_matches_torchvision(void) {
    const cJSON *item;
    float *ours = malloc(N_INPUT * sizeof(float));
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(manifest, "inputs")) {
        const char *image = str(item, "image"), *input = str(item, "input");
        float *ref = input ? npy_load(input, N_INPUT) : NULL;
        CHECK_MSG(ref != NULL, "%s: cannot read", input ? input : "(no input path)");
        if (!ref || !image) continue;
        CHECK_MSG(preprocess_file(image, ours) == 0, "%s", image);
        double worst = 0;
        int differ = 0;
        for (int i = 0; i < N_INPUT; i++) {
            double d = fabs((double)ours[i] - ref[i]);
            worst = d > worst ? d : worst;
            differ += d != 0;
        }
        // One 8-bit level is 1/255/std, about 0.0175 after Normalize.
        printf("  %-36s max |diff| %.3g (%.2f levels), %d of %d values differ\n", image, worst,
               worst * 255 * 0.225, differ, N_INPUT);
        CHECK_MSG(differ == 0, "%s: preprocessing is not bit-exact", image);
        free(ref);
    }
    free(ours);
}

static WeightsCache cache;

static void test_guided_backprop_matches_pytorch(void) {
    const cJSON *c;
    uint8_t *rgb = malloc(N_INPUT);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        const char *name = str(c, "case"), *spec = str(c, "weights"), *image = str(c, "image");
        const char *guide = str(c, "guide");
        const cJSON *target_item = cJSON_GetObjectItem(c, "target");
        CHECK_MSG(name && spec && image && guide && cJSON_IsNumber(target_item),
                  "incomplete manifest entry");
        if (!name || !spec || !image || !guide || !cJSON_IsNumber(target_item)) continue;
        const Weights *w = weights_cached(&cache, spec);
        CHECK_MSG(w != NULL, "%s: weights %s", name, spec);
        if (!w) continue;
        Explainer x;
        Error e;
        MethodSpec method = {.method = METHOD_GUIDED, .layer = -1,
                             .guide = strcmp(guide, "all") == 0 ? GUIDE_ALL : GUIDE_FEATURES};
        CHECK_MSG(explain_init(&x, w, &method, 1, 2, test_isa(), &e) == 0, "%s", e.msg);
        int classes = x.classes;
        float *ref_logits = npy_load(str(c, "logits"), (size_t)classes);
        float *ref_map = npy_load(str(c, "map"), N_INPUT);
        int pw, ph, pc;
        uint8_t *ref_png = stbi_load(str(c, "png"), &pw, &ph, &pc, 3);
        CHECK_MSG(ref_logits && ref_map && ref_png && pw == S && ph == S,
                  "%s: golden files missing or malformed", name);
        if (ref_logits && ref_map && ref_png &&
            preprocess_file(image, explain_input(&x, 0)) == 0 &&
            explain_run(&x, 1, target_item->valueint, &e) == 0) {
            const float *logits = x.logits, *map = x.maps;
            int argmax = 0;
            double lerr = 0, lmax = 0;
            for (int i = 0; i < classes; i++) {
                argmax = logits[i] > logits[argmax] ? i : argmax;
                lerr = fmax(lerr, fabs((double)logits[i] - ref_logits[i]));
                lmax = fmax(lmax, fabs((double)ref_logits[i]));
            }
            int target = target_item->valueint;
            if (cJSON_IsNull(cJSON_GetObjectItem(c, "class")))
                CHECK_MSG(argmax == target, "%s: predicted %d, PyTorch %d", name, argmax, target);
            double merr = 0, mmax = 0;
            for (int i = 0; i < N_INPUT; i++) {
                merr = fmax(merr, fabs((double)map[i] - ref_map[i]));
                mmax = fmax(mmax, fabs((double)ref_map[i]));
            }
            render_color(rgb, map, S, S);
            int dmax = 0, over2 = 0, differ = 0;
            for (int i = 0; i < N_INPUT; i++) {
                int d = abs((int)rgb[i] - (int)ref_png[i]);
                dmax = d > dmax ? d : dmax;
                differ += d > 0;
                over2 += d > 2;
            }
            printf("  %-28s logits %.2e  map %.2e  png max %d, %d values differ, %d by >2\n", name,
                   lerr / lmax, merr / mmax, dmax, differ, over2);
            // Float rounding only: measured, maps agree to about 3e-7 of
            // their max, PNG and JPEG inputs alike.
            double map_tol = 1e-5, logit_tol = 1e-5, over2_tol = 1e-4;
            CHECK_MSG(lerr / lmax <= logit_tol, "%s: logits differ by %.3g of their max", name,
                      lerr / lmax);
            CHECK_MSG(merr / mmax <= map_tol, "%s: map differs by %.3g of its max", name,
                      merr / mmax);
            CHECK_MSG(over2 <= over2_tol * N_INPUT, "%s: %d PNG values differ by more than 2",
                      name, over2);
        }
        free(ref_logits);
        free(ref_map);
        stbi_image_free(ref_png);
        explain_free(&x);
    }
    free(rgb);
}

int main(void) {
    RUN(test_manifest_is_present);
    if (manifest) {
        RUN(test_preprocessing_matches_torchvision);
        RUN(test_guided_backprop_matches_pytorch);
    }
    cJSON_Delete(manifest);
    weights_cache_free(&cache);
    return test_summary();
}
