/* npy.h: a float32 map as a NumPy .npy file (format 1.0, '<f4', C order),
 * what --npy writes and numpy.load reads. */
#ifndef GUIDEDBP_NPY_H
#define GUIDEDBP_NPY_H

#include "util/error.h"

/* Writes data (h, w, channels), shaped (h, w) when channels is 1,
 * atomically (fileio.h). */
int npy_write(const char *path, const float *data, int h, int w, int channels, Error *e);

#endif
