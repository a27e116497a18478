#include "explain/faithfulness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/parallel.h"
#include "util/rng.h"

const char *const eval_names[] = {"deletion", "insertion", "road", "avg-drop"};
_Static_assert(sizeof eval_names / sizeof *eval_names == EVALS, "a name for each value");
const char *const eval_score_names[] = {"probability", "logit"};
_Static_assert(sizeof eval_score_names / sizeof *eval_score_names == EVAL_SCORES,
               "a name for each value");

/* ROAD's workers: one a thread, at most one an input of the batch. */
static int workers_of(int batch, int threads) {
    int n = threads > 0 ? threads : parallel_cpus();
    return n < batch ? n : batch;
}

/* The bytes of everything but the network. */
static size_t buffers_bytes(size_t plane, int workers) {
    return plane * (sizeof(int) + sizeof(float) * 6 +
                    (size_t)workers * (sizeof(int) * FAITH_INDEX_INTS +
                                       sizeof(double) * FAITH_SOLVE_DOUBLES + 1));
}

int faith_memory(const Weights *w, int height, int width, int batch, int threads, size_t *bytes,
                 Error *e) {
    if (net_memory(w, height, width, batch, bytes, e) != 0) return -1;
    *bytes += buffers_bytes((size_t)height * width, workers_of(batch, threads));
    return 0;
}

int faith_init(Faith *f, const Weights *w, int height, int width, int batch, int threads,
               GemmIsa isa, Error *e) {
    memset(f, 0, sizeof *f);
    f->height = height, f->width = width;
    if (net_init(&f->net, w, height, width, batch, threads, isa, e) != 0) return -1;
    size_t plane = (size_t)height * width, workers = (size_t)workers_of(batch, threads);
    f->workers = (int)workers;
    f->order = malloc(sizeof *f->order * plane);
    f->work = malloc(sizeof *f->work * 3 * plane);
    f->blurred = malloc(sizeof *f->blurred * 3 * plane);
    f->solve = malloc(sizeof *f->solve * FAITH_SOLVE_DOUBLES * plane * workers);
    f->index = malloc(sizeof *f->index * FAITH_INDEX_INTS * plane * workers);
    f->removed = malloc(plane * workers);
    if (!f->order || !f->work || !f->blurred || !f->solve || !f->index || !f->removed) {
        faith_free(f);
        return error_set(e, "eval: out of memory for a %dx%d input", width, height);
    }
    return 0;
}

void faith_free(Faith *f) {
    if (!f) return;
    net_free(&f->net);
    free(f->order);
    free(f->work);
    free(f->blurred);
    free(f->solve);
    free(f->index);
    free(f->removed);
    memset(f, 0, sizeof *f);
}

int faith_steps(const FaithSpec *spec, int height, int width) {
    int64_t plane = (int64_t)height * width;
    if (spec->steps > 0) return spec->steps < plane ? spec->steps : (int)plane;
    return (int)((plane + FAITH_RISE_STEP - 1) / FAITH_RISE_STEP);
}

int64_t faith_pixels_at(int i, int steps, int height, int width) {
    return (int64_t)i * height * width / steps;
}

void faith_saliency(const float *map, const float *cam, size_t plane, float *out) {
    if (cam) {
        memcpy(out, cam, sizeof *out * plane);
        return;
    }
    for (size_t p = 0; p < plane; p++)
        out[p] = fabsf(map[3 * p]) + fabsf(map[3 * p + 1]) + fabsf(map[3 * p + 2]);
}

void faith_rank(const float *score, int n, int *order, int *tmp) {
    for (int i = 0; i < n; i++) order[i] = i;
    // Bottom-up merge sort: stable, so equal scores keep the index order.
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, t = lo;
            while (a < mid && b < hi) tmp[t++] = score[order[b]] > score[order[a]] ? order[b++]
                                                                                : order[a++];
            while (a < mid) tmp[t++] = order[a++];
            while (b < hi) tmp[t++] = order[b++];
        }
        memcpy(order, tmp, sizeof *order * (size_t)n);
    }
}

/* scipy.ndimage's 'reflect' (half-sample symmetric) index of q in [0, n). */
static int reflect(int q, int n) {
    int period = 2 * n, r = ((q % period) + period) % period;
    return r < n ? r : period - 1 - r;
}

