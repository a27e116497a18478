#include "io/png.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>
#include <zlib.h>

uint32_t png_crc32(uint32_t crc, const unsigned char *p, size_t n) {
    // zlib's crc32 takes an unsigned int length and is many times faster than a byte table.
    for (size_t done = 0; done < n;) {
        unsigned step = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
        crc = (uint32_t)crc32(crc, p + done, step);
        done += step;
    }
    return crc;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A chunk whose data is already in out, from byte `start` (where its length
 * and type were reserved) on: fills in the length and appends the CRC. */
static void end_chunk(Buf *out, size_t start) {
    if (out->failed) return;
    size_t len = out->len - start - 8;
    put32(out->data + start, (uint32_t)len);
    unsigned char crc[4];
    put32(crc, png_crc32(0, out->data + start + 4, len + 4));
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
    end_chunk(out, start);

    start = out->len;
    begin_chunk(out, "IDAT");
    zlib_stored(out, raw, n);
    end_chunk(out, start);
    free(raw);

    start = out->len;
    begin_chunk(out, "IEND");
    end_chunk(out, start);
}

static void to_buf(void *ctx, void *data, int size) { buf_append(ctx, data, (size_t)size); }

/* The signature and IHDR: what every PNG starts with, 8 + 25 bytes. */
enum { PNG_HEAD = 8 + 8 + 13 + 4 };

/* png with the text chunks inserted after its IHDR, into out. */
static void insert_texts(Buf *out, const Buf *png, const PngText *texts, int n) {
    buf_append(out, png->data, PNG_HEAD);
    for (int i = 0; i < n; i++) {
        size_t start = out->len;
        begin_chunk(out, "iTXt");
        // keyword NUL, compression flag 0 and method 0, empty language tag
        // NUL, empty translated keyword NUL, then the text.
        buf_append(out, texts[i].keyword, strlen(texts[i].keyword));
        buf_append(out, "\0\0\0\0\0", 5);
        buf_append(out, texts[i].text, strlen(texts[i].text));
        end_chunk(out, start);
    }
    buf_append(out, png->data + PNG_HEAD, png->len - PNG_HEAD);
}

int png_write(const char *path, const uint8_t *px, int h, int w, int channels, int compress,
              const PngText *texts, int n_texts, Error *e) {
    Buf png = {0}, full = {0};
    int ok = 1;
    if (compress) ok = stbi_write_png_to_func(to_buf, &png, w, h, channels, px, w * channels);
    else png_encode_stored(&png, px, h, w, channels);
    if (ok && !png.failed && n_texts > 0) insert_texts(&full, &png, texts, n_texts);
    const Buf *bytes = n_texts > 0 ? &full : &png;
    if (!ok || png.failed || full.failed) {
        buf_free(&png);
        buf_free(&full);
        return error_set(e, "%s: PNG encoding failed (out of memory)", path);
    }
    int rc = strcmp(path, "-") == 0 ? file_write_stdout(bytes->data, bytes->len, e)
                                     : file_write_atomic(path, bytes->data, bytes->len, e);
    buf_free(&png);
    buf_free(&full);
    return rc;
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One text chunk's data: the keyword and its text when it is tEXt, or iTXt
 * uncompressed; NULL text otherwise. */
static const char *chunk_text(const char *type, char *data, uint32_t len, const char **text) {
    *text = NULL;
    char *nul = memchr(data, '\0', len);
    if (!nul) return NULL;
    if (memcmp(type, "tEXt", 4) == 0) {
        *text = nul + 1;
        return data;
    }
    // iTXt: compression flag, method, language NUL, translated keyword NUL.
    char *end = data + len, *p = nul + 1;
    if (end - p < 2 || p[0] != 0) return NULL;
    p += 2;
    for (int field = 0; field < 2; field++) {
        char *z = memchr(p, '\0', (size_t)(end - p));
        if (!z) return NULL;
        p = z + 1;
    }
    *text = p;
    return data;
}

int png_read_texts(const char *path, const char *const *keywords, int n, char **out, Error *e) {
    for (int k = 0; k < n; k++) out[k] = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    int rc = 0;
    if (fread(head, 1, 8, f) != 8 || memcmp(head, signature, 8) != 0)
        rc = error_set(e, "%s: not a PNG", path);
    while (rc == 0) {
        if (fread(head, 1, 8, f) != 8) {
            rc = error_set(e, "%s: truncated PNG", path);
            break;
        }
        uint32_t len = get32(head);
        char type[5] = {0};
        memcpy(type, head + 4, 4);
        if (strcmp(type, "IDAT") == 0 || strcmp(type, "IEND") == 0) break; // texts come first
        int text = strcmp(type, "tEXt") == 0 || strcmp(type, "iTXt") == 0;
        if (!text || len > PNG_TEXT_MAX) {
            if (len > 0x7FFFFFFFu || fseek(f, (long)len + 4, SEEK_CUR) != 0)
                rc = error_set(e, "%s: bad PNG chunk %s", path, type);
            continue;
        }
        // The chunk's type and data (for the CRC), and a NUL after them.
        char *data = malloc((size_t)len + 5);
        unsigned char crc[4];
        if (!data) {
            rc = error_set(e, "%s: out of memory", path);
        } else if (fread(data + 4, 1, len, f) != len || fread(crc, 1, 4, f) != 4) {
            rc = error_set(e, "%s: truncated PNG", path);
        } else {
            memcpy(data, type, 4);
            data[len + 4] = '\0';
            if (png_crc32(0, (unsigned char *)data, (size_t)len + 4) != get32(crc)) {
                rc = error_set(e, "%s: bad CRC in its %s chunk", path, type);
            } else {
                const char *value, *key = chunk_text(type, data + 4, len, &value);
                for (int k = 0; key && value && k < n; k++)
                    if (!out[k] && strcmp(key, keywords[k]) == 0 &&
                        !(out[k] = strdup(value)))
                        rc = error_set(e, "%s: out of memory", path);
            }
        }
        free(data);
    }
    fclose(f);
    if (rc != 0)
        for (int k = 0; k < n; k++) free(out[k]), out[k] = NULL;
    return rc;
}
