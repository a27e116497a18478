#include "io/safetensors.h"

#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/text.h"

/* Tensor data is used in place as float, and the file is little-endian. */
#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__) || \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c reads little-endian floats in place: little-endian hosts only"
#endif
_Static_assert(sizeof(float) == 4, "F32 tensors need a 4-byte float");

/* cJSON holds every number as a double. Below 2^53 each integer is exact, and
 * a larger one written in the file cannot round down into the accepted range
 * (2^53 + 1 parses as 2^53, which is refused). */
#define MAX_JSON_INT 9007199254740991.0 /* 2^53 - 1 */

/* The other dtypes the format defines: named in the refusal, so that an F16
 * file is told apart from a corrupt one. */
static const char *const OTHER_DTYPES[] = {
    "BOOL", "U8", "I8", "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0",
    "I16", "U16", "F16", "BF16", "I32", "U32", "I64", "U64", "F64", "C64",
};

typedef struct {
    uint64_t begin, end; // in the data region
    int index;           // into SafeTensors.tensors
} Span;

typedef struct {
    const char *path;
    Error *e;
    size_t data_size; // bytes after the header
    Span *spans;      // (n_tensors)
} Loader;

/* A string from the file made safe for a one-line message (text.h). */
typedef struct {
    char s[160];
} Quoted;

static Quoted quote(const char *str) {
    Quoted q;
    text_quote(q.s, sizeof q.s, str);
    return q;
}

typedef struct {
    char s[8 * 24];
} ShapeText;

static ShapeText shape_text(const int64_t *shape, int ndim) {
    ShapeText t;
    size_t o = 0;
    t.s[o++] = '[';
    for (int i = 0; i < ndim; i++)
        o += (size_t)snprintf(t.s + o, sizeof t.s - o, "%s%" PRId64, i ? "," : "", shape[i]);
    snprintf(t.s + o, sizeof t.s - o, "]");
    return t;
}

static const char *json_kind(const cJSON *j) {
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "an invalid value";
}

/* A JSON value for a message: a number as written, else its kind. */
typedef struct {
    char s[40];
} Described;

static Described describe(const cJSON *j) {
    Described d;
    if (cJSON_IsNumber(j))
        snprintf(d.s, sizeof d.s, "%.17g", j->valuedouble);
    else
        snprintf(d.s, sizeof d.s, "%s", json_kind(j));
    return d;
}

/* NULL when j is an integer in [0, 2^53); otherwise why not. */
static const char *json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return "is not a number";
    double v = j->valuedouble;
    if (v < 0) return "is negative";
    if (!(v <= MAX_JSON_INT)) return "is 2^53 or more";
    uint64_t u = (uint64_t)v;
    if ((double)u != v) return "is not an integer";
    *out = u;
    return NULL;
}

