#include "explain/methods.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/preprocess.h"
#include "util/rng.h"
#include "explain/saliency.h"

enum { S = PREPROCESS_SIZE, PLANE = S * S, N_IN = 3 * PLANE };
static const double PI = 3.14159265358979323846;

static const char *const names[] = {"guided",      "gradient", "deconv",        "grad-x-input",
                                    "integrated",  "gradcam",  "guided-gradcam"};

int method_parse(const char *name, Method *m) {
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (strcmp(name, names[i]) == 0) {
            *m = (Method)i;
            return 0;
        }
    return -1;
}

const char *method_name(Method m) { return names[m]; }

const char *method_names(void) {
    return "guided, gradient, deconv, grad-x-input, integrated, gradcam, guided-gradcam";
}

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

void upsample_bilinear(float *out, int oh, int ow, const float *in, int h, int w) {
    const float sh = (float)h / (float)oh, sw = (float)w / (float)ow;
    for (int y = 0; y < oh; y++) {
        float fy = sh * ((float)y + 0.5f) - 0.5f;
        if (fy < 0) fy = 0;
        int y0 = (int)fy, y1 = y0 + (y0 < h - 1);
        float ly1 = fy - (float)y0, ly0 = 1.0f - ly1;
        for (int x = 0; x < ow; x++) {
            float fx = sw * ((float)x + 0.5f) - 0.5f;
            if (fx < 0) fx = 0;
            int x0 = (int)fx, x1 = x0 + (x0 < w - 1);
            float lx1 = fx - (float)x0, lx0 = 1.0f - lx1;
            out[y * ow + x] = ly0 * (lx0 * in[y0 * w + x0] + lx1 * in[y0 * w + x1]) +
                              ly1 * (lx0 * in[y1 * w + x0] + lx1 * in[y1 * w + x1]);
        }
    }
}

/* The backward pass of the method's rules from its score, for the first n
 * images of the net (their targets, or the layer's channel). */
static void backward(Net *net, const MethodSpec *m, int n, const int *targets) {
    ReluRule rule = RELU_PLAIN;
    GuideScope scope = GUIDE_NONE;
    if (m->method == METHOD_GUIDED) rule = RELU_GUIDED, scope = m->guide;
    if (m->method == METHOD_DECONV) rule = RELU_DECONV, scope = m->guide;
    int top = net->n_layers;
    if (m->layer >= 0) {
        net_seed_channel(net, n, m->layer, m->channel);
        top = m->layer + 1;
    } else {
        net_seed_classes(net, n, targets);
    }
    net_backward_from(net, n, top, rule, scope);
}

/* The cam of image b from the activations and gradients at m->cam_layer. */
static int cam_of(const Net *net, const MethodSpec *m, int b, float *cam, Error *e) {
    const Layer *l = &net->layers[m->cam_layer];
    int c = l->out_c, h = l->out_h, w = l->out_w;
    size_t size = net->size[m->cam_layer + 1], plane = (size_t)h * w;
    const float *a = net->act[m->cam_layer + 1] + b * size;
    const float *g = net->grad[m->cam_layer + 1] + b * size;
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
    upsample_bilinear(cam, S, S, coarse, h, w);
    if (coarse != small) free(coarse);
    float lo = cam[0], hi = cam[0];
    for (int p = 1; p < PLANE; p++) lo = cam[p] < lo ? cam[p] : lo, hi = cam[p] > hi ? cam[p] : hi;
    for (int p = 0; p < PLANE; p++) cam[p] = hi > lo ? (cam[p] - lo) / (hi - lo) : 0.0f;
    return 0;
}

const char *const baseline_names[] = {"black", "zero"};

/* Value j (CHW) of integrated gradients' baseline: the black image through
 * Normalize, as torchvision computes it ((0 - mean) / std in float), or 0. */
static float baseline_at(Baseline b, int j) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    return b == BASELINE_BLACK ? (0.0f - mean[j / PLANE]) / std[j / PLANE] : 0.0f;
}

/* Averages (smooth) or integrates the method over perturbed copies of each
 * image's input, `passes` per image, a batch of the net's size at a time.
 * `clean` holds the n clean inputs. */
