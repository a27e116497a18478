#include "explain/similarity.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { WIN = SIMILARITY_SSIM_WIN, RADIUS = (SIMILARITY_SSIM_WIN - 1) / 2 };

// skimage's defaults, with data_range = 1.
static const double K1 = 0.01, K2 = 0.03, DATA_RANGE = 1.0;

/* ---- Spearman ---------------------------------------------------------- */

static int compare_first(const void *p, const void *q) {
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

/* rank[i] = 1-based rank of x[i], tied values sharing the average of the
 * ranks they span. pairs holds 2n doubles: (value, index) pairs, so that one
 * double scratch serves both metrics; indices are exact below 2^53. */
static void rank_average(const double *x, size_t n, double *pairs, double *rank) {
    for (size_t i = 0; i < n; i++) {
        pairs[2 * i] = x[i];
        pairs[2 * i + 1] = (double)i;
    }
    qsort(pairs, n, 2 * sizeof *pairs, compare_first);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && pairs[2 * j] == pairs[2 * i]) j++;
        // Sorted positions i..j-1 have ranks i+1..j.
        double r = ((double)(i + 1) + (double)j) / 2;
        for (size_t k = i; k < j; k++) rank[(size_t)pairs[2 * k + 1]] = r;
        i = j;
    }
}

/* ws: 4n doubles. */
static double spearman_ws(const double *x, const double *y, size_t n, double *ws) {
    if (n < 2) return NAN;
    int x_constant = 1, y_constant = 1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i])) return NAN;
        x_constant &= x[i] == x[0];
        y_constant &= y[i] == y[0];
    }
    if (x_constant || y_constant) return NAN;

    double *pairs = ws, *rx = ws + 2 * n, *ry = rx + n;
    rank_average(x, n, pairs, rx);
    rank_average(y, n, pairs, ry);
    // The average ranks always sum to n(n+1)/2, so the mean is exact, every
    // deviation is a multiple of 1/2, and the sums below are exact while
    // 4 n^3 / 12 < 2^53 (n up to about 300 000; a 224x224 map has 50 176):
    // for identical orderings sxy == sxx == syy and rho is exactly 1.
    double mean = ((double)n + 1) / 2, sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = rx[i] - mean, dy = ry[i] - mean;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    double rho = sxy / sqrt(sxx * syy);
    return rho > 1 ? 1 : rho < -1 ? -1 : rho;
}

double similarity_spearman(const double *x, const double *y, size_t n) {
    if (n < 2) return NAN;
    if (n > SIZE_MAX / sizeof(double) / 4) return NAN;
    double *ws = malloc(4 * n * sizeof *ws);
    if (!ws) return NAN;
    double rho = spearman_ws(x, y, n, ws);
    free(ws);
    return rho;
}

/* ---- SSIM -------------------------------------------------------------- */

/* scipy.ndimage.uniform_filter1d(size=WIN, mode='reflect') of the n values
 * in[0], in[stride], ... into out (same stride). line holds n + WIN - 1.
 * SciPy's order of operations, so the result is bit for bit SciPy 1.10's: a
 * running sum, each step adding (entering - leaving), each output the sum
 * divided by WIN. (Older SciPy kept a running mean instead; that differs in
 * the last bits.) The edge mode matters only to those bits anyway: SSIM's
 * crop drops every pixel whose window reaches past the border. */
static void uniform_filter_line(const double *in, double *out, size_t n, size_t stride,
                                double *line) {
    // n >= WIN > RADIUS, so one reflection reaches every index.
    assert(n >= WIN);
    for (size_t i = 0; i < RADIUS; i++) {
        line[RADIUS - 1 - i] = in[i * stride];        // c b a | a b c
        line[RADIUS + n + i] = in[(n - 1 - i) * stride];
    }
    for (size_t i = 0; i < n; i++) line[RADIUS + i] = in[i * stride];
    double sum = 0;
    for (size_t k = 0; k < WIN; k++) sum += line[k];
    out[0] = sum / WIN;
    for (size_t i = 1; i < n; i++) {
        sum += line[i + WIN - 1] - line[i - 1];
        out[i * stride] = sum / WIN;
    }
}

/* scipy.ndimage.uniform_filter(in, WIN): axis 0 (down the columns) into
 * tmp, then axis 1 (along the rows) into out. */
static void uniform_filter(const double *in, double *out, size_t h, size_t w, double *tmp,
                           double *line) {
    for (size_t x = 0; x < w; x++) uniform_filter_line(in + x, tmp + x, h, w, line);
    for (size_t y = 0; y < h; y++) uniform_filter_line(tmp + y * w, out + y * w, w, 1, line);
}

/* NumPy's pairwise summation (pairwise_sum_DOUBLE): up to 128 values with
 * 8 accumulators, longer runs split in two at a multiple of 8. */
