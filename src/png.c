#include "png.h"

#include <string.h>

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

void png_encode_stored(Buf *out, const uint8_t *px, int h, int w, int channels) {
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint32_t table[256];
    png_crc_table(table);
    buf_append(out, signature, 8);

    size_t start = out->len;
    begin_chunk(out, "IHDR");
    unsigned char ihdr[13] = {0};
    put32(ihdr, (uint32_t)w), put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;                         // bits per sample
    ihdr[9] = channels == 1 ? 0 : 2;     // grey or RGB; compression, filter, interlace 0
    buf_append(out, ihdr, sizeof ihdr);
    end_chunk(out, start, table);

    // The zlib stream: header (deflate, 32K window, no preset dictionary,
    // FCHECK making it a multiple of 31), stored blocks of at most 65535
    // bytes of the raw image (each row: filter type 0, then its samples),
    // and the Adler-32 of the raw image.
    start = out->len;
    begin_chunk(out, "IDAT");
    buf_append(out, "\x78\x01", 2);
    size_t row = (size_t)w * channels, raw = (size_t)h * (row + 1), left = raw;
    uint32_t a = 1, b = 0;
    size_t y = 0, x = 0; // the next raw byte: row y, x bytes into it (0: its filter byte)
    while (left > 0 && !out->failed) {
        size_t n = left < 65535 ? left : 65535;
        left -= n;
        unsigned char head[5] = {left == 0, (unsigned char)n, (unsigned char)(n >> 8),
                                 (unsigned char)~n, (unsigned char)(~n >> 8)};
        buf_append(out, head, 5);
        while (n > 0) {
            if (x == 0) {
                static const unsigned char filter_none = 0;
                buf_append(out, &filter_none, 1);
                b = (b + a) % 65521; // a += 0
                x = 1, n--;
                continue;
            }
            size_t take = row - (x - 1) < n ? row - (x - 1) : n;
            const uint8_t *p = px + y * row + (x - 1);
            buf_append(out, p, take);
            for (size_t i = 0; i < take; i++) {
                a += p[i], b += a;
                if ((i & 4095) == 4095) a %= 65521, b %= 65521; // b fits 32 bits for 5552 bytes (zlib's NMAX)
            }
            a %= 65521, b %= 65521;
            x += take, n -= take;
            if (x == row + 1) x = 0, y++;
        }
    }
    unsigned char adler[4];
    put32(adler, b << 16 | a);
    buf_append(out, adler, 4);
    end_chunk(out, start, table);

    start = out->len;
    begin_chunk(out, "IEND");
    end_chunk(out, start, table);
}