static int map_file(SafeTensors *st, const char *path, Error *e) {
    /* O_NONBLOCK: opening a FIFO by mistake must fail below, not hang here. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return error_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return error_set(e, "%s: cannot stat: %s", path, strerror(err));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return error_set(e, "%s: is a directory, not a safetensors file", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return error_set(e, "%s: is not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return error_set(e, "%s: file is %jd bytes, shorter than the 8-byte header length",
                         path, (intmax_t)sb.st_size);
    }
    if ((uintmax_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return error_set(e, "%s: file of %jd bytes is too large to map", path,
                         (intmax_t)sb.st_size);
    }
    size_t size = (size_t)sb.st_size;
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (m == MAP_FAILED)
        return error_set(e, "%s: cannot map %zu bytes: %s", path, size, strerror(err));
    st->map = m;
    st->map_size = size;
    return 0;
}

/* What cJSON would accept or mangle silently: NUL bytes (it would stop
 * there), \u0000 escapes (a C string would end there, so "a\u0000b" would
 * become "a"), and bytes that are not UTF-8. */
static int check_header_bytes(const Loader *ld, const unsigned char *h, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = h[i];
        if (c == 0)
            return error_set(ld->e, "%s: header has a NUL byte at header offset %zu", ld->path, i);
        if (c == '\\') {
            if (n - i >= 6 && memcmp(h + i + 1, "u0000", 5) == 0)
                return error_set(ld->e,
                                 "%s: header has an escaped NUL (\\u0000) at header offset %zu, "
                                 "which names and metadata cannot hold",
                                 ld->path, i);
            /* Skip the escaped character so that "\\u0000" is not taken for one. */
            i += (i + 1 < n && h[i + 1] < 0x80) ? 2 : 1;
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        /* Second-byte bounds rule out overlong forms, surrogates and > U+10FFFF. */
        unsigned lo = 0x80, hi = 0xbf;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
        int ok = c >= 0xc2 && c <= 0xf4 && n - i >= len && h[i + 1] >= lo && h[i + 1] <= hi;
        for (size_t k = 2; ok && k < len; k++) ok = (h[i + k] & 0xc0) == 0x80;
        if (!ok)
            return error_set(ld->e, "%s: header is not valid UTF-8 (byte 0x%02x at header offset %zu)",
                             ld->path, c, i);
        i += len;
    }
    return 0;
}

/* Copies the __metadata__ pairs, which survey() has checked, into the arena. */
static void read_metadata(SafeTensors *st, const cJSON *meta, char **strings) {
    for (const cJSON *m = meta->child; m; m = m->next) {
        StMetadata *md = &st->metadata[st->n_metadata++];
        size_t kn = strlen(m->string) + 1, vn = strlen(m->valuestring) + 1;
        md->key = memcpy(*strings, m->string, kn);
        md->value = memcpy(*strings + kn, m->valuestring, vn);
        *strings += kn + vn;
    }
}

static int read_shape(const Loader *ld, const char *name, const cJSON *shape, StTensor *t) {
    if (!cJSON_IsArray(shape))
        return error_set(ld->e, "%s: tensor '%s': shape is %s, not an array", ld->path,
                         quote(name).s, json_kind(shape));
    int ndim = 0;
    for (const cJSON *d = shape->child; d; d = d->next) {
        if (ndim == SAFETENSORS_MAX_DIMS)
            return error_set(ld->e, "%s: tensor '%s': shape has more than %d dimensions",
                             ld->path, quote(name).s, SAFETENSORS_MAX_DIMS);
        uint64_t v;
        const char *why = json_uint(d, &v);
        if (why)
            return error_set(ld->e,
                             "%s: tensor '%s': shape[%d] %s (%s); dimensions are integers "
                             "from 0 to 2^53-1",
                             ld->path, quote(name).s, ndim, why, describe(d).s);
        t->shape[ndim++] = (int64_t)v;
    }
    t->ndim = ndim;
    /* The exact product: any zero makes it 0 whatever the other dimensions. */
    size_t count = 1;
    int has_zero = 0;
    for (int i = 0; i < ndim; i++) has_zero |= t->shape[i] == 0;
    for (int i = 0; i < ndim && !has_zero; i++) {
        uint64_t d = (uint64_t)t->shape[i];
        if (d > SIZE_MAX / sizeof(float) / count)
            return error_set(ld->e, "%s: tensor '%s': shape %s has too many elements (its byte size overflows)",
                             ld->path, quote(name).s, shape_text(t->shape, ndim).s);
        count *= (size_t)d;
    }
    t->count = has_zero ? 0 : count;
    return 0;
}

static int read_offsets(const Loader *ld, const char *name, const cJSON *offs,
                        const StTensor *t, Span *sp) {
    if (!cJSON_IsArray(offs))
        return error_set(ld->e, "%s: tensor '%s': data_offsets is %s, not an array [BEGIN, END]",
                         ld->path, quote(name).s, json_kind(offs));
    int n = cJSON_GetArraySize(offs);
    if (n != 2)
        return error_set(ld->e, "%s: tensor '%s': data_offsets has %d elements, expected 2 [BEGIN, END]",
                         ld->path, quote(name).s, n);
    uint64_t v[2];
    const cJSON *o = offs->child;
    for (int i = 0; i < 2; i++, o = o->next) {
        const char *why = json_uint(o, &v[i]);
        if (why)
            return error_set(ld->e,
                             "%s: tensor '%s': data_offsets[%d] %s (%s); offsets are integers "
                             "from 0 to 2^53-1",
                             ld->path, quote(name).s, i, why, describe(o).s);
    }
    if (v[0] > v[1])
        return error_set(ld->e, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] end before they begin",
                         ld->path, quote(name).s, v[0], v[1]);
    /* count * 4 cannot overflow: read_shape bounded count by SIZE_MAX / 4. */
    size_t need = t->count * sizeof(float);
    if (v[1] - v[0] != (uint64_t)need)
        return error_set(ld->e, "%s: tensor '%s': data_offsets span %" PRIu64 " bytes, shape %s of F32 needs %zu",
                         ld->path, quote(name).s, v[1] - v[0], shape_text(t->shape, t->ndim).s, need);
    if (v[1] > (uint64_t)ld->data_size)
        return error_set(ld->e,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] run past the end "
                         "of the data region (%zu bytes)",
                         ld->path, quote(name).s, v[0], v[1], ld->data_size);
    sp->begin = v[0];
    sp->end = v[1];
    return 0;
}

