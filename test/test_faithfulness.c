/* test_faithfulness.c: --eval's metrics against the references of
 * test/gen/fixtures_faithfulness.py (RISE's blur kernel and conv2d, ROAD's
 * sparse system solved by scipy's spsolve, the curves of PyTorch models),
 * and what the definitions say by hand: the ranking's ties, the batch and
 * thread count changing no bit.
 *
 * Tolerances: the kernel 1e-12 (both float64), the blur 1e-6 (float32
 * sums in different orders), the imputation 2e-6 + 1e-6 |want| (CG to
 * 1e-10 vs a direct solve, both then rounded to float32), every curve
 * point, ROAD score and avg-drop score 1e-5 absolute (float32 networks
 * summing in different orders), the AUCs 1e-5. The largest errors are
 * printed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "explain/faithfulness.h"
#include "files.h"
#include "io/npy.h"
#include "isa.h"
#include "test.h"
#include "weights_cache.h"

#define DIR "test/fixtures/faithfulness/"
#define TOL 1e-5

static cJSON *ref;
static WeightsCache cache;

/* A fixture file of exactly `bytes` bytes, or NULL (a failed check). */
static void *load_bin(const cJSON *o, const char *key, size_t bytes) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, key);
    char path[512];
    snprintf(path, sizeof path, DIR "%s", cJSON_IsString(name) ? name->valuestring : "?");
    FILE *f = fopen(path, "rb");
    char *data = f ? malloc(bytes + 1) : NULL;
    // One byte more than wanted must not be there.
    size_t got = data ? fread(data, 1, bytes + 1, f) : 0;
    if (f) fclose(f);
    CHECK_MSG(data && got == bytes, "%s: missing or %zu bytes, expected %zu", path, got, bytes);
    if (data && got != bytes) free(data), data = NULL;
    return data;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_blur_kernel_is_scipys_gaussian_filter(void) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(ref, "kernel");
    double got[FAITH_BLUR_SIDE * FAITH_BLUR_SIDE], worst = 0, sum = 0;
    faith_blur_kernel(got);
    CHECK(cJSON_GetArraySize(k) == FAITH_BLUR_SIDE * FAITH_BLUR_SIDE);
    for (int i = 0; i < FAITH_BLUR_SIDE * FAITH_BLUR_SIDE; i++) {
        double d = fabs(got[i] - cJSON_GetArrayItem(k, i)->valuedouble);
        worst = d > worst ? d : worst;
        sum += got[i];
    }
    printf("  kernel: max error %.3g, sum %.17g\n", worst, sum);
    CHECK_MSG(worst <= 1e-12, "max error %.3g", worst);
    CHECK_MSG(fabs(sum - 1) < 1e-12, "reflection keeps the mass: sum %.17g", sum);
}

static void test_blur_is_rises_conv2d(void) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(ref, "blur");
    enum { C = 3, H = 9, W = 13, N = C * H * W };
    float *src = load_bin(b, "src", sizeof(float) * N), *want = load_bin(b, "dst", sizeof(float) * N);
    float got[N];
    double worst = 0;
    if (src && want) {
        faith_blur(src, got, C, H, W);
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
        printf("  blur: max error %.3g\n", worst);
        CHECK_MSG(worst <= 1e-6, "max error %.3g", worst);
    }
    free(src);
    free(want);
}

static void test_ranking_breaks_ties_by_index(void) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ref, "rank");
    int n = (int)num(r, "n");
    float *s = load_bin(r, "scores", sizeof(float) * (size_t)n);
    int32_t *want = load_bin(r, "order", sizeof(int32_t) * (size_t)n);
    int *order = malloc(sizeof *order * (size_t)n), *tmp = malloc(sizeof *tmp * (size_t)n);
    if (s && want && order && tmp) {
        faith_rank(s, n, order, tmp);
        int bad = 0;
        for (int i = 0; i < n; i++) bad += order[i] != want[i];
        CHECK_MSG(bad == 0, "%d of %d places differ from numpy's stable argsort", bad, n);
    }
    // By hand: equal scores keep their index order, higher scores first.
    float small[] = {1, 3, 1, 3, 2};
    int got[5], t[5], expect[] = {1, 3, 4, 0, 2};
    faith_rank(small, 5, got, t);
    CHECK(memcmp(got, expect, sizeof got) == 0);
    free(s), free(want), free(order), free(tmp);
}

