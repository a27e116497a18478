/* Identical im2col columns must give identical bits, in both directions of
 * every convolution layer guidedbp runs, with the instruction set that
 * GUIDEDBP_ISA names (test/run.sh runs the suite under each one the CPU
 * has); and every instruction set must give the same bits. Max pooling breaks PyTorch's exact ties by the first maximum: on
 * a flat image region every window ties, and a last-bit difference between
 * two equal columns picks another maximum and moves the map (with
 * OpenBLAS's Zen kernels, a two-colour image's map had cosine 0.4 with
 * PyTorch's; every OpenBLAS core this AMD EPYC runs failed this test).
 *
 * Inputs: a flat image (each channel one value), an image of flat regions
 * (two values per channel, split along rectangles and a diagonal), and a
 * photo-like image with flat patches. Forward: outputs of one channel whose
 * im2col columns are equal bit for bit must be equal bit for bit. Backward:
 * dx pixels of one channel that sum the same taps (kh, kw) of equal dy
 * columns, in col2im's order, must be equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/conv.h"
#include "nn/im2col.h"
#include "util/rng.h"
#include "test.h"

static GemmIsa isa; // GUIDEDBP_ISA, else the fastest
static uint64_t draws;
static float frand(void) { return (float)(2.0 * rng_uniform(7, draws++) - 1.0); }

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}
static const uint64_t fnv_start = UINT64_C(0xcbf29ce484222325);

typedef enum { FLAT, REGIONS, PATCHES } Pattern;
static const char *const pattern_names[] = {"flat", "regions", "patches"};

/* Fills x (c, h, w) with the pattern: per channel values drawn once. */
static void fill(float *x, int c, int h, int w, Pattern p) {
    for (int ch = 0; ch < c; ch++) {
        float a = frand(), b = frand();
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float v = a;
                if (p == REGIONS) v = (i < h / 3 || j > 2 * w / 3 || i + j > h) ? b : a;
                if (p == PATCHES) v = ((i / 8 + j / 8) % 3 == 0) ? a : frand();
                x[((size_t)ch * h + i) * w + j] = v;
            }
    }
}

/* Hash of each column of col (rows, n). */
static void column_hashes(uint64_t *hash, const float *col, int rows, int n) {
    for (int j = 0; j < n; j++) hash[j] = fnv_start;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) hash[j] = fnv(hash[j], col + (size_t)r * n + j, sizeof(float));
}

typedef struct {
    uint64_t key;
    int index;
} Keyed;
static int by_key(const void *a, const void *b) {
    const Keyed *p = a, *q = b;
    return p->key != q->key ? (p->key < q->key ? -1 : 1) : p->index - q->index;
}

/* Counts values of plane (n per channel, c channels) that differ from the
 * first value of their class (equal key) in the same channel. */
static long count_unequal(const float *plane, int c, int n, const uint64_t *key) {
    Keyed *k = malloc(sizeof(Keyed) * n);
    int *first = malloc(sizeof(int) * n);
    for (int j = 0; j < n; j++) k[j] = (Keyed){key[j], j};
    qsort(k, n, sizeof *k, by_key);
    for (int j = 0; j < n; j++)
        first[k[j].index] = j > 0 && k[j - 1].key == k[j].key ? first[k[j - 1].index] : k[j].index;
    long bad = 0;
    for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < n; j++)
            if (memcmp(&plane[(size_t)ch * n + j], &plane[(size_t)ch * n + first[j]], sizeof(float)))
                bad++;
    free(k), free(first);
    return bad;
}

/* The signature of dx pixel (y, x): the taps that reach it, in col2im's
 * order, with the class of the dy column each one reads. */
static uint64_t dx_signature(const ConvShape *s, const uint64_t *dy_class, int y, int x) {
    uint64_t h = fnv_start;
    for (int kh = 0; kh < s->k; kh++)
        for (int kw = 0; kw < s->k; kw++) {
            int ty = y + s->pad - kh, tx = x + s->pad - kw;
            if (ty < 0 || tx < 0 || ty % s->stride || tx % s->stride) continue;
            int oy = ty / s->stride, ox = tx / s->stride;
            if (oy >= s->out_h || ox >= s->out_w) continue;
            int tap[2] = {kh, kw};
            h = fnv(h, tap, sizeof tap);
            h = fnv(h, &dy_class[(size_t)oy * s->out_w + ox], sizeof(uint64_t));
        }
    return h;
}

typedef struct {
    const char *name;
    int in_c, size, out_c, k, stride, pad;
} Layer;

/* AlexNet's five convolutions at their real sizes; VGG's shapes (every
 * channel count and kernel) at 56x56, where they make the same kinds of
 * GEMM tiles as at 224 (full and partial column tiles, every K). */
