/* torchvision's VGGs, plain and with BatchNorm (folded into the
 * convolutions by scripts/convert_pth.py), on reduced-width models whose
 * logits and guided maps PyTorch computed with real BatchNorm layers
 * (test/gen/fixtures_vgg.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "explain/explain.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "isa.h"
#include "files.h"
#include "test.h"

#define MANIFEST "test/fixtures/vgg/manifest.json"
enum { S = PREPROCESS_SIZE, MAP = 3 * S * S };

static const char *str(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void test_every_vgg_matches_pytorch(void) {
    char *text = slurp(MANIFEST);
    cJSON *m = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(m != NULL, "%s is missing or malformed: run 'make fixtures'", MANIFEST);
    if (!m) return;
    const cJSON *c;
    int n = 0, maps = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases")) {
        const char *arch = str(c, "arch");
        Weights w;
        Error e;
        CHECK_MSG(arch && weights_load(&w, str(c, "weights"), &e) == 0, "%s: %s",
                  arch ? arch : "?", e.msg);
        if (!arch) continue;
        CHECK_MSG(strcmp(w.graph.arch, arch) == 0, "%s loaded as %s", arch, w.graph.arch);
        // A _bn model's ReLUs keep torchvision's numbering: conv, (bn), relu.
        int relu = graph_find(&w.graph, strstr(arch, "_bn") ? "features.2" : "features.1");
        CHECK_MSG(relu >= 0 && w.graph.layers[relu].kind == LAYER_RELU, "%s: ReLU numbering",
                  arch);
        Explainer x;
        MethodSpec spec = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES, .layer = -1};
        CHECK_MSG(explain_init(&x, &w, &spec, 1, 2, test_isa(), &e) == 0, "%s", e.msg);
        Image img = {0};
        CHECK(image_load(str(c, "image"), IMAGE_MAX_PIXELS, &img, &e) == 0 &&
              preprocess_imagenet(&img, explain_input(&x, 0), NULL, &e) == 0);
        image_free(&img);
        int classes = x.classes;
        float *logits = npy_load(str(c, "logits"), (size_t)classes);
        float *ref = npy_load(str(c, "map"), MAP);
        CHECK_MSG(logits != NULL, "%s: logits missing", arch);
        int target = cJSON_GetObjectItem(c, "target")->valueint, argmax = 0;
        CHECK_MSG(explain_run(&x, 1, target, &e) == 0, "%s", e.msg);
        const float *ours = x.logits;
        for (int i = 1; i < classes; i++) argmax = ours[i] > ours[argmax] ? i : argmax;
        double lerr = logits ? max_rel(ours, logits, (size_t)classes) : 1;
        double merr = 0;
        if (ref) {
            merr = max_rel(x.maps, ref, MAP);
            maps++;
        }
        printf("  %-9s logits %.2e%s", arch, lerr, ref ? "" : "\n");
        if (ref) printf("  guided map %.2e\n", merr);
        // Folding BatchNorm changes the rounding of every convolution a little.
        CHECK_MSG(argmax == target, "%s: predicted %d, PyTorch %d", arch, argmax, target);
        CHECK_MSG(lerr < 1e-4, "%s: logits differ by %.3g of their max", arch, lerr);
        CHECK_MSG(merr < 1e-4, "%s: map differs by %.3g of its max", arch, merr);
        free(logits);
        free(ref);
        explain_free(&x);
        weights_free(&w);
        n++;
    }
    CHECK_MSG(n == 8 && maps >= 4, "%d architectures, %d maps", n, maps);
    cJSON_Delete(m);
}

int main(void) {
    RUN(test_every_vgg_matches_pytorch);
    return test_summary();
}
