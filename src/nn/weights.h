/* weights.h: a model's parameters, from a safetensors file or from a seed.
 *
 * Tensor names and layouts are torchvision's state_dict (conv OIHW, linear
 * (out, in)). The layers are the architecture's graph (graph.h), named by
 * the file's __metadata__ "arch" (AlexNet when it has none); channel and
 * hidden widths are read from the shapes, so a reduced-width model loads
 * through the same code.
 *
 * spec is a path to a .safetensors file, or "random:ARCH:SEED" (ARCH one of
 * graph_build's names; "random:SEED" is AlexNet's): torchvision's full-size
 * model drawn from a counter-based splitmix64 stream (rng.h), so any SEED
 * gives the same tensors on every machine. The stream runs over the layers
 * with weights in order, one uniform draw u a value:
 *   AlexNet, VGG  PyTorch's Conv2d/Linear default, U(-1/sqrt(fan_in),
 *                 1/sqrt(fan_in)), (2u - 1) * bound, each weight then its bias
 *                 (the VGGs' are not torchvision's own init, which only
 *                 ResNets get here)
 *   ResNet        torchvision's: each convolution kaiming_normal_(fan_out,
 *                 relu), a normal from two draws (u1 + 2^-24, u2: sqrt(-2 ln
 *                 u1) cos(2 pi u2)) times sqrt(2 / fan_out), with its BatchNorm
 *                 at torchvision's start (1, 0, mean 0, var 1) folded in, a
 *                 factor 1 / sqrt(1 + 1e-5) and a zero bias (no draws); fc as
 *                 above. Computed in double, rounded once to float.
 * test/gen/make_fixtures.py and fixtures_resnet.py reproduce the streams
 * in NumPy.
 *
 * A file must hold exactly its architecture's tensors with consistent
 * shapes; anything else is refused with the tensor's name and the expected
 * and found shape. Its values must be finite too, but a separate pass over
 * 244 MB cost a one-image run 60% of its time: a NaN or an infinity makes
 * every output of its layer non-finite (0 * inf is NaN), so the network
 * finds it where the weights are used (net_outputs_finite) and only then
 * weights_find_non_finite names the tensor.
 *
 *     Weights w = {0};
 *     if (weights_load(&w, "weights/alexnet.safetensors", &err) != 0) ...;
 *     weights_free(&w);     // unmaps the file / frees the random tensors
 */
#ifndef GUIDEDBP_WEIGHTS_H
#define GUIDEDBP_WEIGHTS_H

#include <stdint.h>

#include "io/safetensors.h"
#include "nn/graph.h"
#include "util/error.h"

typedef struct {
    Graph graph;                        // the architecture with the tensors' widths; spatial
                                        // sizes unknown until a Net shapes it for an input
    const float *w[GRAPH_MAX_LAYERS];   // layer i's weight: conv (width, in_c, k, k),
                                        // linear (width, in_c); NULL without parameters
    const float *b[GRAPH_MAX_LAYERS];   // its bias, (width)
    SafeTensors file;                   // the mapping, when loaded from a file
    char path[1024];                    // that file's path, for messages
    float *owned;                       // the tensors, when drawn from a seed
    float *redrawn[GRAPH_MAX_LAYERS];   // layers re-drawn by weights_randomize_layer
} Weights;

int weights_load(Weights *w, const char *spec, Error *e);
/* -1 with e naming the first tensor of w's file that holds a NaN or an
 * infinity and where; 0 when all are finite (or w is not from a file). */
int weights_find_non_finite(const Weights *w, int threads, Error *e);
/* Full-size torchvision `arch` drawn from seed (what "random:ARCH:SEED" loads). */
int weights_random(Weights *w, const char *arch, uint64_t seed, Error *e);

/* Layers with weights, numbered from 0 in graph order (graph_params): the
 * convolutions, then the linear layers. */
int weights_layers(const Weights *w);
/* Layer l's module name, "features.0" ... "classifier.6". */
const char *weights_layer_name(const Weights *w, int l);

/* Re-draws layer l, weight and bias, with its architecture's
 * initialisation (above) from seed: the values random:ARCH:SEED has at that
 * layer (for any widths, the layer's place in the same stream), so
 * re-drawing every layer of a full-size model gives random:ARCH:SEED. The
 * new tensors belong to w; used by the model-randomization check. */
int weights_randomize_layer(Weights *w, int layer, uint64_t seed, Error *e);
/* A Weights that borrows src's tensors (src must outlive it), for re-drawing
 * layers without touching src; weights_free on it frees only its re-drawn
 * layers. */
void weights_view(const Weights *src, Weights *view);
void weights_free(Weights *w);

#endif
