/* safetensors.h: reads F32 tensors from a .safetensors file, zero-copy.
 *
 * The format (https://github.com/huggingface/safetensors):
 *   8 bytes   N, unsigned 64-bit little-endian: the header length
 *   N bytes   UTF-8 JSON object, possibly padded with trailing spaces:
 *               { "__metadata__": { "key": "value", ... },        (optional)
 *                 "name": { "dtype": "F32", "shape": [64, 3, 11, 11],
 *                           "data_offsets": [BEGIN, END] }, ... }
 *   the rest  the data region; BEGIN/END are byte offsets into it (END one
 *             past the last byte), little-endian, row-major, no strides.
 *
 *     SafeTensors st = {0};
 *     Error err = {0};
 *     if (safetensors_open(&st, "weights/alexnet.safetensors", &err) != 0) ...
 *     const StTensor *w = safetensors_get(&st, "features.0.weight");
 *     ... w->data[0 .. w->count) ...
 *     safetensors_close(&st);
 *
 * The file is mapped read-only; tensor data points into the mapping, so the
 * file must not be truncated or rewritten while it is open. When the data
 * region is not 4-byte aligned in the file (8 + N not a multiple of 4) it is
 * copied once into an aligned buffer and the mapping is released.
 *
 * The loader trusts nothing in the file: it refuses (returns -1 and says
 * what is wrong, naming the file) a header length that is 0, runs past the
 * file or exceeds SAFETENSORS_MAX_HEADER; a header that is not a UTF-8 JSON
 * object or holds a NUL (raw or \u0000); a __metadata__ that is not an
 * object of strings; a tensor entry without exactly dtype, shape and
 * data_offsets; any dtype but F32; a shape that is not at most
 * SAFETENSORS_MAX_DIMS integers in [0, 2^53) or whose product overflows;
 * data_offsets outside the data region or not matching the shape; duplicate
 * keys; names that are empty or longer than SAFETENSORS_MAX_NAME; and
 * tensors that overlap, leave a hole, or leave trailing bytes in the data
 * region. Little-endian hosts only.
 */
#ifndef GUIDEDBP_SAFETENSORS_H
#define GUIDEDBP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define SAFETENSORS_MAX_DIMS 8
/* The reference implementation's limit: bigger headers are refused before
 * they are parsed. */
#define SAFETENSORS_MAX_HEADER 100000000u
/* Longest tensor name, in bytes; state_dict keys are a few dozen. */
#define SAFETENSORS_MAX_NAME 1024

typedef struct {
    char *name;                          // owned by the SafeTensors
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t count;                        // product of shape (1 for a scalar)
    const float *data;                   // count floats: into the mapping, or an
                                         // aligned copy; NULL when count is 0
} StTensor;

typedef struct {
    const char *key, *value;             // owned by the SafeTensors
} StMetadata;

typedef struct {
    int n_tensors;
    StTensor *tensors;                   // (n_tensors), in header order

    /* The rest is the reader's own; read it, don't change it. */
    int n_metadata;
    StMetadata *metadata;                // (n_metadata), sorted by key
    StTensor **by_name;                  // (n_tensors) sorted by name
    char *strings;                       // every name, key and value
    void *map;                           // the whole file, or NULL once copied
    size_t map_size;
    float *data_copy;                    // the aligned copy, or NULL
} SafeTensors;

/* Opens, maps and validates the file at path. On success st owns the mapping
 * and every string; on failure st is zeroed, nothing is leaked, and e (may be
 * NULL) says what is wrong. st need not be initialized. */
int safetensors_open(SafeTensors *st, const char *path, Error *e);

/* The tensor called name, or NULL. Valid until safetensors_close. */
const StTensor *safetensors_get(const SafeTensors *st, const char *name);

/* The string value of key in __metadata__, or NULL. Valid until close. */
const char *safetensors_metadata(const SafeTensors *st, const char *key);

/* Releases everything st owns and zeroes it; accepts NULL and a zeroed or
 * already closed struct. Pointers obtained from st are invalid afterwards. */
void safetensors_close(SafeTensors *st);

#endif