static int read_tensor(const Loader *ld, const cJSON *entry, StTensor *t, Span *sp) {
    const char *name = t->name;
    if (!cJSON_IsObject(entry))
        return error_set(ld->e, "%s: tensor '%s': entry is %s, not an object", ld->path,
                         quote(name).s, json_kind(entry));
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *m = entry->child; m; m = m->next) {
        const cJSON **slot = strcmp(m->string, "dtype") == 0          ? &dtype
                             : strcmp(m->string, "shape") == 0        ? &shape
                             : strcmp(m->string, "data_offsets") == 0 ? &offs
                                                                      : NULL;
        if (!slot)
            return error_set(ld->e,
                             "%s: tensor '%s': unexpected key '%s' (an entry has exactly "
                             "dtype, shape, data_offsets)",
                             ld->path, quote(name).s, quote(m->string).s);
        if (*slot)
            return error_set(ld->e, "%s: tensor '%s': key '%s' appears twice", ld->path,
                             quote(name).s, m->string);
        *slot = m;
    }
    const char *missing = !dtype ? "dtype" : !shape ? "shape" : !offs ? "data_offsets" : NULL;
    if (missing)
        return error_set(ld->e, "%s: tensor '%s': missing key '%s'", ld->path, quote(name).s,
                         missing);

    if (!cJSON_IsString(dtype))
        return error_set(ld->e, "%s: tensor '%s': dtype is %s, not a string", ld->path,
                         quote(name).s, json_kind(dtype));
    if (strcmp(dtype->valuestring, "F32") != 0) {
        for (size_t i = 0; i < sizeof OTHER_DTYPES / sizeof OTHER_DTYPES[0]; i++)
            if (strcmp(dtype->valuestring, OTHER_DTYPES[i]) == 0)
                return error_set(ld->e,
                                 "%s: tensor '%s': unsupported dtype '%s' (guidedbp reads F32 only)",
                                 ld->path, quote(name).s, OTHER_DTYPES[i]);
        return error_set(ld->e, "%s: tensor '%s': unknown dtype '%s' (guidedbp reads F32 only)",
                         ld->path, quote(name).s, quote(dtype->valuestring).s);
    }
    if (read_shape(ld, name, shape, t) != 0) return -1;
    return read_offsets(ld, name, offs, t, sp);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(StTensor *const *)a)->name, (*(StTensor *const *)b)->name);
}

static int cmp_metadata_key(const void *a, const void *b) {
    return strcmp(((const StMetadata *)a)->key, ((const StMetadata *)b)->key);
}

