/* manifest.h: reading the JSON manifests the fixture scripts write.
 *
 * str and num read one field of a case (NULL / fallback when it is absent
 * or of another type); method_spec fills a MethodSpec from a case's recipe
 * fields (method, guide, smooth, noise, seed, steps, baseline), as
 * test/gen/fixtures_methods.py and fixtures_flat.py name them, and returns -1
 * for a missing or unknown method; method_layers resolves a case's "layer"
 * (with its "channel") and "cam_layer" by name in a model's graph.
 */
#ifndef GUIDEDBP_TEST_MANIFEST_H
#define GUIDEDBP_TEST_MANIFEST_H

#include <stdint.h>
#include <string.h>

#include <cJSON.h>

#include "explain/methods.h"
#include "nn/graph.h"
#include "util/text.h"

static inline const char *str(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static inline int num(const cJSON *o, const char *key, int fallback) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : fallback;
}

static inline int method_spec(const cJSON *c, MethodSpec *spec) {
    *spec = (MethodSpec){.layer = -1, .guide = GUIDE_FEATURES};
    const char *method = str(c, "method"), *guide = str(c, "guide"), *start = str(c, "baseline");
    int m = method ? text_index(method, method_names, 0, METHODS) : -1;
    if (m < 0) return -1;
    spec->method = (Method)m;
    spec->guide = guide && strcmp(guide, "all") == 0 ? GUIDE_ALL : GUIDE_FEATURES;
    spec->smooth = num(c, "smooth", 0);
    const cJSON *noise = cJSON_GetObjectItemCaseSensitive(c, "noise");
    spec->noise = cJSON_IsNumber(noise) ? noise->valuedouble : 0.0;
    spec->seed = (uint64_t)num(c, "seed", 0);
    spec->steps = num(c, "steps", 0);
    spec->baseline = start && strcmp(start, "zero") == 0 ? BASELINE_ZERO : BASELINE_BLACK;
    return 0;
}

/* NULL, or the name of a layer the case names that g does not have. */
static inline const char *method_layers(const cJSON *c, const Graph *g, MethodSpec *spec) {
    const char *layer = str(c, "layer"), *cam_layer = str(c, "cam_layer");
    if (layer) {
        spec->layer = graph_find(g, layer);
        spec->channel = num(c, "channel", 0);
        if (spec->layer < 0) return layer;
    }
    if (cam_layer && (spec->cam_layer = graph_find(g, cam_layer)) < 0) return cam_layer;
    return NULL;
}

#endif
