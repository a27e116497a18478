/* faithfulness.h: perturbation metrics of one image's map (--eval): do the
 * pixels the map ranks highest matter to the model?
 *
 * Every metric ranks the pixels by the map's per-pixel score (faith_saliency:
 * the sum of |g| over the channels, or a cam's value), in decreasing order,
 * ties broken by the lower index (row-major y * width + x first), and
 * perturbs the preprocessed input (normalized space) with that ranking:
 *
 *   deletion   Petsiuk et al. 2018 (RISE): point i of N + 1 (i = 0..N) has the
 *              first k_i = floor(i * h * w / N) ranked pixels set to 0 in all
 *              three channels; N defaults to ceil(h * w / 224) (RISE's 224
 *              pixels a step on a 224 x 224 input)
 *   insertion  the same ranking revealed on a blurred copy: point i is the
 *              blur with the first k_i ranked pixels of the input put back;
 *              the blur is RISE's: per channel, a zero-padded 11 x 11
 *              correlation with scipy.ndimage.gaussian_filter(delta, 5) of
 *              an 11 x 11 delta (reflect mode, truncate 4), in float32
 *   AUC        the trapezoid over the fraction of pixels x_i = k_i / (h w),
 *              RISE's (sum - y_0 / 2 - y_N / 2) / N when the steps are equal
 *   road       Rong et al. 2022 (ROAD): for each percentage p, the first
 *              (MoRF) or last (LeRF) floor(p h w / 100) ranked pixels are
 *              imputed by noisy linear imputation: each removed pixel the
 *              weighted mean of its 8 neighbours inside the image (1/6 edge,
 *              1/12 diagonal), one sparse linear system per image,
 *              percentage and channel (faith_impute), then Gaussian noise of
 *              std 0.01 added to every value, as the reference
 *              implementation does; combined = (mean LeRF - mean MoRF) / 2
 *   avg-drop   Chattopadhyay et al. 2018 as pytorch-grad-cam's
 *              DropInConfidence / IncreaseInConfidence compute it: the input
 *              times the map scaled to [0, 1] (min-max; a cam is already),
 *              drop = max(0, y - o), increase = (o > y); also the paper's
 *              relative drop max(0, y - o) / y
 *
 * The score of a perturbed input is the softmax probability of the target
 * (EVAL_PROBABILITY, RISE's and ROAD's) or its logit. ROAD's noise value j
 * (CHW order) of order o (0 MoRF, 1 LeRF) at percentage p is
 * float(0.01 rng_gaussian(seed ^ FAITH_ROAD_STREAM, 2 ((100 o + p) n + j))),
 * n = 3 h w: it depends on the image, the seed and p alone.
 *
 * The perturbed inputs go through the network in batches of the Faith's
 * size; every result is the same bits whatever that size and the threads.
 *
 *     Faith f;
 *     if (faith_init(&f, &weights, h, w, batch, threads, isa, &err) != 0) ...;
 *     faith_saliency(map, NULL, h * w, saliency);
 *     FaithResult r = {.deletion = curve, .insertion = curve2}; // (N + 1) each
 *     if (faith_run(&f, &spec, input, saliency, target, &r, &err) != 0) ...;
 *     faith_free(&f);
 */
#ifndef GUIDEDBP_FAITHFULNESS_H
#define GUIDEDBP_FAITHFULNESS_H

#include <stdint.h>

#include <stddef.h>
#include "nn/net.h"
#include "nn/weights.h"
#include "util/error.h"

/* --eval's metrics, bits of FaithSpec.evals (1 << kind). */
typedef enum { EVAL_DELETION, EVAL_INSERTION, EVAL_ROAD, EVAL_AVG_DROP, EVALS } EvalKind;
extern const char *const eval_names[EVALS];

/* --eval-score: what a perturbed input's score is. */
typedef enum { EVAL_PROBABILITY, EVAL_LOGIT, EVAL_SCORES } EvalScore;
extern const char *const eval_score_names[EVAL_SCORES];

/* RISE's pixels a step; ROAD's percentages at most; the blur's side. */
enum { FAITH_RISE_STEP = 224, FAITH_MAX_PERCENTS = 99, FAITH_BLUR_SIDE = 11 };
#define FAITH_BLUR_SIGMA 5.0
/* gaussian_filter's radius, int(truncate * sigma + 0.5) with truncate 4. */
enum { FAITH_BLUR_RADIUS = 20 };
#define FAITH_ROAD_NOISE 0.01
/* The imputation's conjugate gradients stop when the residual's 2-norm is
 * at most this times the right-hand side's (or after FAITH_CG_MAX_ITER). */
#define FAITH_CG_TOL 1e-10
enum { FAITH_CG_MAX_ITER = 20000 };
/* The relaxation of the solver's SSOR preconditioner (measured on ROAD's
 * systems of 224 x 224 images: it needs a fifth of Jacobi's iterations). */