void faith_blur_kernel(double *k) {
    // gaussian_filter(delta, sigma) is separable: the outer product of the
    // 1-D filter of a centred delta, whose taps (radius int(4 sigma + 0.5),
    // wider than the side) fold back into it by reflection.
    enum { SIDE = FAITH_BLUR_SIDE, RADIUS = FAITH_BLUR_RADIUS };
    double taps[2 * RADIUS + 1], sum = 0, k1[SIDE] = {0};
    for (int j = -RADIUS; j <= RADIUS; j++)
        sum += taps[j + RADIUS] = exp(-0.5 * j * j / (FAITH_BLUR_SIGMA * FAITH_BLUR_SIGMA));
    for (int j = 0; j < 2 * RADIUS + 1; j++) taps[j] /= sum;
    for (int i = 0; i < SIDE; i++)
        for (int j = -RADIUS; j <= RADIUS; j++)
            if (reflect(i + j, SIDE) == SIDE / 2) k1[i] += taps[j + RADIUS];
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) k[y * SIDE + x] = k1[y] * k1[x];
}

void faith_blur(const float *src, float *dst, int channels, int height, int width) {
    enum { SIDE = FAITH_BLUR_SIDE, HALF = FAITH_BLUR_SIDE / 2 };
    double kd[SIDE * SIDE];
    float k[SIDE * SIDE];
    faith_blur_kernel(kd);
    for (int i = 0; i < SIDE * SIDE; i++) k[i] = (float)kd[i]; // RISE's float32 kernel
    size_t plane = (size_t)height * width;
    for (int c = 0; c < channels; c++) {
        const float *s = src + c * plane;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                double acc = 0;
                for (int dy = 0; dy < SIDE; dy++) {
                    int yy = y + dy - HALF;
                    if (yy < 0 || yy >= height) continue;
                    for (int dx = 0; dx < SIDE; dx++) {
                        int xx = x + dx - HALF;
                        if (xx >= 0 && xx < width)
                            acc += (double)k[dy * SIDE + dx] * s[(size_t)yy * width + xx];
                    }
                }
                dst[c * plane + (size_t)y * width + x] = (float)acc;
            }
    }
}

/* ROAD's neighbours (dy, dx) and weights, in its reference's order. */
static const int nb_dy[8] = {1, 0, -1, 1, 0, -1, 1, -1}, nb_dx[8] = {1, 1, 1, -1, -1, -1, 0, 0};
static const double nb_w[8] = {1.0 / 12, 1.0 / 6, 1.0 / 12, 1.0 / 12, 1.0 / 6, 1.0 / 12, 1.0 / 6,
                               1.0 / 6};

/* q = M x for the imputation's system, 3 channels interleaved (row i: s_i
 * x_i minus w x_j over the removed neighbours j; nbr: 8 a row, -1 for
 * none), and the per-channel sums of x q into xq. */
static void impute_apply(const double *x, double *q, const double *diag, const int *nbr, int n,
                         double *xq) {
    xq[0] = xq[1] = xq[2] = 0;
    for (int i = 0; i < n; i++) {
        double v[3];
        for (int c = 0; c < 3; c++) v[c] = diag[i] * x[3 * i + c];
        for (int d = 0; d < 8; d++) {
            int j = nbr[8 * i + d];
            if (j < 0) continue;
            for (int c = 0; c < 3; c++) v[c] -= nb_w[d] * x[3 * j + c];
        }
        for (int c = 0; c < 3; c++) q[3 * i + c] = v[c], xq[c] += x[3 * i + c] * v[c];
    }
}

/* z = P^-1 r for SSOR's preconditioner P = (D/w + L) (D/w)^-1 (D/w + U)
 * (L, U the strict lower and upper parts of M in unknown order, w =
 * FAITH_SSOR_OMEGA; P's constant factor (2 - w) / w is left out: CG does
 * not see it): a forward and a backward sweep. The per-channel sums of r z
 * into rz. */
