/* The uncompressed PNG writer: its files decode, through guidedbp's own
 * checked reader (chunk CRCs, the inflated size) and stb_image, to the
 * pixels written; its zlib stream's Adler-32 is right (stb does not check
 * it, zlib and libpng do). The text chunks of provenance round-trip, and
 * their reader survives hostile files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    CHECK(png_crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    // Continuing a running CRC is the same as one pass.
    CHECK(png_crc32(png_crc32(0, (const unsigned char *)"1234", 4),
                    (const unsigned char *)"56789", 5) == 0xCBF43926u);
}

/* A file of bytes, for the reader's tests. */
static void put_file(const char *path, const unsigned char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) fwrite(data, 1, n, f), fclose(f);
}

/* Text chunks written, stored or compressed, read back by keyword; a
 * keyword absent is NULL. */
static void test_text_chunks_round_trip(void) {
    const uint8_t px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const PngText texts[] = {{"Software", "guidedbp 9"}, {"guidedbp:settings", "{\"a\":\"\xc3\xa9\"}"}};
    const char *keys[] = {"guidedbp:settings", "Software", "nothere"};
    char path[] = "/tmp/guidedbp_png_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (int compress = 0; compress < 2; compress++) {
        Error e = {0};
        char *out[3];
        CHECK_MSG(png_write(path, px, 2, 2, 3, compress, texts, 2, &e) == 0, "%s", e.msg);
        CHECK_MSG(png_read_texts(path, keys, 3, out, &e) == 0, "%s", e.msg);
        CHECK(out[0] && strcmp(out[0], texts[1].text) == 0);
        CHECK(out[1] && strcmp(out[1], "guidedbp 9") == 0);
        CHECK(out[2] == NULL);
        for (int k = 0; k < 3; k++) free(out[k]);
        // The pixels are still the pixels.
        Image img = {0};
        CHECK_MSG(image_load(path, IMAGE_MAX_PIXELS, &img, &e) == 0 && img.width == 2 &&
                      memcmp(img.rgb, px, 12) == 0, "%s", e.msg);
        image_free(&img);
    }
    unlink(path);
}

/* A hostile PNG: a bad CRC, a chunk longer than the file, a text chunk past
 * PNG_TEXT_MAX, text without a NUL, a compressed iTXt. Each is an error or
 * no text, never a crash or an allocation of the claimed size. */
static void test_hostile_text_chunks(void) {
    const uint8_t px[3] = {1, 2, 3};
    const PngText one = {"k", "v"};
    const char *keys[] = {"k"};
    char path[] = "/tmp/guidedbp_png_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    Error e = {0};
    CHECK(png_write(path, px, 1, 1, 3, 0, &one, 1, &e) == 0);
    FILE *f = fopen(path, "rb");
    unsigned char good[4096];
    size_t n = f ? fread(good, 1, sizeof good, f) : 0;
    if (f) fclose(f);
    // The iTXt starts right after IHDR: length at 33, type at 37, data at 41.
    CHECK(n > 60 && memcmp(good + 37, "iTXt", 4) == 0);
    unsigned char bad[4096];
    char *out[1];
    memcpy(bad, good, n);
    bad[41] ^= 1; // the keyword changed, the CRC not
    put_file(path, bad, n);
    CHECK(png_read_texts(path, keys, 1, out, &e) == -1 && strstr(e.msg, "bad CRC") && !out[0]);
    memcpy(bad, good, n);
    bad[33] = 0x7f; // 2 GB claimed
    put_file(path, bad, n);
    CHECK(png_read_texts(path, keys, 1, out, &e) == -1 && !out[0]);
    memcpy(bad, good, n);
    bad[34] = 0x10; // 1 MB + a bit: skipped as too long, then the file ends
    put_file(path, bad, n);
    CHECK(png_read_texts(path, keys, 1, out, &e) != 0 || !out[0]);
    memcpy(bad, good, n);
    put_file(path, bad, 40); // cut inside the chunk
    CHECK(png_read_texts(path, keys, 1, out, &e) == -1 && strstr(e.msg, "truncated") && !out[0]);
    put_file(path, (const unsigned char *)"GIF89a", 6);
    CHECK(png_read_texts(path, keys, 1, out, &e) == -1 && strstr(e.msg, "not a PNG"));
    unlink(path);
}

/* A palette index past PLTE is the grey (i, i, i), as Pillow's convert('RGB')
 * gives it (its palettes start as a grey ramp): the files are
 * test/gen/make_hostile.py's, the palette (37 i + 80 k) mod 256. */
static void test_palette_index_past_plte_is_pillows_grey(void) {
    Image img = {0};
    Error e = {0};
    CHECK_MSG(image_load("test/hostile/i_palette_past_plte.png", IMAGE_MAX_PIXELS, &img, &e) == 0,
              "%s", e.msg);
    for (int y = 0; img.rgb && y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            int i = x == 9 && y == 6 ? 5 : x % 3;
            for (int k = 0; k < 3; k++) {
                int want = i < 3 ? (37 * i + 80 * k) & 0xFF : i;
                CHECK_MSG(img.rgb[(y * img.width + x) * 3 + k] == want, "(%d, %d) channel %d: %d, "
                          "expected %d", x, y, k, img.rgb[(y * img.width + x) * 3 + k], want);
            }
        }
    image_free(&img);
    CHECK_MSG(image_load("test/hostile/i_palette_past_plte_interlaced.png", IMAGE_MAX_PIXELS,
                         &img, &e) == 0, "%s", e.msg);
    if (img.rgb) {
        const uint8_t *far = img.rgb + (8 * img.width + 15) * 3, *one = img.rgb;
        CHECK(far[0] == 3 && far[1] == 3 && far[2] == 3);
        CHECK(one[0] == 37 && one[1] == 117 && one[2] == 197);
    }
    image_free(&img);
}

int main(void) {
    RUN(test_round_trips);
    RUN(test_palette_index_past_plte_is_pillows_grey);
    RUN(test_crc32_check_value);
    RUN(test_text_chunks_round_trip);
    RUN(test_hostile_text_chunks);
    return test_summary();
}
