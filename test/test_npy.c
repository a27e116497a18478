/* test_npy.c: the .npy reader against files built byte by byte here, and
 * the measures `guidedbp compare` computes from what it reads (mapdiff.h).
 *
 * What npy_write writes must read back exactly; every hostile header (bad
 * magic, other versions, dtypes, orders and shapes, lengths that lie,
 * duplicate or unknown keys, sizes past the limit) must be refused with -1,
 * a zeroed NpyArray and a message naming the file and the problem, before
 * anything the header merely claims is allocated.
 */
#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "explain/mapdiff.h"
#include "test.h"

static char tmp_dir[64];

static void tmp_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmp_dir, name);
}

/* A .npy: the preamble for version (major, minor) with `len` as the header
 * length (the truth, or a lie when len >= 0), the header text, and `data`
 * bytes of values 0, 1, 2, ... as float32. Into buf (at most cap bytes);
 * returns the size. */
static size_t build(unsigned char *buf, size_t cap, int major, int minor, long len,
                    const char *header, size_t data) {
    size_t h = strlen(header), total = 10 + h + data;
    if (total > cap) return 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major, buf[7] = (unsigned char)minor;
    size_t n = len >= 0 ? (size_t)len : h;
    buf[8] = (unsigned char)(n & 0xff), buf[9] = (unsigned char)(n >> 8);
    memcpy(buf + 10, header, h);
    for (size_t i = 0; i + 4 <= data; i += 4) {
        float v = (float)(i / 4);
        memcpy(buf + 10 + h + i, &v, 4);
    }
    for (size_t i = data / 4 * 4; i < data; i++) buf[10 + h + i] = 0;
    return total;
}

static unsigned char buf[1 << 16];

/* decode(header, data bytes) with a well-formed preamble. */
static int decode(const char *header, size_t data, NpyArray *a, Error *e) {
    size_t n = build(buf, sizeof buf, 1, 0, -1, header, data);
    CHECK_MSG(n > 0, "test buffer too small");
    return npy_array_decode(buf, n, "x.npy", a, e);
}

static int zeroed(const NpyArray *a) {
    return a->ndim == 0 && a->count == 0 && a->data == NULL && a->shape[0] == 0;
}

/* header and data must be refused with a message containing `why`. */
static void refused(const char *header, size_t data, const char *why) {
    NpyArray a;
    Error e = {{0}};
    memset(&a, 0x5a, sizeof a);
    int rc = decode(header, data, &a, &e);
    CHECK_MSG(rc == -1, "accepted: %s", header);
    CHECK_MSG(zeroed(&a), "not zeroed after refusing: %s", header);
    CHECK_MSG(strstr(e.msg, "x.npy: ") == e.msg && strstr(e.msg, why),
              "%s: message '%s' lacks '%s'", header, e.msg, why);
    npy_array_free(&a);
}

#define H(dict) dict "\n"
#define OK_HEADER H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")

static void test_write_reads_back(void) {
    float data[2 * 3 * 3];
    for (int i = 0; i < 18; i++) data[i] = (float)i * 0.25f - 1.0f;
    char path[128];
    Error e = {{0}};
    NpyArray a = {0};
    tmp_path(path, sizeof path, "map.npy");
    CHECK(npy_write(path, data, 2, 3, 3, &e) == 0);
    CHECK_MSG(npy_array_load(path, &a, &e) == 0, "%s", e.msg);
    CHECK(a.ndim == 3 && a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 3 && a.count == 18);
    CHECK(a.data && memcmp(a.data, data, sizeof data) == 0);
    char shape[64];
    npy_shape_text(&a, shape, sizeof shape);
    CHECK_MSG(strcmp(shape, "(2, 3, 3)") == 0, "%s", shape);
    npy_array_free(&a);
    CHECK(zeroed(&a));
    npy_array_free(&a); // twice, and NULL: fine
    npy_array_free(NULL);
    // (h, w, 1) is written as (h, w), as a cam is.
    CHECK(npy_write(path, data, 3, 6, 1, &e) == 0);
    CHECK_MSG(npy_array_load(path, &a, &e) == 0, "%s", e.msg);
    CHECK(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 6 && a.count == 18);
    CHECK(a.data && memcmp(a.data, data, sizeof data) == 0);
    npy_array_free(&a);
}

/* Headers another writer may make: other quotes, order, spacing; no
 * trailing comma; scalars, vectors and empty arrays. */