static const Layer layers[] = {
    {"alexnet.features.0", 3, 224, 64, 11, 4, 2},
    {"alexnet.features.3", 64, 27, 192, 5, 1, 2},
    {"alexnet.features.6", 192, 13, 384, 3, 1, 1},
    {"alexnet.features.8", 384, 13, 256, 3, 1, 1},
    {"alexnet.features.10", 256, 13, 256, 3, 1, 1},
    {"vgg.conv3-64 (first)", 3, 56, 64, 3, 1, 1},
    {"vgg.conv3-64", 64, 56, 64, 3, 1, 1},
    {"vgg.conv3-128", 64, 56, 128, 3, 1, 1},
    {"vgg.conv3-256", 128, 28, 256, 3, 1, 1},
    {"vgg.conv3-512", 256, 14, 512, 3, 1, 1},
    {"vgg.conv3-512 (deep)", 512, 14, 512, 3, 1, 1},
    {"vgg.conv3-512 (7x7)", 512, 7, 512, 3, 1, 1},
};

static void check_layer(const Layer *L, Pattern p, int threads) {
    ConvShape s = {L->in_c, L->size, L->size, L->out_c, 0, 0, L->k, L->stride, L->pad};
    CHECK(conv_shape_init(&s) == 0);
    int n = s.out_h * s.out_w, rows = s.in_c * s.k * s.k;
    size_t in_n = (size_t)s.in_c * s.in_h * s.in_w, out_n = (size_t)s.out_c * n;
    float *x = malloc(sizeof(float) * in_n), *y = malloc(sizeof(float) * out_n);
    float *w = malloc(sizeof(float) * s.out_c * rows), *b = malloc(sizeof(float) * s.out_c);
    float *col = malloc(sizeof(float) * conv_col_size(&s)), *cols = malloc(sizeof(float) * rows * n);
    float *dy = malloc(sizeof(float) * out_n), *dx = malloc(sizeof(float) * in_n);
    uint64_t *key = malloc(sizeof(uint64_t) * (n > s.in_h * s.in_w ? n : s.in_h * s.in_w));
    uint64_t *dy_class = malloc(sizeof(uint64_t) * n);
    for (int i = 0; i < s.out_c * rows; i++) w[i] = frand() * 0.1f;
    for (int i = 0; i < s.out_c; i++) b[i] = frand();

    // Forward.
    fill(x, s.in_c, s.in_h, s.in_w, p);
    conv2d_forward(y, x, w, b, &s, col, isa, threads);
    im2col(cols, x, &s, 0, rows);
    column_hashes(key, cols, rows, n);
    long bad = count_unequal(y, s.out_c, n, key);
    CHECK_MSG(bad == 0, "%s, %s input, forward: %ld of %zu outputs differ from an output of an "
              "identical column", L->name, pattern_names[p], bad, out_n);

    // Backward: dy with the same pattern, over the output grid.
    fill(dy, s.out_c, s.out_h, s.out_w, p);
    conv2d_backward_input(dx, dy, w, &s, col, isa, threads);
    column_hashes(dy_class, dy, s.out_c, n);
    for (int i = 0; i < s.in_h; i++)
        for (int j = 0; j < s.in_w; j++) key[i * s.in_w + j] = dx_signature(&s, dy_class, i, j);
    bad = count_unequal(dx, s.in_c, s.in_h * s.in_w, key);
    CHECK_MSG(bad == 0, "%s, %s gradient, backward: %ld of %zu input gradients differ from one "
              "summing identical columns", L->name, pattern_names[p], bad, in_n);
    free(x), free(y), free(w), free(b), free(col), free(cols), free(dy), free(dx), free(key);
    free(dy_class);
}

static void test_equal_columns_equal_bits(void) {
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        for (Pattern p = FLAT; p <= PATCHES; p++) check_layer(&layers[i], p, 2);
}

/* Every instruction set this CPU has gives gemm's bits exactly: the same
 * products and sums in the same order, only wider vectors. Odd sizes, so
 * partial strips and row groups, both layouts of a, bias and none. */
static void test_instruction_sets_give_the_same_bits(void) {
    enum { M = 37, N = 75, K = 700 };
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *bias = malloc(sizeof(float) * M), *ref = malloc(sizeof(float) * M * N);
    float *c = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) a[i] = frand();
    for (int i = 0; i < K * N; i++) b[i] = frand();
    for (int i = 0; i < M; i++) bias[i] = frand();
    for (int transposed = 0; transposed < 2; transposed++) {
        int a_row = transposed ? 1 : K, a_col = transposed ? M : 1;
        gemm(GEMM_SSE2, ref, N, a, a_row, a_col, b, N, transposed ? NULL : bias, M, N, K);
        for (int i = GEMM_SSE2 + 1; i < GEMM_ISAS; i++) {
            if (!gemm_isa_supported((GemmIsa)i)) continue;
            gemm((GemmIsa)i, c, N, a, a_row, a_col, b, N, transposed ? NULL : bias, M, N, K);
            CHECK_MSG(memcmp(c, ref, sizeof(float) * M * N) == 0, "%s differs from sse2%s",
                      gemm_isa_names[i], transposed ? " (a transposed)" : "");
        }
    }
    free(a), free(b), free(bias), free(ref), free(c);
}

int main(void) {
    if (gemm_isa_from_env(&isa) != 0) return 2;
    printf("# gemm: %s\n", gemm_isa_names[isa]);
    RUN(test_equal_columns_equal_bits);
    RUN(test_instruction_sets_give_the_same_bits);
    return test_summary();
}
