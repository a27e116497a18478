/* weights_cache.h: the golden tests' weights, loaded once per spec (random:0
 * takes a moment to draw) and kept for the whole test program.
 */
#ifndef GUIDEDBP_TEST_WEIGHTS_CACHE_H
#define GUIDEDBP_TEST_WEIGHTS_CACHE_H

#include <stdio.h>
#include <string.h>

#include "nn/weights.h"

enum { WEIGHTS_CACHE_SIZE = 4 };

typedef struct {
    const char *spec[WEIGHTS_CACHE_SIZE];
    Weights w[WEIGHTS_CACHE_SIZE];
} WeightsCache;

/* The weights of spec (a path or random:SEED), loaded on first use; NULL,
 * with the reason printed, when they cannot be loaded or the cache is full. */
static inline const Weights *weights_cached(WeightsCache *c, const char *spec) {
    for (int i = 0; i < WEIGHTS_CACHE_SIZE; i++) {
        if (c->spec[i] && strcmp(c->spec[i], spec) == 0) return &c->w[i];
        if (!c->spec[i]) {
            Error e;
            if (weights_load(&c->w[i], spec, &e) != 0) {
                printf("  %s\n", e.msg);
                return NULL;
            }
            c->spec[i] = spec;
            return &c->w[i];
        }
    }
    printf("  %s: more than %d weights in one test program\n", spec, WEIGHTS_CACHE_SIZE);
    return NULL;
}

static inline void weights_cache_free(WeightsCache *c) {
    for (int i = 0; i < WEIGHTS_CACHE_SIZE; i++)
        if (c->spec[i]) weights_free(&c->w[i]);
}

#endif
