#include "nn/weights.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parallel.h"
#include "util/rng.h"

/* torchvision's AlexNet widths, used by random:SEED. */
static const int full_conv_c[5] = {64, 192, 384, 256, 256};
static const int full_fc_out[ARCH_FCS] = {4096, 4096, 1000};
/* No real layer is this wide; the bound keeps every size product in range. */
enum { MAX_WIDTH = 1 << 20 };

int weights_layers(const Weights *w) { return w->arch.n_convs + ARCH_FCS; }

void weights_layer_name(const Weights *w, int l, char *name, int len) {
    if (l < w->arch.n_convs) snprintf(name, (size_t)len, "features.%d", w->arch.conv_module[l]);
    else snprintf(name, (size_t)len, "classifier.%d", w->arch.fc_module[l - w->arch.n_convs]);
}

static void format_shape(char *buf, size_t len, const StTensor *t) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%" PRId64, i ? "," : "", t->shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

/* Looks up name and checks its shape against want (a -1 entry takes any
 * size, which is then stored back so later tensors can be checked against it). */
static const float *expect(const SafeTensors *st, const char *path, const char *prefix,
                           const char *suffix, int ndim, int64_t *want, Error *e) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    const StTensor *t = safetensors_get(st, name);
    if (!t) {
        error_set(e, "%s: missing tensor '%s' (is this a torchvision model's state_dict?)", path,
                  name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = want[i] < 0 ? t->shape[i] > 0 : t->shape[i] == want[i];
    if (ok && t->shape[0] > MAX_WIDTH) ok = 0;
    if (!ok) {
        char found[128], expected[128] = "[";
        format_shape(found, sizeof found, t);
        for (int i = 0; i < ndim; i++) {
            size_t used = strlen(expected);
            if (want[i] < 0)
                snprintf(expected + used, sizeof expected - used, "%sN", i ? "," : "");
            else
                snprintf(expected + used, sizeof expected - used, "%s%" PRId64, i ? "," : "",
                         want[i]);
        }
        strncat(expected, "]", sizeof expected - strlen(expected) - 1);
        error_set(e, "%s: tensor '%s' has shape %s, expected %s", path, name, found, expected);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) want[i] = t->shape[i];
    return t->data;
}

static int bind_file(Weights *w, const char *path, Error *e) {
    const SafeTensors *st = &w->file;
    const char *arch = safetensors_metadata(st, "arch");
    if (arch_lookup(arch ? arch : "alexnet", &w->arch) != 0) {
        // Shown printable and short, so the message stays one line.
        char shown[40];
        size_t i = 0;
        for (; arch[i] && i < sizeof shown - 1; i++)
            shown[i] = arch[i] >= 0x20 && arch[i] < 0x7f ? arch[i] : '?';
        shown[i] = '\0';
        return error_set(e, "%s: unknown architecture '%s' in the metadata (known: %s)", path,
                         shown, arch_names());
    }
    const Arch *a = &w->arch;
    int64_t in_c = 3;
    char prefix[32];
    for (int i = 0; i < a->n_convs; i++) {
        int k = a->conv_k[i];
        snprintf(prefix, sizeof prefix, "features.%d", a->conv_module[i]);
        int64_t ws[4] = {-1, in_c, k, k};
        if (!(w->conv_w[i] = expect(st, path, prefix, "weight", 4, ws, e))) return -1;
        int64_t bs[1] = {ws[0]};
        if (!(w->conv_b[i] = expect(st, path, prefix, "bias", 1, bs, e))) return -1;
        w->conv_c[i] = (int)ws[0];
        in_c = ws[0];
    }
    int64_t in = in_c * a->pooled * a->pooled;
    for (int i = 0; i < ARCH_FCS; i++) {
        snprintf(prefix, sizeof prefix, "classifier.%d", a->fc_module[i]);
        int64_t ws[2] = {-1, in};
        if (!(w->fc_w[i] = expect(st, path, prefix, "weight", 2, ws, e))) return -1;
        int64_t bs[1] = {ws[0]};
        if (!(w->fc_b[i] = expect(st, path, prefix, "bias", 1, bs, e))) return -1;
        w->fc_out[i] = (int)ws[0];
        in = ws[0];
    }
    // Everything bound above is 2 tensors per layer; anything else is a
    // different model, and guessing which would be wrong.
    if (st->n_tensors != 2 * weights_layers(w)) {
        for (int i = 0; i < st->n_tensors; i++) {
            const char *name = st->tensors[i].name;
            int known = 0;
            for (int l = 0; l < weights_layers(w) && !known; l++) {
                weights_layer_name(w, l, prefix, sizeof prefix);
                size_t n = strlen(prefix);
                known = strncmp(name, prefix, n) == 0 &&
                        (strcmp(name + n, ".weight") == 0 || strcmp(name + n, ".bias") == 0);
            }
            if (!known)
                return error_set(e, "%s: unexpected tensor '%s' (not part of torchvision's %s)",
                                 path, name, a->name);
        }
    }
    return 0;
}

static void fill_uniform(float *dst, size_t n, uint64_t seed, uint64_t first, double bound) {
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform(seed, first + i);
        dst[i] = (float)((2.0 * u - 1.0) * bound);
    }
}

