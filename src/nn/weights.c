#include "nn/weights.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/parallel.h"
#include "util/rng.h"
#include "util/text.h"

/* No real layer is this wide; the bound keeps every size product in range. */
enum { MAX_WIDTH = 1 << 20 };

int weights_layers(const Weights *w) { return graph_params(&w->graph); }

const char *weights_layer_name(const Weights *w, int l) {
    return w->graph.layers[graph_param_layer(&w->graph, l)].name;
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
    Graph *g = &w->graph;
    if (graph_build(g, arch ? arch : "alexnet") != 0) {
        char shown[160], known[256];
        text_quote(shown, sizeof shown, arch);
        graph_arch_list(known, sizeof known);
        return error_set(e, "%s: unknown architecture '%s' in the metadata (known: %s)", path,
                         shown, known);
    }
    // Each layer's input channels follow from the widths bound before it.
    g->in_c = 3;
    for (int i = 0; i < g->n_layers; i++) {
        Layer *l = &g->layers[i];
        if (graph_has_params(l->kind)) {
            int c, h, wd;
            graph_value_shape(g, l->in, &c, &h, &wd);
            int64_t conv_ws[4] = {-1, c, l->k, l->k}, linear_ws[2] = {-1, (int64_t)c * h * wd};
            int conv = l->kind == LAYER_CONV;
            int64_t *ws = conv ? conv_ws : linear_ws;
            if (!(w->w[i] = expect(st, path, l->name, "weight", conv ? 4 : 2, ws, e))) return -1;
            int64_t bs[1] = {ws[0]};
            if (!(w->b[i] = expect(st, path, l->name, "bias", 1, bs, e))) return -1;
            l->width = (int)ws[0];
        }
        if (graph_shape_layer(g, i, e) != 0) {
            // Only an add can fail here: a shortcut where torchvision's full
            // widths have none (or none where they have one).
            Error why = *e;
            return error_set(e, "%s: %s; a reduced-width %s must keep torchvision's width "
                             "ratios, which decide where its blocks have a downsample shortcut",
                             path, why.msg, g->arch);
        }
    }
    // Everything bound above is 2 tensors per layer; anything else is a
    // different model, and guessing which would be wrong.
    if (st->n_tensors != 2 * weights_layers(w)) {
        for (int i = 0; i < st->n_tensors; i++) {
            const char *name = st->tensors[i].name;
            int known = 0;
            for (int l = 0; l < weights_layers(w) && !known; l++) {
                const char *prefix = weights_layer_name(w, l);
                size_t n = strlen(prefix);
                known = strncmp(name, prefix, n) == 0 &&
                        (strcmp(name + n, ".weight") == 0 || strcmp(name + n, ".bias") == 0);
            }
            if (!known)
                return error_set(e, "%s: unexpected tensor '%s' (not part of torchvision's %s)",
                                 path, name, g->arch);
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

/* Layer `layer` (counted as weights_layers does) of w's widths: its weight
 * and bias counts and its fan-in. */
static void layer_shape(const Weights *w, int layer, size_t *weights, size_t *biases,
                        size_t *fan_in) {
    const Layer *l = &w->graph.layers[graph_param_layer(&w->graph, layer)];
    size_t k = l->kind == LAYER_CONV ? (size_t)l->k : 1;
    *fan_in = (size_t)l->in_c * k * k;
    *biases = (size_t)l->width;
    *weights = *biases * *fan_in;
}

/* 1 when layer `layer` is a convolution drawn with torchvision's ResNet
 * initialisation (kaiming normal, its BatchNorm folded at its start). */
static int kaiming(const Weights *w, int layer) {
    return w->graph.init == GRAPH_INIT_RESNET &&
           w->graph.layers[graph_param_layer(&w->graph, layer)].kind == LAYER_CONV;
}

/* Uniform draws layer `layer` takes from the stream: one a value, or two a
 * weight for a normal one (and none for its zero bias). */
static uint64_t draws(const Weights *w, int layer) {
    size_t nw, nb, fan_in;
    layer_shape(w, layer, &nw, &nb, &fan_in);
    return kaiming(w, layer) ? 2 * (uint64_t)nw : (uint64_t)(nw + nb);
}

/* kaiming_normal_(mode='fan_out', nonlinearity='relu'): std sqrt(2 /
 * fan_out), a Box-Muller normal from two draws each; then the BatchNorm
 * that follows at torchvision's start (weight 1, bias 0, mean 0, var 1,
 * eps 1e-5) folded in: a factor 1 / sqrt(1 + eps), and a zero bias. */
static void fill_kaiming(float *dst, size_t n, uint64_t seed, uint64_t first, size_t fan_out) {
    const double PI = 3.14159265358979323846;
    for (size_t i = 0; i < n; i++) {
        double u1 = rng_uniform(seed, first + 2 * i) + 0x1p-24; // (0, 1]: a finite log
        double u2 = rng_uniform(seed, first + 2 * i + 1);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
        dst[i] = (float)(z * sqrt(2.0 / (double)fan_out) / sqrt(1.0 + 1e-5));
    }
}

/* Draws layer `layer` into wdst and bdst: the values at its place in the
 * stream that runs over all tensors in state_dict order (each weight, then
 * its bias), so a layer drawn alone equals the same layer drawn with all. */
static void draw_layer(const Weights *w, int layer, uint64_t seed, float *wdst, float *bdst) {
    uint64_t counter = 0;
    for (int i = 0; i < layer; i++) counter += draws(w, i);
    size_t nw, nb, fan_in;
    layer_shape(w, layer, &nw, &nb, &fan_in);
    if (kaiming(w, layer)) {
        const Layer *l = &w->graph.layers[graph_param_layer(&w->graph, layer)];
        fill_kaiming(wdst, nw, seed, counter, (size_t)l->width * l->k * l->k);
        memset(bdst, 0, sizeof(float) * nb);
        return;
    }
    double bound = 1.0 / sqrt((double)fan_in);
    fill_uniform(wdst, nw, seed, counter, bound);
    fill_uniform(bdst, nb, seed, counter + nw, bound);
}

static void point_layer(Weights *w, int layer, float *wt, float *bias) {
    int i = graph_param_layer(&w->graph, layer);
    w->w[i] = wt, w->b[i] = bias;
}

int weights_random(Weights *w, const char *arch, uint64_t seed, Error *e) {
    memset(w, 0, sizeof *w);
    if (graph_build(&w->graph, arch) != 0) { // with torchvision's widths
        char known[256];
        graph_arch_list(known, sizeof known);
        return error_set(e, "random:%s:%" PRIu64 ": unknown architecture (known: %s)", arch, seed,
                         known);
    }
    if (graph_shapes(&w->graph, 3, 0, 0, e) != 0) return -1;
    size_t total = 0, nw, nb, fan_in;
    for (int l = 0; l < weights_layers(w); l++) {
        layer_shape(w, l, &nw, &nb, &fan_in);
        total += nw + nb;
    }
    if (!(w->owned = malloc(total * sizeof(float))))
        return error_set(e, "random:%s:%" PRIu64 ": out of memory for %zu parameters", arch, seed,
                         total);
    float *p = w->owned;
    for (int l = 0; l < weights_layers(w); l++) {
        layer_shape(w, l, &nw, &nb, &fan_in);
        point_layer(w, l, p, p + nw);
        draw_layer(w, l, seed, p, p + nw);
        p += nw + nb;
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

/* The file's tensors scanned in fixed chunks over the threads, when the
 * network has seen a non-finite output (weights.h). */
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

int weights_find_non_finite(const Weights *w, int threads, Error *e) {
    const SafeTensors *st = &w->file;
    const char *path = w->path;
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

/* 1 when path starts like a torch.save file: a zip archive (PyTorch >= 1.6)
 * or the legacy format's pickled magic number (protocol 2, a long), which
 * people give for a safetensors. */
static int is_pytorch_file(const char *path) {
    unsigned char head[4] = {0};
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0; // a FIFO would block
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == 4 && ((head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) ||
                      (head[0] == 0x80 && head[1] == 0x02 && head[2] == 0x8a)); // pickled magic
}

int weights_load(Weights *w, const char *spec, Error *e) {
    memset(w, 0, sizeof *w);
    if (strncmp(spec, "random:", 7) == 0) {
        // random:SEED (AlexNet) or random:ARCH:SEED.
        char arch[GRAPH_ARCH_LEN] = "alexnet";
        const char *digits = spec + 7, *colon = strchr(digits, ':');
        if (colon) {
            if ((size_t)(colon - digits) >= sizeof arch || colon == digits)
                return error_set(e, "%s: expected random:SEED or random:ARCH:SEED", spec);
            memcpy(arch, digits, (size_t)(colon - digits));
            arch[colon - digits] = '\0';
            digits = colon + 1;
        }
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(digits, &end, 10);
        if (*digits < '0' || *digits > '9' || *end != '\0' || errno == ERANGE)
            return error_set(e, "%s: the seed must be a whole number from 0 to %" PRIu64, spec,
                             UINT64_MAX);
        return weights_random(w, arch, (uint64_t)seed, e);
    }
    if (strcmp(spec, "random") == 0)
        return error_set(e, "random: needs a seed: random:SEED (AlexNet) or random:ARCH:SEED, "
                            "e.g. random:0 or random:resnet50:0");
    if (safetensors_open(&w->file, spec, e) != 0) {
        // The safetensors reader's words (a huge "header length") would not say why.
        if (is_pytorch_file(spec))
            error_set(e, "%s: a PyTorch .pth file, not safetensors: convert it first with "
                         "guidedbp-convert (scripts/convert_pth.py in the source) %s "
                         "OUT.safetensors", spec, spec);
        return -1;
    }
    snprintf(w->path, sizeof w->path, "%s", spec);
    if (bind_file(w, spec, e) != 0) {
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
    for (int l = 0; l < GRAPH_MAX_LAYERS; l++) free(w->redrawn[l]);
    memset(w, 0, sizeof *w);
}