static int cmp_span(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Both checks sort, so a hostile header of a million keys costs n log n. */
static int check_unique(SafeTensors *st, const Loader *ld) {
    for (int i = 0; i < st->n_tensors; i++) st->by_name[i] = &st->tensors[i];
    if (st->n_tensors > 1) qsort(st->by_name, (size_t)st->n_tensors, sizeof *st->by_name, cmp_tensor_name);
    for (int i = 1; i < st->n_tensors; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0)
            return error_set(ld->e, "%s: tensor '%s' appears twice in the header", ld->path,
                             quote(st->by_name[i]->name).s);
    if (st->n_metadata > 1)
        qsort(st->metadata, (size_t)st->n_metadata, sizeof *st->metadata, cmp_metadata_key);
    for (int i = 1; i < st->n_metadata; i++)
        if (strcmp(st->metadata[i - 1].key, st->metadata[i].key) == 0)
            return error_set(ld->e, "%s: __metadata__ key '%s' appears twice", ld->path,
                             quote(st->metadata[i].key).s);
    return 0;
}

/* The tensors must tile the data region exactly, as the reference writer
 * lays them out: a gap or overlap means a corrupt or crafted file. */
static int check_coverage(const SafeTensors *st, const Loader *ld) {
    Span *s = ld->spans;
    if (st->n_tensors > 1) qsort(s, (size_t)st->n_tensors, sizeof *s, cmp_span);
    uint64_t covered = 0;
    const char *prev = NULL;
    for (int i = 0; i < st->n_tensors; i++) {
        const char *name = st->tensors[s[i].index].name;
        if (s[i].begin > covered) {
            if (prev)
                return error_set(ld->e,
                                 "%s: hole in the data region: bytes [%" PRIu64 ",%" PRIu64 ") "
                                 "between tensors '%s' and '%s' belong to no tensor",
                                 ld->path, covered, s[i].begin, quote(prev).s, quote(name).s);
            return error_set(ld->e,
                             "%s: hole in the data region: bytes [0,%" PRIu64 ") before tensor "
                             "'%s' belong to no tensor",
                             ld->path, s[i].begin, quote(name).s);
        }
        if (s[i].begin < covered)
            return error_set(ld->e,
                             "%s: tensors '%s' [%" PRIu64 ",%" PRIu64 ") and '%s' [%" PRIu64
                             ",%" PRIu64 ") overlap",
                             ld->path, quote(prev).s, s[i - 1].begin, s[i - 1].end, quote(name).s,
                             s[i].begin, s[i].end);
        covered = s[i].end;
        prev = name;
    }
    if (covered != (uint64_t)ld->data_size) {
        if (prev)
            return error_set(ld->e,
                             "%s: %" PRIu64 " trailing bytes: the data region is %zu bytes but "
                             "the last tensor '%s' ends at %" PRIu64,
                             ld->path, (uint64_t)ld->data_size - covered, ld->data_size,
                             quote(prev).s, covered);
        return error_set(ld->e, "%s: %zu trailing bytes: the header lists no tensors", ld->path,
                         ld->data_size);
    }
    return 0;
}

/* Points each tensor at its floats. Every begin is a multiple of 4: the
 * tensors tile the region from 0 and each spans count * 4 bytes. */
static int place_data(SafeTensors *st, const Loader *ld, size_t data_off) {
    const unsigned char *base = (const unsigned char *)st->map + data_off;
    /* mmap returns a page-aligned address, so the data region is as aligned
     * as 8 + N. Reading floats through a misaligned pointer is undefined
     * behaviour in C (and a fault on some CPUs), so a file whose header length
     * is not a multiple of 4 costs one aligned copy; the mapping then goes. */
    if (data_off % sizeof(float) != 0 && ld->data_size > 0) {
        st->data_copy = malloc(ld->data_size);
        if (!st->data_copy)
            return error_set(ld->e,
                             "%s: cannot allocate %zu bytes to align the data region "
                             "(header length %zu is not a multiple of 4)",
                             ld->path, ld->data_size, data_off - 8);
        memcpy(st->data_copy, base, ld->data_size);
        munmap(st->map, st->map_size);
        st->map = NULL;
        st->map_size = 0;
        base = (const unsigned char *)st->data_copy;
    }
    for (int i = 0; i < st->n_tensors; i++) {
        const Span *s = &ld->spans[i];
        StTensor *t = &st->tensors[s->index];
        t->data = t->count ? (const float *)(const void *)(base + s->begin) : NULL;
    }
    return 0;
}

/* Counts the entries, checks __metadata__, and sizes the string arena; the
 * sum cannot exceed the header (decoded JSON strings are never longer than
 * their text) but is checked anyway. */
static int survey(const Loader *ld, const cJSON *root, size_t *n_tensors, size_t *n_meta,
                  size_t *string_bytes) {
    const cJSON *meta = NULL;
    *n_tensors = *n_meta = *string_bytes = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        size_t add = strlen(c->string) + 1;
        if (strcmp(c->string, "__metadata__") != 0) {
            ++*n_tensors;
        } else if (meta) {
            return error_set(ld->e, "%s: key '__metadata__' appears twice", ld->path);
        } else {
            meta = c;
            add = 0;
            if (!cJSON_IsObject(c))
                return error_set(ld->e, "%s: __metadata__ is %s, not an object of strings",
                                 ld->path, json_kind(c));
            for (const cJSON *m = c->child; m; m = m->next) {
                if (!cJSON_IsString(m))
                    return error_set(ld->e, "%s: __metadata__ value for key '%s' is %s, not a string",
                                     ld->path, quote(m->string).s, json_kind(m));
                size_t kv = strlen(m->string) + 1 + strlen(m->valuestring) + 1;
                if (kv > SIZE_MAX - add) goto overflow;
                add += kv;
                ++*n_meta;
            }
        }
        if (add > SIZE_MAX - *string_bytes) goto overflow;
        *string_bytes += add;
    }
    if (*n_tensors > INT_MAX || *n_meta > INT_MAX) goto overflow;
    return 0;
overflow:
    return error_set(ld->e, "%s: header has too many entries", ld->path);
}