/* Layer `layer` (the convolutions, then the linear layers) of w's widths:
 * its weight and bias counts and its fan-in. */
static void layer_shape(const Weights *w, int layer, size_t *weights, size_t *biases,
                        size_t *fan_in) {
    const Arch *a = &w->arch;
    size_t in = 3;
    for (int i = 0; i < a->n_convs; i++) {
        size_t k = (size_t)a->conv_k[i], out = (size_t)w->conv_c[i];
        if (i == layer) *fan_in = in * k * k, *biases = out, *weights = out * *fan_in;
        in = out;
    }
    in *= (size_t)(a->pooled * a->pooled);
    for (int i = 0; i < ARCH_FCS; i++) {
        size_t out = (size_t)w->fc_out[i];
        if (a->n_convs + i == layer) *fan_in = in, *biases = out, *weights = out * in;
        in = out;
    }
}

/* Draws layer `layer` into wdst and bdst: the values at its place in the
 * stream that runs over all tensors in state_dict order (each weight, then
 * its bias), so a layer drawn alone equals the same layer drawn with all. */
static void draw_layer(const Weights *w, int layer, uint64_t seed, float *wdst, float *bdst) {
    uint64_t counter = 0;
    size_t nw, nb, fan_in;
    for (int i = 0; i < layer; i++) {
        layer_shape(w, i, &nw, &nb, &fan_in);
        counter += nw + nb;
    }
    layer_shape(w, layer, &nw, &nb, &fan_in);
    double bound = 1.0 / sqrt((double)fan_in);
    fill_uniform(wdst, nw, seed, counter, bound);
    fill_uniform(bdst, nb, seed, counter + nw, bound);
}

static void point_layer(Weights *w, int layer, float *wt, float *bias) {
    int convs = w->arch.n_convs;
    if (layer < convs) w->conv_w[layer] = wt, w->conv_b[layer] = bias;
    else w->fc_w[layer - convs] = wt, w->fc_b[layer - convs] = bias;
}

int weights_random(Weights *w, uint64_t seed, Error *e) {
    memset(w, 0, sizeof *w);
    arch_lookup("alexnet", &w->arch);
    memcpy(w->conv_c, full_conv_c, sizeof full_conv_c);
    memcpy(w->fc_out, full_fc_out, sizeof w->fc_out);
    size_t total = 0, sizes[ARCH_MAX_LAYERS][2], fan_in;
    for (int l = 0; l < weights_layers(w); l++) {
        layer_shape(w, l, &sizes[l][0], &sizes[l][1], &fan_in);
        total += sizes[l][0] + sizes[l][1];
    }
    if (!(w->owned = malloc(total * sizeof(float))))
        return error_set(e, "random:%" PRIu64 ": out of memory for %zu parameters", seed, total);
    float *p = w->owned;
    for (int l = 0; l < weights_layers(w); l++) {
        point_layer(w, l, p, p + sizes[l][0]);
        draw_layer(w, l, seed, p, p + sizes[l][0]);
        p += sizes[l][0] + sizes[l][1];
    }
    return 0;
}

