/* image_decode_memory, the estimate the pipeline's decoding budget runs on,
 * against what the decoders really take: for each kind of file (JPEG
 * baseline, multi-scan and progressive at several samplings; PNG of every
 * colour type and depth the costs differ by, interlaced, with tRNS, with a
 * short palette) a 4096x4096 all-black image is made in memory and decoded
 * in a child process, whose peak RSS above its RSS before decoding must be
 * within the estimate, and the estimate within 1.5 times that peak plus
 * IMAGE_DECODE_SLACK (a budget far above the truth would decode needlessly
 * few images at once). Under a sanitizer the RSS holds its shadow and
 * quarantine, so only the estimate's bounds are checked there. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/fileio.h"
#include "io/image.h"
#include "io/png.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int SIDE = 4096;

static void put16(Buf *b, unsigned v) {
    unsigned char c[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    buf_append(b, c, 2);
}

static void put32(Buf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    buf_append(b, c, 4);
}

/* ---- JPEG: every block's DC difference and AC run coded as symbol 0, a
 * one-bit code of 0, so the scans are zero bytes. ---- */

static void segment(Buf *b, int marker, const unsigned char *p, size_t n) {
    unsigned char m[2] = {0xFF, (unsigned char)marker};
    buf_append(b, m, 2);
    put16(b, (unsigned)n + 2);
    buf_append(b, p, n);
}

static void zeros(Buf *b, size_t bits) {
    static const unsigned char z[4096];
    for (size_t n = (bits + 7) / 8; n > 0;) {
        size_t k = n < sizeof z ? n : sizeof z;
        buf_append(b, z, k);
        n -= k;
    }
}

typedef enum { BASELINE, SEPARATE_SCANS, PROGRESSIVE } JpegKind;

static Buf jpeg(int w, int h, int ncomp, int hs, int vs, JpegKind kind) {
    Buf b = {0};
    buf_append(&b, "\xFF\xD8", 2);
    unsigned char dqt[65] = {0};
    memset(dqt + 1, 1, 64);
    segment(&b, 0xDB, dqt, sizeof dqt);
    unsigned char sof[6 + 12] = {8, (unsigned char)(h >> 8), (unsigned char)h,
                                 (unsigned char)(w >> 8), (unsigned char)w, (unsigned char)ncomp};
    for (int c = 0; c < ncomp; c++) {
        sof[6 + 3 * c] = (unsigned char)(c + 1);
        sof[7 + 3 * c] = c == 0 ? (unsigned char)(hs << 4 | vs) : 0x11;
    }
    segment(&b, kind == PROGRESSIVE ? 0xC2 : 0xC0, sof, 6 + 3 * (size_t)ncomp);
    unsigned char dht[18] = {0, 1}; // class 0 table 0: one code of length 1, symbol 0
    segment(&b, 0xC4, dht, sizeof dht);
    dht[0] = 0x10;
    segment(&b, 0xC4, dht, sizeof dht);
    size_t mcus = (size_t)((w + 8 * hs - 1) / (8 * hs)) * ((h + 8 * vs - 1) / (8 * vs));
    size_t per_mcu = (size_t)hs * vs + (size_t)(ncomp - 1);
    unsigned char sos[2 + 8 + 3];
    if (kind == BASELINE || kind == PROGRESSIVE) { // one interleaved scan (the DC one)
        sos[0] = (unsigned char)ncomp;
        for (int c = 0; c < ncomp; c++) sos[1 + 2 * c] = (unsigned char)(c + 1), sos[2 + 2 * c] = 0;
        unsigned char *tail = sos + 1 + 2 * ncomp;
        tail[0] = 0, tail[1] = kind == BASELINE ? 63 : 0, tail[2] = 0;
        segment(&b, 0xDA, sos, 4 + 2 * (size_t)ncomp);
        zeros(&b, mcus * per_mcu * (kind == BASELINE ? 2 : 1));
    }
    for (int c = 0; kind != BASELINE && c < ncomp; c++) { // a scan per component
        unsigned char one[6] = {1, (unsigned char)(c + 1), 0, kind == PROGRESSIVE ? 1 : 0, 63, 0};
        segment(&b, 0xDA, one, sizeof one);
        int cw = c == 0 ? w : (w + hs - 1) / hs, ch = c == 0 ? h : (h + vs - 1) / vs;
        zeros(&b, (size_t)((cw + 7) / 8) * ((ch + 7) / 8) * (kind == PROGRESSIVE ? 1 : 2));
    }
    buf_append(&b, "\xFF\xD9", 2);
    return b;
}

/* ---- PNG: zero rows (filter 0, black), deflated with the fixed codes as
 * a literal 0 and copies of 258 bytes at distance 1. ---- */

typedef struct {
    Buf *b;
    uint32_t acc;
    int bits;
} Bits;

