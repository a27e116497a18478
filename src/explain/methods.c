#include "explain/methods.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/preprocess.h"
#include "io/resize.h"
#include "util/rng.h"

static const double PI = 3.14159265358979323846;

const char *const method_names[] = {
    "guided", "gradient", "deconv", "grad-x-input", "integrated", "gradcam", "guided-gradcam",
};
_Static_assert(sizeof method_names / sizeof *method_names == METHODS, "a name for each value");
const char *const baseline_names[] = {"black", "zero"};
_Static_assert(sizeof baseline_names / sizeof *baseline_names == BASELINES, "a name for each value");

int method_has_cam(Method m) { return m == METHOD_GRADCAM || m == METHOD_GUIDED_GRADCAM; }
int method_is_cam(Method m) { return m == METHOD_GRADCAM; }

int gauss_legendre(int n, double *alpha, double *weight) {
    if (n < 1) return -1;
    // Newton's method on P_n from the usual first guesses; the nodes are
    // symmetric, so half are computed and mirrored.
    for (int i = 0; i < (n + 1) / 2; i++) {
        double z = cos(PI * (i + 0.75) / (n + 0.5)), dp = 0;
        for (int iter = 0; iter < 100; iter++) {
            double p0 = 1.0, p1 = 0.0;
            for (int j = 1; j <= n; j++) {
                double p2 = p1;
                p1 = p0;
                p0 = ((2.0 * j - 1.0) * z * p1 - (j - 1.0) * p2) / j;
            }
            dp = n * (z * p0 - p1) / (z * z - 1.0);
            double step = p0 / dp;
            z -= step;
            if (fabs(step) < 1e-16) break;
        }
        double w = 2.0 / ((1.0 - z * z) * dp * dp);
        // z is the i-th largest root; mapped from [-1, 1] to [0, 1].
        alpha[n - 1 - i] = 0.5 * (z + 1.0);
        alpha[i] = 0.5 * (1.0 - z);
        weight[n - 1 - i] = weight[i] = 0.5 * w;
    }
    return 0;
}

/* The backward pass of the method's rules from its score, for the first n
 * images of the net (their targets, or the layer's channel). */
static void backward(Net *net, const MethodSpec *m, int n, const int *targets) {
    ReluRule rule = RELU_PLAIN;
    GuideScope scope = GUIDE_NONE;
    if (m->method == METHOD_GUIDED) rule = RELU_GUIDED, scope = m->guide;
    if (m->method == METHOD_DECONV) rule = RELU_DECONV, scope = m->guide;
    int top = net->graph.n_layers;
    if (m->layer >= 0) {
        net_seed_channel(net, n, m->layer, m->channel);
        top = m->layer + 1;
    } else {
        net_seed_classes(net, n, targets);
    }
    net_backward_from(net, n, top, rule, scope);
}

/* The cam of image b from the activations and gradients at m->cam_layer,
 * (h, w) of the input. */
static int cam_of(const Net *net, const MethodSpec *m, int b, float *cam, Error *e) {
    const Layer *l = &net->graph.layers[m->cam_layer];
    int c = l->out_c, h = l->out_h, w = l->out_w, H = net->graph.in_h, W = net->graph.in_w;
    size_t plane = (size_t)h * w, out = (size_t)H * W;
    const float *a = net_output(net, m->cam_layer, b);
    const float *g = net_output_grad(net, m->cam_layer, b);
    float small[64 * 64] = {0};
    float *coarse = plane <= 64 * 64 ? small : malloc(sizeof(float) * plane);
    if (!coarse) return error_set(e, "gradcam: out of memory");
    for (size_t p = 0; p < plane; p++) coarse[p] = 0.0f;
    for (int k = 0; k < c; k++) {
        double mean = 0.0;
        for (size_t p = 0; p < plane; p++) mean += g[k * plane + p];
        float weight = (float)(mean / (double)plane);
        for (size_t p = 0; p < plane; p++) coarse[p] += weight * a[k * plane + p];
    }
    for (size_t p = 0; p < plane; p++) coarse[p] = coarse[p] > 0.0f ? coarse[p] : 0.0f;
    upsample_bilinear(cam, H, W, coarse, h, w);
    if (coarse != small) free(coarse);
    float lo = cam[0], hi = cam[0];
    for (size_t p = 1; p < out; p++) lo = cam[p] < lo ? cam[p] : lo, hi = cam[p] > hi ? cam[p] : hi;
    for (size_t p = 0; p < out; p++) cam[p] = hi > lo ? (cam[p] - lo) / (hi - lo) : 0.0f;
    return 0;
}

/* Value j (CHW, `plane` values a channel) of integrated gradients' baseline:
 * the black image through Normalize, as torchvision computes it
 * ((0 - mean) / std in float), or 0. */
static float baseline_at(Baseline b, size_t j, size_t plane) {
    int c = (int)(j / plane);
    return b == BASELINE_BLACK ? (0.0f - preprocess_mean[c]) / preprocess_std[c] : 0.0f;
}

/* (3, h, w) to (h, w, 3): the map's layout, the reference's permute(1, 2, 0). */
static void chw_to_hwc(float *hwc, const float *chw, size_t plane) {
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < 3; c++) hwc[p * 3 + c] = chw[c * plane + p];
}

/* Averages (smooth) or integrates the method over perturbed copies of each
 * image's input, `passes` per image, a batch of the net's size at a time. */
