/* gemm.h: the matrix product behind every convolution, with one summation
 * order for every output element.
 *
 *   c (m, n) = bias + a (m, k) . b (k, n)        row-major, float32
 *
 * Element (i, j) is always computed as
 *   s = bias[i] (or 0 without bias)
 *   for each block of GEMM_BLOCK terms, p = q .. q+63 (q = 0, 64, 128 ...):
 *       t = 0; for p in the block, in order: t = t + a(i,p) * b(p,j)
 *       s = s + t
 * each product rounded to float before it is added (never a fused
 * multiply-add). Nothing else enters: not the position of (i, j) in the
 * matrix or in a tile, not m, n, the tiling or the thread that runs it. So
 * two equal columns of b give bit-identical columns of c: max pooling's
 * exact ties in flat image regions stay ties, as in exact arithmetic, and
 * PyTorch's first-maximum rule picks what it picks in float64.
 *
 * Blocks, not one running sum: the rounding error of a block sum grows with
 * 64 + k/64 terms instead of k, and a max-pool near-tie is decided by that
 * error. Integrated gradients' 16 steps on the test model, each against
 * float64 PyTorch: one running sum took the wrong maximum somewhere in 1 of
 * the 16 (9% of the map off), fused multiply-adds in 2, blocks of 128 or 256
 * in 1, blocks of 64 in none (all within 3.3e-7).
 *
 * Why not OpenBLAS's sgemm: its kernels compute some columns of a block with
 * other code than the rest (Haswell/Zen's first and last 8 columns of a
 * 12-row block keep two partial sums, for even and odd p, and every kernel
 * has its own code for the columns left over from its unrolling). Measured
 * with Debian's 0.3.21 under each of the eleven cores an AMD EPYC runs,
 * Prescott to Zen: equal im2col columns came out a last bit apart in every
 * one (test/test_conv_bits.c), so a flat region's max-pool choices, and the
 * map, depended on where the region lay.
 *
 * Nor the instruction set: GEMM_SSE2, GEMM_AVX2 and GEMM_AVX512 differ only
 * in vector width and speed, so the bits are the same on every x86-64 CPU.
 *
 * a(i, p) is a[i * a_row + p * a_col], so a may be a weight matrix (OC, K)
 * (a_row K, a_col 1) or its transpose (a_row 1, a_col K). b and c have row
 * strides ldb and ldc. Single-threaded; callers split the work (conv.c).
 * Never allocates (about 260 KB of stack).
 */
#ifndef GUIDEDBP_GEMM_H
#define GUIDEDBP_GEMM_H

enum { GEMM_BLOCK = 64 };

typedef enum { GEMM_SSE2, GEMM_AVX2, GEMM_AVX512, GEMM_ISAS } GemmIsa;
extern const char *const gemm_isa_names[GEMM_ISAS];

/* The environment variable that restricts the choice (tests run the suite
 * under each instruction set the CPU has). */
#define GEMM_ISA_ENV "GUIDEDBP_ISA"

int gemm_isa_supported(GemmIsa isa);
/* The fastest instruction set this CPU has. */
GemmIsa gemm_isa_best(void);
/* The instruction set called `name`; -1 when there is none by that name or
 * this CPU does not have it. */
int gemm_isa_parse(const char *name, GemmIsa *isa);
/* The one GUIDEDBP_ISA names, else the fastest; -1 when GUIDEDBP_ISA names
 * none this CPU has. */
int gemm_isa_from_env(GemmIsa *isa);

void gemm(GemmIsa isa, float *c, int ldc, const float *a, int a_row, int a_col, const float *b,
          int ldb, const float *bias, int m, int n, int k);

#endif
