/* weights.h: AlexNet's parameters, from a safetensors file or from a seed.
 *
 * Tensor names and layouts are torchvision's state_dict (conv OIHW, linear
 * (out, in)). The layer sequence is the architecture's (arch.h: AlexNet or
 * a VGG, named by the file's __metadata__ "arch"); channel and hidden
 * widths are read from the shapes, so a reduced-width model loads through
 * the same code.
 *
 * spec is a path to a .safetensors file, or "random:SEED": torchvision's
 * default initialisation (PyTorch's Conv2d/Linear default, U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) for weights and biases) drawn from a counter-based
 * splitmix64 stream, so any SEED gives the same tensors on every machine;
 * test/gen/make_fixtures.py reproduces the stream in NumPy.
 *
 * A file must hold exactly its architecture's tensors with consistent shapes, all
 * values finite; anything else is refused with the tensor's name and the
 * expected and found shape (or the offending value).
 *
 *     Weights w = {0};
 *     if (weights_load(&w, "weights/alexnet.safetensors", &err) != 0) ...;
 *     weights_free(&w);     // unmaps the file / frees the random tensors
 */
#ifndef GUIDEDBP_WEIGHTS_H
#define GUIDEDBP_WEIGHTS_H

#include <stdint.h>

#include "nn/arch.h"
#include "util/error.h"
#include "io/safetensors.h"

typedef struct {
    Arch arch;                               // from the file's __metadata__ "arch"; AlexNet
                                             // when it has none
    int conv_c[ARCH_MAX_CONVS];              // output channels of each convolution
    int fc_out[ARCH_FCS];                    // outputs of the linear layers (the last = classes)
    const float *conv_w[ARCH_MAX_CONVS];     // (conv_c[i], in_c, k, k)
    const float *conv_b[ARCH_MAX_CONVS];     // (conv_c[i])
    const float *fc_w[ARCH_FCS];             // (fc_out[i], in)
    const float *fc_b[ARCH_FCS];             // (fc_out[i])
    SafeTensors file;                        // the mapping, when loaded from a file
    float *owned;                            // the tensors, when drawn from a seed
    float *redrawn[ARCH_MAX_LAYERS];         // layers re-drawn by weights_randomize_layer
} Weights;

int weights_load(Weights *w, const char *spec, Error *e);
/* Full-size torchvision AlexNet drawn from seed (what "random:SEED" loads). */
int weights_random(Weights *w, uint64_t seed, Error *e);

/* Layers with weights, numbered from 0: the convolutions, then the three
 * linear layers. */
int weights_layers(const Weights *w);
/* Layer l's module name, "features.0" ... "classifier.6". */
void weights_layer_name(const Weights *w, int l, char *name, int len);

/* Re-draws layer l, weight and bias, with the default initialisation
 * (U(-1/sqrt(fan_in), 1/sqrt(fan_in))) from seed: the values random:SEED
 * has at that layer (for any widths, the layer's place in the same stream),
 * so re-drawing every layer of an AlexNet gives random:SEED. The new
 * tensors belong to w; used by the model-randomization check. */
int weights_randomize_layer(Weights *w, int layer, uint64_t seed, Error *e);
/* A Weights that borrows src's tensors (src must outlive it), for re-drawing
 * layers without touching src; weights_free on it frees only its re-drawn
 * layers. */
void weights_view(const Weights *src, Weights *view);
void weights_free(Weights *w);

#endif