static void precondition(const double *r, double *z, const double *diag, const int *nbr, int n,
                         double *rz) {
    const double omega = FAITH_SSOR_OMEGA;
    for (int i = 0; i < n; i++) {
        double v[3] = {r[3 * i], r[3 * i + 1], r[3 * i + 2]};
        for (int d = 0; d < 8; d++) {
            int j = nbr[8 * i + d];
            if (j < 0 || j > i) continue;
            for (int c = 0; c < 3; c++) v[c] += nb_w[d] * z[3 * j + c];
        }
        for (int c = 0; c < 3; c++) z[3 * i + c] = v[c] * omega / diag[i];
    }
    rz[0] = rz[1] = rz[2] = 0;
    for (int i = n - 1; i >= 0; i--) {
        double v[3] = {0, 0, 0};
        for (int d = 0; d < 8; d++) {
            int j = nbr[8 * i + d];
            if (j < i) continue;
            for (int c = 0; c < 3; c++) v[c] += nb_w[d] * z[3 * j + c];
        }
        for (int c = 0; c < 3; c++) {
            int k = 3 * i + c;
            z[k] += v[c] * omega / diag[i];
            rz[c] += r[k] * z[k];
        }
    }
}

int faith_impute(float *img, const unsigned char *removed, int channels, int height, int width,
                 int *index, double *solve, int *iterations) {
    int plane = height * width, n = 0, most = 0, rc = 0;
    int *pixel = index + plane, *nbr = pixel + plane;
    for (int p = 0; p < plane; p++) {
        index[p] = removed[p] ? n : -1;
        if (removed[p]) pixel[n++] = p;
    }
    double *diag = solve, *b = diag + n, *x = b + 3 * n, *r = x + 3 * n, *z = r + 3 * n,
           *dir = z + 3 * n, *q = dir + 3 * n;
    // Each row's diagonal (the weights of the neighbours inside the image:
    // the reference subtracts those outside from their total, 1), its
    // removed neighbours, and the right-hand side from the kept ones.
    for (int i = 0; i < n; i++) {
        int py = pixel[i] / width, px = pixel[i] % width;
        double s = 1.0, rhs[3] = {0, 0, 0};
        for (int d = 0; d < 8; d++) {
            int y = py + nb_dy[d], xx = px + nb_dx[d], at = y * width + xx;
            nbr[8 * i + d] = -1;
            if (y < 0 || y >= height || xx < 0 || xx >= width) {
                s -= nb_w[d];
            } else if (index[at] >= 0) {
                nbr[8 * i + d] = index[at];
            } else {
                for (int c = 0; c < channels; c++) rhs[c] += nb_w[d] * img[(size_t)c * plane + at];
            }
        }
        diag[i] = s;
        for (int c = 0; c < 3; c++) b[3 * i + c] = rhs[c];
    }
    // SSOR-preconditioned conjugate gradients from x = 0, each channel its
    // own (M is symmetric positive definite whenever a pixel is kept); a
    // channel that has converged takes steps of 0 (alpha = beta = 0).
    double bb[3] = {0, 0, 0}, rr[3] = {0, 0, 0}, rz[3];
    int it[3] = {0, 0, 0};
    for (int k = 0; k < 3 * n; k++) {
        x[k] = 0, r[k] = b[k];
        bb[k % 3] += b[k] * b[k];
    }
    rr[0] = bb[0], rr[1] = bb[1], rr[2] = bb[2];
    precondition(r, z, diag, nbr, n, rz);
    memcpy(dir, z, sizeof *dir * 3 * (size_t)n);
    for (;;) {
        double alpha[3], beta[3], pq[3], next[3];
        int live[3], any = 0;
        for (int c = 0; c < 3; c++) {
            live[c] = c < channels && sqrt(rr[c]) > FAITH_CG_TOL * sqrt(bb[c]);
            if (live[c] && it[c] == FAITH_CG_MAX_ITER) live[c] = 0, rc = -1;
            any |= live[c];
        }
        if (!any) break;
        impute_apply(dir, q, diag, nbr, n, pq);
        for (int c = 0; c < 3; c++) alpha[c] = live[c] ? rz[c] / pq[c] : 0, rr[c] = 0;
        for (int i = 0; i < 3 * n; i++) {
            x[i] += alpha[i % 3] * dir[i];
            r[i] -= alpha[i % 3] * q[i];
            rr[i % 3] += r[i] * r[i];
        }
        precondition(r, z, diag, nbr, n, next);
        for (int c = 0; c < 3; c++) {
            beta[c] = live[c] ? next[c] / rz[c] : 0;
            if (live[c]) rz[c] = next[c], it[c]++;
        }
        for (int i = 0; i < 3 * n; i++) dir[i] = z[i] + beta[i % 3] * dir[i];
    }
    for (int c = 0; c < channels; c++) {
        most = it[c] > most ? it[c] : most;
        for (int i = 0; i < n; i++) img[(size_t)c * plane + pixel[i]] = (float)x[3 * i + c];
    }
    if (iterations) *iterations = most;
    return rc;
}