static int read_header(SafeTensors *st, Loader *ld, const cJSON *root) {
    size_t n_tensors, n_meta, string_bytes;
    if (survey(ld, root, &n_tensors, &n_meta, &string_bytes) != 0) return -1;
    /* calloc checks count * size for overflow itself; zero counts allocate
     * nothing, since calloc(0) may return NULL. */
    int ok = 1;
    if (n_tensors) {
        ok = (st->tensors = calloc(n_tensors, sizeof *st->tensors)) &&
             (st->by_name = calloc(n_tensors, sizeof *st->by_name)) &&
             (ld->spans = calloc(n_tensors, sizeof *ld->spans));
    }
    if (ok && n_meta) ok = (st->metadata = calloc(n_meta, sizeof *st->metadata)) != NULL;
    if (ok && string_bytes) ok = (st->strings = malloc(string_bytes)) != NULL;
    if (!ok)
        return error_set(ld->e, "%s: out of memory for a header of %zu tensors", ld->path,
                         n_tensors);

    char *strings = st->strings;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            read_metadata(st, c, &strings);
            continue;
        }
        size_t len = strlen(c->string);
        if (len == 0) return error_set(ld->e, "%s: a tensor has an empty name", ld->path);
        if (len > SAFETENSORS_MAX_NAME)
            return error_set(ld->e, "%s: tensor name of %zu bytes is longer than the limit of %d ('%s')",
                             ld->path, len, SAFETENSORS_MAX_NAME, quote(c->string).s);
        int i = st->n_tensors++;
        StTensor *t = &st->tensors[i];
        t->name = memcpy(strings, c->string, len + 1);
        strings += len + 1;
        ld->spans[i].index = i;
        if (read_tensor(ld, c, t, &ld->spans[i]) != 0) return -1;
    }
    if (check_unique(st, ld) != 0) return -1;
    return check_coverage(st, ld);
}

int safetensors_open(SafeTensors *st, const char *path, Error *e) {
    assert(st && path);
    memset(st, 0, sizeof *st);
    Loader ld = {.path = path, .e = e};
    cJSON *root = NULL;
    char *text = NULL;
    int rc = -1;
    if (map_file(st, path, e) != 0) goto done;

    const unsigned char *bytes = st->map;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | bytes[i];
    size_t avail = st->map_size - 8;
    if (n == 0) {
        error_set(e, "%s: header length is 0", path);
        goto done;
    }
    if (n > SAFETENSORS_MAX_HEADER) {
        error_set(e, "%s: header length %" PRIu64 " exceeds the limit of %u bytes", path, n,
                  SAFETENSORS_MAX_HEADER);
        goto done;
    }
    if (n > (uint64_t)avail) {
        error_set(e, "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes, so at most %zu)",
                  path, n, st->map_size, avail);
        goto done;
    }
    size_t header_len = (size_t)n;
    ld.data_size = avail - header_len;
    if (check_header_bytes(&ld, bytes + 8, header_len) != 0) goto done;

    /* cJSON gets its own NUL-terminated copy: it then never reads past the
     * header, and the mapping cannot change under the parser. */
    if (!(text = malloc(header_len + 1))) {
        error_set(e, "%s: out of memory for a %zu-byte header", path, header_len);
        goto done;
    }
    memcpy(text, bytes + 8, header_len);
    text[header_len] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithOpts(text, &end, 0);
    if (!root) {
        error_set(e, "%s: header is not valid JSON (error near header offset %td)", path,
                  end ? end - text : (ptrdiff_t)0);
        goto done;
    }
    for (const char *p = end; *p; p++)
        if (!strchr(" \t\r\n", *p)) {
            error_set(e, "%s: header is not valid JSON (unexpected bytes after the object at header offset %td)",
                      path, p - text);
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        error_set(e, "%s: header is %s, not a JSON object", path, json_kind(root));
        goto done;
    }
    if (read_header(st, &ld, root) != 0) goto done;
    if (place_data(st, &ld, 8 + header_len) != 0) goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    free(text);
    free(ld.spans);
    if (rc != 0) safetensors_close(st);
    return rc;
}

const StTensor *safetensors_get(const SafeTensors *st, const char *name) {
    if (!st || !name) return NULL;
    int lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->by_name[mid]->name);
        if (c == 0) return st->by_name[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const char *safetensors_metadata(const SafeTensors *st, const char *key) {
    if (!st || !key) return NULL;
    int lo = 0, hi = st->n_metadata;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(key, st->metadata[mid].key);
        if (c == 0) return st->metadata[mid].value;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

void safetensors_close(SafeTensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_size);
    free(st->data_copy);
    free(st->tensors);
    free(st->by_name);
    free(st->metadata);
    free(st->strings);
    memset(st, 0, sizeof *st);
}