static void test_imputation_is_spsolve_of_roads_system(void) {
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(ref, "impute"), *c;
    CHECK(cJSON_GetArraySize(cases) >= 3);
    cJSON_ArrayForEach(c, cases) {
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(c, "shape");
        int ch = cJSON_GetArrayItem(shape, 0)->valueint, h = cJSON_GetArrayItem(shape, 1)->valueint,
            w = cJSON_GetArrayItem(shape, 2)->valueint;
        size_t plane = (size_t)h * w, n = (size_t)ch * plane;
        float *img = load_bin(c, "img", sizeof(float) * n), *want = load_bin(c, "want", sizeof(float) * n);
        unsigned char *removed = load_bin(c, "removed", plane);
        int *index = malloc(sizeof *index * FAITH_INDEX_INTS * plane);
        double *solve = malloc(sizeof *solve * FAITH_SOLVE_DOUBLES * plane);
        if (img && want && removed && index && solve) {
            int it = 0;
            CHECK(faith_impute(img, removed, ch, h, w, index, solve, &it) == 0);
            double worst = 0;
            int bad = 0;
            for (size_t i = 0; i < n; i++) {
                double d = fabs((double)img[i] - want[i]);
                worst = d > worst ? d : worst;
                bad += d > 2e-6 + 1e-6 * fabs(want[i]);
                // Kept pixels are not touched at all.
                if (!removed[i % plane]) bad += img[i] != want[i];
            }
            printf("  impute %s (%dx%dx%d): max error %.3g, %d CG iterations\n",
                   cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, ch, h, w, worst, it);
            CHECK_MSG(bad == 0, "%d values off", bad);
        }
        free(img), free(want), free(removed), free(index), free(solve);
    }
}

/* How far got is from want, in units of the tolerance: an absolute 1e-5
 * (the issue's), and for probabilities also 1e-4 of the value, since the
 * random models' probabilities are all near 1/1000 and an absolute 1e-5
 * alone would pass nearly anything; logits 1e-5 of max(1, |want|). */
static double off(double got, double want, EvalScore score) {
    double d = fabs(got - want);
    if (score == EVAL_LOGIT) return d / (TOL * fmax(1.0, fabs(want)));
    return fmax(d / TOL, d / (1e-4 * fabs(want)));
}

/* The largest off() over a JSON array, and the largest absolute error. */
static double curve_off(const double *got, const cJSON *want, int n, EvalScore score,
                        double *abs_err) {
    double worst = cJSON_GetArraySize(want) == n ? 0 : INFINITY;
    for (int i = 0; i < n && i < cJSON_GetArraySize(want); i++) {
        double w = cJSON_GetArrayItem(want, i)->valuedouble;
        worst = fmax(worst, off(got[i], w, score));
        *abs_err = fmax(*abs_err, fabs(got[i] - w));
    }
    return worst;
}

