/* methods.h: the gradient visualizations, each as its PyTorch definition.
 *
 *   guided          Springenberg et al. 2015: guided ReLUs in `guide` scope
 *   gradient        Simonyan et al. 2014: the plain input gradient
 *   deconv          Zeiler & Fergus 2014: ReLUs in scope pass max(grad, 0)
 *                   whatever their activation
 *   grad-x-input    Captum's InputXGradient: input * gradient
 *   integrated      Captum's IntegratedGradients, Gauss-Legendre rule with
 *                   `steps` nodes: (x - b) * sum_i w_i * gradient(b + a_i (x - b)),
 *                   b the baseline: BASELINE_BLACK, the black image as the
 *                   model sees it (Normalize(0), Captum's baselines=
 *                   Normalize(zeros)), or BASELINE_ZERO, zero in the
 *                   normalized space (the mean colour; Captum's default)
 *   gradcam         Selvaraju et al.: at layer `cam_layer`, weights = the
 *                   spatial mean of d score / d A per channel, cam =
 *                   ReLU(sum weight * A), bilinear upsampling to 224x224 as
 *                   F.interpolate(align_corners=False), min-max to [0, 1]
 *   guided-gradcam  the guided map (guided ReLUs in `guide` scope) times the cam
 *
 * The score is the target class's logit, or with `layer` >= 0 the sum of
 * the activations of `channel` at that layer's output. SmoothGrad
 * (`smooth` > 0, any method but the cam ones and integrated) averages the
 * method over `smooth` copies of the input plus Gaussian noise of std
 * `noise` * (max - min of the input), drawn from rng.h's stream `seed`:
 * copy k, value j (CHW order) uses z = sqrt(-2 ln u1) cos(2 pi u2) with
 * u1 = rng_uniform(seed, 2 (k n + j)) + 2^-24 (in (0, 1]) and
 * u2 = rng_uniform(seed, 2 (k n + j) + 1).
 *
 * methods_run works on the first n images whose clean inputs are in the net
 * and have been through net_forward; the passes it needs run in batches of
 * the net's size, each image's bits independent of the batching. It leaves
 * the net's activations and logits changed (copy the logits first).
 */
#ifndef GUIDEDBP_METHODS_H
#define GUIDEDBP_METHODS_H

#include <stdint.h>

#include "util/error.h"
#include "nn/net.h"

typedef enum {
    METHOD_GUIDED,
    METHOD_GRADIENT,
    METHOD_DECONV,
    METHOD_GRAD_X_INPUT,
    METHOD_INTEGRATED,
    METHOD_GRADCAM,
    METHOD_GUIDED_GRADCAM,
} Method;

typedef enum { BASELINE_BLACK, BASELINE_ZERO, BASELINES } Baseline;
extern const char *const baseline_names[BASELINES];

typedef struct {
    Method method;
    GuideScope guide;  // guided and deconv: which ReLUs get their rule
    int layer;         // the target layer's index in the net, or -1: the class logit
    int channel;       // with layer: the channel whose activations are summed
    int cam_layer;     // gradcam, guided-gradcam: the layer whose activations weigh
    int smooth;        // SmoothGrad copies; 0: off
    double noise;      // SmoothGrad noise, as a fraction of the input's range
    uint64_t seed;     // SmoothGrad noise stream
    int steps;         // integrated: Gauss-Legendre nodes
    Baseline baseline; // integrated: where the path starts
} MethodSpec;

/* "guided" ... "guided-gradcam" -> 0 and *m, or -1 for an unknown name. */
int method_parse(const char *name, Method *m);
const char *method_name(Method m);
/* A names list for messages and --help: "guided, gradient, ...". */
const char *method_names(void);
/* 1 for the methods whose result is a cam (224, 224) rather than a map. */
int method_is_cam(Method m);

/* maps: (n, 224, 224, 3) HWC, the gradient-like map of each image (unused
 * for gradcam, which may pass NULL); cams: (n, 224, 224) for gradcam and
 * guided-gradcam (NULL otherwise). */
int methods_run(Net *net, const MethodSpec *m, int n, const int *targets, float *maps,
                float *cams, Error *e);

/* numpy.polynomial.legendre.leggauss(n) mapped to [0, 1], as Captum uses
 * it: nodes alpha (n) and weights (n), in increasing order of alpha. */
int gauss_legendre(int n, double *alpha, double *weight);

/* F.interpolate(mode='bilinear', align_corners=False) of a (h, w) plane to
 * (oh, ow), in float like PyTorch's CPU kernel. */
void upsample_bilinear(float *out, int oh, int ow, const float *in, int h, int w);

#endif
