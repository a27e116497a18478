/* libFuzzer target: weights_load (safetensors, the architecture named in
 * __metadata__, its shape binding and the finiteness scan) on arbitrary
 * bytes. An accepted file's bound tensors are read in full at the widths
 * and kernel sizes weights_load reports. */

#include <math.h>

#include "fuzz_util.h"
#include "nn/weights.h"

static void read_all(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) abort(); // weights_load promised finite values
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
    const Arch *a = &w.arch;
    if (a->n_convs < 1 || a->n_convs > ARCH_MAX_CONVS) abort();
    size_t in_c = 3;
    for (int i = 0; i < a->n_convs; i++) {
        size_t k = (size_t)a->conv_k[i], oc = (size_t)w.conv_c[i];
        if (w.conv_c[i] < 1) abort();
        read_all(w.conv_w[i], oc * in_c * k * k);
        read_all(w.conv_b[i], oc);
        in_c = oc;
    }
    size_t in = in_c * (size_t)a->pooled * (size_t)a->pooled;
    for (int i = 0; i < ARCH_FCS; i++) {
        size_t out = (size_t)w.fc_out[i];
        if (w.fc_out[i] < 1) abort();
        read_all(w.fc_w[i], out * in);
        read_all(w.fc_b[i], out);
        in = out;
    }
    weights_free(&w);
    weights_free(&w);
    return 0;
}