/* The scores of the first n inputs of f's net, into out[0..n). */
static int scores_of(Faith *f, int n, int target, EvalScore kind, double *out, Error *e) {
    net_forward(&f->net, n);
    int layer, classes = net_classes(&f->net);
    if (!net_outputs_finite(&f->net, n, &layer))
        return error_set(e, "eval: layer %s's outputs are not finite for a perturbed input",
                         f->net.graph.layers[layer].name);
    for (int b = 0; b < n; b++) {
        const float *l = net_logits(&f->net, b);
        if (kind == EVAL_LOGIT) {
            out[b] = l[target];
            continue;
        }
        double max = l[0], z = 0;
        for (int c = 1; c < classes; c++) max = l[c] > max ? l[c] : max;
        for (int c = 0; c < classes; c++) z += exp(l[c] - max);
        out[b] = exp(l[target] - max) / z;
    }
    return 0;
}

/* A deletion or insertion curve: from `start`, the ranked pixels set to
 * `finish`'s (zeros when NULL), k_i of them at point i. */
static int curve(Faith *f, const FaithSpec *spec, const float *start, const float *finish,
                 int steps, int target, double *out, double *auc, Error *e) {
    int h = f->height, w = f->width;
    size_t plane = (size_t)h * w;
    memcpy(f->work, start, sizeof *f->work * 3 * plane);
    int64_t done = 0;
    for (int first = 0; first <= steps; first += f->net.batch) {
        int count = steps + 1 - first < f->net.batch ? steps + 1 - first : f->net.batch;
        for (int s = 0; s < count; s++) {
            int64_t k = faith_pixels_at(first + s, steps, h, w);
            for (; done < k; done++)
                for (int c = 0; c < 3; c++) {
                    size_t at = c * plane + (size_t)f->order[done];
                    f->work[at] = finish ? finish[at] : 0.0f;
                }
            memcpy(net_input(&f->net, s), f->work, sizeof *f->work * 3 * plane);
        }
        if (scores_of(f, count, target, spec->score, out + first, e) != 0) return -1;
    }
    double area = 0, total = (double)plane;
    for (int i = 0; i < steps; i++)
        area += (double)(faith_pixels_at(i + 1, steps, h, w) - faith_pixels_at(i, steps, h, w)) /
                total * (out[i] + out[i + 1]) / 2;
    *auc = area;
    return 0;
}

/* ROAD's perturbed input for order o (0 MoRF, 1 LeRF) at percent p into
 * dst, with worker w's scratch; 0, or -1 when the solver did not converge. */
static int road_input(Faith *f, const FaithSpec *spec, const float *input, int o, int p, int w,
                      float *dst, int *iterations) {
    int h = f->height, wd = f->width, plane = h * wd;
    int64_t k = (int64_t)p * plane / 100;
    unsigned char *removed = f->removed + (size_t)w * plane;
    memset(removed, 0, (size_t)plane);
    for (int64_t i = 0; i < k; i++) removed[f->order[o == 0 ? i : plane - 1 - i]] = 1;
    memcpy(dst, input, sizeof *dst * 3 * (size_t)plane);
    if (faith_impute(dst, removed, 3, h, wd, f->index + (size_t)w * FAITH_INDEX_INTS * plane,
                     f->solve + (size_t)w * FAITH_SOLVE_DOUBLES * plane, iterations) != 0)
        return -1;
    uint64_t seed = spec->seed ^ FAITH_ROAD_STREAM, n = 3 * (uint64_t)plane;
    uint64_t base = (uint64_t)(100 * o + p) * n;
    for (uint64_t j = 0; j < n; j++)
        dst[j] += (float)(FAITH_ROAD_NOISE * rng_gaussian(seed, 2 * (base + j)));
    return 0;
}

/* A wave of ROAD inputs on the threads, worker w making input first + w. */
typedef struct {
    Faith *f;
    const FaithSpec *spec;
    const float *input;
    int first, slot;          // the wave's first input, and its place in the net's batch
    int iterations[PARALLEL_MAX_THREADS];
    int failed[PARALLEL_MAX_THREADS];
} RoadWave;