static void bits_put(Bits *o, uint32_t v, int n) { // LSB first
    o->acc |= v << o->bits, o->bits += n;
    for (; o->bits >= 8; o->bits -= 8, o->acc >>= 8) {
        unsigned char c = (unsigned char)o->acc;
        buf_append(o->b, &c, 1);
    }
}

static void code_put(Bits *o, uint32_t code, int n) { // Huffman codes go MSB first
    uint32_t r = 0;
    for (int i = 0; i < n; i++) r |= ((code >> i) & 1) << (n - 1 - i);
    bits_put(o, r, n);
}

static void deflate_zeros(Buf *b, size_t n) {
    buf_append(b, "\x78\x01", 2);
    Bits o = {b, 0, 0};
    bits_put(&o, 1, 1), bits_put(&o, 1, 2); // the final block, fixed codes
    size_t i = 0;
    for (; i < n && i < 1; i++) code_put(&o, 0x30, 8);           // literal 0
    for (; n - i >= 258; i += 258) code_put(&o, 0xC5, 8), code_put(&o, 0, 5); // 285, distance 1
    for (; i < n; i++) code_put(&o, 0x30, 8);
    code_put(&o, 0, 7); // end of block
    if (o.bits) bits_put(&o, 0, 8 - o.bits);
    put32(b, (uint32_t)(n % 65521) << 16 | 1); // the Adler-32 of n zeros
}

static size_t png_rows(int w, int h, int bits, int interlace) {
    if (!interlace) return (size_t)h * (1 + ((size_t)w * bits + 7) / 8);
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1},
                     dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    size_t total = 0;
    for (int p = 0; p < 7; p++) {
        size_t pw = (size_t)(w - x0[p] + dx[p] - 1) / dx[p], ph = (size_t)(h - y0[p] + dy[p] - 1) / dy[p];
        if (w > x0[p] && h > y0[p]) total += ph * (1 + (pw * bits + 7) / 8);
    }
    return total;
}

static void chunk(Buf *b, const char *type, const Buf *data) {
    put32(b, (uint32_t)data->len);
    size_t at = b->len;
    buf_append(b, type, 4);
    if (data->len) buf_append(b, data->data, data->len);
    put32(b, png_crc32(0, b->data + at, data->len + 4));
}

/* palette: PLTE's entries (colour type 3); trns: a tRNS chunk. */
static Buf png(int w, int h, int depth, int colour, int interlace, int palette, int trns) {
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    Buf b = {0}, c = {0};
    buf_append(&b, "\x89PNG\r\n\x1a\n", 8);
    put32(&c, (uint32_t)w), put32(&c, (uint32_t)h);
    unsigned char rest[5] = {(unsigned char)depth, (unsigned char)colour, 0, 0, (unsigned char)interlace};
    buf_append(&c, rest, 5);
    chunk(&b, "IHDR", &c);
    if (palette) {
        c.len = 0;
        for (int i = 0; i < 3 * palette; i++) buf_append(&c, "\x40", 1);
        chunk(&b, "PLTE", &c);
    }
    if (trns) {
        c.len = 0;
        buf_append(&c, "\x00\x00\x00\x00\x00\x00", colour == 2 ? 6 : colour == 0 ? 2 : 1);
        chunk(&b, "tRNS", &c);
    }
    c.len = 0;
    deflate_zeros(&c, png_rows(w, h, channels[colour] * depth, interlace));
    chunk(&b, "IDAT", &c);
    c.len = 0;
    chunk(&b, "IEND", &c);
    buf_free(&c);
    return b;
}

/* ---- the measure ---- */

static long peak_kb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* The decoder's peak, in bytes above what the process held before; -1 if
 * the file did not decode. In a child, so nothing freed before is reused. */