static int multi_pass(Net *net, const MethodSpec *m, int n, const int *targets, const float *clean,
                      float *maps, Error *e) {
    int passes = m->method == METHOD_INTEGRATED ? m->steps : m->smooth;
    double *alpha = NULL, *weight = NULL;
    float *acc = malloc(sizeof(float) * N_IN);
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
        const float *x = clean + (size_t)b * N_IN;
        float lo = x[0], hi = x[0];
        for (int j = 1; j < N_IN; j++) lo = x[j] < lo ? x[j] : lo, hi = x[j] > hi ? x[j] : hi;
        double sigma = m->noise * ((double)hi - (double)lo);
        memset(acc, 0, sizeof(float) * N_IN);
        for (int first = 0; first < passes; first += net->batch) {
            int count = passes - first < net->batch ? passes - first : net->batch;
            for (int s = 0; s < count; s++) {
                int k = first + s;
                float *in = net_input(net, s);
                tgt[s] = targets[b];
                if (m->method == METHOD_INTEGRATED) {
                    float a = (float)alpha[k];
                    for (int j = 0; j < N_IN; j++) {
                        float base = baseline_at(m->baseline, j);
                        in[j] = base + a * (x[j] - base);
                    }
                } else {
                    for (int j = 0; j < N_IN; j++) {
                        uint64_t i = 2 * ((uint64_t)k * N_IN + (uint64_t)j);
                        // u1 in (0, 1], so the logarithm is finite.
                        double u1 = rng_uniform(m->seed, i) + 0x1p-24;
                        double u2 = rng_uniform(m->seed, i + 1);
                        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
                        in[j] = x[j] + (float)(sigma * z);
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
                    for (int j = 0; j < N_IN; j++) acc[j] += g[j] * w;
                } else if (m->method == METHOD_GRAD_X_INPUT) {
                    for (int j = 0; j < N_IN; j++) acc[j] += in[j] * g[j];
                } else {
                    for (int j = 0; j < N_IN; j++) acc[j] += g[j];
                }
            }
        }
        if (m->method == METHOD_INTEGRATED) {
            for (int j = 0; j < N_IN; j++) acc[j] *= x[j] - baseline_at(m->baseline, j);
        } else {
            for (int j = 0; j < N_IN; j++) acc[j] /= (float)passes;
        }
        saliency_chw_to_hwc(maps + (size_t)b * N_IN, acc, S, S);
    }
    free(alpha);
    free(weight);
    free(acc);
    free(tgt);
    return rc;
}

int methods_run(Net *net, const MethodSpec *m, int n, const int *targets, float *maps,
                float *cams, Error *e) {
    if (m->method == METHOD_INTEGRATED || m->smooth > 0) {
        float *clean = malloc(sizeof(float) * N_IN * (size_t)n);
        if (!clean) return error_set(e, "out of memory");
        for (int b = 0; b < n; b++) memcpy(clean + (size_t)b * N_IN, net_input(net, b), sizeof(float) * N_IN);
        int rc = multi_pass(net, m, n, targets, clean, maps, e);
        free(clean);
        return rc;
    }
    if (m->method == METHOD_GRADCAM || m->method == METHOD_GUIDED_GRADCAM) {
        // Grad-CAM's weights come from the plain gradient.
        MethodSpec plain = *m;
        plain.method = METHOD_GRADIENT;
        backward(net, &plain, n, targets);
        for (int b = 0; b < n; b++)
            if (cam_of(net, m, b, cams + (size_t)b * PLANE, e) != 0) return -1;
        if (m->method == METHOD_GRADCAM) return 0;
        MethodSpec guided = *m;
        guided.method = METHOD_GUIDED;
        backward(net, &guided, n, targets);
        for (int b = 0; b < n; b++) {
            float *map = maps + (size_t)b * N_IN;
            const float *cam = cams + (size_t)b * PLANE;
            saliency_chw_to_hwc(map, net_input_grad(net, b), S, S);
            for (int p = 0; p < PLANE; p++)
                for (int c = 0; c < 3; c++) map[p * 3 + c] *= cam[p];
        }
        return 0;
    }
    backward(net, m, n, targets);
    for (int b = 0; b < n; b++) {
        float *map = maps + (size_t)b * N_IN;
        saliency_chw_to_hwc(map, net_input_grad(net, b), S, S);
        if (m->method != METHOD_GRAD_X_INPUT) continue;
        const float *x = net_input(net, b);
        for (int p = 0; p < PLANE; p++)
            for (int c = 0; c < 3; c++) map[p * 3 + c] *= x[c * PLANE + p];
    }
    return 0;
}
