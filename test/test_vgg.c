/* torchvision's VGGs, plain and with BatchNorm (folded into the
 * convolutions by scripts/convert_pth.py), on reduced-width models whose
 * logits and guided maps PyTorch computed with real BatchNorm layers
 * (test/gen/fixtures_vgg.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "io/image.h"
#include "nn/net.h"
#include "io/preprocess.h"
#include "explain/saliency.h"
#include "files.h"
#include "test.h"

#define MANIFEST "test/fixtures/vgg/manifest.json"
enum { S = PREPROCESS_SIZE, MAP = 3 * S * S };

static const char *str(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static double max_rel(const float *a, const float *ref, size_t n) {
    double err = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - ref[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    return mag > 0 ? err / mag : err;
}

static void test_every_vgg_matches_pytorch(void) {
    char *text = slurp(MANIFEST);
    cJSON *m = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(m != NULL, "%s is missing or malformed: run 'make fixtures'", MANIFEST);
    if (!m) return;
    const cJSON *c;
    int n = 0, maps = 0;
    float *map = malloc(sizeof(float) * MAP);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases")) {
        const char *arch = str(c, "arch");
        Weights w;
        Error e;
        CHECK_MSG(arch && weights_load(&w, str(c, "weights"), &e) == 0, "%s: %s",
                  arch ? arch : "?", e.msg);
        if (!arch) continue;
        CHECK_MSG(strcmp(w.arch.name, arch) == 0, "%s loaded as %s", arch, w.arch.name);
        Net net;
        CHECK_MSG(net_init(&net, &w, S, S, 1, 2, &e) == 0, "%s", e.msg);
        // A _bn model's ReLUs keep torchvision's numbering: conv, (bn), relu.
        int relu = net_find_layer(&net, strstr(arch, "_bn") ? "features.2" : "features.1");
        CHECK_MSG(relu >= 0 && net.layers[relu].kind == LAYER_RELU, "%s: ReLU numbering", arch);
        Image img = {0};
        CHECK(image_load(str(c, "image"), IMAGE_MAX_PIXELS, &img, &e) == 0 &&
              preprocess_imagenet(&img, net_input(&net, 0), NULL, &e) == 0);
        image_free(&img);
        int classes = net_classes(&net);
        float *logits = npy_load(str(c, "logits"), (size_t)classes);
        float *ref = npy_load(str(c, "map"), MAP);
        CHECK_MSG(logits != NULL, "%s: logits missing", arch);
        net_forward(&net, 1);
        int target = cJSON_GetObjectItem(c, "target")->valueint, argmax = 0;
        const float *ours = net_logits(&net, 0);
        for (int i = 1; i < classes; i++) argmax = ours[i] > ours[argmax] ? i : argmax;
        double lerr = logits ? max_rel(ours, logits, (size_t)classes) : 1;
        double merr = 0;
        if (ref) {
            net_backward(&net, 1, &target, GUIDE_FEATURES);
            saliency_chw_to_hwc(map, net_input_grad(&net, 0), S, S);
            merr = max_rel(map, ref, MAP);
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
        net_free(&net);
        weights_free(&w);
        n++;
    }
    CHECK_MSG(n == 8 && maps >= 4, "%d architectures, %d maps", n, maps);
    free(map);
    cJSON_Delete(m);
}

int main(void) {
    RUN(test_every_vgg_matches_pytorch);
    return test_summary();
}
