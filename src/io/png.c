#include "io/png.h"

#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

void png_crc_table(uint32_t table[256]) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

uint32_t png_crc32(const uint32_t table[256], uint32_t crc, const unsigned char *p, size_t n) {
    crc ^= 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A chunk whose data is already in out, from byte `start` (where its length
 * and type were reserved) on: fills in the length and appends the CRC. */
static void end_chunk(Buf *out, size_t start, const uint32_t table[256]) {
    if (out->failed) return;
    size_t len = out->len - start - 8;
    put32(out->data + start, (uint32_t)len);
    unsigned char crc[4];
    put32(crc, png_crc32(table, 0, out->data + start + 4, len + 4));
    buf_append(out, crc, 4);
}

static void begin_chunk(Buf *out, const char *type) {
    unsigned char head[8] = {0};
    memcpy(head + 4, type, 4);
    buf_append(out, head, 8);
}

/* IDAT's zlib stream: header (deflate, 32K window, no preset dictionary,
 * FCHECK making it a multiple of 31), raw[0..n) in stored blocks of at most
 * 65535 bytes, and the Adler-32 of raw. */
static void zlib_stored(Buf *out, const uint8_t *raw, size_t n) {
    buf_append(out, "\x78\x01", 2);
    size_t at = 0;
    do {
        size_t len = n - at < 65535 ? n - at : 65535;
        unsigned char head[5] = {at + len == n, (unsigned char)len, (unsigned char)(len >> 8),
                                 (unsigned char)~len, (unsigned char)(~len >> 8)};
        buf_append(out, head, 5);
        buf_append(out, raw + at, len);
        at += len;
    } while (at < n);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n;) {
        // b fits 32 bits for 5552 bytes between reductions (zlib's NMAX).
        size_t end = n - i < 5552 ? n : i + 5552;
        for (; i < end; i++) a += raw[i], b += a;
        a %= 65521, b %= 65521;
    }
    unsigned char adler[4];
    put32(adler, b << 16 | a);
    buf_append(out, adler, 4);
}

void png_encode_stored(Buf *out, const uint8_t *px, int h, int w, int channels) {
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint32_t table[256];
    png_crc_table(table);
    // The image data: each row, filter type 0 (none), then its samples.
    size_t row = (size_t)w * channels, n = (size_t)h * (row + 1);
    uint8_t *raw = malloc(n);
    if (!raw) {
        out->failed = 1;
        return;
    }
    for (size_t y = 0; y < (size_t)h; y++) {
        raw[y * (row + 1)] = 0;
        memcpy(raw + y * (row + 1) + 1, px + y * row, row);
    }
    buf_append(out, signature, 8);

    size_t start = out->len;
    begin_chunk(out, "IHDR");
    unsigned char ihdr[13] = {0};
    put32(ihdr, (uint32_t)w), put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;                     // bits per sample
    ihdr[9] = channels == 1 ? 0 : 2; // grey or RGB; compression, filter, interlace 0
    buf_append(out, ihdr, sizeof ihdr);
    end_chunk(out, start, table);

    start = out->len;
    begin_chunk(out, "IDAT");
    zlib_stored(out, raw, n);
    end_chunk(out, start, table);
    free(raw);

    start = out->len;
    begin_chunk(out, "IEND");
    end_chunk(out, start, table);
}

static void to_buf(void *ctx, void *data, int size) { buf_append(ctx, data, (size_t)size); }

int png_write(const char *path, const uint8_t *px, int h, int w, int channels,
                          int compress, Error *e) {
    Buf png = {0};
    int ok = 1;
    if (compress) ok = stbi_write_png_to_func(to_buf, &png, w, h, channels, px, w * channels);
    else png_encode_stored(&png, px, h, w, channels);
    if (!ok || png.failed) {
        buf_free(&png);
        return error_set(e, "%s: PNG encoding failed (out of memory)", path);
    }
    int rc = strcmp(path, "-") == 0 ? file_write_stdout(png.data, png.len, e)
                                     : file_write_atomic(path, png.data, png.len, e);
    buf_free(&png);
    return rc;
}
