/* AlexNet's weights: the random:SEED generator against the values
 * test/gen/make_fixtures.py drew in NumPy, the committed reduced-width file,
 * and every way a file can fail to be torchvision's AlexNet. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "explain/explain.h"
#include "files.h"
#include "isa.h"
#include "test.h"
#include "nn/weights.h"

#define TINY "test/fixtures/golden/tiny.safetensors"
#define CHECKS "test/fixtures/golden/random0_check.json"

/* The tensor a name refers to in a Weights, with its element count. */
static const float *tensor(const Weights *w, const char *name, size_t *count) {
    for (int l = 0; l < weights_layers(w); l++) {
        const Layer *layer = &w->graph.layers[graph_param_layer(&w->graph, l)];
        size_t k = layer->kind == LAYER_CONV ? (size_t)layer->k * layer->k : 1;
        size_t out = (size_t)layer->width, in = (size_t)layer->in_c;
        int i = graph_param_layer(&w->graph, l);
        char n[48];
        snprintf(n, sizeof n, "%s.weight", layer->name);
        if (strcmp(n, name) == 0) return *count = out * in * k, w->w[i];
        snprintf(n, sizeof n, "%s.bias", layer->name);
        if (strcmp(n, name) == 0) return *count = out, w->b[i];
    }
    return NULL;
}

static void test_random_weights_match_numpy(void) {
    char *text = slurp(CHECKS);
    cJSON *checks = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK_MSG(checks != NULL, "%s is missing or malformed: run 'make fixtures'", CHECKS);
    if (!checks) return;
    Weights w;
    Error e;
    CHECK_MSG(weights_load(&w, "random:0", &e) == 0, "%s", e.msg);
    const cJSON *item;
    int n = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(checks, "tensors")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(item, "name"));
        size_t count = 0;
        const float *t = name ? tensor(&w, name, &count) : NULL;
        CHECK_MSG(t != NULL, "no tensor %s", name ? name : "(unnamed)");
        if (!t) continue;
        n++;
        const cJSON *v;
        int i = 0;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(item, "first")) {
            // Nine significant digits identify a float32 exactly.
            float want = (float)cJSON_GetNumberValue(v);
            CHECK_MSG(t[i] == want, "%s[%d] = %.9g, NumPy drew %.9g", name, i, t[i], want);
            i++;
        }
        CHECK_MSG(i == 4, "%s: %d first values in the fixture", name, i);
        // Neumaier summation: close to the exact sum NumPy's side took.
        double sum = 0, comp = 0, mag = 0;
        for (size_t k = 0; k < count; k++) {
            double x = t[k], s = sum + x;
            comp += fabs(sum) >= fabs(x) ? (sum - s) + x : (x - s) + sum;
            sum = s;
            mag += fabs(x);
        }
        double want = cJSON_GetNumberValue(cJSON_GetObjectItem(item, "sum"));
        CHECK_MSG(fabs(sum + comp - want) <= 1e-12 * mag, "%s: sum %.17g, NumPy %.17g", name,
                  sum + comp, want);
    }
    CHECK_MSG(n == 16, "%d tensors checked", n);
    weights_free(&w);
    cJSON_Delete(checks);
}

static void test_bad_seeds_are_refused(void) {
    const char *bad[] = {"random:", "random:-1", "random:1x", "random: 1",
                         "random:18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Weights w;
        Error e = {0};
        CHECK_MSG(weights_load(&w, bad[i], &e) != 0, "%s accepted", bad[i]);
        CHECK_MSG(strstr(e.msg, bad[i]) && strstr(e.msg, "seed"), "%s", e.msg);
    }
    Weights w;
    Error e;
    CHECK(weights_load(&w, "random:18446744073709551615", &e) == 0);
    weights_free(&w);
}

static void test_reduced_width_file_loads(void) {
    Weights w;
    Error e;
    CHECK_MSG(weights_load(&w, TINY, &e) == 0, "%s", e.msg);
    const int widths[8] = {8, 16, 24, 16, 16, 32, 32, 1000};
    CHECK(weights_layers(&w) == 8);
    for (int l = 0; l < 8 && l < weights_layers(&w); l++)
        CHECK_MSG(w.graph.layers[graph_param_layer(&w.graph, l)].width == widths[l], "layer %d", l);
    weights_free(&w);
}

