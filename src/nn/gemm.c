#include "nn/gemm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define GEMM_X86 1
#else
#define GEMM_X86 0
#endif

/* For each KC rows of b, its columns (NC at a time) are packed into strips of
 * NR columns, each strip (KC, NR) contiguous (a panel of 256 KB, in L2).
 * Then MR rows of c at a time walk every strip: the block sums of the
 * current KB terms stay in registers, and at the end of each block they are
 * added to the running sums, which live in c itself (the tile of MR x NR
 * floats stays in L1 while its strip is walked); the first block of the
 * first panel adds to the bias (or zeros) instead. Storing a float and
 * loading it again changes no bit, so every element gets exactly the sum
 * gemm.h describes. A strip or row group cut short by the matrix edge is
 * computed full size in a local tile (missing columns read zeros, missing
 * rows repeat the last row) and only its real part copied to c: an element
 * at the edge goes through the same operations as any other. */
enum { NR = 16, KC = 256, KB = GEMM_BLOCK, NC = 256 };
_Static_assert(KC % KB == 0, "a panel holds whole blocks, so blocks start at multiples of KB");

/* Rows [0, kc) and columns [0, nc) of b as strips of NR columns, each strip
 * (kc, NR) contiguous, the last one zero-padded. Row by row, so that b is
 * read in address order (strip by strip was 15-25% slower), and a full
 * strip's row is a copy of constant size, which compiles to vector moves (a
 * memcpy of a variable count is a library call: that pack took a quarter of
 * the time at m = 192). */
static void pack(float *panel, const float *b, int ldb, int kc, int nc) {
    int full = nc / NR, rest = nc % NR;
    for (int p = 0; p < kc; p++) {
        const float *row = b + (size_t)p * ldb;
        float *to = panel + p * NR;
        for (int s = 0; s < full; s++)
            memcpy(to + (size_t)s * kc * NR, row + s * NR, sizeof(float) * NR);
        to += (size_t)full * kc * NR;
        row += full * NR;
        if (rest)
            for (int j = 0; j < NR; j++) to[j] = j < rest ? row[j] : 0.0f;
    }
}

/* One instance per instruction set, with its own vector width W (NR / W
 * vectors make a strip) and number of rows per panel pass MR (as many sums
 * as its registers hold); the arithmetic of every element is the same in
 * each: a product rounded to float, then added (-ffp-contract=off: never a
 * fused multiply-add), so every instance gives the same bits. Vectors are
 * only ever loaded and stored through memcpy, and no function takes one, so
 * each instance keeps its own calling convention.
 *
 * NAME##_tile adds the kc terms of one strip to the tile (MR, NR) at c (row
 * stride ldc), one block at a time: term p of row r is ar[r][p * a_col].
 * The first block's sums are added to the tile at from (row stride ldf: the
 * bias, or c itself when an earlier panel has begun the sums), every later
 * block's to c.
 *
 * NAME: when the terms of a row of a are not contiguous (a_col != 1: the
 * transposed weights of the backward pass), each row group's MR x kc terms
 * are first copied term-major to pa. Read in place, the kc terms of a row
 * group lie a_col floats apart, on kc cache lines that fall into a few L1
 * sets (a_col = 256: 1 KB apart, 4 sets of 64) and are evicted before the
 * next strip needs them again: transposed a ran 15-20% slower than
 * a_col = 1, whose MR rows are MR contiguous runs. */
