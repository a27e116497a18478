/* test_safetensors.c: the safetensors reader against files written here.
 *
 * Every file is built byte by byte in a mkdtemp directory: valid ones must
 * round-trip (names, shapes, values, metadata, aligned or not), and each
 * broken one must be refused with -1, a zeroed SafeTensors and a message
 * that names the file and the problem.
 */
#include "io/safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char tmp_dir[64];

static void tmp_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmp_dir, name);
}

static void write_raw(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot create %s: %s", path, strerror(errno));
    if (!f) return;
    if (n) CHECK(fwrite(bytes, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* A safetensors file: `n` as the 8-byte little-endian header length (the
 * truth or a lie), the header text, then data_len bytes (zeros if data is
 * NULL). */
static void write_st_n(const char *path, uint64_t n, const char *header, size_t header_len,
                       const void *data, size_t data_len) {
    size_t total = 8 + header_len + data_len;
    unsigned char *buf = calloc(total, 1);
    CHECK(buf != NULL);
    if (!buf) return;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, header, header_len);
    if (data) memcpy(buf + 8 + header_len, data, data_len);
    write_raw(path, buf, total);
    free(buf);
}

static void write_st(const char *path, const char *json, const void *data, size_t data_len) {
    write_st_n(path, strlen(json), json, strlen(json), data, data_len);
}

/* The header padded with spaces to a length whose remainder mod 8 is rem,
 * to place the data region aligned or not. */
static char *padded(const char *json, size_t rem) {
    size_t len = strlen(json);
    size_t target = len + (rem + 8 - len % 8) % 8;
    char *s = malloc(target + 1);
    if (!s) return NULL;
    memcpy(s, json, len);
    memset(s + len, ' ', target - len);
    s[target] = '\0';
    return s;
}

static int is_zeroed(const SafeTensors *st) {
    SafeTensors zero;
    memset(&zero, 0, sizeof zero);
    return memcmp(st, &zero, sizeof zero) == 0;
}

/* Opening path must fail with a message naming path and containing each of
 * the wanted words (NULL ends the list early). */
static void check_refused(const char *label, const char *path, const char *w1, const char *w2) {
    SafeTensors st;
    memset(&st, 0xab, sizeof st); /* open must not rely on a zeroed struct */
    Error err = {{0}};
    int rc = safetensors_open(&st, path, &err);
    CHECK_MSG(rc == -1, "%s: expected a refusal, got %d", label, rc);
    CHECK_MSG(is_zeroed(&st), "%s: SafeTensors not zeroed after a refusal", label);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s: message lacks the path: %s", label, err.msg);
    CHECK_MSG(!w1 || strstr(err.msg, w1), "%s: message lacks '%s': %s", label, w1, err.msg);
    CHECK_MSG(!w2 || strstr(err.msg, w2), "%s: message lacks '%s': %s", label, w2, err.msg);
    CHECK_MSG(!strchr(err.msg, '\n'), "%s: message is not one line: %s", label, err.msg);
    if (rc == 0) safetensors_close(&st);
}

static float value_at(int i) { return (float)i * 0.5f - 1.25f; }

/* b (4) at [28,44) listed first: header order is not data order. The
 * metadata value holds a literal backslash-u0000, which is text, not NUL. */
static const char VALID_JSON[] =
    "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9 \\\\u0000\"},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[28,44]},"
    "\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"scalar\":{\"data_offsets\":[24,28],\"shape\":[],\"dtype\":\"F32\"},"
    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,9007199254740991],\"data_offsets\":[28,28]}}";

static void check_valid(const char *file, size_t rem, int expect_copy) {
    float data[11];
    for (int i = 0; i < 11; i++) data[i] = value_at(i);
    char path[256];
    tmp_path(path, sizeof path, file);
    char *json = padded(VALID_JSON, rem);
    CHECK(json != NULL);
    if (!json) return;
    write_st(path, json, data, sizeof data);
    size_t header_len = strlen(json);
    free(json);
    CHECK((8 + header_len) % 8 == rem);

    SafeTensors st;
    Error err = {{0}};
    int rc = safetensors_open(&st, path, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc != 0) return;

    CHECK(st.n_tensors == 4);
    const char *order[] = {"b", "features.0.weight", "scalar", "empty"};
    for (int i = 0; i < 4 && i < st.n_tensors; i++)
        CHECK_MSG(strcmp(st.tensors[i].name, order[i]) == 0, "tensor %d is '%s'", i, st.tensors[i].name);

    const StTensor *w = safetensors_get(&st, "features.0.weight");
    CHECK(w != NULL);
    if (w) {
        CHECK(w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3 && w->count == 6);
        for (int i = 0; i < 6; i++) CHECK_MSG(w->data[i] == value_at(i), "w[%d] = %g", i, w->data[i]);
    }
    const StTensor *s = safetensors_get(&st, "scalar");
    CHECK(s != NULL);
    if (s) {
        CHECK(s->ndim == 0 && s->count == 1);
        CHECK(s->data[0] == value_at(6));
    }
    const StTensor *b = safetensors_get(&st, "b");
    CHECK(b != NULL && b == &st.tensors[0]);
    if (b) {
        CHECK(b->ndim == 1 && b->shape[0] == 4 && b->count == 4);
        for (int i = 0; i < 4; i++) CHECK(b->data[i] == value_at(7 + i));
    }
    const StTensor *z = safetensors_get(&st, "empty");
    CHECK(z != NULL);
    if (z) CHECK(z->ndim == 2 && z->shape[1] == 9007199254740991LL && z->count == 0 && !z->data);

    CHECK(safetensors_get(&st, "features.0.bias") == NULL);
    CHECK(safetensors_get(&st, "") == NULL);
    CHECK(safetensors_get(&st, "__metadata__") == NULL);
    const char *fmt = safetensors_metadata(&st, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0);
    const char *note = safetensors_metadata(&st, "note");
    CHECK_MSG(note && strcmp(note, "caf\xc3\xa9 \\u0000") == 0, "note = '%s'", note ? note : "(null)");
    CHECK(safetensors_metadata(&st, "missing") == NULL);

    for (int i = 0; i < st.n_tensors; i++)
        if (st.tensors[i].data) CHECK(((uintptr_t)st.tensors[i].data) % sizeof(float) == 0);
    if (expect_copy) {
        CHECK(st.map == NULL && st.data_copy != NULL);
    } else {
        /* Zero-copy: the floats are read where they lie in the mapping. */
        CHECK(st.data_copy == NULL && st.map != NULL);
        if (w) CHECK((const char *)w->data == (const char *)st.map + 8 + header_len);
    }
    safetensors_close(&st);
    CHECK(is_zeroed(&st));
    safetensors_close(&st); /* closing twice is harmless */
}

static void test_valid_aligned(void) { check_valid("valid.safetensors", 0, 0); }

static void test_valid_misaligned(void) {
    /* 8 + N = 1, 2, 3 (mod 4): each needs the aligned copy. */
    check_valid("odd1.safetensors", 1, 1);
    check_valid("odd2.safetensors", 6, 1);
    check_valid("odd3.safetensors", 3, 1);
    check_valid("four.safetensors", 4, 0);
}

static void test_valid_edge_cases(void) {
    char path[256];
    Error err = {{0}};
    SafeTensors st;

    /* No tensors, no data: the reference writer's empty file. */
    tmp_path(path, sizeof path, "empty.safetensors");
    write_st(path, "{}      ", NULL, 0);
    CHECK_MSG(safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    CHECK(st.n_tensors == 0 && safetensors_get(&st, "a") == NULL &&
          safetensors_metadata(&st, "format") == NULL);
    safetensors_close(&st);

    /* Only empty tensors and a misaligned, empty data region: nothing to copy. */
    tmp_path(path, sizeof path, "zero_count.safetensors");
    write_st(path, "{\"e\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[0,0]}} ", NULL, 0);
    CHECK_MSG(safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    CHECK(st.n_tensors == 1 && st.tensors[0].count == 0 && st.tensors[0].data == NULL);
    safetensors_close(&st);

    /* UTF-8 and escaped names, JSON whitespace around the object. */
    tmp_path(path, sizeof path, "names.safetensors");
    float v[2] = {1.5f, -2.0f};
    write_st(path,
             " \n{\"caf\\u00e9\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"\xce\xb1.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}\r\n\t ",
             v, sizeof v);
    CHECK_MSG(safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    const StTensor *a = safetensors_get(&st, "caf\xc3\xa9");
    const StTensor *b = safetensors_get(&st, "\xce\xb1.w");
    CHECK(a && a->data[0] == 1.5f);
    CHECK(b && b->data[0] == -2.0f);
    safetensors_close(&st);

    /* Closing NULL and a zeroed struct is harmless. */
    safetensors_close(NULL);
    SafeTensors zero;
    memset(&zero, 0, sizeof zero);
    safetensors_close(&zero);
    CHECK(safetensors_get(&zero, "a") == NULL && safetensors_metadata(&zero, "a") == NULL);
    CHECK(safetensors_get(NULL, "a") == NULL && safetensors_metadata(NULL, "a") == NULL);
}

static void test_refuses_files(void) {
    char path[256];

    tmp_path(path, sizeof path, "does_not_exist.safetensors");
    check_refused("missing", path, "cannot open", strerror(ENOENT));

    tmp_path(path, sizeof path, "a_directory");
    CHECK(mkdir(path, 0700) == 0);
    check_refused("directory", path, "is a directory", NULL);

    check_refused("device", "/dev/null", "not a regular file", NULL);

    tmp_path(path, sizeof path, "zero_size.safetensors");
    write_raw(path, "", 0);
    check_refused("zero size", path, "file is 0 bytes", "shorter than the 8-byte header length");

    tmp_path(path, sizeof path, "five_bytes.safetensors");
    write_raw(path, "\x02\0\0\0\0", 5);
    check_refused("5 bytes", path, "file is 5 bytes", "8-byte header length");

    /* A NULL Error is allowed. */
    SafeTensors st;
    CHECK(safetensors_open(&st, path, NULL) == -1 && is_zeroed(&st));
}

static void test_refuses_header_length(void) {
    char path[256];
    const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    size_t len = strlen(json);

    tmp_path(path, sizeof path, "n_zero.safetensors");
    write_st_n(path, 0, json, len, NULL, 4);
    check_refused("N == 0", path, "header length is 0", NULL);

    tmp_path(path, sizeof path, "n_past_end.safetensors");
    /* The file holds len + 4 bytes after the length field; claim one more. */
    write_st_n(path, len + 5, json, len, NULL, 4);
    char want[128], most[64];
    snprintf(want, sizeof want, "header length %zu runs past the end of the file (%zu bytes",
             len + 5, 8 + len + 4);
    snprintf(most, sizeof most, "at most %zu)", len + 4);
    check_refused("N past end", path, want, most);

    tmp_path(path, sizeof path, "n_limit.safetensors");
    write_st_n(path, 100000001, json, len, NULL, 4);
    check_refused("N > limit", path, "header length 100000001 exceeds the limit of 100000000",
                  NULL);

    tmp_path(path, sizeof path, "n_huge.safetensors");
    write_st_n(path, UINT64_MAX, json, len, NULL, 4);
    check_refused("N = 2^64-1", path, "header length 18446744073709551615 exceeds the limit",
                  NULL);
}

static void test_refuses_header_bytes(void) {
    char path[256];
    static const struct {
        const char *label, *header, *w1, *w2;
        size_t len;
    } cases[] = {
        {"NUL byte", "{\"a\0\":{}}", "NUL byte at header offset 3", NULL, 9},
        {"escaped NUL", "{\"a\\u0000b\":{}}", "escaped NUL", "header offset 3", 15},
        {"0xff byte", "{\"a\xff\":{}}", "not valid UTF-8", "0xff at header offset 3", 9},
        {"overlong", "{\"a\xc0\xaf\":{}}", "not valid UTF-8", "0xc0", 10},
        {"surrogate", "{\"a\xed\xa0\x80\":{}}", "not valid UTF-8", "0xed", 11},
        {"truncated", "{\"a\":{}}  \xe2\x82", "not valid UTF-8", "header offset 10", 12},
        {"above U+10FFFF", "{\"\xf4\x90\x80\x80\":{}}", "not valid UTF-8", "0xf4", 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tmp_path(path, sizeof path, "bytes.safetensors");
        write_st_n(path, cases[i].len, cases[i].header, cases[i].len, NULL, 0);
        check_refused(cases[i].label, path, cases[i].w1, cases[i].w2);
    }
}

#define T(name, body) "\"" name "\":{" body "}"
#define F32_1(b, e) "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" #b "," #e "]"

static void test_refuses_json(void) {
    static const struct {
        const char *label, *json;
        size_t data_len;
        const char *w1, *w2;
    } cases[] = {
        /* The JSON itself. */
        {"unparsable", "{\"a\":{" F32_1(0, 4) "}", 4, "header is not valid JSON", NULL},
        {"trailing garbage", "{} x", 0, "not valid JSON", "after the object at header offset 3"},
        {"two objects", "{}{}", 0, "not valid JSON", NULL},
        {"array root", "[1,2]", 0, "header is an array, not a JSON object", NULL},
        {"string root", "\"hi\"", 0, "header is a string, not a JSON object", NULL},
        /* __metadata__ */
        {"metadata array", "{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is an array",
         "not an object of strings"},
        {"metadata number value", "{\"__metadata__\":{\"k\":1}}", 0,
         "__metadata__ value for key 'k' is a number, not a string", NULL},
        {"metadata object value", "{\"__metadata__\":{\"k\":{}}}", 0,
         "value for key 'k' is an object", NULL},
        {"metadata duplicate key", "{\"__metadata__\":{\"k\":\"a\",\"j\":\"b\",\"k\":\"c\"}}", 0,
         "__metadata__ key 'k' appears twice", NULL},
        {"two __metadata__", "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
         "key '__metadata__' appears twice", NULL},
        /* Entry keys. */
        {"entry not object", "{\"a\":[1]}", 0, "tensor 'a': entry is an array, not an object", NULL},
        {"extra key", "{" T("a", F32_1(0, 4) ",\"offset\":0") "}", 4,
         "tensor 'a': unexpected key 'offset'", "exactly dtype, shape, data_offsets"},
        {"missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': missing key 'dtype'", NULL},
        {"missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': missing key 'shape'", NULL},
        {"missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
         "tensor 'a': missing key 'data_offsets'", NULL},
        {"repeated key", "{" T("a", "\"dtype\":\"F16\"," F32_1(0, 4)) "}", 4,
         "tensor 'a': key 'dtype' appears twice", NULL},
        /* dtype */
        {"dtype number", "{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': dtype is a number, not a string", NULL},
        {"dtype F16", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': unsupported dtype 'F16' (guidedbp reads F32 only)", NULL},
        {"dtype BF16", "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
         "unsupported dtype 'BF16'", NULL},
        {"dtype F64", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
         "unsupported dtype 'F64'", NULL},
        {"dtype unknown", "{\"a\":{\"dtype\":\"float32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': unknown dtype 'float32'", NULL},
        {"dtype lower case", "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "unknown dtype 'f32'", NULL},
        /* shape */
        {"shape number", "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16,
         "tensor 'a': shape is a number, not an array", NULL},
        {"shape 9 dims",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': shape has more than 8 dimensions", NULL},
        {"shape non-integer", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': shape[0] is not an integer", "1.5"},
        {"shape negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': shape[1] is negative", "-1"},
        {"shape string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a number (a string)", NULL},
        {"shape null", "{\"a\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a number (null)", NULL},
        {"shape 2^53", "{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740992],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is 2^53 or more", NULL},
        {"shape 2^53+1", "{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740993],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is 2^53 or more", NULL},
        {"shape 1e400", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e400],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is 2^53 or more", NULL},
        {"shape product overflow",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': shape [4294967296,4294967296] has too many elements", NULL},
        {"shape byte size overflow",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387,4096],\"data_offsets\":[0,4]}}", 4,
         "has too many elements", NULL},
        /* data_offsets */
        {"offsets string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0-4\"}}", 4,
         "tensor 'a': data_offsets is a string, not an array", NULL},
        {"offsets 3", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4,
         "tensor 'a': data_offsets has 3 elements, expected 2", NULL},
        {"offsets 1", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4,
         "data_offsets has 1 elements, expected 2", NULL},
        {"offsets non-integer", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]}}", 4,
         "tensor 'a': data_offsets[1] is not an integer", "4.5"},
        {"offsets negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
         "tensor 'a': data_offsets[0] is negative", NULL},
        {"offsets bool", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,true]}}", 4,
         "data_offsets[1] is not a number (a boolean)", NULL},
        {"offsets huge", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e19]}}", 4,
         "data_offsets[1] is 2^53 or more", NULL},
        {"offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
         "tensor 'a': data_offsets [8,4] end before they begin", NULL},
        {"span too short",
         "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[64,3,11,11],\"data_offsets\":[0,1000]}}",
         1000, "tensor 'features.0.weight': data_offsets span 1000 bytes, shape [64,3,11,11] of F32 needs 92928",
         NULL},
        {"span of scalar", "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}}", 0,
         "tensor 's': data_offsets span 0 bytes, shape [] of F32 needs 4", NULL},
        {"span of empty", "{\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,4]}}", 4,
         "data_offsets span 4 bytes, shape [0] of F32 needs 0", NULL},
        {"past data region", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 4,
         "tensor 'a': data_offsets [4,8] run past the end of the data region (4 bytes)", NULL},
        /* Names. */
        {"duplicate name", "{" T("a", F32_1(0, 4)) "," T("b", F32_1(4, 8)) "," T("a", F32_1(8, 12)) "}",
         12, "tensor 'a' appears twice", NULL},
        {"empty name", "{" T("", F32_1(0, 4)) "}", 4, "a tensor has an empty name", NULL},
        {"control char in name", "{\"a\\nb\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
         4, "tensor 'a\\x0ab': unsupported dtype 'F16'", NULL},
        /* Layout of the data region. */
        {"overlap", "{" T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "," T("b", F32_1(4, 8)) "}",
         8, "tensors 'a' [0,8) and 'b' [4,8) overlap", NULL},
        {"same range", "{" T("a", F32_1(0, 4)) "," T("b", F32_1(0, 4)) "}", 4,
         "tensors 'a' [0,4) and 'b' [0,4) overlap", NULL},
        {"empty inside another", "{" T("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") ","
         T("e", "\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]") "}",
         8, "tensors 'a' [0,8) and 'e' [4,4) overlap", NULL},
        {"hole", "{" T("b", F32_1(8, 12)) "," T("a", F32_1(0, 4)) "}", 12,
         "hole in the data region: bytes [4,8) between tensors 'a' and 'b'", NULL},
        {"hole at start", "{" T("a", F32_1(4, 8)) "}", 8,
         "hole in the data region: bytes [0,4) before tensor 'a'", NULL},
        {"trailing bytes", "{" T("a", F32_1(0, 4)) "}", 7,
         "3 trailing bytes: the data region is 7 bytes but the last tensor 'a' ends at 4", NULL},
        {"no tensors, some data", "{\"__metadata__\":{\"format\":\"pt\"}}", 4,
         "4 trailing bytes: the header lists no tensors", NULL},
    };
    char path[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/json_%02zu.safetensors", tmp_dir, i);
        write_st(path, cases[i].json, NULL, cases[i].data_len);
        check_refused(cases[i].label, path, cases[i].w1, cases[i].w2);
    }
}

