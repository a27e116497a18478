/* The uncompressed PNG writer: its files decode, through guidedbp's own
 * checked reader (chunk CRCs, the inflated size) and stb_image, to the
 * pixels written; its zlib stream's Adler-32 is right (stb does not check
 * it, zlib and libpng do). */
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/png.h"
#include "test.h"

static uint8_t *noise(size_t n, uint64_t seed) {
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed += 0x9E3779B97F4A7C15u;
        uint64_t z = (seed ^ seed >> 30) * 0xBF58476D1CE4E5B9u;
        p[i] = (uint8_t)((z ^ z >> 27) >> 24);
    }
    return p;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The raw stream of a stored-blocks IDAT, checked block by block; its
 * Adler-32 computed the slow way must match the stream's trailer. */
static void check_zlib(const unsigned char *z, size_t n, size_t raw_size) {
    CHECK(n >= 6 && z[0] == 0x78 && (z[0] << 8 | z[1]) % 31 == 0);
    size_t at = 2, raw = 0;
    uint32_t a = 1, b = 0;
    int final = 0;
    while (!final && at + 5 <= n) {
        final = z[at] & 1;
        CHECK_MSG((z[at] >> 1) == 0, "block type %d", z[at] >> 1);
        unsigned len = z[at + 1] | z[at + 2] << 8, nlen = z[at + 3] | z[at + 4] << 8;
        CHECK_MSG((len ^ nlen) == 0xFFFF, "LEN %u NLEN %u", len, nlen);
        at += 5;
        for (unsigned i = 0; i < len && at < n; i++, at++) a = (a + z[at]) % 65521, b = (b + a) % 65521;
        raw += len;
    }
    CHECK(final);
    CHECK_MSG(raw == raw_size, "%zu raw bytes, expected %zu", raw, raw_size);
    CHECK_MSG(at + 4 == n, "%zu bytes after the blocks, expected 4", n - at);
    if (at + 4 == n) CHECK_MSG(be32(z + at) == (b << 16 | a), "Adler-32 %08x, expected %08x", be32(z + at), b << 16 | a);
}

static void round_trip(int h, int w, int channels) {
    size_t n = (size_t)h * w * channels;
    uint8_t *px = noise(n, (uint64_t)h * 1000 + w);
    Buf png = {0};
    png_encode_stored(&png, px, h, w, channels);
    CHECK(!png.failed);
    Image img = {0};
    Error e = {0};
    int rc = image_decode(png.data, png.len, "test.png", IMAGE_MAX_PIXELS, &img, &e);
    CHECK_MSG(rc == 0, "%dx%dx%d: %s", w, h, channels, e.msg);
    if (rc == 0) {
        CHECK(img.width == w && img.height == h);
        int same = 1;
        for (size_t p = 0; p < (size_t)h * w && same; p++)
            for (int c = 0; c < 3; c++)
                same &= img.rgb[p * 3 + c] == px[p * channels + (channels == 1 ? 0 : c)];
        CHECK_MSG(same, "%dx%dx%d: decoded pixels differ", w, h, channels);
    }
    // One IDAT after the 8-byte signature and the 25-byte IHDR chunk.
    CHECK(png.len > 45 && memcmp(png.data + 37, "IDAT", 4) == 0);
    if (png.len > 45) check_zlib(png.data + 41, be32(png.data + 33), (size_t)h * (w * channels + 1));
    image_free(&img);
    buf_free(&png);
    free(px);
}

static void test_round_trips(void) {
    round_trip(224, 224, 3); // a map: 150752 raw bytes, three stored blocks
    round_trip(224, 224, 1);
    round_trip(1, 1, 1);
    round_trip(1, 1, 3);
    round_trip(7, 3, 3);
    round_trip(257, 255, 1); // 65792 raw bytes: a block boundary mid-row
    round_trip(258, 254, 1); // 257 rows of 255 raw bytes fill the first block exactly
}

static void test_crc32_check_value(void) {
    uint32_t table[256];
    png_crc_table(table);
    CHECK(png_crc32(table, 0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    // Continuing a running CRC is the same as one pass.
    CHECK(png_crc32(table, png_crc32(table, 0, (const unsigned char *)"1234", 4),
                    (const unsigned char *)"56789", 5) == 0xCBF43926u);
}

int main(void) {
    RUN(test_round_trips);
    RUN(test_crc32_check_value);
    return test_summary();
}
