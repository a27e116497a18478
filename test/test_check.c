/* The sanity checks on the reduced-width model: the randomization loop
 * re-draws the layers it names, in the order it names them, and compares
 * the maps it should; the class check compares with the other class's map. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/check.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "isa.h"
#include "test.h"

#define TINY "test/fixtures/golden/tiny.safetensors"
enum { S = PREPROCESS_SIZE, MAP = S * S * 3 };

static Weights tiny;
static float *input, *base;

/* The map of target under w, HWC. */
static void map_under(const Weights *w, int target, GuideScope scope, float *out) {
    Net net;
    Error e;
    CHECK_MSG(net_init(&net, w, S, S, 1, 2, test_isa(), &e) == 0, "%s", e.msg);
    memcpy(net_input(&net, 0), input, sizeof(float) * MAP);
    net_forward(&net, 1);
    net_backward(&net, 1, &target, scope);
    const float *g = net_input_grad(&net, 0);
    for (int p = 0; p < S * S; p++)
        for (int c = 0; c < 3; c++) out[3 * p + c] = g[c * S * S + p];
    net_free(&net);
}

/* The checks' workspace for spec, bound to tiny. */
static Explainer workspace(const MethodSpec *spec) {
    Explainer x;
    Error e;
    CHECK_MSG(explain_init(&x, &tiny, spec, 1, 2, test_isa(), &e) == 0, "%s", e.msg);
    return x;
}

static const MethodSpec guided_features = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES,
                                           .layer = -1};
static const MethodSpec guided_all = {.method = METHOD_GUIDED, .guide = GUIDE_ALL, .layer = -1};

static int same(const Similarity *a, const Similarity *b) {
    return a->spearman_abs == b->spearman_abs && a->spearman == b->spearman && a->ssim == b->ssim;
}

static void test_redrawing_with_the_models_own_seed_changes_nothing(void) {
    // tiny.safetensors is the generator's seed 7: re-drawn layers are equal.
    CheckResult r;
    Error e;
    Explainer x = workspace(&guided_features);
    CHECK_MSG(check_randomize(&x, &tiny, input, base, 707, 7, &r, NULL, &e) == 0, "%s", e.msg);
    explain_free(&x);
    CHECK(r.steps == 8);
    for (int l = 0; l < r.steps; l++) {
        CHECK_MSG(r.cascading[l].sim.spearman_abs == 1.0 && r.cascading[l].sim.ssim == 1.0,
                  "%s: %.6f", r.cascading[l].layer, r.cascading[l].sim.spearman_abs);
        CHECK(r.independent[l].sim.spearman == 1.0);
    }
}

static void test_randomization_order_and_maps(void) {
    CheckResult r;
    Error e;
    float *maps = malloc(sizeof(float) * MAP * 8), *expect = malloc(sizeof(float) * MAP);
    Explainer x = workspace(&guided_all);
    CHECK_MSG(check_randomize(&x, &tiny, input, base, 707, 8, &r, maps, &e) == 0, "%s", e.msg);
    // The workspace is bound to the trained weights again.
    memcpy(explain_input(&x, 0), input, sizeof(float) * MAP);
    CHECK(explain_run(&x, 1, 707, &e) == 0);
    CHECK_MSG(memcmp(x.maps, base, sizeof(float) * MAP) == 0, "the workspace kept re-drawn weights");
    explain_free(&x);
    const char *order[8] = {"classifier.6", "classifier.4", "classifier.1",
                                         "features.10", "features.8", "features.6",
                                         "features.3", "features.0"};
    for (int step = 0; step < 8; step++) {
        CHECK(strcmp(r.cascading[step].layer, order[step]) == 0);
        CHECK(strcmp(r.independent[step].layer, order[step]) == 0);
        int layer = 7 - step;
        // Cascading step k: layers from the top down to `layer` re-drawn,
        // here re-drawn bottom-up in a fresh copy (the draw is by position).
        Weights w;
        weights_view(&tiny, &w);
        for (int l = layer; l < 8; l++) CHECK(weights_randomize_layer(&w, l, 8, &e) == 0);
        map_under(&w, 707, GUIDE_ALL, expect);
        CHECK_MSG(memcmp(expect, maps + (size_t)step * MAP, sizeof(float) * MAP) == 0,
                  "cascading step %d map", step);
        Similarity sim;
        CHECK(similarity_maps(base, expect, S, S, &sim, &e) == 0);
        CHECK_MSG(same(&sim, &r.cascading[step].sim), "cascading step %d numbers", step);
        weights_free(&w);
        // Independent: only `layer` re-drawn.
        weights_view(&tiny, &w);
        CHECK(weights_randomize_layer(&w, layer, 8, &e) == 0);
        map_under(&w, 707, GUIDE_ALL, expect);
        CHECK(similarity_maps(base, expect, S, S, &sim, &e) == 0);
        CHECK_MSG(same(&sim, &r.independent[step].sim), "independent step %d numbers", step);
        weights_free(&w);
    }
    // Re-drawing everything changes the map; the first cascading step
    // (classifier.6 alone) and the first independent step are the same change.
    CHECK(r.cascading[7].sim.spearman < 0.99);
    CHECK(same(&r.cascading[0].sim, &r.independent[0].sim));
    free(maps);
    free(expect);
}

static void test_class_check_compares_with_the_other_class(void) {
    CheckResult r;
    Error e;
    float *other = malloc(sizeof(float) * MAP), *got = malloc(sizeof(float) * MAP);
    Explainer x = workspace(&guided_features);
    CHECK(check_class(&x, input, base, 3, &r, got, &e) == 0);
    map_under(&tiny, 3, GUIDE_FEATURES, other);
    CHECK(memcmp(other, got, sizeof(float) * MAP) == 0);
    Similarity sim;
    CHECK(similarity_maps(base, other, S, S, &sim, &e) == 0);
    CHECK(r.vs == 3 && same(&sim, &r.class_sim));
    CHECK(check_class(&x, input, base, 707, &r, NULL, &e) == 0);
    CHECK(r.class_sim.spearman == 1.0 && r.class_sim.ssim == 1.0);
    explain_free(&x);
    free(other);
    free(got);
}

int main(void) {
    Error e;
    Image img = {0};
    input = malloc(sizeof(float) * MAP);
    base = malloc(sizeof(float) * MAP);
    if (weights_load(&tiny, TINY, &e) != 0 ||
        image_load("test/fixtures/images/cat224.png", IMAGE_MAX_PIXELS, &img, &e) != 0 ||
        preprocess_imagenet(&img, input, NULL, &e) != 0) {
        printf("setup: %s\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    image_free(&img);
    map_under(&tiny, 707, GUIDE_FEATURES, base);
    RUN(test_redrawing_with_the_models_own_seed_changes_nothing);
    map_under(&tiny, 707, GUIDE_ALL, base);
    RUN(test_randomization_order_and_maps);
    map_under(&tiny, 707, GUIDE_FEATURES, base);
    RUN(test_class_check_compares_with_the_other_class);
    weights_free(&tiny);
    free(input);
    free(base);
    return test_summary();
}
