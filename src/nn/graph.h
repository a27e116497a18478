/* graph.h: a network as a graph of torchvision modules, built once from its
 * architecture's description and read by everything else: the weight
 * binding (tensor names and shapes), the random initialisation (fan-ins),
 * the network's buffers, and its forward and backward passes.
 *
 * Values are numbered: value 0 is the input image, value i + 1 the output of
 * layer i. A layer reads value `in` (and `in2`, for an add), always an
 * earlier one, so the layers in order are a valid forward schedule and in
 * reverse a valid backward one. A chain (AlexNet, VGG) reads in = i; a
 * residual block adds an earlier value (LAYER_ADD), and a module applied
 * twice (a ResNet block's relu) is two layers with the same name.
 *
 * Names are torchvision's module names, which are also the state_dict
 * prefixes ("features.0" -> "features.0.weight"); Dropout is the identity in
 * eval mode and has no layer. BatchNorm layers (the vgg*_bn models, every
 * ResNet) are folded into their convolutions by scripts/convert_pth.py, so
 * they run as plain convolutions and a convolution's output is its
 * BatchNorm's; only the module numbering remembers them. A ResNet's blocks
 * and stages ("layer3.1", "layer4") name their outputs too (aliases), a
 * ReLU module applied several times names its first call, and a block's
 * residual sum, which is no module, is "layer3.1.add".
 *
 *     Graph g;
 *     if (graph_build(&g, "vgg16") != 0) ...;           // unknown name
 *     // widths come with torchvision's values; weights.c sets them from a file
 *     if (graph_shapes(&g, 3, 224, 224, &err) != 0) ...; // input too small
 */
#ifndef GUIDEDBP_GRAPH_H
#define GUIDEDBP_GRAPH_H

#include <stddef.h>

#include "nn/conv.h"
#include "util/error.h"

typedef enum { LAYER_CONV, LAYER_RELU, LAYER_MAXPOOL, LAYER_AVGPOOL, LAYER_LINEAR, LAYER_ADD } LayerKind;

/* A ResNet-152 has 156 layers with weights, 366 in all and 54 aliases. */
enum { GRAPH_MAX_LAYERS = 512, GRAPH_MAX_ALIASES = 64, GRAPH_NAME_LEN = 32, GRAPH_ARCH_LEN = 16 };

/* How random:ARCH:SEED draws the weights (weights.h). */
typedef enum {
    GRAPH_INIT_DEFAULT, // PyTorch's Conv2d/Linear default, uniform
    GRAPH_INIT_RESNET,  // torchvision's ResNet: kaiming normal convs, BatchNorm at its start
} GraphInit;

typedef struct {
    LayerKind kind;
    char name[GRAPH_NAME_LEN]; // torchvision's module name, "features.0"
    int in, in2;               // the values read (in2: an add's other operand, else -1)
    int k, stride, pad;        // conv and max-pool window; avgpool: its output side
    int width;                 // conv: output channels; linear: output features
    int conv_part;             // before the head: model.features in AlexNet/VGG, all but
                               // avgpool and fc in a ResNet. The ReLUs --guide features
                               // guides, the layers gradcam can use
    // Filled by graph_shapes. A linear layer's input is flattened: in_c
    // features, 1x1. A spatial size of 0 means not known yet (see below).
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    ConvShape conv;            // a convolution's full shape
} Layer;

typedef struct {
    char name[GRAPH_NAME_LEN]; // a container module, "layer4.2" or "layer4"
    int layer;                 // the layer whose output is that module's
} GraphAlias;

typedef struct {
    char arch[GRAPH_ARCH_LEN]; // "alexnet", "vgg16_bn", "resnet50", ...
    GraphInit init;
    Layer layers[GRAPH_MAX_LAYERS];
    int n_layers;
    GraphAlias aliases[GRAPH_MAX_ALIASES];
    int n_aliases;
    int in_c, in_h, in_w;      // value 0's shape
} Graph;

/* Builds arch's layers, with torchvision's widths; -1 for an unknown name. */
int graph_build(Graph *g, const char *arch);
/* "alexnet, vgg11, ...": the names graph_build knows, for messages. */
void graph_arch_list(char *out, size_t len);

/* Shapes every layer for a (c, h, w) input from the layers' widths; -1 with
 * e naming the layer when the input is too small for it. With h = w = 0 the
 * spatial sizes stay unknown until an adaptive pool fixes them, which is
 * all the weight shapes need. */
int graph_shapes(Graph *g, int c, int h, int w, Error *e);
/* The same for layer i alone, its input values already shaped. */
int graph_shape_layer(Graph *g, int i, Error *e);

/* Value v's shape, and its size in floats. */
void graph_value_shape(const Graph *g, int v, int *c, int *h, int *w);
size_t graph_value_size(const Graph *g, int v);

/* The first layer with this module name, else the layer an alias names,
 * else -1. */
int graph_find(const Graph *g, const char *name);
/* 1 for the kinds that have a weight and a bias (conv, linear). */
int graph_has_params(LayerKind kind);
/* Layers with weights, counted from 0 in order: their number, and the
 * index of the p-th. */
int graph_params(const Graph *g);
int graph_param_layer(const Graph *g, int p);

#endif