int weights_randomize_layer(Weights *w, int layer, uint64_t seed, Error *e) {
    size_t nw, nb, fan_in;
    layer_shape(w, layer, &nw, &nb, &fan_in);
    float *p = malloc((nw + nb) * sizeof(float));
    if (!p) return error_set(e, "out of memory re-drawing %zu parameters", nw + nb);
    draw_layer(w, layer, seed, p, p + nw);
    free(w->redrawn[layer]);
    w->redrawn[layer] = p;
    point_layer(w, layer, p, p + nw);
    return 0;
}

/* A NaN or infinity in a weight would spread silently through the maps, so
 * the file's tensors are scanned once, in fixed chunks over the threads. */
enum { FINITE_CHUNK = 1 << 20 };

typedef struct {
    const StTensor *t;
    size_t *first_bad; // per chunk: the first non-finite index, or SIZE_MAX
} FiniteScan;

static void scan_chunk(void *ctx, int task) {
    const FiniteScan *s = ctx;
    size_t begin = (size_t)task * FINITE_CHUNK, end = begin + FINITE_CHUNK;
    if (end > s->t->count) end = s->t->count;
    size_t bad = SIZE_MAX;
    for (size_t i = begin; i < end; i++)
        if (!isfinite(s->t->data[i])) {
            bad = i;
            break;
        }
    s->first_bad[task] = bad;
}

static int check_finite(const SafeTensors *st, const char *path, int threads, Error *e) {
    for (int i = 0; i < st->n_tensors; i++) {
        const StTensor *t = &st->tensors[i];
        int chunks = (int)((t->count + FINITE_CHUNK - 1) / FINITE_CHUNK);
        if (chunks == 0) continue;
        size_t *first_bad = malloc(sizeof *first_bad * (size_t)chunks);
        if (!first_bad) return error_set(e, "%s: out of memory", path);
        FiniteScan scan = {t, first_bad};
        parallel_for(chunks, threads, scan_chunk, &scan);
        size_t bad = SIZE_MAX;
        for (int c = 0; c < chunks && bad == SIZE_MAX; c++) bad = first_bad[c];
        free(first_bad);
        if (bad != SIZE_MAX)
            return error_set(e, "%s: tensor '%s' holds %s at flat index %zu; weights must be "
                             "finite", path, t->name, isnan(t->data[bad]) ? "NaN" : "an infinity",
                             bad);
    }
    return 0;
}

int weights_load(Weights *w, const char *spec, Error *e) {
    memset(w, 0, sizeof *w);
    if (strncmp(spec, "random:", 7) == 0) {
        const char *digits = spec + 7;
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(digits, &end, 10);
        if (*digits < '0' || *digits > '9' || *end != '\0' || errno == ERANGE)
            return error_set(e, "%s: the seed must be a whole number from 0 to %" PRIu64, spec,
                             UINT64_MAX);
        return weights_random(w, (uint64_t)seed, e);
    }
    if (safetensors_open(&w->file, spec, e) != 0) return -1;
    if (bind_file(w, spec, e) != 0 || check_finite(&w->file, spec, parallel_cpus(), e) != 0) {
        weights_free(w);
        return -1;
    }
    return 0;
}

void weights_view(const Weights *src, Weights *view) {
    *view = *src;
    memset(&view->file, 0, sizeof view->file);
    view->owned = NULL;
    memset(view->redrawn, 0, sizeof view->redrawn);
}

void weights_free(Weights *w) {
    if (!w) return;
    safetensors_close(&w->file);
    free(w->owned);
    for (int l = 0; l < ARCH_MAX_LAYERS; l++) free(w->redrawn[l]);
    memset(w, 0, sizeof *w);
}
