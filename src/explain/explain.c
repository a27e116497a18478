#include "explain/explain.h"

#include <stdlib.h>
#include <string.h>

#include "io/preprocess.h"

int explain_init(Explainer *x, const Weights *w, const MethodSpec *spec, int batch, int threads,
                 GemmIsa isa, Error *e) {
    return explain_init_size(x, w, spec, PREPROCESS_SIZE, PREPROCESS_SIZE, batch, threads, isa, e);
}

int explain_init_size(Explainer *x, const Weights *w, const MethodSpec *spec, int height,
                      int width, int batch, int threads, GemmIsa isa, Error *e) {
    memset(x, 0, sizeof *x);
    x->spec = *spec;
    x->height = height, x->width = width;
    if (net_init(&x->net, w, height, width, batch, threads, isa, e) != 0) return -1;
    x->classes = net_classes(&x->net);
    size_t b = (size_t)x->net.batch, plane = (size_t)height * width;
    x->inputs = malloc(sizeof *x->inputs * b * 3 * plane);
    x->logits = malloc(sizeof *x->logits * b * (size_t)x->classes);
    x->targets = malloc(sizeof *x->targets * b);
    x->maps = malloc(sizeof *x->maps * b * 3 * plane);
    if (method_has_cam(spec->method)) x->cams = malloc(sizeof *x->cams * b * plane);
    if (!x->inputs || !x->logits || !x->targets || !x->maps ||
        (method_has_cam(spec->method) && !x->cams)) {
        explain_free(x);
        return error_set(e, "out of memory for a batch of %zu images", b);
    }
    return 0;
}

void explain_free(Explainer *x) {
    if (!x) return;
    net_free(&x->net);
    free(x->inputs);
    free(x->logits);
    free(x->targets);
    free(x->maps);
    free(x->cams);
    memset(x, 0, sizeof *x);
}

float *explain_input(Explainer *x, int b) {
    return x->inputs + (size_t)b * 3 * x->height * x->width;
}

int explain_run(Explainer *x, int n, int target, Error *e) {
    size_t input = (size_t)3 * x->height * x->width, classes = (size_t)x->classes;
    memcpy(net_input(&x->net, 0), x->inputs, sizeof(float) * input * (size_t)n);
    net_forward(&x->net, n);
    int layer;
    if (!net_outputs_finite(&x->net, n, &layer)) {
        if (weights_find_non_finite(x->net.weights, x->net.threads, e) == 0)
            error_set(e, "layer %s's outputs are not finite: its weights overflow float32",
                      x->net.graph.layers[layer].name);
        return EXPLAIN_NON_FINITE;
    }
    // Kept: the passes of SmoothGrad and integrated gradients overwrite the net's.
    memcpy(x->logits, net_logits(&x->net, 0), sizeof(float) * classes * (size_t)n);
    for (int b = 0; b < n; b++) {
        const float *logits = x->logits + (size_t)b * classes;
        int t = target;
        if (t < 0)
            for (int c = t = 0; c < x->classes; c++) t = logits[c] > logits[t] ? c : t;
        x->targets[b] = t;
    }
    return methods_run(&x->net, &x->spec, n, x->inputs, x->targets, x->maps, x->cams, e);
}

void explain_map3(const Explainer *x, int b, float *out) {
    size_t plane = (size_t)x->height * x->width;
    if (!method_is_cam(x->spec.method)) {
        memcpy(out, x->maps + (size_t)b * 3 * plane, sizeof(float) * 3 * plane);
        return;
    }
    const float *cam = x->cams + (size_t)b * plane;
    for (size_t p = 0; p < plane; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = cam[p];
}
