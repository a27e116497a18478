/* files.h: reading the fixtures the tests compare against, and the measure
 * they compare with.
 *
 * slurp reads a whole file as a NUL-terminated string (NULL if it cannot);
 * npy_load reads a little-endian float32 C-order .npy holding exactly
 * `count` values (NULL otherwise). The caller frees both. max_rel is the
 * largest |ours - ref| over the largest |ref| (the absolute error when ref
 * is all zero), in double.
 */
#ifndef GUIDEDBP_TEST_FILES_H
#define GUIDEDBP_TEST_FILES_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *slurp(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static inline float *npy_load(const char *path, size_t count) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return NULL;
    unsigned char head[10];
    float *data = NULL;
    if (fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY\x01\x00", 8) == 0) {
        size_t hlen = head[8] | (size_t)head[9] << 8;
        char dict[1024] = {0};
        if (hlen < sizeof dict && fread(dict, 1, hlen, f) == hlen && strstr(dict, "'<f4'") &&
            strstr(dict, "'fortran_order': False")) {
            data = malloc(count * sizeof *data);
            if (data && (fread(data, sizeof *data, count, f) != count || fgetc(f) != EOF)) {
                free(data);
                data = NULL;
            }
        }
    }
    fclose(f);
    return data;
}

static inline double max_rel(const float *ours, const float *ref, size_t n) {
    double err = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)ours[i] - ref[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    return mag > 0 ? err / mag : err;
}

#endif