/* Writes the tiny model back out, changed by `edit`, and loads it. */
typedef struct {
    const char *drop;      // leave this tensor out
    const char *reshape;   // give this tensor `shape`
    int64_t shape[4];
    int ndim;
    const char *poison;    // put `value` into this tensor
    float value;
    const char *extra;     // add this tensor (one float)
} Edit;

/* One guided map of a mid-grey 224x224 input: the network's first use of
 * the weights. explain_run's status. */
static int run_once(const Weights *w, Error *e) {
    MethodSpec spec = {.method = METHOD_GUIDED, .guide = GUIDE_FEATURES, .layer = -1};
    Explainer x;
    if (explain_init(&x, w, &spec, 1, 1, test_isa(), e) != 0) return -1;
    float *in = explain_input(&x, 0);
    for (size_t i = 0; i < (size_t)3 * x.height * x.width; i++) in[i] = 0.25f;
    int rc = explain_run(&x, 1, -1, e);
    explain_free(&x);
    return rc;
}

static int load_edited(const Edit *ed, Error *e) {
    SafeTensors st;
    Error err;
    if (safetensors_open(&st, TINY, &err) != 0) return error_set(e, "%s", err.msg);
    cJSON *head = cJSON_CreateObject();
    size_t offset = 0;
    for (int i = 0; i <= st.n_tensors; i++) {
        const StTensor *t = i < st.n_tensors ? &st.tensors[i] : NULL;
        const char *name = t ? t->name : ed->extra;
        if (!name || (ed->drop && strcmp(name, ed->drop) == 0)) continue;
        size_t count = t ? t->count : 1;
        cJSON *entry = cJSON_AddObjectToObject(head, name);
        cJSON_AddStringToObject(entry, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
        int reshaped = ed->reshape && strcmp(name, ed->reshape) == 0;
        int ndim = reshaped ? ed->ndim : t ? t->ndim : 1;
        for (int d = 0; d < ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(reshaped ? ed->shape[d]
                                                           : t ? t->shape[d] : 1));
        cJSON *offs = cJSON_AddArrayToObject(entry, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)offset));
        offset += count * 4;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)offset));
    }
    char *json = cJSON_PrintUnformatted(head);
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    char path[] = "/tmp/guidedbp_weights_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    uint64_t n = padded;
    fwrite(&n, 8, 1, f);
    fwrite(json, 1, len, f);
    for (size_t i = len; i < padded; i++) fputc(' ', f);
    for (int i = 0; i <= st.n_tensors; i++) {
        const StTensor *t = i < st.n_tensors ? &st.tensors[i] : NULL;
        const char *name = t ? t->name : ed->extra;
        if (!name || (ed->drop && strcmp(name, ed->drop) == 0)) continue;
        if (!t) {
            float one = 1.0f;
            fwrite(&one, 4, 1, f);
            continue;
        }
        float *copy = malloc(t->count * 4);
        memcpy(copy, t->data, t->count * 4);
        if (ed->poison && strcmp(name, ed->poison) == 0) copy[t->count / 2] = ed->value;
        fwrite(copy, 4, t->count, f);
        free(copy);
    }
    fclose(f);
    free(json);
    cJSON_Delete(head);
    safetensors_close(&st);
    Weights w;
    int rc = weights_load(&w, path, e);
    if (rc == 0) rc = run_once(&w, e), weights_free(&w);
    unlink(path);
    return rc;
}

/* Non-finite values are found where the network uses them (weights.h):
 * loading succeeds, the first forward pass refuses. */
static void check_refused_in_use(const Edit *ed, const char *w1, const char *w2) {
    Error e = {0};
    CHECK_MSG(load_edited(ed, &e) == EXPLAIN_NON_FINITE, "not refused in use: '%s' (%s)", w1,
              e.msg);
    CHECK_MSG(strstr(e.msg, w1) && strstr(e.msg, w2), "message: %s", e.msg);
}

