/* explain.h: preprocessed images in, maps out. The network and a method
 * together: the one call the command line's pipeline, the sanity checks,
 * the golden tests and the benchmark all make.
 *
 *     Explainer x;
 *     if (explain_init(&x, &weights, &spec, batch, threads, isa, &err) != 0) ...;
 *     // or explain_init_size(&x, ..., height, width, batch, ...) (--crop none)
 *     // fill explain_input(&x, b) for b < n (preprocess.h), then
 *     if (explain_run(&x, n, -1, &err) != 0) ...;   // -1: each image's top class
 *     // x.logits, x.targets, x.maps (or x.cams for gradcam) of images 0..n-1
 *     explain_free(&x);
 *
 * Every buffer is owned by the Explainer and sized for `batch` images of
 * height x width (PREPROCESS_SIZE a side with explain_init); each image's
 * results are the same bits whatever the batch, n and the thread count.
 * explain_run leaves the inputs as they were, so a caller may run them
 * again (another target, rebound weights).
 */
#ifndef GUIDEDBP_EXPLAIN_H
#define GUIDEDBP_EXPLAIN_H

#include "explain/methods.h"
#include "nn/net.h"
#include "nn/weights.h"
#include "util/error.h"

typedef struct {
    Net net;
    MethodSpec spec;
    int height, width; // the inputs' size
    int classes;
    float *inputs;  // (batch, 3, height, width), filled by the caller
    float *logits;  // (batch, classes)
    int *targets;   // (batch) the class each map explains
    float *maps;    // (batch, height, width, 3) HWC, for every method but gradcam
    float *cams;    // (batch, height, width) for gradcam and guided-gradcam, else NULL
} Explainer;

int explain_init(Explainer *x, const Weights *w, const MethodSpec *spec, int batch, int threads,
                 GemmIsa isa, Error *e);
int explain_init_size(Explainer *x, const Weights *w, const MethodSpec *spec, int height,
                      int width, int batch, int threads, GemmIsa isa, Error *e);
void explain_free(Explainer *x);
/* Image b's input, (3, height, width). */
float *explain_input(Explainer *x, int b);
/* The first n images: forward, targets (`target` for all, or each image's
 * top class when it is -1; ties go to the lower index), then the method.
 * EXPLAIN_NON_FINITE when the weights hold a NaN or an infinity (e names
 * the tensor) or overflow; METHODS_STOPPED on a signal; -1 out of memory. */
enum { EXPLAIN_NON_FINITE = -3 };
int explain_run(Explainer *x, int n, int target, Error *e);
/* Image b's map as the checks compare it, (height, width, 3): the map, or for
 * gradcam its cam in all three channels, written to out. */
void explain_map3(const Explainer *x, int b, float *out);

#endif