#define DEFINE_GEMM(NAME, TARGET, MR, W)                                                           \
    TARGET static void NAME##_tile(float *c, int ldc, const float *from, int ldf,                  \
                                   const float *const *ar, int a_col, const float *strip,          \
                                   int kc) {                                                       \
        typedef float V __attribute__((vector_size(W * sizeof(float))));                           \
        enum { S = NR / W };                                                                       \
        for (int pb = 0; pb < kc; pb += KB) {                                                      \
            int pe = kc - pb < KB ? kc : pb + KB;                                                  \
            V acc[MR][S];                                                                          \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < S; v++)                               \
                    acc[r][v] = (V){0};                                                            \
            for (int p = pb; p < pe; p++) {                                                        \
                V bv[S];                                                                           \
                _Pragma("GCC unroll 16") for (int v = 0; v < S; v++)                               \
                    memcpy(&bv[v], strip + p * NR + v * W, sizeof(V));                             \
                size_t at = (size_t)p * a_col;                                                     \
                _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                            \
                    float x = ar[r][at];                                                           \
                    _Pragma("GCC unroll 16") for (int v = 0; v < S; v++)                           \
                        acc[r][v] += x * bv[v];                                                    \
                }                                                                                  \
            }                                                                                      \
            _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < S; v++) {                             \
                    V t;                                                                           \
                    memcpy(&t, from + (size_t)r * ldf + v * W, sizeof t);                          \
                    t += acc[r][v];                                                                \
                    memcpy(c + (size_t)r * ldc + v * W, &t, sizeof t);                             \
                }                                                                                  \
            from = c;                                                                              \
            ldf = ldc;                                                                             \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    TARGET static void NAME(float *c, int ldc, const float *a, int a_row, int a_col,               \
                            const float *b, int ldb, const float *bias, int m, int n, int k) {     \
        float panel[KC * NC] __attribute__((aligned(64)));                                         \
        float pa[KC * MR];                                                                         \
        for (int j00 = 0; j00 < n; j00 += NC) {                                                    \
            int nc = n - j00 < NC ? n - j00 : NC;                                                  \
            for (int p0 = 0; p0 < k; p0 += KC) {                                                   \
                int kc = k - p0 < KC ? k - p0 : KC;                                                \
                pack(panel, b + (size_t)p0 * ldb + j00, ldb, kc, nc);                              \
                for (int i0 = 0; i0 < m; i0 += MR) {                                               \
                    int mr = m - i0 < MR ? m - i0 : MR;                                            \
                    const float *ar[MR];                                                           \
                    float start[MR][NR];                                                           \
                    for (int r = 0; r < MR; r++) {                                                 \
                        int i = i0 + (r < mr ? r : mr - 1);                                        \
                        ar[r] = a + (size_t)i * a_row + (size_t)p0 * a_col;                        \
                        for (int j = 0; j < NR; j++) start[r][j] = bias ? bias[i] : 0.0f;          \
                    }                                                                              \
                    int ac = a_col;                                                                \
                    if (a_col != 1) {                                                              \
                        for (int p = 0; p < kc; p++) {                                             \
                            float *to = pa + p * MR;                                               \
                            size_t at = (size_t)p * a_col;                                         \
                            if (a_row == 1 && mr == MR) /* the MR terms are adjacent in a */       \
                                memcpy(to, ar[0] + at, sizeof(float) * MR);                        \
                            else                                                                   \
                                for (int r = 0; r < MR; r++) to[r] = ar[r][at];                    \
                        }                                                                          \
                        for (int r = 0; r < MR; r++) ar[r] = pa + r;                               \
                        ac = MR;                                                                   \
                    }                                                                              \
                    for (int j0 = 0; j0 < nc; j0 += NR) {                                          \
                        int nr = nc - j0 < NR ? nc - j0 : NR;                                      \
                        const float *strip = panel + (size_t)j0 * kc;                              \
                        float *cj = c + (size_t)i0 * ldc + j00 + j0;                               \
                        if (mr == MR && nr == NR) {                                                \
                            const float *from = p0 == 0 ? start[0] : cj;                           \
                            NAME##_tile(cj, ldc, from, p0 == 0 ? NR : ldc, ar, ac, strip, kc);     \
                            continue;                                                              \
                        }                                                                          \
                        float edge[MR][NR] = {{0}};                                                \
                        if (p0 > 0)                                                                \
                            for (int r = 0; r < mr; r++)                                           \
                                memcpy(edge[r], cj + (size_t)r * ldc, sizeof(float) * nr);         \
                        const float *from = p0 == 0 ? start[0] : edge[0];                          \
                        NAME##_tile(edge[0], NR, from, NR, ar, ac, strip, kc);                     \
                        for (int r = 0; r < mr; r++)                                               \
                            memcpy(cj + (size_t)r * ldc, edge[r], sizeof(float) * nr);             \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_GEMM(gemm_sse2, , 2, 4)
#if GEMM_X86
DEFINE_GEMM(gemm_avx2, __attribute__((target("avx2"))), 6, 8)
DEFINE_GEMM(gemm_avx512, __attribute__((target("avx512f"))), 12, 16)
#endif

const char *const gemm_isa_names[] = {"sse2", "avx2", "avx512"};
_Static_assert(sizeof gemm_isa_names / sizeof *gemm_isa_names == GEMM_ISAS, "a name for each value");

int gemm_isa_supported(GemmIsa isa) {
#if GEMM_X86
    switch (isa) {
    case GEMM_SSE2: return 1;
    case GEMM_AVX2: return __builtin_cpu_supports("avx2");
    case GEMM_AVX512: return __builtin_cpu_supports("avx512f");
    case GEMM_ISAS: break;
    }
    return 0;
#else
    return isa == GEMM_SSE2;
#endif
}

GemmIsa gemm_isa_best(void) {
    for (int i = GEMM_ISAS - 1; i > 0; i--)
        if (gemm_isa_supported((GemmIsa)i)) return (GemmIsa)i;
    return GEMM_SSE2;
}

int gemm_isa_parse(const char *name, GemmIsa *isa) {
    for (int i = 0; i < GEMM_ISAS; i++)
        if (strcmp(name, gemm_isa_names[i]) == 0) {
            *isa = (GemmIsa)i;
            return gemm_isa_supported(*isa) ? 0 : -1;
        }
    return -1;
}

int gemm_isa_from_env(GemmIsa *isa) {
    const char *name = getenv(GEMM_ISA_ENV);
    *isa = gemm_isa_best();
    return name && *name ? gemm_isa_parse(name, isa) : 0;
}

void gemm(GemmIsa isa, float *c, int ldc, const float *a, int a_row, int a_col, const float *b,
          int ldb, const float *bias, int m, int n, int k) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { // no terms: every element is its starting sum
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = bias ? bias[i] : 0.0f;
        return;
    }
#if GEMM_X86
    if (isa == GEMM_AVX512) {
        gemm_avx512(c, ldc, a, a_row, a_col, b, ldb, bias, m, n, k);
        return;
    }
    if (isa == GEMM_AVX2) {
        gemm_avx2(c, ldc, a, a_row, a_col, b, ldb, bias, m, n, k);
        return;
    }
#endif
    gemm_sse2(c, ldc, a, a_row, a_col, b, ldb, bias, m, n, k);
}
