/* test_similarity.c: the sanity-check similarity metrics against SciPy and
 * scikit-image, and cases checkable by hand.
 *
 * test/fixtures/similarity/reference.json (test/gen/fixtures_similarity.py)
 * lists input pairs stored as raw little-endian arrays and the values
 * scipy.stats.spearmanr and skimage.metrics.structural_similarity computed
 * for them; null where SciPy returns nan. Every value must agree to
 * |got - want| <= 1e-9 + 1e-9 * |want|; the largest errors are printed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "explain/similarity.h"
#include "test.h"

#define FIXTURES "test/fixtures/similarity/"
#define TOL 1e-9

/* ---- Fixture loading --------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *data = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
            data[n] = 0;
            *len = (size_t)n;
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

static cJSON *load_reference(void) {
    size_t len;
    char *text = (char *)slurp(FIXTURES "reference.json", &len);
    CHECK_MSG(text != NULL, "missing " FIXTURES "reference.json (test/gen/fixtures_similarity.py)");
    if (!text) return NULL;
    cJSON *ref = cJSON_Parse(text);
    free(text);
    CHECK_MSG(ref != NULL, FIXTURES "reference.json is not valid JSON");
    return ref;
}

/* The number of values of a JSON shape, its dims into dims[0..ndim). */
static size_t shape_of(const cJSON *c, int *dims, int ndim) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(c, "shape");
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != ndim) return 0;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valueint < 1) return 0;
        dims[i] = d->valueint;
        count *= (size_t)d->valueint;
    }
    return count;
}

/* count little-endian values of the case's dtype ("float32" or "float64")
 * from the file named by key, as doubles; NULL (and a failed check) when
 * the file is missing or has the wrong size. */
static double *load_values(const cJSON *c, const char *key, size_t count) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, key));
    const char *dtype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "dtype"));
    size_t width = !dtype                     ? 0
                   : !strcmp(dtype, "float32") ? 4
                   : !strcmp(dtype, "float64") ? 8
                                               : 0;
    CHECK_MSG(name && width, "reference.json: a case without '%s' or a known dtype", key);
    if (!name || !width) return NULL;
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    size_t len = 0;
    unsigned char *bytes = slurp(path, &len);
    CHECK_MSG(bytes && len == count * width, "%s: missing, or not %zu values of %s", path, count,
              dtype);
    double *v = bytes && len == count * width ? malloc(count * sizeof *v) : NULL;
    for (size_t i = 0; v && i < count; i++) {
        const unsigned char *p = bytes + i * width;
        uint64_t u = 0;
        for (size_t k = 0; k < width; k++) u |= (uint64_t)p[k] << (8 * k);
        if (width == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, sizeof f);
            v[i] = f;
        } else {
            memcpy(&v[i], &u, sizeof v[i]);
        }
    }
    free(bytes);
    return v;
}

static float *to_floats(const double *v, size_t n) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; f && i < n; i++) f[i] = (float)v[i];
    return f;
}

/* ---- Comparison with the reference -------------------------------------- */

typedef struct {
    const char *metric;
    int cases;
    double max_err;
} Agreement;

/* want is a number, or null where SciPy's answer is nan. */
static void compare(Agreement *ag, const char *name, double got, const cJSON *want) {
    ag->cases++;
    if (cJSON_IsNull(want)) {
        CHECK_MSG(isnan(got), "%s %s: SciPy says nan, got %.17g", name, ag->metric, got);
        return;
    }
    CHECK_MSG(cJSON_IsNumber(want), "%s: reference.json has no number for %s", name, ag->metric);
    if (!cJSON_IsNumber(want)) return;
    double err = fabs(got - want->valuedouble);
    if (!(err <= ag->max_err)) ag->max_err = err; // NaN sticks
    CHECK_MSG(err <= TOL + TOL * fabs(want->valuedouble), "%s %s: got %.17g, reference %.17g",
              name, ag->metric, got, want->valuedouble);
}

static void report(const Agreement *ag) {
    printf("  %-12s %2d cases, max |error| %.3g\n", ag->metric, ag->cases, ag->max_err);
}

