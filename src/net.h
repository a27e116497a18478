/* net.h: AlexNet as a table of layers, its forward pass, and the backward
 * pass to the input image with a chosen rule at each ReLU.
 *
 * The table follows torchvision's module names (features.0 ... classifier.6;
 * Dropout is the identity in eval mode and has no entry). Activations and
 * gradients are kept for every layer, one image, NCHW float32:
 *   act[0] is the input (3, H, W); act[i + 1] is the output of layer i;
 *   grad[i] has act[i]'s shape and holds d(score)/d(act[i]) after a backward.
 *
 *     Net net = {0};
 *     if (net_init(&net, &weights, 224, 224, threads, &err) != 0) ...;  // allocates
 *     memcpy(net_input(&net), image, ...);
 *     net_forward(&net);                       // net_logits(&net)
 *     net_backward(&net, target, GUIDE_FEATURES);   // net_input_grad(&net)
 *     net_free(&net);
 *
 * Net borrows the weights: they must outlive it. A Net is one image's
 * workspace. Its convolutions use up to `threads` threads, with bitwise the
 * same results for any count; net_init makes OpenBLAS single-threaded for
 * that reason (see parallel.h).
 */
#ifndef GUIDEDBP_NET_H
#define GUIDEDBP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "conv.h"
#include "error.h"
#include "weights.h"

/* Which ReLUs use the guided rule in the backward pass; the others pass the
 * true gradient. GUIDE_NONE gives the plain input gradient. */
typedef enum { GUIDE_NONE, GUIDE_FEATURES, GUIDE_ALL } GuideScope;

typedef enum { LAYER_CONV, LAYER_RELU, LAYER_MAXPOOL, LAYER_AVGPOOL, LAYER_LINEAR } LayerKind;

typedef struct {
    LayerKind kind;
    char name[24];            // torchvision's module name, "features.0"
    int in_c, in_h, in_w;     // input shape (a linear layer: in_c features, 1x1)
    int out_c, out_h, out_w;  // output shape
    int k, stride;            // pools (convs keep theirs in conv)
    int in_features;          // a ReLU inside model.features
    ConvShape conv;
    const float *w, *b;       // borrowed from Weights
} Layer;

enum { NET_MAX_LAYERS = 24 };

typedef struct {
    Layer layers[NET_MAX_LAYERS];
    int n_layers;
    float *act[NET_MAX_LAYERS + 1];
    float *grad[NET_MAX_LAYERS + 1];
    int32_t *argmax[NET_MAX_LAYERS]; // max-pool choices, (out_c, out_h, out_w)
    float *col;                      // im2col scratch
    void *arena;                     // the one allocation behind all of the above
    int threads;
} Net;

int net_init(Net *net, const Weights *w, int height, int width, int threads, Error *e);
void net_free(Net *net);

float *net_input(Net *net);            // (3, height, width)
const float *net_logits(const Net *net);
int net_classes(const Net *net);
void net_forward(Net *net);
/* Back from a one-hot at logit `target` (pre-softmax) to the input. */
void net_backward(Net *net, int target, GuideScope scope);
const float *net_input_grad(const Net *net); // (3, height, width)

#endif
