/* weights.h: AlexNet's parameters, from a safetensors file or from a seed.
 *
 * Tensor names and layouts are torchvision's state_dict (conv OIHW, linear
 * (out, in)). Channel and hidden widths are read from the shapes, so a
 * reduced-width AlexNet-shaped model loads through the same code; the
 * kernel sizes and the layer sequence are AlexNet's.
 *
 * spec is a path to a .safetensors file, or "random:SEED": torchvision's
 * default initialisation (PyTorch's Conv2d/Linear default, U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) for weights and biases) drawn from a counter-based
 * splitmix64 stream, so any SEED gives the same tensors on every machine;
 * scripts/make_fixtures.py reproduces the stream in NumPy.
 *
 * A file must hold exactly AlexNet's 16 tensors with consistent shapes, all
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

#include "error.h"
#include "safetensors.h"

enum { ALEXNET_CONVS = 5, ALEXNET_FCS = 3, ALEXNET_LAYERS = ALEXNET_CONVS + ALEXNET_FCS };

typedef struct {
    int conv_c[ALEXNET_CONVS];  // output channels of features.0, 3, 6, 8, 10
    int fc_out[ALEXNET_FCS];    // outputs of classifier.1, 4, 6 (the last = classes)
    const float *conv_w[ALEXNET_CONVS]; // (conv_c[i], in_c, k, k)
    const float *conv_b[ALEXNET_CONVS]; // (conv_c[i])
    const float *fc_w[ALEXNET_FCS];     // (fc_out[i], in)
    const float *fc_b[ALEXNET_FCS];     // (fc_out[i])
    SafeTensors file;                   // the mapping, when loaded from a file
    float *owned;                       // the tensors, when drawn from a seed
    float *redrawn[ALEXNET_LAYERS];     // layers re-drawn by weights_randomize_layer
} Weights;

/* Kernel size, stride and padding of AlexNet's five convolutions. */
extern const int alexnet_conv_k[ALEXNET_CONVS], alexnet_conv_stride[ALEXNET_CONVS],
    alexnet_conv_pad[ALEXNET_CONVS];
/* state_dict prefixes: "features.0" ... "classifier.6". */
extern const char *const alexnet_conv_names[ALEXNET_CONVS];
extern const char *const alexnet_fc_names[ALEXNET_FCS];

int weights_load(Weights *w, const char *spec, Error *e);
/* Full-size torchvision AlexNet drawn from seed (what "random:SEED" loads). */
int weights_random(Weights *w, uint64_t seed, Error *e);
/* Re-draws one layer (0-4: features.0 ... features.10; 5-7: classifier.1,
 * .4, .6), weight and bias, with the default initialisation from seed: the
 * values random:SEED has at that layer (for any widths, the layer's place in
 * the same stream), so re-drawing every layer of a model gives random:SEED.
 * The new tensors belong to w; used by the model-randomization check. */
int weights_randomize_layer(Weights *w, int layer, uint64_t seed, Error *e);
/* A Weights that borrows src's tensors (src must outlive it), for re-drawing
 * layers without touching src; weights_free on it frees only its re-drawn
 * layers. */
void weights_view(const Weights *src, Weights *view);
void weights_free(Weights *w);

#endif