#define FAITH_SSOR_OMEGA 1.8
/* faith_impute's scratch per pixel: the diagonal, six
 * vectors of 3 channels; two maps and 8 neighbours. */
enum { FAITH_SOLVE_DOUBLES = 1 + 6 * 3, FAITH_INDEX_INTS = 2 + 8 };
/* ASCII "ROAD": ROAD's noise is not SmoothGrad's stream with the same seed. */
#define FAITH_ROAD_STREAM UINT64_C(0x524F4144)

typedef struct {
    unsigned evals;        // 1 << EvalKind for each metric asked for
    int steps;             // deletion/insertion steps N; 0: ceil(h w / FAITH_RISE_STEP)
    int n_percents;
    int percents[FAITH_MAX_PERCENTS]; // ROAD's, each 1..99, increasing
    EvalScore score;
    uint64_t seed;         // ROAD's noise
} FaithSpec;

typedef struct {
    int height, width;     // the input's size: point i perturbed faith_pixels_at(i, ...) pixels
    int steps;             // N: the curves have N + 1 points
    double *deletion;      // (N + 1) caller-owned, filled with EVAL_DELETION
    double *insertion;     // (N + 1) caller-owned, filled with EVAL_INSERTION
    double deletion_auc, insertion_auc;
    double morf[FAITH_MAX_PERCENTS], lerf[FAITH_MAX_PERCENTS];
    double morf_mean, lerf_mean, road; // road = (lerf_mean - morf_mean) / 2
    int road_iterations;   // the most conjugate-gradient iterations a system took
    double original, masked; // avg-drop: the score of the input and of input * map
    double drop, relative_drop; // relative_drop NaN when original <= 0 (a logit)
    int increase;
} FaithResult;

/* The workspace: a network for `batch` perturbed inputs and the buffers. */
typedef struct {
    Net net;
    int height, width;
    int *order;            // (h w) the ranking
    float *work;           // (3, h, w) the image being perturbed
    float *blurred;        // (3, h, w) insertion's start
    int workers;           // ROAD's systems solved at once (one a thread)
    double *solve;         // (workers, FAITH_SOLVE_DOUBLES h w) the imputation's CG vectors
    int *index;            // (workers, FAITH_INDEX_INTS h w) its pixel <-> unknown maps and
                           // neighbour lists; the ranking's merge buffer
    unsigned char *removed; // (workers, h w) ROAD's removed pixels
} Faith;

int faith_init(Faith *f, const Weights *w, int height, int width, int batch, int threads,
               GemmIsa isa, Error *e);
void faith_free(Faith *f);
/* The bytes faith_init's network takes (net_memory) for the budget. */
int faith_memory(const Weights *w, int height, int width, int batch, int threads, size_t *bytes,
                 Error *e);

/* N of spec for an h x w input. */
int faith_steps(const FaithSpec *spec, int height, int width);
/* The pixels the curve's point i has perturbed, k_i. */
int64_t faith_pixels_at(int i, int steps, int height, int width);

/* A map's per-pixel score, (plane): the cam when cam is non-NULL (gradcam),
 * else |r| + |g| + |b| of the (plane, 3) map, summed in that order in
 * float32. */
void faith_saliency(const float *map, const float *cam, size_t plane, float *out);

/* The metrics of spec->evals for input (3, h, w) and its saliency (h, w),
 * explaining class `target`; r->deletion and r->insertion must hold
 * faith_steps points + 1 when asked for. 0, or -1 (out of memory, or the
 * weights give a non-finite score: e says which). */
int faith_run(Faith *f, const FaithSpec *spec, const float *input, const float *saliency,
              int target, FaithResult *r, Error *e);

/* The ranking: order[0..n) the pixel indices by decreasing score, ties by
 * increasing index (a stable merge sort; tmp holds n ints). */
void faith_rank(const float *score, int n, int *order, int *tmp);
/* RISE's blur of (channels, h, w) src into dst (not in place). */
void faith_blur(const float *src, float *dst, int channels, int height, int width);
/* The blur's kernel, (FAITH_BLUR_SIDE, FAITH_BLUR_SIDE), in double before
 * the float32 rounding faith_blur applies. */
void faith_blur_kernel(double *k);
/* ROAD's imputation of (channels, h, w) img in place: the pixels with
 * removed[p] set get the solution of the linear system (no noise); at most 3
 * channels, solved together. `index` (FAITH_INDEX_INTS h w ints) and `solve`
 * (FAITH_SOLVE_DOUBLES h w doubles) are scratch. The largest number of
 * conjugate-gradient iterations a channel took goes to *iterations (may be
 * NULL); -1 when they did not reach FAITH_CG_TOL. */
int faith_impute(float *img, const unsigned char *removed, int channels, int height, int width,
                 int *index, double *solve, int *iterations);

#endif