static const cJSON *cases_of(const cJSON *ref, const char *kind) {
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(ref, kind);
    CHECK_MSG(cJSON_GetArraySize(cases) > 0, "reference.json lists no '%s' cases", kind);
    return cases;
}

static void test_maps_match_scipy_skimage(void) {
    cJSON *ref = load_reference();
    if (!ref) return;
    Agreement sa = {"spearman_abs", 0, 0}, sp = {"spearman", 0, 0}, ss = {"ssim", 0, 0};
    const cJSON *c;
    cJSON_ArrayForEach(c, cases_of(ref, "maps")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        int dims[3];
        size_t n = shape_of(c, dims, 3);
        CHECK_MSG(n && dims[2] == 3, "%s: shape is not (h, w, 3)", name);
        if (!n || dims[2] != 3) continue;
        double *a = load_values(c, "a", n), *b = load_values(c, "b", n);
        float *fa = a ? to_floats(a, n) : NULL, *fb = b ? to_floats(b, n) : NULL;
        if (fa && fb) {
            Similarity s;
            Error err = {0};
            int rc = similarity_maps(fa, fb, dims[0], dims[1], &s, &err);
            CHECK_MSG(rc == 0, "%s: %s", name, err.msg);
            if (rc == 0) {
                compare(&sa, name, s.spearman_abs, cJSON_GetObjectItem(c, "spearman_abs"));
                compare(&sp, name, s.spearman, cJSON_GetObjectItem(c, "spearman"));
                compare(&ss, name, s.ssim, cJSON_GetObjectItem(c, "ssim"));
            }
        }
        free(a);
        free(b);
        free(fa);
        free(fb);
    }
    printf("  maps, against SciPy/scikit-image:\n");
    report(&sa);
    report(&sp);
    report(&ss);
    cJSON_Delete(ref);
}

static void test_ssim_matches_skimage(void) {
    cJSON *ref = load_reference();
    if (!ref) return;
    Agreement ag = {"ssim", 0, 0};
    const cJSON *c;
    cJSON_ArrayForEach(c, cases_of(ref, "ssim")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        int dims[2];
        size_t n = shape_of(c, dims, 2);
        CHECK_MSG(n, "%s: shape is not (h, w)", name);
        double *a = n ? load_values(c, "a", n) : NULL, *b = n ? load_values(c, "b", n) : NULL;
        if (a && b)
            compare(&ag, name, similarity_ssim(a, b, dims[0], dims[1]),
                    cJSON_GetObjectItemCaseSensitive(c, "ssim"));
        free(a);
        free(b);
    }
    printf("  2-D images, against skimage.metrics.structural_similarity:\n");
    report(&ag);
    cJSON_Delete(ref);
}

static void test_spearman_matches_scipy(void) {
    cJSON *ref = load_reference();
    if (!ref) return;
    Agreement ag = {"spearman", 0, 0};
    const cJSON *c;
    cJSON_ArrayForEach(c, cases_of(ref, "spearman")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        int dims[1];
        size_t n = shape_of(c, dims, 1);
        CHECK_MSG(n, "%s: shape is not (n,)", name);
        double *x = n ? load_values(c, "x", n) : NULL, *y = n ? load_values(c, "y", n) : NULL;
        if (x && y)
            compare(&ag, name, similarity_spearman(x, y, n),
                    cJSON_GetObjectItemCaseSensitive(c, "spearman"));
        free(x);
        free(y);
    }
    printf("  1-D vectors, against scipy.stats.spearmanr:\n");
    report(&ag);
    cJSON_Delete(ref);
}

/* ---- By hand ------------------------------------------------------------ */

/* A deterministic signed map with a few exact zeros. */
static float *make_map(int h, int w, uint32_t seed) {
    size_t n = (size_t)h * (size_t)w * 3;
    float *m = malloc(n * sizeof *m);
    for (size_t i = 0; m && i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        m[i] = seed % 7 == 0 ? 0.0f : (float)((double)(seed >> 8) / (1 << 24) - 0.5);
    }
    return m;
}

