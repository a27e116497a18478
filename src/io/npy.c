#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/fileio.h"
#include "util/text.h"

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

/* --- Reading ----------------------------------------------------------- */

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
enum { NPY_PREAMBLE = 10 }; // magic, version, header length

/* The preamble's checks; *header is the header's length. */
static int parse_preamble(const unsigned char *p, size_t size, const char *name, size_t *header,
                          Error *e) {
    if (size == 0) return error_set(e, "%s: empty file", name);
    if (size < sizeof NPY_MAGIC || memcmp(p, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return error_set(e, "%s: not a .npy file (it does not start with \\x93NUMPY)", name);
    if (size < NPY_PREAMBLE)
        return error_set(e, "%s: truncated .npy (%zu bytes, its preamble needs %d)", name, size,
                         NPY_PREAMBLE);
    if (p[6] != 1 || p[7] != 0)
        return error_set(e, "%s: .npy version %d.%d; guidedbp reads version 1.0 only", name, p[6],
                         p[7]);
    *header = p[8] | (size_t)p[9] << 8;
    if (*header > NPY_MAX_HEADER)
        return error_set(e, "%s: .npy header of %zu bytes, more than the limit of %d", name,
                         *header, NPY_MAX_HEADER);
    return 0;
}

/* A cursor over the header's dict literal. */
typedef struct {
    const char *p, *end;
    const char *start;
    const char *name;
    Error *e;
} Header;

static void skip_space(Header *h) {
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int malformed(Header *h, const char *expected) {
    return error_set(h->e, "%s: malformed .npy header (expected %s at byte %td)", h->name,
                     expected, NPY_PREAMBLE + (h->p - h->start));
}

/* Skips spaces, then takes the character c, or fails. */
static int take(Header *h, char c, const char *what) {
    skip_space(h);
    if (h->p >= h->end || *h->p != c) return malformed(h, what);
    h->p++;
    return 0;
}

/* A quoted string without escapes, at most len - 1 bytes, into out. */
static int take_string(Header *h, char *out, size_t len) {
    skip_space(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return malformed(h, "a string");
    char quote = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != quote) {
        if (*h->p == '\\' || n + 1 >= len) return malformed(h, "a short string without escapes");
        out[n++] = *h->p++;
    }
    if (h->p >= h->end) return malformed(h, "the end of the string");
    h->p++;
    out[n] = '\0';
    return 0;
}

static int take_word(Header *h, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, word, n) != 0) return 0;
    h->p += n;
    return 1;
}

/* (d0, d1, ...): at most NPY_MAX_DIMS whole numbers, a one-element tuple
 * with its comma, as Python writes them; the product checked against the
 * file size limit as it is formed. */
static int take_shape(Header *h, NpyArray *a) {
    if (take(h, '(', "'(' opening the shape") != 0) return -1;
    const int64_t max_count = NPY_MAX_FILE_BYTES / (int64_t)sizeof(float);
    int64_t count = 1;
    int commas = 0;
    a->ndim = 0;
    for (;;) {
        skip_space(h);
        if (h->p < h->end && *h->p == ')') break;
        if (h->p >= h->end || *h->p < '0' || *h->p > '9') return malformed(h, "a dimension");
        int64_t d = 0;
        int digits = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            if (++digits > 12) return malformed(h, "a dimension of at most 12 digits");
            d = d * 10 + (*h->p++ - '0');
        }
        if (a->ndim == NPY_MAX_DIMS)
            return error_set(h->e, "%s: .npy of more than %d dimensions; a map has 2 or 3",
                             h->name, NPY_MAX_DIMS);
        if (d > max_count || (d > 0 && count > max_count / d))
            return error_set(h->e, "%s: .npy shape needs more than the %d MB limit of a .npy file",
                             h->name, NPY_MAX_FILE_BYTES >> 20);
        a->shape[a->ndim++] = d;
        count *= d;
        skip_space(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++, commas++;
            continue;
        }
        if (h->p < h->end && *h->p == ')') break;
        return malformed(h, "',' or ')' in the shape");
    }
    if (a->ndim == 1 && commas == 0) return malformed(h, "',' after a one-dimensional shape");
    h->p++;
    a->count = (size_t)count;
    return 0;
}

