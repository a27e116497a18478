/* npy.h: float32 maps as NumPy .npy files (format 1.0, '<f4', C order):
 * what --npy writes and numpy.load reads, and the reader that
 * `guidedbp compare` uses to hold a map to its golden.
 *
 *     NpyArray a = {0};
 *     if (npy_array_load("golden.npy", &a, &err) != 0) ...; // a.shape[0..ndim), a.data
 *     npy_array_free(&a);
 *
 * The format (numpy.lib.format): the magic "\x93NUMPY", the version (two
 * bytes, 1 and 0), the header's length (uint16, little-endian), the header,
 * a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (224, 224, 3), }
 * padded with spaces and ended by a newline, then the values in C order.
 * The reader trusts none of it: it takes version 1.0 only, exactly the keys
 * descr ('<f4' only), fortran_order (False only) and shape (at most
 * NPY_MAX_DIMS whole numbers), each once, and a file of at most
 * NPY_MAX_FILE_BYTES whose data is exactly what the shape needs; the
 * allocation is the file's size, checked before it is made.
 */
#ifndef GUIDEDBP_NPY_H
#define GUIDEDBP_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Writes data (h, w, channels), shaped (h, w) when channels is 1,
 * atomically (fileio.h). */
int npy_write(const char *path, const float *data, int h, int w, int channels, Error *e);

/* The reader's limits: a map is (224, 224, 3), 600 KB, or with --crop none
 * at most (224, 1792, 3), 4.8 MB; numpy itself refuses headers over 10000
 * bytes. */
enum { NPY_MAX_DIMS = 3, NPY_MAX_FILE_BYTES = 256 << 20, NPY_MAX_HEADER = 10000 };

typedef struct {
    int ndim;                     // 0 (a scalar) to NPY_MAX_DIMS
    int64_t shape[NPY_MAX_DIMS];  // shape[0..ndim)
    size_t count;                 // the product of the shape (1 for a scalar)
    float *data;                  // (count) in C order; owned, npy_array_free releases it
} NpyArray;

/* Reads the .npy file at path into a (zeroed first); 0, or -1 with e naming
 * the file and what is wrong, and a all zero. A FIFO or device is refused
 * without blocking. */
int npy_array_load(const char *path, NpyArray *a, Error *e);
/* The same from size bytes in memory; name is only used in messages. */
int npy_array_decode(const unsigned char *bytes, size_t size, const char *name, NpyArray *a,
                     Error *e);
/* Releases the data and zeroes a; NULL and zeroed arrays are fine. */
void npy_array_free(NpyArray *a);

/* a's shape as numpy prints it, "(224, 224, 3)", "(5,)", "()", into out. */
void npy_shape_text(const NpyArray *a, char *out, size_t len);

#endif