static void test_accepts_what_numpy_writes(void) {
    static const struct {
        const char *header;
        int ndim;
        size_t count;
        const char *shape;
    } cases[] = {
        {OK_HEADER, 2, 6, "(2, 3)"},
        {H("{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}"), 2, 6, "(2, 3)"},
        {"{'descr':'<f4','fortran_order':False,'shape':(4,)}      \n", 1, 4, "(4,)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }    \n", 0, 1, "()"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }"), 2, 0, "(0, 3)"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': ( 1 , 2 , 2 , ), }"), 3, 4,
         "(1, 2, 2)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        NpyArray a = {0};
        Error e = {{0}};
        int rc = decode(cases[i].header, cases[i].count * 4, &a, &e);
        CHECK_MSG(rc == 0, "%s: %s", cases[i].header, e.msg);
        char shape[64];
        npy_shape_text(&a, shape, sizeof shape);
        CHECK_MSG(a.ndim == cases[i].ndim && a.count == cases[i].count &&
                      strcmp(shape, cases[i].shape) == 0,
                  "%s: ndim %d count %zu shape %s", cases[i].header, a.ndim, a.count, shape);
        for (size_t k = 0; rc == 0 && k < a.count; k++) CHECK(a.data[k] == (float)k);
        npy_array_free(&a);
    }
}

static void test_refuses_hostile_headers(void) {
    // The dict, key by key.
    refused(H("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), 48,
            "dtype '<f8'; guidedbp reads '<f4'");
    refused(H("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"), 24, "dtype '>f4'");
    refused(H("{'descr': '\x1b[31m', 'fortran_order': False, 'shape': (2, 3), }"), 24,
            "dtype '\\x1b[31m'"); // a terminal escape is shown, not sent
    refused(H("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"), 24, "Fortran order");
    refused(H("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }"), 24,
            "expected False or True");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 1), }"), 24,
            "more than 3 dimensions");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }"), 24,
            "expected a dimension");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }"), 24,
            "expected ',' after a one-dimensional shape");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3L), }"), 24,
            "expected ',' or ')' in the shape");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }"), 24, "expected '('");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 3), }"), 24,
            "more than the 256 MB limit");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999, 3), }"), 0,
            "more than the 256 MB limit");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (1234567890123, 1), }"), 24,
            "at most 12 digits");
    refused(H("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), 24,
            "'descr' appears twice");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }"), 24,
            "unknown .npy header key 'x'");
    refused(H("{'descr': '<f4', 'shape': (2, 3), }"), 24, "lacks 'fortran_order'");
    refused(H("{'descr': '<f4', 'fortran_order': False, }"), 24, "lacks 'shape'");
    refused(H("{descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }"), 24,
            "expected a string");
    refused(H("{'descr': '<f\\4', 'fortran_order': False, 'shape': (2, 3), }"), 24,
            "without escapes");
    refused(H("{'descr': '<f4"), 24, "the end of the string");
    refused(H("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }"), 24, "expected ':'");
    refused(H("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }"), 24,
            "expected ',' or '}'");
    refused(H("['descr', '<f4']"), 24, "expected '{'");
    refused("", 24, "expected '{'");
    // What follows the dict: spaces, then the newline.
    refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24,
            "spaces and a newline");
    refused(H("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x"), 24,
            "spaces and a newline");
    // A NUL inside the header.
    {
        NpyArray a = {0};
        Error e = {{0}};
        size_t n = build(buf, sizeof buf, 1, 0, -1, OK_HEADER, 24);
        buf[10 + 5] = '\0';
        CHECK(npy_array_decode(buf, n, "x.npy", &a, &e) == -1 && zeroed(&a) &&
              strstr(e.msg, "NUL byte"));
    }
    // Data that does not match the shape.
    refused(OK_HEADER, 20, "holds 20 bytes of data; its shape (2, 3) needs 24");
    refused(OK_HEADER, 28, "holds 28 bytes of data");
    refused(OK_HEADER, 0, "holds 0 bytes of data");
}

