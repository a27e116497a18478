/* libFuzzer target: weights_load (safetensors, the architecture named in
 * __metadata__, its shape binding) and weights_find_non_finite on arbitrary
 * bytes. An accepted file's bound tensors are read in full at the widths
 * and kernel sizes weights_load reports, and the finiteness scan must
 * refuse exactly the files whose bound tensors hold a NaN or infinity. */

#include <math.h>

#include "fuzz_util.h"
#include "nn/weights.h"

/* 1 when the n values are all finite. */
static int read_all(const float *p, size_t n) {
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(p[i]) != 0;
    return finite;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(data, size);
    Weights w;
    Error e = {{0}};
    fuzz_track_allocs();
    if (weights_load(&w, path, &e) != 0) {
        fuzz_check_message(e.msg, path);
        fuzz_check_alloc(8 * size + (1 << 20), "refused weights");
        return 0;
    }
    const Graph *g = &w.graph;
    if (weights_layers(&w) < 1) abort();
    int finite = 1;
    for (int i = 0; i < g->n_layers; i++) {
        const Layer *l = &g->layers[i];
        if (!graph_has_params(l->kind)) continue;
        size_t k = l->kind == LAYER_CONV ? (size_t)l->k * l->k : 1, out = (size_t)l->width;
        if (l->width < 1 || l->in_c < 1) abort();
        finite &= read_all(w.w[i], out * (size_t)l->in_c * k);
        finite &= read_all(w.b[i], out);
    }
    // Every tensor of the file is bound (bind_file refuses extras), so the
    // scan and the layers agree.
    if ((weights_find_non_finite(&w, 1, &e) == 0) != finite) abort();
    if (!finite) fuzz_check_message(e.msg, path);
    weights_free(&w);
    weights_free(&w);
    return 0;
}
