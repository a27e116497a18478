/* isa.h: the instruction set a test runs gemm with: GUIDEDBP_ISA, which
 * test/run.sh sets to each one this CPU has in turn, else the fastest (what
 * the command line does, main.c). */
#ifndef GUIDEDBP_TEST_ISA_H
#define GUIDEDBP_TEST_ISA_H

#include <stdio.h>

#include "nn/gemm.h"

static inline GemmIsa test_isa(void) {
    GemmIsa isa;
    if (gemm_isa_from_env(&isa) == 0) return isa;
    printf("  " GEMM_ISA_ENV " names no instruction set this CPU has; using %s\n",
           gemm_isa_names[gemm_isa_best()]);
    return gemm_isa_best();
}

#endif