/* The dict literal: descr, fortran_order and shape, each exactly once. */
static int parse_header(const char *text, size_t len, const char *name, NpyArray *a, Error *e) {
    Header h = {.p = text, .end = text + len, .start = text, .name = name, .e = e};
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0')
            return error_set(e, "%s: malformed .npy header (a NUL byte at byte %zu)", name,
                             NPY_PREAMBLE + i);
    if (take(&h, '{', "'{'") != 0) return -1;
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    for (;;) {
        skip_space(&h);
        if (h.p < h.end && *h.p == '}') break;
        char key[32], value[32], quoted[48];
        if (take_string(&h, key, sizeof key) != 0 || take(&h, ':', "':'") != 0) return -1;
        skip_space(&h);
        int *seen = strcmp(key, "descr") == 0           ? &seen_descr
                    : strcmp(key, "fortran_order") == 0 ? &seen_order
                    : strcmp(key, "shape") == 0         ? &seen_shape
                                                        : NULL;
        if (!seen) {
            text_quote(quoted, sizeof quoted, key);
            return error_set(e, "%s: unknown .npy header key '%s'", name, quoted);
        }
        if (*seen) return error_set(e, "%s: .npy header key '%s' appears twice", name, key);
        *seen = 1;
        if (seen == &seen_descr) {
            if (take_string(&h, value, sizeof value) != 0) return -1;
            if (strcmp(value, "<f4") != 0) {
                text_quote(quoted, sizeof quoted, value);
                return error_set(e, "%s: .npy of dtype '%s'; guidedbp reads '<f4' (little-endian "
                                 "float32) only", name, quoted);
            }
        } else if (seen == &seen_order) {
            if (take_word(&h, "True"))
                return error_set(e, "%s: .npy in Fortran order; guidedbp reads C order only "
                                 "(fortran_order False)", name);
            if (!take_word(&h, "False")) return malformed(&h, "False or True");
        } else if (take_shape(&h, a) != 0) {
            return -1;
        }
        skip_space(&h);
        if (h.p < h.end && *h.p == ',') {
            h.p++;
            continue;
        }
        if (h.p < h.end && *h.p == '}') break;
        return malformed(&h, "',' or '}'");
    }
    h.p++;
    if (!seen_descr || !seen_order || !seen_shape)
        return error_set(e, "%s: .npy header lacks '%s'", name,
                         !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    // Then spaces, and the newline that ends every header.
    while (h.p < h.end - 1 && *h.p == ' ') h.p++;
    if (h.p != h.end - 1 || *h.p != '\n')
        return malformed(&h, "spaces and a newline after the dict");
    return 0;
}

/* The data must be exactly what the shape needs. */
static int check_data(const NpyArray *a, size_t data_bytes, const char *name, Error *e) {
    char shape[NPY_MAX_DIMS * 16 + 8];
    npy_shape_text(a, shape, sizeof shape);
    if (data_bytes != a->count * sizeof(float))
        return error_set(e, "%s: .npy holds %zu bytes of data; its shape %s needs %zu", name,
                         data_bytes, shape, a->count * sizeof(float));
    return 0;
}

int npy_array_decode(const unsigned char *bytes, size_t size, const char *name, NpyArray *a,
                     Error *e) {
    *a = (NpyArray){0};
    size_t header;
    if (size > NPY_MAX_FILE_BYTES)
        return error_set(e, "%s: %zu bytes, more than the %d MB limit for a .npy", name, size,
                         NPY_MAX_FILE_BYTES >> 20);
    if (parse_preamble(bytes, size, name, &header, e) != 0) return -1;
    if (size < NPY_PREAMBLE + header)
        return error_set(e, "%s: truncated .npy (%zu bytes, its header needs %zu)", name, size,
                         NPY_PREAMBLE + header);
    NpyArray got = {0};
    if (parse_header((const char *)bytes + NPY_PREAMBLE, header, name, &got, e) != 0 ||
        check_data(&got, size - NPY_PREAMBLE - header, name, e) != 0)
        return -1;
    got.data = malloc(got.count ? got.count * sizeof(float) : 1);
    if (!got.data) return error_set(e, "%s: out of memory", name);
    memcpy(got.data, bytes + NPY_PREAMBLE + header, got.count * sizeof(float));
    *a = got;
    return 0;
}

int npy_array_load(const char *path, NpyArray *a, Error *e) {
    *a = (NpyArray){0};
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
    // below like anything else that is not a regular file.
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(e, "%s: not a regular file", path);
    }
    if (!(f = fdopen(fd, "rb"))) {
        close(fd);
        return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    }
    if (st.st_size > NPY_MAX_FILE_BYTES) {
        fclose(f);
        return error_set(e, "%s: file is %lld bytes, more than the %d MB limit for a .npy", path,
                         (long long)st.st_size, NPY_MAX_FILE_BYTES >> 20);
    }
    // The preamble and header first: the data is allocated only once the
    // shape is known to match the file's size.
    unsigned char head[NPY_PREAMBLE + NPY_MAX_HEADER];
    size_t size = (size_t)st.st_size, header = 0;
    size_t got = fread(head, 1, size < NPY_PREAMBLE ? size : NPY_PREAMBLE, f);
    NpyArray out = {0};
    int rc = -1;
    if (got != (size < NPY_PREAMBLE ? size : NPY_PREAMBLE)) {
        error_set(e, "%s: read error", path);
    } else if (parse_preamble(head, size, path, &header, e) == 0) {
        if (size < NPY_PREAMBLE + header)
            error_set(e, "%s: truncated .npy (%zu bytes, its header needs %zu)", path, size,
                      NPY_PREAMBLE + header);
        else if (fread(head + NPY_PREAMBLE, 1, header, f) != header)
            error_set(e, "%s: read error in the .npy header", path);
        else if (parse_header((const char *)head + NPY_PREAMBLE, header, path, &out, e) == 0 &&
                 check_data(&out, size - NPY_PREAMBLE - header, path, e) == 0) {
            if (!(out.data = malloc(out.count ? out.count * sizeof(float) : 1)))
                error_set(e, "%s: out of memory reading %zu values", path, out.count);
            else if (fread(out.data, sizeof(float), out.count, f) != out.count || ferror(f) ||
                     fgetc(f) != EOF)
                error_set(e, "%s: read error, or the file changed while it was read", path);
            else
                rc = 0;
        }
    }
    fclose(f);
    if (rc != 0) {
        free(out.data);
        return -1;
    }
    *a = out;
    return 0;
}

void npy_array_free(NpyArray *a) {
    if (!a) return;
    free(a->data);
    *a = (NpyArray){0};
}

void npy_shape_text(const NpyArray *a, char *out, size_t len) {
    size_t used = (size_t)snprintf(out, len, "(");
    for (int i = 0; i < a->ndim && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", i ? ", " : "",
                                 (long long)a->shape[i]);
    if (used < len) snprintf(out + used, len - used, a->ndim == 1 ? ",)" : ")");
}
