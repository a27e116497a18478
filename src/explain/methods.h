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
 *                   ReLU(sum weight * A), bilinear upsampling to the input's size as
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
 * methods_run works on the first n images of `inputs`, which the net has
 * just run forward (net_forward). The passes it needs run in batches of the
 * net's size, each image's bits independent of the batching. What survives:
 * the net's logits and activations are still those of `inputs` afterwards
 * for a one-pass method (guided, gradient, deconv, grad-x-input, the cam
 * methods), and those of the last perturbed batch for SmoothGrad and
 * integrated gradients, whose passes overwrite the net's input; `inputs` is
 * never written.
 */
#ifndef GUIDEDBP_METHODS_H
#define GUIDEDBP_METHODS_H

#include <signal.h>
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
    METHODS
} Method;
/* --method's names, "guided" ... "guided-gradcam", in Method's order. */
extern const char *const method_names[METHODS];

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
    const volatile sig_atomic_t *stop; // once set (by a signal), methods_run stops at its next
                                       // pass with METHODS_STOPPED; may be NULL
} MethodSpec;

/* What methods_run returns when spec->stop was set: the maps are not made. */
enum { METHODS_STOPPED = -2 };

/* 1 for the methods that compute a cam (gradcam, guided-gradcam). */
int method_has_cam(Method m);
/* 1 for the methods whose result is a cam (h, w) rather than a map. */
int method_is_cam(Method m);

/* inputs: (n, 3, h, w), the net's input size; maps: (n, h, w, 3) HWC, the
 * gradient-like map of each image (unused for gradcam, which may pass
 * NULL); cams: (n, h, w) for gradcam and guided-gradcam (NULL otherwise). */
int methods_run(Net *net, const MethodSpec *m, int n, const float *inputs, const int *targets,
                float *maps, float *cams, Error *e);

/* numpy.polynomial.legendre.leggauss(n) mapped to [0, 1], as Captum uses
 * it: nodes alpha (n) and weights (n), in increasing order of alpha. */
int gauss_legendre(int n, double *alpha, double *weight);

#endif