/* The preamble: magic, version, a header length that lies. */
static void test_refuses_bad_preambles(void) {
    NpyArray a = {0};
    Error e = {{0}};
    size_t n = build(buf, sizeof buf, 1, 0, -1, OK_HEADER, 24);
    CHECK(npy_array_decode(buf, 0, "x.npy", &a, &e) == -1 && strstr(e.msg, "x.npy: empty file"));
    CHECK(npy_array_decode(buf, 8, "x.npy", &a, &e) == -1 && strstr(e.msg, "truncated .npy"));
    CHECK(npy_array_decode((const unsigned char *)"\x89PNG\r\n\x1a\n....", 12, "x.npy", &a, &e) ==
              -1 && strstr(e.msg, "not a .npy file"));
    n = build(buf, sizeof buf, 2, 0, -1, OK_HEADER, 24);
    CHECK(npy_array_decode(buf, n, "x.npy", &a, &e) == -1 &&
          strstr(e.msg, "version 2.0; guidedbp reads version 1.0"));
    n = build(buf, sizeof buf, 1, 1, -1, OK_HEADER, 24);
    CHECK(npy_array_decode(buf, n, "x.npy", &a, &e) == -1 && strstr(e.msg, "version 1.1"));
    n = build(buf, sizeof buf, 1, 0, 60000, OK_HEADER, 24); // past the limit
    CHECK_MSG(npy_array_decode(buf, n, "x.npy", &a, &e) == -1 &&
                  strstr(e.msg, "header of 60000 bytes, more than the limit of 10000"), "%s", e.msg);
    n = build(buf, sizeof buf, 1, 0, 9000, OK_HEADER, 24); // past the end
    CHECK_MSG(npy_array_decode(buf, n, "x.npy", &a, &e) == -1 &&
                  strstr(e.msg, "truncated .npy (94 bytes, its header needs 9010)"), "%s", e.msg);
    n = build(buf, sizeof buf, 1, 0, 30, OK_HEADER, 24); // shorter than the dict
    CHECK_MSG(npy_array_decode(buf, n, "x.npy", &a, &e) == -1, "header length 30 accepted");
    CHECK(zeroed(&a));
}

/* The file reader: the same checks, plus what only files have. */
static void test_refuses_bad_files(void) {
    char path[128];
    NpyArray a = {0};
    Error e = {{0}};
    tmp_path(path, sizeof path, "missing.npy");
    CHECK(npy_array_load(path, &a, &e) == -1 && strstr(e.msg, "cannot open: No such file"));
    CHECK(npy_array_load(tmp_dir, &a, &e) == -1 && strstr(e.msg, "not a regular file"));
    tmp_path(path, sizeof path, "fifo.npy");
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(npy_array_load(path, &a, &e) == -1 && strstr(e.msg, "not a regular file")); // no wait
    // Over the limit: refused from its size (a sparse file), nothing read.
    tmp_path(path, sizeof path, "huge.npy");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)NPY_MAX_FILE_BYTES + 1) == 0);
    if (fd >= 0) close(fd);
    CHECK_MSG(npy_array_load(path, &a, &e) == -1 && strstr(e.msg, "more than the 256 MB limit"),
              "%s", e.msg);
    unlink(path);
    // Each hostile shape and length as a file, too.
    static const struct {
        const char *header;
        long len;
        size_t data;
        const char *why;
    } cases[] = {
        {OK_HEADER, -1, 20, "holds 20 bytes of data"},
        {OK_HEADER, -1, 28, "holds 28 bytes of data"},
        {OK_HEADER, 9000, 24, "its header needs 9010"},
        {H("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 3), }"), -1, 24,
         "256 MB limit"},
        {"", -1, 0, "expected '{'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = build(buf, sizeof buf, 1, 0, cases[i].len, cases[i].header, cases[i].data);
        tmp_path(path, sizeof path, "bad.npy");
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(buf, 1, n, f) == n && fclose(f) == 0);
        memset(&a, 0x5a, sizeof a);
        CHECK_MSG(npy_array_load(path, &a, &e) == -1 && zeroed(&a) &&
                      strstr(e.msg, path) == e.msg && strstr(e.msg, cases[i].why),
                  "case %zu: %s", i, e.msg);
    }
    for (size_t n = 0; n < 10; n++) { // every truncation of the preamble
        build(buf, sizeof buf, 1, 0, -1, OK_HEADER, 24);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(buf, 1, n, f) == n && fclose(f) == 0);
        CHECK_MSG(npy_array_load(path, &a, &e) == -1 && zeroed(&a), "%zu bytes accepted", n);
    }
    unlink(path);
}