static void road_task(void *ctx, int w) {
    RoadWave *g = ctx;
    int t = g->first + w;
    g->failed[w] = road_input(g->f, g->spec, g->input, t % 2, g->spec->percents[t / 2], w,
                              net_input(&g->f->net, g->slot + w), &g->iterations[w]) != 0;
}

static int road(Faith *f, const FaithSpec *spec, const float *input, int target, FaithResult *r,
                Error *e) {
    int total = 2 * spec->n_percents;
    double scores[2 * FAITH_MAX_PERCENTS];
    RoadWave g = {.f = f, .spec = spec, .input = input};
    r->road_iterations = 0;
    for (int first = 0; first < total; first += f->net.batch) {
        int count = total - first < f->net.batch ? total - first : f->net.batch;
        // Each system is solved by one worker alone, so the bits do not
        // depend on the threads.
        for (int s = 0; s < count; s += f->workers) {
            int n = count - s < f->workers ? count - s : f->workers;
            g.first = first + s, g.slot = s;
            parallel_for(n, f->net.threads, road_task, &g);
            for (int w = 0; w < n; w++) {
                if (g.failed[w])
                    return error_set(e, "eval road: the imputation at %d%% did not converge in "
                                     "%d iterations", spec->percents[(g.first + w) / 2],
                                     FAITH_CG_MAX_ITER);
                if (g.iterations[w] > r->road_iterations) r->road_iterations = g.iterations[w];
            }
        }
        if (scores_of(f, count, target, spec->score, scores + first, e) != 0) return -1;
    }
    r->morf_mean = r->lerf_mean = 0;
    for (int q = 0; q < spec->n_percents; q++) {
        r->morf[q] = scores[2 * q], r->lerf[q] = scores[2 * q + 1];
        r->morf_mean += r->morf[q] / spec->n_percents;
        r->lerf_mean += r->lerf[q] / spec->n_percents;
    }
    r->road = (r->lerf_mean - r->morf_mean) / 2;
    return 0;
}

static int avg_drop(Faith *f, const FaithSpec *spec, const float *input, const float *saliency,
                    int target, FaithResult *r, Error *e) {
    size_t plane = (size_t)f->height * f->width;
    float lo = saliency[0], hi = saliency[0];
    for (size_t p = 1; p < plane; p++) {
        lo = saliency[p] < lo ? saliency[p] : lo;
        hi = saliency[p] > hi ? saliency[p] : hi;
    }
    float *masked = net_input(&f->net, 1);
    memcpy(net_input(&f->net, 0), input, sizeof(float) * 3 * plane);
    for (size_t p = 0; p < plane; p++) {
        float m = hi > lo ? (saliency[p] - lo) / (hi - lo) : 0.0f;
        for (int c = 0; c < 3; c++) masked[c * plane + p] = input[c * plane + p] * m;
    }
    double s[2];
    if (scores_of(f, 2, target, spec->score, s, e) != 0) return -1;
    r->original = s[0], r->masked = s[1];
    r->drop = s[0] > s[1] ? s[0] - s[1] : 0;
    r->relative_drop = s[0] > 0 ? r->drop / s[0] : NAN;
    r->increase = s[1] > s[0];
    return 0;
}

int faith_run(Faith *f, const FaithSpec *spec, const float *input, const float *saliency,
              int target, FaithResult *r, Error *e) {
    int plane = f->height * f->width;
    faith_rank(saliency, plane, f->order, f->index);
    r->steps = faith_steps(spec, f->height, f->width);
    r->height = f->height, r->width = f->width;
    if ((spec->evals & 1u << EVAL_AVG_DROP) && f->net.batch < 2)
        return error_set(e, "eval avg-drop: needs a batch of 2");
    if ((spec->evals & 1u << EVAL_DELETION) &&
        curve(f, spec, input, NULL, r->steps, target, r->deletion, &r->deletion_auc, e) != 0)
        return -1;
    if (spec->evals & 1u << EVAL_INSERTION) {
        faith_blur(input, f->blurred, 3, f->height, f->width);
        if (curve(f, spec, f->blurred, input, r->steps, target, r->insertion, &r->insertion_auc,
                  e) != 0)
            return -1;
    }
    if ((spec->evals & 1u << EVAL_ROAD) && road(f, spec, input, target, r, e) != 0) return -1;
    if ((spec->evals & 1u << EVAL_AVG_DROP) && avg_drop(f, spec, input, saliency, target, r, e) != 0)
        return -1;
    return 0;
}
