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
 * `input` is the preprocessed (3, h, w) image (x's height and width) and
 * `map` its (h, w, 3) map under the unchanged weights. With `maps` non-NULL
 * the compared maps are also returned there, (steps, h, w, 3), for a
 * picture strip: for class, [vs]; for randomize, the cascading steps in
 * order. `x` is the checks' workspace: an Explainer of the same method, any
 * batch, bound to w; its inputs and results are overwritten, and it is
 * bound to w again on return. w is not modified.
 */
#ifndef GUIDEDBP_CHECK_H
#define GUIDEDBP_CHECK_H

#include <stdint.h>

#include "util/error.h"
#include "explain/methods.h"
#include "explain/explain.h"
#include "explain/similarity.h"
#include "nn/weights.h"

/* --check: how much the map depends on the class, or on the weights. */
typedef enum { CHECK_NONE, CHECK_CLASS, CHECK_RANDOMIZE, CHECKS } CheckKind;
/* Their names, in CheckKind's order ("none" is not an option value). */
extern const char *const check_names[CHECKS];

/* Layers with weights a check can re-draw: a ResNet-152 has 156. */
enum { CHECK_MAX_STEPS = 160 };

typedef struct {
    char layer[GRAPH_NAME_LEN];
    Similarity sim;
} CheckStep;

typedef struct {
    int vs;                                 // check_class: the other class
    Similarity class_sim;                   // check_class
    int steps;                              // check_randomize: the model's layers
    CheckStep cascading[CHECK_MAX_STEPS];   // check_randomize, top layer first
    CheckStep independent[CHECK_MAX_STEPS];
} CheckResult;

int check_class(Explainer *x, const float *input, const float *map, int vs, CheckResult *r,
                float *maps, Error *e);
int check_randomize(Explainer *x, const Weights *w, const float *input, const float *map,
                    int target, uint64_t seed, CheckResult *r, float *maps, Error *e);

/* The titles of a check's strip (render_strip), a line naming each map
 * and a line of its similarities to the first: for class, `target` (the
 * map's class, "281 tabby") then `vs` (the other's); for randomize,
 * "original" over `target`, then each cascading step's layer. Numbers have
 * three decimals, NaN is "undef". text holds one title a tile. */
enum { CHECK_TITLE_LEN = 160 };
void check_titles(const CheckResult *r, CheckKind kind, const char *target, const char *vs,
                  char (*text)[CHECK_TITLE_LEN]);

#endif