static void test_identical_scaled_and_negated_maps(void) {
    int h = 20, w = 31;
    size_t n = (size_t)h * (size_t)w * 3;
    float *a = make_map(h, w, 1), *b = malloc(n * sizeof *b);
    if (!a || !b) {
        CHECK_MSG(0, "out of memory");
        free(a);
        free(b);
        return;
    }
    Similarity s;
    Error err = {0};
    CHECK_MSG(similarity_maps(a, a, h, w, &s, &err) == 0, "%s", err.msg);
    CHECK_MSG(s.spearman_abs == 1 && s.spearman == 1 && s.ssim == 1,
              "identical: %.17g %.17g %.17g, want exactly 1 1 1", s.spearman_abs, s.spearman,
              s.ssim);
    // Doubling is exact and min-max scaling undoes it bit for bit.
    for (size_t i = 0; i < n; i++) b[i] = 2 * a[i];
    CHECK_MSG(similarity_maps(a, b, h, w, &s, &err) == 0, "%s", err.msg);
    CHECK_MSG(s.spearman_abs == 1 && s.spearman == 1 && s.ssim == 1,
              "doubled: %.17g %.17g %.17g, want exactly 1 1 1", s.spearman_abs, s.spearman, s.ssim);
    // Same |g|, opposite sign: the signed ranks reverse.
    for (size_t i = 0; i < n; i++) b[i] = -a[i];
    CHECK_MSG(similarity_maps(a, b, h, w, &s, &err) == 0, "%s", err.msg);
    CHECK_MSG(s.spearman_abs == 1 && s.spearman == -1 && s.ssim == 1,
              "negated: %.17g %.17g %.17g, want exactly 1 -1 1", s.spearman_abs, s.spearman,
              s.ssim);
    free(a);
    free(b);
}

static void test_spearman_by_hand(void) {
    enum { N = 101 };
    double up[N], down[N], curved[N];
    for (int i = 0; i < N; i++) {
        up[i] = i - 50;
        down[i] = 50 - i;
        curved[i] = exp(up[i] / 10); // monotone: the same ranks as up
    }
    double rho = similarity_spearman(up, down, N);
    CHECK_MSG(rho == -1, "reversed: %.17g, want exactly -1", rho);
    rho = similarity_spearman(up, curved, N);
    CHECK_MSG(rho == 1, "monotone: %.17g, want exactly 1", rho);

    // Ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): sxy = sxx = 4.5, syy = 5.
    double x[] = {1, 2, 2, 3}, y[] = {1, 2, 3, 4};
    rho = similarity_spearman(x, y, 4);
    CHECK_MSG(fabs(rho - sqrt(0.9)) <= 1e-15, "ties: %.17g, want sqrt(0.9)", rho);
    // -0.0 and 0.0 tie: ranks (1.5, 1.5, 3) against (1, 2, 3) give sqrt(3)/2.
    double z[] = {0.0, -0.0, 1}, r[] = {1, 2, 3};
    rho = similarity_spearman(z, r, 3);
    CHECK_MSG(fabs(rho - sqrt(3) / 2) <= 1e-15, "signed zeros: %.17g, want sqrt(3)/2", rho);
    // Symmetric in its arguments, and ties in both.
    double p[] = {3, 1, 1, 2, 3, 3}, q[] = {0, 0, 5, 5, 1, 2};
    CHECK(similarity_spearman(p, q, 6) == similarity_spearman(q, p, 6));
}

static void test_spearman_undefined_is_nan(void) {
    double c[] = {0.5, 0.5, 0.5, 0.5}, v[] = {1, 2, 3, 4}, z[] = {0.0, -0.0, 0.0, -0.0};
    double with_nan[] = {1, NAN, 3, 4};
    CHECK(isnan(similarity_spearman(c, v, 4)));
    CHECK(isnan(similarity_spearman(v, c, 4)));
    CHECK(isnan(similarity_spearman(z, v, 4))); // -0.0 == 0.0: constant
    CHECK(isnan(similarity_spearman(v, v, 1)));
    CHECK(isnan(similarity_spearman(v, v, 0)));
    CHECK(isnan(similarity_spearman(with_nan, v, 4)));
}

