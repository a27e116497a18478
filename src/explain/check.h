/* check.h: the sanity checks of Adebayo et al. (NeurIPS 2018) for one image.
 *
 * Both compare the image's map with maps of the same method (spec; a cam is
 * compared as a 3-channel map of the cam) computed under a change, using the similarities of similarity.h:
 *   check_class      the map of another class (`vs`);
 *   check_randomize  the map after re-drawing layers with the default
 *                    initialisation from `seed` (weights_randomize_layer):
 *                    cascading, from classifier.6 down to features.0, the
 *                    re-drawn layers accumulating; and independent, one
 *                    layer at a time. The target class stays the same.
 *
 * `input` is the preprocessed (3, 224, 224) image and `map` its (224, 224, 3)
 * map under the unchanged weights. With `maps` non-NULL the compared maps
 * are also returned there, (steps, 224, 224, 3), for a picture strip:
 * for class, [vs]; for randomize, the cascading steps in order. Each check
 * uses its own network workspace; w is not modified.
 */
#ifndef GUIDEDBP_CHECK_H
#define GUIDEDBP_CHECK_H

#include <stdint.h>

#include "util/error.h"
#include "explain/methods.h"
#include "nn/net.h"
#include "explain/similarity.h"
#include "nn/weights.h"

typedef struct {
    char layer[24];
    Similarity sim;
} CheckStep;

typedef struct {
    int vs;                                 // check_class: the other class
    Similarity class_sim;                   // check_class
    int steps;                              // check_randomize: the model's layers
    CheckStep cascading[ARCH_MAX_LAYERS];   // check_randomize, top layer first
    CheckStep independent[ARCH_MAX_LAYERS];
} CheckResult;

int check_class(const Weights *w, const float *input, const float *map, int vs,
                const MethodSpec *spec, int threads, CheckResult *r, float *maps, Error *e);
int check_randomize(const Weights *w, const float *input, const float *map, int target,
                    const MethodSpec *spec, uint64_t seed, int threads, CheckResult *r,
                    float *maps, Error *e);

#endif