static void test_refuses_long_name(void) {
    char path[256];
    tmp_path(path, sizeof path, "long_name.safetensors");
    char json[2048];
    char name[SAFETENSORS_MAX_NAME + 2];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(json, sizeof json, "{\"%s\":{" F32_1(0, 4) "}}", name);
    write_st(path, json, NULL, 4);
    check_refused("name too long", path, "tensor name of 1025 bytes is longer than the limit of 1024",
                  "xxx...");

    /* Exactly at the limit is fine. */
    name[SAFETENSORS_MAX_NAME] = '\0';
    snprintf(json, sizeof json, "{\"%s\":{" F32_1(0, 4) "}}", name);
    write_st(path, json, NULL, 4);
    SafeTensors st;
    Error err = {{0}};
    CHECK_MSG(safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    CHECK(safetensors_get(&st, name) != NULL);
    safetensors_close(&st);
}

static void remove_tmp_dir(void) {
    DIR *d = opendir(tmp_dir);
    if (!d) return;
    struct dirent *ent;
    char path[512];
    while ((ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, ent->d_name);
        if (unlink(path) != 0) rmdir(path);
    }
    closedir(d);
    rmdir(tmp_dir);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_safetensors_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    RUN(test_valid_aligned);
    RUN(test_valid_misaligned);
    RUN(test_valid_edge_cases);
    RUN(test_refuses_files);
    RUN(test_refuses_header_length);
    RUN(test_refuses_header_bytes);
    RUN(test_refuses_json);
    RUN(test_refuses_long_name);
    remove_tmp_dir();
    return test_summary();
}