static long long decoder_peak(const Buf *file) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        long before = peak_kb();
        Image img = {0};
        Error e;
        long long delta = -1;
        if (image_decode(file->data, file->len, "case", IMAGE_MAX_PIXELS, &img, &e) == 0)
            delta = (long long)(peak_kb() - before) << 10;
        else
            printf("  decode: %s\n", e.msg);
        ssize_t put = write(fd[1], &delta, sizeof delta);
        _exit(put == (ssize_t)sizeof delta ? 0 : 1);
    }
    close(fd[1]);
    long long delta = -1;
    if (pid < 0 || read(fd[0], &delta, sizeof delta) != (ssize_t)sizeof delta) delta = -1;
    close(fd[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return delta;
}

static void measure(const char *what, Buf file) {
    CHECK_MSG(!file.failed, "%s: out of memory making it", what);
    size_t estimate = image_decode_memory(file.data, file.len, IMAGE_MAX_PIXELS);
    // Beyond the file's bytes, which the caller holds anyway.
    double decoder = (double)estimate - (double)file.len;
    CHECK_MSG(decoder > 3.0 * SIDE * SIDE, "%s: estimate %.1f MB, less than the RGB image", what,
              decoder / 1048576);
    if (!SANITIZED) {
        long long peak = decoder_peak(&file);
        CHECK_MSG(peak > 0, "%s: did not decode", what);
        printf("  %-34s estimate %7.1f MB, decoder's peak %7.1f MB\n", what, decoder / 1048576,
               (double)peak / 1048576);
        CHECK_MSG((double)peak <= decoder, "%s: the decoder took %.1f MB, over the estimate %.1f",
                  what, (double)peak / 1048576, decoder / 1048576);
        CHECK_MSG(decoder <= 1.5 * (double)peak + IMAGE_DECODE_SLACK,
                  "%s: the estimate %.1f MB is far above the decoder's %.1f", what,
                  decoder / 1048576, (double)peak / 1048576);
    }
    buf_free(&file);
}

static void test_jpeg(void) {
    measure("JPEG baseline 4:4:4", jpeg(SIDE, SIDE, 3, 1, 1, BASELINE));
    measure("JPEG baseline 4:2:0", jpeg(SIDE, SIDE, 3, 2, 2, BASELINE));
    measure("JPEG baseline grey", jpeg(SIDE, SIDE, 1, 1, 1, BASELINE));
    measure("JPEG baseline CMYK", jpeg(SIDE, SIDE, 4, 1, 1, BASELINE));
    measure("JPEG sequential, a scan a component", jpeg(SIDE, SIDE, 3, 1, 1, SEPARATE_SCANS));
    measure("JPEG progressive 4:4:4", jpeg(SIDE, SIDE, 3, 1, 1, PROGRESSIVE));
    measure("JPEG progressive 4:2:0", jpeg(SIDE, SIDE, 3, 2, 2, PROGRESSIVE));
    measure("JPEG progressive 4:2:2", jpeg(SIDE, SIDE, 3, 2, 1, PROGRESSIVE));
    measure("JPEG progressive grey", jpeg(SIDE, SIDE, 1, 1, 1, PROGRESSIVE));
    measure("JPEG progressive CMYK", jpeg(SIDE, SIDE, 4, 1, 1, PROGRESSIVE));
}

static void test_png(void) {
    measure("PNG RGB 8", png(SIDE, SIDE, 8, 2, 0, 0, 0));
    measure("PNG RGB 8 tRNS", png(SIDE, SIDE, 8, 2, 0, 0, 1));
    measure("PNG RGB 16", png(SIDE, SIDE, 16, 2, 0, 0, 0));
    measure("PNG RGBA 8", png(SIDE, SIDE, 8, 6, 0, 0, 0));
    measure("PNG RGBA 16", png(SIDE, SIDE, 16, 6, 0, 0, 0));
    measure("PNG RGBA 16 interlaced", png(SIDE, SIDE, 16, 6, 1, 0, 0));
    measure("PNG RGB 8 interlaced", png(SIDE, SIDE, 8, 2, 1, 0, 0));
    measure("PNG grey 8", png(SIDE, SIDE, 8, 0, 0, 0, 0));
    measure("PNG grey 1", png(SIDE, SIDE, 1, 0, 0, 0, 0));
    measure("PNG grey 16", png(SIDE, SIDE, 16, 0, 0, 0, 0));
    measure("PNG grey 16 tRNS", png(SIDE, SIDE, 16, 0, 0, 0, 1));
    measure("PNG grey-alpha 16", png(SIDE, SIDE, 16, 4, 0, 0, 0));
    measure("PNG palette 8", png(SIDE, SIDE, 8, 3, 0, 256, 0));
    measure("PNG palette 8 tRNS", png(SIDE, SIDE, 8, 3, 0, 256, 1));
    measure("PNG palette 4, short", png(SIDE, SIDE, 4, 3, 0, 3, 0));
}

/* A file refused from its header costs its bytes only. */
static void test_refused(void) {
    Buf b = png(IMAGE_MAX_SIDE + 1, 16, 8, 2, 0, 0, 0);
    CHECK(image_decode_memory(b.data, b.len, IMAGE_MAX_PIXELS) == b.len);
    buf_free(&b);
    b = jpeg(4096, 4096, 3, 1, 1, PROGRESSIVE);
    CHECK(image_decode_memory(b.data, b.len, 1000) == b.len); // over max_pixels
    CHECK(image_decode_memory((const unsigned char *)"GIF89a", 6, IMAGE_MAX_PIXELS) == 6);
    buf_free(&b);
}

int main(int argc, char **argv) {
    if (argc > 1) SIDE = atoi(argv[1]);
    RUN(test_jpeg);
    RUN(test_png);
    RUN(test_refused);
    return test_summary();
}