/* The metrics of one case with a batch and thread count, r's curves malloc'd. */
static int run_case(const cJSON *c, const Weights *w, EvalScore score, int batch, int threads,
                    FaithResult *r) {
    char path[512];
    Error e;
    NpyArray in = {0}, map = {0};
    *r = (FaithResult){0};
    snprintf(path, sizeof path, "test/fixtures/%s", cJSON_GetObjectItemCaseSensitive(c, "input")->valuestring);
    CHECK_MSG(npy_array_load(path, &in, &e) == 0, "%s", e.msg);
    snprintf(path, sizeof path, "test/fixtures/%s", cJSON_GetObjectItemCaseSensitive(c, "map")->valuestring);
    CHECK_MSG(npy_array_load(path, &map, &e) == 0, "%s", e.msg);
    if (!in.data || !map.data) {
        npy_array_free(&in);
        npy_array_free(&map);
        return -1;
    }
    int h = (int)in.shape[1], wd = (int)in.shape[2];
    FaithSpec spec = {.evals = (1u << EVALS) - 1, .steps = (int)num(c, "eval_steps"),
                      .seed = (uint64_t)num(c, "seed"), .score = score};
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(c, "percents"), *p;
    cJSON_ArrayForEach(p, pc) spec.percents[spec.n_percents++] = p->valueint;
    float *sal = malloc(sizeof *sal * (size_t)h * wd);
    int steps = faith_steps(&spec, h, wd);
    r->deletion = malloc(sizeof(double) * (size_t)(steps + 1));
    r->insertion = malloc(sizeof(double) * (size_t)(steps + 1));
    Faith f;
    int rc = -1;
    if (sal && r->deletion && r->insertion &&
        faith_init(&f, w, h, wd, batch, threads, test_isa(), &e) == 0) {
        faith_saliency(map.ndim == 3 ? map.data : NULL, map.ndim == 2 ? map.data : NULL,
                       (size_t)h * wd, sal);
        rc = faith_run(&f, &spec, in.data, sal, (int)num(c, "target"), r, &e);
        CHECK_MSG(rc == 0, "%s", e.msg);
        faith_free(&f);
    }
    free(sal);
    npy_array_free(&map);
    npy_array_free(&in);
    return rc;
}

static void free_result(FaithResult *r) {
    free(r->deletion);
    free(r->insertion);
}

static const cJSON *item(const cJSON *c, const char *key, const char *suffix) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", key, suffix);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
    CHECK_MSG(v != NULL, "reference.json: no %s", name);
    return v;
}

static double value(const cJSON *c, const char *key, const char *suffix) {
    const cJSON *v = item(c, key, suffix);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_metrics_match_pytorch(void) {
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(ref, "cases"), *c;
    CHECK(cJSON_GetArraySize(cases) >= 4);
    cJSON_ArrayForEach(c, cases) {
        const char *label = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        const Weights *w = weights_cached(&cache, cJSON_GetObjectItemCaseSensitive(c, "weights")->valuestring);
        CHECK_MSG(w != NULL, "%s: no weights", label);
        if (!w) continue;
        for (EvalScore score = 0; score < EVAL_SCORES; score++) {
            const char *sfx = score == EVAL_LOGIT ? "_logit" : "";
            FaithResult r;
            if (run_case(c, w, score, 16, 2, &r) != 0) {
                free_result(&r);
                continue;
            }
            int n = (int)num(c, "steps"), np = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "percents"));
            CHECK_MSG(r.steps == n, "%s: %d steps, want %d", label, r.steps, n);
            double err = 0, auc_err = 0;
            double del = curve_off(r.deletion, item(c, "deletion", sfx), n + 1, score, &err);
            double ins = curve_off(r.insertion, item(c, "insertion", sfx), n + 1, score, &err);
            double road = fmax(curve_off(r.morf, item(c, "morf", sfx), np, score, &err),
                               curve_off(r.lerf, item(c, "lerf", sfx), np, score, &err));
            double aucs = 0;
            double got[] = {r.deletion_auc, r.insertion_auc, r.road, r.original, r.masked, r.drop};
            const char *keys[] = {"deletion%s_auc", "insertion%s_auc", "road", "original", "masked", "drop"};
            for (int k = 0; k < 6; k++) {
                char key[64];
                if (k < 2) snprintf(key, sizeof key, keys[k], sfx);
                else snprintf(key, sizeof key, "%s%s", keys[k], sfx);
                double want = value(c, key, "");
                aucs = fmax(aucs, fabs(got[k] - want) / TOL);
                auc_err = fmax(auc_err, fabs(got[k] - want));
            }
            printf("  %s (%s): %d points; worst in tolerances: deletion %.3g insertion %.3g "
                   "ROAD %.3g (max abs error %.3g); AUCs, ROAD and avg-drop %.3g (max abs %.3g); "
                   "%d CG iterations\n", label, eval_score_names[score], n + 1, del, ins, road, err,
                   aucs, auc_err, r.road_iterations);
            CHECK_MSG(del <= 1 && ins <= 1, "%s: a deletion/insertion point off", label);
            CHECK_MSG(road <= 1, "%s: a ROAD score off", label);
            CHECK_MSG(aucs <= 1, "%s: an AUC, ROAD or avg-drop value off", label);
            CHECK_MSG(r.increase == (int)value(c, "increase", sfx), "%s: increase differs", label);
            // The clean input is scored by the first deletion point, the last
            // insertion point and avg-drop alike, whatever its place in a batch.
            CHECK_MSG(r.deletion[0] == r.insertion[n] && r.deletion[0] == r.original,
                      "%s: the clean input scored differently", label);
            free_result(&r);
        }
    }
}