static int multi_pass(Net *net, const MethodSpec *m, int n, const float *inputs,
                      const int *targets, float *maps, Error *e) {
    const size_t plane = (size_t)net->graph.in_h * net->graph.in_w, size = 3 * plane;
    int passes = m->method == METHOD_INTEGRATED ? m->steps : m->smooth;
    double *alpha = NULL, *weight = NULL;
    float *acc = malloc(sizeof(float) * size);
    int *tgt = malloc(sizeof(int) * (size_t)net->batch);
    int rc = 0;
    if (!acc || !tgt) rc = error_set(e, "out of memory for %d passes", passes);
    if (rc == 0 && m->method == METHOD_INTEGRATED) {
        alpha = malloc(sizeof(double) * (size_t)passes);
        weight = malloc(sizeof(double) * (size_t)passes);
        if (!alpha || !weight || gauss_legendre(passes, alpha, weight) != 0)
            rc = error_set(e, "integrated gradients: cannot make %d nodes", passes);
    }
    for (int b = 0; rc == 0 && b < n; b++) {
        const float *x = inputs + (size_t)b * size;
        float lo = x[0], hi = x[0];
        for (size_t j = 1; j < size; j++) lo = x[j] < lo ? x[j] : lo, hi = x[j] > hi ? x[j] : hi;
        double sigma = m->noise * ((double)hi - (double)lo);
        memset(acc, 0, sizeof(float) * size);
        for (int first = 0; rc == 0 && first < passes; first += net->batch) {
            // Passes can take minutes (--smooth 10000): a signal is heard
            // between them.
            if (m->stop && *m->stop) {
                rc = METHODS_STOPPED;
                error_set(e, "interrupted before its map was made");
                break;
            }
            int count = passes - first < net->batch ? passes - first : net->batch;
            for (int s = 0; s < count; s++) {
                int k = first + s;
                float *in = net_input(net, s);
                tgt[s] = targets[b];
                if (m->method == METHOD_INTEGRATED) {
                    float a = (float)alpha[k];
                    for (size_t j = 0; j < size; j++) {
                        float base = baseline_at(m->baseline, j, plane);
                        in[j] = base + a * (x[j] - base);
                    }
                } else {
                    for (size_t j = 0; j < size; j++) {
                        uint64_t i = 2 * ((uint64_t)k * size + (uint64_t)j);
                        in[j] = x[j] + (float)(sigma * rng_gaussian(m->seed, i));
                    }
                }
            }
            net_forward(net, count);
            backward(net, m, count, tgt);
            // Summed in pass order, whatever the batching.
            for (int s = 0; s < count; s++) {
                const float *g = net_input_grad(net, s), *in = net_input(net, s);
                if (m->method == METHOD_INTEGRATED) {
                    float w = (float)weight[first + s];
                    for (size_t j = 0; j < size; j++) acc[j] += g[j] * w;
                } else if (m->method == METHOD_GRAD_X_INPUT) {
                    for (size_t j = 0; j < size; j++) acc[j] += in[j] * g[j];
                } else {
                    for (size_t j = 0; j < size; j++) acc[j] += g[j];
                }
            }
        }
        if (rc != 0) break;
        if (m->method == METHOD_INTEGRATED) {
            for (size_t j = 0; j < size; j++) acc[j] *= x[j] - baseline_at(m->baseline, j, plane);
        } else {
            for (size_t j = 0; j < size; j++) acc[j] /= (float)passes;
        }
        chw_to_hwc(maps + (size_t)b * size, acc, plane);
    }
    free(alpha);
    free(weight);
    free(acc);
    free(tgt);
    return rc;
}

int methods_run(Net *net, const MethodSpec *m, int n, const float *inputs, const int *targets,
                float *maps, float *cams, Error *e) {
    const size_t plane = (size_t)net->graph.in_h * net->graph.in_w, size = 3 * plane;
    if (m->stop && *m->stop) {
        error_set(e, "interrupted before its map was made");
        return METHODS_STOPPED;
    }
    if (m->method == METHOD_INTEGRATED || m->smooth > 0)
        return multi_pass(net, m, n, inputs, targets, maps, e);
    if (method_has_cam(m->method)) {
        // Grad-CAM's weights come from the plain gradient.
        MethodSpec plain = *m;
        plain.method = METHOD_GRADIENT;
        backward(net, &plain, n, targets);
        for (int b = 0; b < n; b++)
            if (cam_of(net, m, b, cams + (size_t)b * plane, e) != 0) return -1;
        if (m->method == METHOD_GRADCAM) return 0;
        MethodSpec guided = *m;
        guided.method = METHOD_GUIDED;
        backward(net, &guided, n, targets);
        for (int b = 0; b < n; b++) {
            float *map = maps + (size_t)b * size;
            const float *cam = cams + (size_t)b * plane;
            chw_to_hwc(map, net_input_grad(net, b), plane);
            for (size_t p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++) map[p * 3 + c] *= cam[p];
        }
        return 0;
    }
    backward(net, m, n, targets);
    for (int b = 0; b < n; b++) {
        float *map = maps + (size_t)b * size;
        chw_to_hwc(map, net_input_grad(net, b), plane);
        if (m->method != METHOD_GRAD_X_INPUT) continue;
        const float *x = inputs + (size_t)b * size;
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) map[p * 3 + c] *= x[c * plane + p];
    }
    return 0;
}
