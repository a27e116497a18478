#include "saliency.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <stb_image_write.h>

#include "fileio.h"

void saliency_chw_to_hwc(float *hwc, const float *chw, int h, int w) {
    size_t plane = (size_t)h * w;
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < 3; c++) hwc[p * 3 + c] = chw[c * plane + p];
}

int saliency_to_rgb8(uint8_t *rgb, const float *hwc, int h, int w) {
    size_t n = (size_t)h * w * 3;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += hwc[i];
    double mean = sum / (double)n, var = 0.0;
    for (size_t i = 0; i < n; i++) var += ((double)hwc[i] - mean) * ((double)hwc[i] - mean);
    double std = sqrt(var / (double)n);
    if (!(std > 0.0) || !isfinite(std)) {
        memset(rgb, 128, n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        double v = ((double)hwc[i] - mean) / std * 0.1 + 0.5;
        v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
        rgb[i] = (uint8_t)rint(v * 255.0);
    }
    return 0;
}

static void to_buf(void *ctx, void *data, int size) { buf_append(ctx, data, (size_t)size); }

int saliency_write_png(const char *path, const uint8_t *rgb, int h, int w, Error *e) {
    Buf png = {0};
    int ok = stbi_write_png_to_func(to_buf, &png, w, h, 3, rgb, w * 3);
    if (!ok || png.failed) {
        buf_free(&png);
        return error_set(e, "%s: PNG encoding failed (out of memory)", path);
    }
    int rc = file_write_atomic(path, png.data, png.len, e);
    buf_free(&png);
    return rc;
}

int saliency_write_npy(const char *path, const float *hwc, int h, int w, Error *e) {
    // Header: magic, version 1.0, little-endian length, then a Python dict
    // literal padded with spaces and a newline to a multiple of 64 bytes.
    char dict[128];
    int dict_len = snprintf(dict, sizeof dict,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, 3), }", h,
                            w);
    size_t header = 10 + (size_t)dict_len + 1;
    size_t padded = (header + 63) / 64 * 64;
    unsigned char head[256];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)((padded - 10) & 0xff);
    head[9] = (unsigned char)((padded - 10) >> 8);
    memcpy(head + 10, dict, (size_t)dict_len);
    memset(head + 10 + dict_len, ' ', padded - header);
    head[padded - 1] = '\n';

    size_t data = (size_t)h * w * 3 * sizeof(float);
    Buf npy = {0};
    buf_append(&npy, head, padded);
    buf_append(&npy, hwc, data); // x86-64 and aarch64 are little-endian, as '<f4' says
    if (npy.failed) {
        buf_free(&npy);
        return error_set(e, "%s: out of memory", path);
    }
    int rc = file_write_atomic(path, npy.data, npy.len, e);
    buf_free(&npy);
    return rc;
}