static double pairwise_sum(const double *a, size_t n) {
    if (n < 8) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (size_t k = 0; k < 8; k++) r[k] = a[k];
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (size_t k = 0; k < 8; k++) r[k] += a[i + k];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    size_t half = n / 2 - n / 2 % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

/* skimage's crop(S, 3).mean(dtype=np.float64) of the n cropped values in
 * row-major order. The crop is a strided view, so NumPy copies it through
 * its 8192-value buffers (the default np.setbufsize) and adds up one
 * pairwise sum per buffer. Matching that order makes our SSIM bit for bit
 * skimage's, so the test can tell a real difference from rounding. */
static double numpy_mean(const double *a, size_t n) {
    enum { BUFSIZE = 8192 };
    double s = 0;
    for (size_t i = 0; i < n; i += BUFSIZE)
        s += pairwise_sum(a + i, n - i < BUFSIZE ? n - i : BUFSIZE);
    return s / (double)n;
}

static size_t ssim_ws_count(size_t h, size_t w) {
    return 7 * h * w + (h > w ? h : w) + WIN - 1;
}

/* ws: ssim_ws_count(h, w) doubles. The expressions are skimage's, operation
 * for operation, so the rounding is the same. */
static double ssim_ws(const double *a, const double *b, size_t h, size_t w, double *ws) {
    size_t n = h * w;
    double *ux = ws, *uy = ux + n, *uxx = uy + n, *uyy = uxx + n, *uxy = uyy + n;
    double *prod = uxy + n, *tmp = prod + n, *line = tmp + n;
    uniform_filter(a, ux, h, w, tmp, line);
    uniform_filter(b, uy, h, w, tmp, line);
    for (size_t i = 0; i < n; i++) prod[i] = a[i] * a[i];
    uniform_filter(prod, uxx, h, w, tmp, line);
    for (size_t i = 0; i < n; i++) prod[i] = b[i] * b[i];
    uniform_filter(prod, uyy, h, w, tmp, line);
    for (size_t i = 0; i < n; i++) prod[i] = a[i] * b[i];
    uniform_filter(prod, uxy, h, w, tmp, line);

    const double np = WIN * WIN, cov_norm = np / (np - 1);
    const double c1 = (K1 * DATA_RANGE) * (K1 * DATA_RANGE);
    const double c2 = (K2 * DATA_RANGE) * (K2 * DATA_RANGE);
    double *ssim = prod; // the cropped SSIM image, row-major
    size_t count = 0;
    for (size_t y = RADIUS; y < h - RADIUS; y++) {
        for (size_t x = RADIUS; x < w - RADIUS; x++) {
            size_t i = y * w + x;
            double vx = cov_norm * (uxx[i] - ux[i] * ux[i]);
            double vy = cov_norm * (uyy[i] - uy[i] * uy[i]);
            double vxy = cov_norm * (uxy[i] - ux[i] * uy[i]);
            double a1 = 2 * ux[i] * uy[i] + c1, a2 = 2 * vxy + c2;
            double b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1, b2 = vx + vy + c2;
            ssim[count++] = (a1 * a2) / (b1 * b2);
        }
    }
    return numpy_mean(ssim, count);
}

double similarity_ssim(const double *a, const double *b, int h, int w) {
    if (h < WIN || w < WIN) return NAN;
    size_t uh = (size_t)h, uw = (size_t)w;
    if (uh > SIZE_MAX / sizeof(double) / 8 / uw) return NAN;
    double *ws = malloc(ssim_ws_count(uh, uw) * sizeof *ws);
    if (!ws) return NAN;
    double s = ssim_ws(a, b, uh, uw, ws);
    free(ws);
    return s;
}

/* ---- The maps ---------------------------------------------------------- */

static int refuse_non_finite(const float *m, const char *name, int h, int w, Error *e) {
    size_t n = (size_t)h * (size_t)w * 3;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(m[i]))
            return error_set(e, "similarity: map %s has a non-finite value at row %zu, column %zu, "
                                "channel %zu",
                             name, i / 3 / (size_t)w, i / 3 % (size_t)w, i % 3);
    return 0;
}

/* Per-pixel channel sums of |g| and of g, in double, channel order. */
static void channel_sums(const float *m, size_t n, double *abs_sum, double *sum) {
    for (size_t i = 0; i < n; i++) {
        const float *g = m + 3 * i;
        abs_sum[i] = (double)fabsf(g[0]) + (double)fabsf(g[1]) + (double)fabsf(g[2]);
        sum[i] = (double)g[0] + (double)g[1] + (double)g[2];
    }
}

/* In place, to [0, 1] as (s - min) / (max - min); a constant map to zeros. */
static void minmax_scale(double *s, size_t n) {
    double lo = s[0], hi = s[0];
    for (size_t i = 1; i < n; i++) {
        if (s[i] < lo) lo = s[i];
        if (s[i] > hi) hi = s[i];
    }
    for (size_t i = 0; i < n; i++) s[i] = hi == lo ? 0 : (s[i] - lo) / (hi - lo);
}

int similarity_maps(const float *a, const float *b, int h, int w, Similarity *out, Error *e) {
    if (h < WIN || w < WIN)
        return error_set(e, "similarity: maps are %dx%d, SSIM needs at least %dx%d", h, w, WIN,
                         WIN);
    if (refuse_non_finite(a, "a", h, w, e) != 0 || refuse_non_finite(b, "b", h, w, e) != 0) return -1;

    size_t uh = (size_t)h, uw = (size_t)w, n = uh * uw;
    if (uh > SIZE_MAX / sizeof(double) / 12 / uw)
        return error_set(e, "similarity: %dx%d maps are too large", h, w);
    size_t rest = ssim_ws_count(uh, uw); // >= the 4n Spearman needs
    double *buf = malloc((4 * n + rest) * sizeof *buf);
    if (!buf) return error_set(e, "similarity: out of memory for %dx%d maps", h, w);
    double *abs_a = buf, *abs_b = abs_a + n, *sum_a = abs_b + n, *sum_b = sum_a + n;
    double *ws = sum_b + n;

    channel_sums(a, n, abs_a, sum_a);
    channel_sums(b, n, abs_b, sum_b);
    Similarity s;
    s.spearman_abs = spearman_ws(abs_a, abs_b, n, ws);
    s.spearman = spearman_ws(sum_a, sum_b, n, ws);
    minmax_scale(abs_a, n);
    minmax_scale(abs_b, n);
    s.ssim = ssim_ws(abs_a, abs_b, uh, uw, ws);
    free(buf);
    *out = s;
    return 0;
}