static void test_pixel_measures(void) {
    uint8_t g[12] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255};
    uint8_t a[12];
    memcpy(a, g, sizeof a);
    MapDiffPixels d;
    MapDiffLimits l = MAPDIFF_DEFAULT_LIMITS;
    mapdiff_pixels(g, a, 12, &d);
    CHECK(d.max_level == 0 && d.differing == 0 && d.values == 12 && d.mean_level == 0 &&
          d.differing_frac == 0 && mapdiff_pixels_failures(&d, &l) == 0);
    a[3] = 31, a[11] = 0; // one level up, and all the way down
    mapdiff_pixels(g, a, 12, &d);
    CHECK(d.max_level == 255 && d.differing == 2 && fabs(d.mean_level - 256.0 / 12) < 1e-12 &&
          fabs(d.differing_frac - 2.0 / 12) < 1e-12);
    CHECK(mapdiff_pixels_failures(&d, &l) == (MAPDIFF_MAX_LEVEL | MAPDIFF_DIFFERING));
    l.max_level = 255;
    CHECK(mapdiff_pixels_failures(&d, &l) == MAPDIFF_DIFFERING);
    l.max_differing = 2.0 / 12;
    CHECK(mapdiff_pixels_failures(&d, &l) == 0);
}

static void test_float_measures(void) {
    float g[4] = {1, -2, 3, 4}, a[4];
    MapDiffFloats d;
    MapDiffLimits l = MAPDIFF_DEFAULT_LIMITS;
    Error e = {{0}};
    memcpy(a, g, sizeof a);
    CHECK(mapdiff_floats(g, a, 4, &d, &e) == 0 && d.max_rel == 0 && d.cosine == 1 &&
          mapdiff_floats_failures(&d, &l) == 0);
    for (int i = 0; i < 4; i++) a[i] = 2 * g[i]; // the same direction, twice the size
    CHECK(mapdiff_floats(g, a, 4, &d, &e) == 0 && fabs(d.max_rel - 1) < 1e-12 &&
          fabs(d.cosine - 1) < 1e-12 && mapdiff_floats_failures(&d, &l) == MAPDIFF_MAX_REL);
    float x[2] = {1, 0}, y[2] = {0, 1}, z[2] = {0, 0};
    CHECK(mapdiff_floats(x, y, 2, &d, &e) == 0 && d.cosine == 0 && d.max_rel == 1 &&
          mapdiff_floats_failures(&d, &l) == (MAPDIFF_MAX_REL | MAPDIFF_COSINE));
    CHECK(mapdiff_floats(z, z, 2, &d, &e) == 0 && d.max_rel == 0 && d.cosine == 1);
    CHECK(mapdiff_floats(z, x, 2, &d, &e) == 0 && isinf(d.max_rel) && d.cosine == 0 &&
          mapdiff_floats_failures(&d, &l) == (MAPDIFF_MAX_REL | MAPDIFF_COSINE));
    float n[2] = {1, NAN};
    CHECK(mapdiff_floats(x, n, 2, &d, &e) == -1 && strstr(e.msg, "value 1 of the map"));
    // Files: a shape that differs, a NaN, each named.
    char pg[128], pa[128];
    tmp_path(pg, sizeof pg, "g.npy");
    tmp_path(pa, sizeof pa, "a.npy");
    float map[6] = {1, 2, 3, 4, 5, 6};
    CHECK(npy_write(pg, map, 2, 3, 1, &e) == 0 && npy_write(pa, map, 3, 2, 1, &e) == 0);
    CHECK_MSG(mapdiff_npy_files(pg, pa, &d, &e) == -1 && strstr(e.msg, "has shape (3, 2)") &&
                  strstr(e.msg, "(2, 3)"), "%s", e.msg);
    map[4] = NAN;
    CHECK(npy_write(pa, map, 2, 3, 1, &e) == 0);
    CHECK_MSG(mapdiff_npy_files(pg, pa, &d, &e) == -1 && strstr(e.msg, "a.npy holds NaN at flat "
              "index 4"), "%s", e.msg);
    map[4] = 5.5f;
    CHECK(npy_write(pa, map, 2, 3, 1, &e) == 0);
    CHECK(mapdiff_npy_files(pg, pa, &d, &e) == 0 && fabs(d.max_rel - 0.5 / 6) < 1e-12 &&
          d.ndim == 2 && d.shape[0] == 2 && d.shape[1] == 3 && d.values == 6);
    unlink(pg);
    unlink(pa);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/guidedbp_npy_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot make a temporary directory: %s\n0 passed, 1 failed\n", strerror(errno));
        return 1;
    }
    RUN(test_write_reads_back);
    RUN(test_accepts_what_numpy_writes);
    RUN(test_refuses_hostile_headers);
    RUN(test_refuses_bad_preambles);
    RUN(test_refuses_bad_files);
    RUN(test_pixel_measures);
    RUN(test_float_measures);
    char path[128];
    const char *left[] = {"map.npy", "fifo.npy"};
    for (size_t i = 0; i < 2; i++) {
        tmp_path(path, sizeof path, left[i]);
        unlink(path);
    }
    rmdir(tmp_dir);
    return test_summary();
}
