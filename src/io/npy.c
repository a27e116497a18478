#include "io/npy.h"

#include <stdio.h>
#include <string.h>

#include "io/fileio.h"

int npy_write(const char *path, const float *data, int h, int w, int channels, Error *e) {
    // Header: magic, version 1.0, little-endian length, then a Python dict
    // literal padded with spaces and a newline to a multiple of 64 bytes.
    char dict[128], shape[64];
    if (channels == 1) snprintf(shape, sizeof shape, "(%d, %d)", h, w);
    else snprintf(shape, sizeof shape, "(%d, %d, %d)", h, w, channels);
    int dict_len = snprintf(dict, sizeof dict,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    size_t header = 10 + (size_t)dict_len + 1;
    size_t padded = (header + 63) / 64 * 64;
    unsigned char head[256];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)((padded - 10) & 0xff);
    head[9] = (unsigned char)((padded - 10) >> 8);
    memcpy(head + 10, dict, (size_t)dict_len);
    memset(head + 10 + dict_len, ' ', padded - header);
    head[padded - 1] = '\n';

    size_t bytes = (size_t)h * w * channels * sizeof(float);
    Buf npy = {0};
    buf_append(&npy, head, padded);
    buf_append(&npy, data, bytes); // x86-64 and aarch64 are little-endian, as '<f4' says
    if (npy.failed) {
        buf_free(&npy);
        return error_set(e, "%s: out of memory", path);
    }
    int rc = file_write_atomic(path, npy.data, npy.len, e);
    buf_free(&npy);
    return rc;
}
