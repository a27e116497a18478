/* net.h: AlexNet or a VGG as a table of layers, its forward pass, and the backward
 * pass to the input image with a chosen rule at each ReLU.
 *
 * The table follows torchvision's module names (features.0 ... classifier.6;
 * Dropout is the identity in eval mode and has no entry). Activations and
 * gradients are kept for every layer, for up to `batch` images, NCHW float32:
 *   act[0] is the input (batch, 3, H, W); act[i + 1] is the output of layer
 *   i; grad[i] has act[i]'s shape and holds d(score)/d(act[i]) after a backward.
 *
 *     Net net = {0};
 *     if (net_init(&net, &weights, 224, 224, batch, threads, &err) != 0) ...;
 *     memcpy(net_input(&net, b), image_b, ...);          // for b < n
 *     net_forward(&net, n);                              // net_logits(&net, b)
 *     net_backward(&net, n, targets, GUIDE_FEATURES);    // net_input_grad(&net, b)
 *     net_free(&net);
 *
 * Net borrows the weights: they must outlive it. Every image gets the same
 * bits whatever the batch size and the thread count: convolutions run image
 * by image in fixed GEMM tiles, the linear layers use a fixed summation
 * order (see parallel.h, linear.h); net_init makes OpenBLAS single-threaded
 * for that reason. The linear layers read their weights once per batch.
 */
#ifndef GUIDEDBP_NET_H
#define GUIDEDBP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/conv.h"
#include "util/error.h"
#include "nn/relu.h"
#include "nn/weights.h"

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

/* A VGG-19: 16 convolutions, 16 ReLUs, 5 pools, the average pool, 3
 * linear layers and 2 ReLUs. */
enum { NET_MAX_LAYERS = 48 };

typedef struct {
    Layer layers[NET_MAX_LAYERS];
    int n_layers;
    int batch, threads;
    GemmIsa isa;              // gemm's instruction set (gemm.h)
    float *act[NET_MAX_LAYERS + 1];  // (batch, ...)
    float *grad[NET_MAX_LAYERS + 1]; // (batch, ...)
    size_t size[NET_MAX_LAYERS + 1]; // floats per image of act[i]
    int32_t *argmax[NET_MAX_LAYERS]; // max-pool choices, (batch, out_c, out_h, out_w)
    float *col;                      // im2col scratch, one image
    void *arena;                     // the one allocation behind all of the above
} Net;

int net_init(Net *net, const Weights *w, int height, int width, int batch, int threads, Error *e);
void net_free(Net *net);
/* Points the layers at w's tensors, which must have the widths net_init saw. */
void net_bind(Net *net, const Weights *w);

float *net_input(Net *net, int b);                // (3, height, width) of image b
const float *net_logits(const Net *net, int b);   // (classes)
int net_classes(const Net *net);
/* Runs the first n images of the batch. */
void net_forward(Net *net, int n);
/* Back from a one-hot at logit targets[b] (pre-softmax) to each input,
 * guided at the ReLUs in scope (GUIDE_NONE: the plain gradient). */
void net_backward(Net *net, int n, const int *targets, GuideScope scope);

/* The general form. grad[top] must hold d(score)/d(act[top]) for the first
 * n images (net_seed_*); the layers below top are walked down to the input,
 * with `rule` at the ReLUs in scope and the plain rule at the others. */
void net_backward_from(Net *net, int n, int top, ReluRule rule, GuideScope scope);
/* grad[n_layers] = one-hot at each image's target logit. */
void net_seed_classes(Net *net, int n, const int *targets);
/* grad[layer + 1] = 1 on every position of `channel` of layer's output, 0
 * elsewhere: the score is the sum of that channel's activations. */
void net_seed_channel(Net *net, int n, int layer, int channel);
/* The index of the layer with torchvision's module name, or -1. */
int net_find_layer(const Net *net, const char *name);
const float *net_input_grad(const Net *net, int b); // (3, height, width)

#endif
