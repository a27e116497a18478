#include "explain/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const check_names[] = {"none", "class", "randomize"};
_Static_assert(sizeof check_names / sizeof *check_names == CHECKS, "a name for each value");

/* The method's map of `target` for input under x's current weights, into
 * out (HWC, explain_map3). */
static int map_of(Explainer *x, const float *input, int target, float *out, Error *e) {
    memcpy(explain_input(x, 0), input, sizeof(float) * 3 * x->height * x->width);
    if (explain_run(x, 1, target, e) != 0) return -1;
    explain_map3(x, 0, out);
    return 0;
}

int check_class(Explainer *x, const float *input, const float *map, int vs, CheckResult *r,
                float *maps, Error *e) {
    size_t size = (size_t)3 * x->height * x->width;
    float *other = malloc(sizeof(float) * size);
    if (!other) return error_set(e, "check: out of memory");
    int rc = map_of(x, input, vs, other, e);
    r->vs = vs;
    if (maps) memcpy(maps, other, sizeof(float) * size);
    if (rc == 0) rc = similarity_maps(map, other, x->height, x->width, &r->class_sim, e);
    free(other);
    return rc;
}

/* One step: layer l re-drawn in view, the map compared with the original. */
static int step(Explainer *x, Weights *view, int l, uint64_t seed, const float *input,
                const float *map, int target, float *other, CheckStep *s, Error *e) {
    snprintf(s->layer, sizeof s->layer, "%s", weights_layer_name(view, l));
    if (weights_randomize_layer(view, l, seed, e) != 0) return -1;
    net_bind(&x->net, view);
    if (map_of(x, input, target, other, e) != 0) return -1;
    return similarity_maps(map, other, x->height, x->width, &s->sim, e);
}

int check_randomize(Explainer *x, const Weights *w, const float *input, const float *map,
                    int target, uint64_t seed, CheckResult *r, float *maps, Error *e) {
    size_t size = (size_t)3 * x->height * x->width;
    Weights view;
    float *other = malloc(sizeof(float) * size);
    if (!other) return error_set(e, "check: out of memory");
    int layers = weights_layers(w), rc = 0;
    if (layers > CHECK_MAX_STEPS) {
        free(other);
        return error_set(e, "check randomize: %d layers with weights, at most %d", layers,
                         CHECK_MAX_STEPS);
    }
    r->steps = layers;
    // Cascading: the re-drawn layers accumulate, from the top down.
    weights_view(w, &view);
    for (int s = 0; rc == 0 && s < layers; s++) {
        rc = step(x, &view, layers - 1 - s, seed, input, map, target, other, &r->cascading[s], e);
        if (rc == 0 && maps) memcpy(maps + (size_t)s * size, other, sizeof(float) * size);
    }
    // Independent: one re-drawn layer at a time, the others as trained.
    for (int s = 0; rc == 0 && s < layers; s++) {
        weights_free(&view);
        weights_view(w, &view);
        rc = step(x, &view, layers - 1 - s, seed, input, map, target, other, &r->independent[s], e);
    }
    net_bind(&x->net, w);
    weights_free(&view);
    free(other);
    return rc;
}

static const char *three_places(double v, char *buf, size_t len) {
    if (isnan(v)) return "undef";
    snprintf(buf, len, "%.3f", v);
    return buf;
}

static void similarity_title(char *out, const char *what, const Similarity *s) {
    char a[16], b[16], c[16];
    snprintf(out, CHECK_TITLE_LEN, "%.64s\nsp_abs %s sp %s ssim %s", what,
             three_places(s->spearman_abs, a, sizeof a), three_places(s->spearman, b, sizeof b),
             three_places(s->ssim, c, sizeof c));
}

void check_titles(const CheckResult *r, CheckKind kind, const char *target, const char *vs,
                  char (*text)[CHECK_TITLE_LEN]) {
    if (kind == CHECK_CLASS) {
        snprintf(text[0], CHECK_TITLE_LEN, "%.64s\nthe class explained", target);
        similarity_title(text[1], vs, &r->class_sim);
        return;
    }
    snprintf(text[0], CHECK_TITLE_LEN, "original\n%.64s", target);
    for (int s = 0; s < r->steps; s++)
        similarity_title(text[1 + s], r->cascading[s].layer, &r->cascading[s].sim);
}