static void test_ssim_by_hand(void) {
    enum { H = 8, W = 9 };
    double zero[H * W] = {0}, tenth[H * W], noise[H * W];
    for (int i = 0; i < H * W; i++) {
        tenth[i] = 0.1;
        noise[i] = (double)((i * 37) % 11) / 10;
    }
    // Flat images: means 0 and 0.1, no variance: S = C1 / (0.1^2 + C1) = 1/101.
    double s = similarity_ssim(zero, tenth, H, W);
    CHECK_MSG(fabs(s - 1.0 / 101) <= 1e-15, "flat: %.17g, want 1/101", s);
    CHECK_MSG(similarity_ssim(noise, noise, H, W) == 1, "identical: %.17g",
              similarity_ssim(noise, noise, H, W));
    CHECK(similarity_ssim(noise, tenth, H, W) == similarity_ssim(tenth, noise, H, W));
    CHECK(isnan(similarity_ssim(noise, noise, 6, 12)));
    CHECK(isnan(similarity_ssim(noise, noise, 12, 6)));
}

static void test_constant_maps(void) {
    int h = 12, w = 10;
    size_t n = (size_t)h * (size_t)w * 3;
    float *a = make_map(h, w, 2), *zero = calloc(n, sizeof *zero);
    if (!a || !zero) {
        CHECK_MSG(0, "out of memory");
        free(a);
        free(zero);
        return;
    }
    Similarity s;
    Error err = {0};
    CHECK_MSG(similarity_maps(a, zero, h, w, &s, &err) == 0, "%s", err.msg);
    CHECK_MSG(isnan(s.spearman_abs) && isnan(s.spearman), "one constant: %g %g, want nan nan",
              s.spearman_abs, s.spearman);
    CHECK_MSG(fabs(s.ssim) < 0.01, "one constant: ssim %.17g, want about 0", s.ssim);
    CHECK_MSG(similarity_maps(zero, zero, h, w, &s, &err) == 0, "%s", err.msg);
    CHECK_MSG(isnan(s.spearman_abs) && isnan(s.spearman) && s.ssim == 1,
              "both constant: %g %g %.17g, want nan nan 1", s.spearman_abs, s.spearman, s.ssim);
    free(a);
    free(zero);
}

static void test_refusals(void) {
    int h = 9, w = 8;
    float *a = make_map(h, w, 3), *b = make_map(h, w, 4);
    if (!a || !b) {
        CHECK_MSG(0, "out of memory");
        free(a);
        free(b);
        return;
    }
    Similarity s = {42, 42, 42};
    Error err = {0};
    CHECK(similarity_maps(a, b, 6, w, &s, &err) == -1);
    CHECK_MSG(strstr(err.msg, "6x8") && strstr(err.msg, "7x7"), "message: %s", err.msg);
    CHECK(similarity_maps(a, b, h, 0, &s, &err) == -1);
    CHECK(similarity_maps(a, b, -7, w, &s, NULL) == -1);

    a[(2 * w + 5) * 3 + 1] = NAN;
    CHECK(similarity_maps(a, b, h, w, &s, &err) == -1);
    CHECK_MSG(strstr(err.msg, "map a") && strstr(err.msg, "row 2, column 5, channel 1"),
              "message: %s", err.msg);
    a[(2 * w + 5) * 3 + 1] = 0;
    b[h * w * 3 - 1] = -INFINITY;
    CHECK(similarity_maps(a, b, h, w, &s, &err) == -1);
    CHECK_MSG(strstr(err.msg, "map b") && strstr(err.msg, "row 8, column 7, channel 2"),
              "message: %s", err.msg);
    CHECK_MSG(s.spearman_abs == 42 && s.spearman == 42 && s.ssim == 42, "out changed on failure");
    free(a);
    free(b);
}

int main(void) {
    RUN(test_maps_match_scipy_skimage);
    RUN(test_ssim_matches_skimage);
    RUN(test_spearman_matches_scipy);
    RUN(test_identical_scaled_and_negated_maps);
    RUN(test_spearman_by_hand);
    RUN(test_spearman_undefined_is_nan);
    RUN(test_ssim_by_hand);
    RUN(test_constant_maps);
    RUN(test_refusals);
    return test_summary();
}
