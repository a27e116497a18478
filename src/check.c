#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"
#include "saliency.h"

enum { S = PREPROCESS_SIZE, MAP = S * S * 3 };

/* The map of `target` for input under net's current weights, into out (HWC). */
static void map_of(Net *net, const float *input, int target, GuideScope scope, float *out) {
    memcpy(net_input(net, 0), input, sizeof(float) * MAP);
    net_forward(net, 1);
    net_backward(net, 1, &target, scope);
    saliency_chw_to_hwc(out, net_input_grad(net, 0), S, S);
}

int check_class(const Weights *w, const float *input, const float *map, int vs, GuideScope scope,
                int threads, CheckResult *r, float *maps, Error *e) {
    Net net;
    float *other = malloc(sizeof(float) * MAP);
    if (!other) return error_set(e, "check: out of memory");
    if (net_init(&net, w, S, S, 1, threads, e) != 0) {
        free(other);
        return -1;
    }
    map_of(&net, input, vs, scope, other);
    net_free(&net);
    r->vs = vs;
    if (maps) memcpy(maps, other, sizeof(float) * MAP);
    int rc = similarity_maps(map, other, S, S, &r->class_sim, e);
    free(other);
    return rc;
}

/* Layer l (0-7, weights_randomize_layer's numbering) by its module name. */
static const char *layer_name(int l) {
    return l < ALEXNET_CONVS ? alexnet_conv_names[l] : alexnet_fc_names[l - ALEXNET_CONVS];
}

int check_randomize(const Weights *w, const float *input, const float *map, int target,
                    GuideScope scope, uint64_t seed, int threads, CheckResult *r, float *maps,
                    Error *e) {
    Net net;
    Weights view;
    float *other = malloc(sizeof(float) * MAP);
    if (!other) return error_set(e, "check: out of memory");
    if (net_init(&net, w, S, S, 1, threads, e) != 0) {
        free(other);
        return -1;
    }
    weights_view(w, &view);
    int rc = 0;
    // Cascading: the re-drawn layers accumulate, from the top down.
    for (int step = 0; rc == 0 && step < ALEXNET_LAYERS; step++) {
        int l = ALEXNET_LAYERS - 1 - step;
        CheckStep *s = &r->cascading[step];
        snprintf(s->layer, sizeof s->layer, "%s", layer_name(l));
        rc = weights_randomize_layer(&view, l, seed, e);
        if (rc == 0) {
            net_bind(&net, &view);
            map_of(&net, input, target, scope, other);
            if (maps) memcpy(maps + (size_t)step * MAP, other, sizeof(float) * MAP);
            rc = similarity_maps(map, other, S, S, &s->sim, e);
        }
    }
    // Independent: one re-drawn layer at a time, the others as trained.
    for (int step = 0; rc == 0 && step < ALEXNET_LAYERS; step++) {
        int l = ALEXNET_LAYERS - 1 - step;
        CheckStep *s = &r->independent[step];
        snprintf(s->layer, sizeof s->layer, "%s", layer_name(l));
        weights_free(&view);
        weights_view(w, &view);
        rc = weights_randomize_layer(&view, l, seed, e);
        if (rc == 0) {
            net_bind(&net, &view);
            map_of(&net, input, target, scope, other);
            rc = similarity_maps(map, other, S, S, &s->sim, e);
        }
    }
    weights_free(&view);
    net_free(&net);
    free(other);
    return rc;
}