static void check_refused(const Edit *ed, const char *w1, const char *w2) {
    Error e = {0};
    CHECK_MSG(load_edited(ed, &e) != 0, "accepted a file that should fail with '%s'", w1);
    CHECK_MSG(strstr(e.msg, w1) && strstr(e.msg, w2), "message: %s", e.msg);
}

static void test_files_that_are_not_alexnet_are_refused(void) {
    Error e = {0};
    CHECK_MSG(load_edited(&(Edit){0}, &e) == 0, "an unchanged copy fails: %s", e.msg);
    check_refused(&(Edit){.drop = "classifier.6.bias"}, "missing tensor 'classifier.6.bias'",
                  "torchvision");
    check_refused(&(Edit){.reshape = "features.3.weight", .shape = {16, 8, 25, 1}, .ndim = 4},
                  "'features.3.weight' has shape [16,8,25,1]", "expected [N,8,5,5]");
    check_refused(&(Edit){.reshape = "classifier.1.weight", .shape = {576, 32}, .ndim = 2},
                  "'classifier.1.weight' has shape [576,32]", "expected [N,576]");
    check_refused(&(Edit){.reshape = "features.0.bias", .shape = {2, 4}, .ndim = 2},
                  "'features.0.bias' has shape [2,4]", "expected [8]");
    check_refused(&(Edit){.extra = "features.1.weight"}, "unexpected tensor 'features.1.weight'",
                  "alexnet");
    check_refused_in_use(&(Edit){.poison = "classifier.4.weight", .value = NAN},
                         "'classifier.4.weight' holds NaN", "finite");
    check_refused_in_use(&(Edit){.poison = "features.0.bias", .value = -INFINITY},
                         "'features.0.bias' holds an infinity", "finite");
    check_refused_in_use(&(Edit){.poison = "features.8.weight", .value = INFINITY},
                         "'features.8.weight' holds an infinity", "finite");
    check_refused_in_use(&(Edit){.poison = "classifier.6.bias", .value = NAN},
                         "'classifier.6.bias' holds NaN", "finite");
}

/* tiny.safetensors was drawn by the same generator with seed 7, so
 * re-drawing each of its layers with seed 7 must give back its exact bits,
 * and any other seed different ones. */
static void test_redrawn_layers_continue_the_stream(void) {
    Weights file, w;
    Error e;
    CHECK_MSG(weights_load(&file, TINY, &e) == 0 && weights_load(&w, TINY, &e) == 0, "%s", e.msg);
    CHECK(weights_layers(&w) == 8);
    for (int l = weights_layers(&w) - 1; l >= 0; l--) {
        char name[48];
        const char *layer = weights_layer_name(&w, l);
        snprintf(name, sizeof name, "%s.weight", layer);
        size_t count = 0;
        const float *before = tensor(&file, name, &count);
        CHECK_MSG(weights_randomize_layer(&w, l, 8, &e) == 0, "%s", e.msg);
        CHECK(weights_randomize_layer(&w, l, 8, &e) == 0); // twice: the first copy is freed
        CHECK_MSG(before[0] != tensor(&w, name, &count)[0], "%s unchanged by seed 8", layer);
        CHECK(weights_randomize_layer(&w, l, 7, &e) == 0);
        CHECK_MSG(memcmp(before, tensor(&w, name, &count), count * 4) == 0,
                  "%s: seed 7 is not tiny's", layer);
        snprintf(name, sizeof name, "%s.bias", layer);
        before = tensor(&file, name, &count);
        CHECK_MSG(memcmp(before, tensor(&w, name, &count), count * 4) == 0, "%s bias", layer);
    }
    weights_free(&w);
    weights_free(&file);
}

int main(void) {
    RUN(test_random_weights_match_numpy);
    RUN(test_bad_seeds_are_refused);
    RUN(test_reduced_width_file_loads);
    RUN(test_files_that_are_not_alexnet_are_refused);
    RUN(test_redrawn_layers_continue_the_stream);
    return test_summary();
}
