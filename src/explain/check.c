#include "explain/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/preprocess.h"
#include "explain/saliency.h"

enum { S = PREPROCESS_SIZE, MAP = S * S * 3 };

/* The method's map of `target` for input under net's current weights, into
 * out (HWC); a cam is compared as a map whose three channels are the cam. */
static int map_of(Net *net, const float *input, int target, const MethodSpec *spec, float *out,
                  Error *e) {
    memcpy(net_input(net, 0), input, sizeof(float) * MAP);
    net_forward(net, 1);
    if (!method_is_cam(spec->method)) return methods_run(net, spec, 1, &target, out, NULL, e);
    float *cam = malloc(sizeof(float) * S * S);
    if (!cam) return error_set(e, "check: out of memory");
    int rc = methods_run(net, spec, 1, &target, NULL, cam, e);
    for (int p = 0; rc == 0 && p < S * S; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = cam[p];
    free(cam);
    return rc;
}

int check_class(const Weights *w, const float *input, const float *map, int vs,
                const MethodSpec *spec, int threads, CheckResult *r, float *maps, Error *e) {
    Net net;
    float *other = malloc(sizeof(float) * MAP);
    if (!other) return error_set(e, "check: out of memory");
    if (net_init(&net, w, S, S, 1, threads, e) != 0) {
        free(other);
        return -1;
    }
    int rc = map_of(&net, input, vs, spec, other, e);
    net_free(&net);
    r->vs = vs;
    if (maps) memcpy(maps, other, sizeof(float) * MAP);
    if (rc == 0) rc = similarity_maps(map, other, S, S, &r->class_sim, e);
    free(other);
    return rc;
}

int check_randomize(const Weights *w, const float *input, const float *map, int target,
                    const MethodSpec *spec, uint64_t seed, int threads, CheckResult *r,
                    float *maps, Error *e) {
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
    int layers = weights_layers(w);
    r->steps = layers;
    for (int step = 0; rc == 0 && step < layers; step++) {
        int l = layers - 1 - step;
        CheckStep *s = &r->cascading[step];
        weights_layer_name(w, l, s->layer, sizeof s->layer);
        rc = weights_randomize_layer(&view, l, seed, e);
        if (rc == 0) {
            net_bind(&net, &view);
            rc = map_of(&net, input, target, spec, other, e);
        }
        if (rc == 0) {
            if (maps) memcpy(maps + (size_t)step * MAP, other, sizeof(float) * MAP);
            rc = similarity_maps(map, other, S, S, &s->sim, e);
        }
    }
    // Independent: one re-drawn layer at a time, the others as trained.
    for (int step = 0; rc == 0 && step < layers; step++) {
        int l = layers - 1 - step;
        CheckStep *s = &r->independent[step];
        weights_layer_name(w, l, s->layer, sizeof s->layer);
        weights_free(&view);
        weights_view(w, &view);
        rc = weights_randomize_layer(&view, l, seed, e);
        if (rc == 0) {
            net_bind(&net, &view);
            rc = map_of(&net, input, target, spec, other, e);
        }
        if (rc == 0) rc = similarity_maps(map, other, S, S, &s->sim, e);
    }
    weights_free(&view);
    net_free(&net);
    free(other);
    return rc;
}