static void test_batch_and_threads_change_no_bit(void) {
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ref, "cases"), 2);
    const Weights *w = weights_cached(&cache, cJSON_GetObjectItemCaseSensitive(c, "weights")->valuestring);
    CHECK(w != NULL);
    if (!w) return;
    FaithResult a, b;
    int ra = run_case(c, w, EVAL_PROBABILITY, 2, 1, &a),
        rb = run_case(c, w, EVAL_PROBABILITY, 7, 2, &b);
    if (ra == 0 && rb == 0) {
        int n = a.steps + 1;
        CHECK(memcmp(a.deletion, b.deletion, sizeof(double) * (size_t)n) == 0);
        CHECK(memcmp(a.insertion, b.insertion, sizeof(double) * (size_t)n) == 0);
        CHECK(memcmp(a.morf, b.morf, sizeof a.morf) == 0 && memcmp(a.lerf, b.lerf, sizeof a.lerf) == 0);
        CHECK(a.original == b.original && a.masked == b.masked);
    }
    free_result(&a);
    free_result(&b);
}

static void test_steps_split_pixels_evenly(void) {
    FaithSpec s = {0};
    CHECK(faith_steps(&s, 224, 224) == 224);
    CHECK(faith_steps(&s, 224, 298) == 298);
    CHECK(faith_steps(&s, 10, 10) == 1);
    s.steps = 1000;
    CHECK(faith_steps(&s, 10, 10) == 100); // at most one pixel a step
    CHECK(faith_pixels_at(0, 224, 224, 224) == 0 && faith_pixels_at(1, 224, 224, 224) == 224 &&
          faith_pixels_at(224, 224, 224, 224) == 224 * 224);
    CHECK(faith_pixels_at(1, 3, 10, 10) == 33 && faith_pixels_at(2, 3, 10, 10) == 66);
}

int main(void) {
    char *text = slurp(DIR "reference.json");
    CHECK_MSG(text != NULL, "missing " DIR "reference.json (test/gen/fixtures_faithfulness.py)");
    ref = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (ref) {
        RUN(test_blur_kernel_is_scipys_gaussian_filter);
        RUN(test_blur_is_rises_conv2d);
        RUN(test_ranking_breaks_ties_by_index);
        RUN(test_imputation_is_spsolve_of_roads_system);
        RUN(test_steps_split_pixels_evenly);
        RUN(test_metrics_match_pytorch);
        RUN(test_batch_and_threads_change_no_bit);
    } else {
        test_failed_++;
    }
    cJSON_Delete(ref);
    weights_cache_free(&cache);
    return test_summary();
}
