/* net.h: a model's graph (graph.h) with its buffers, its forward pass, and
 * the backward pass to the input image with a chosen rule at each ReLU.
 *
 * Activations and gradients are kept for every value of the graph, for up
 * to `batch` images, NCHW float32: act[0] is the input (batch, 3, H, W),
 * act[i + 1] the output of layer i; grad[v] has act[v]'s shape and holds
 * d(score)/d(act[v]) after a backward.
 *
 *     Net net = {0};
 *     if (net_init(&net, &weights, 224, 224, batch, threads, isa, &err) != 0) ...;
 *     memcpy(net_input(&net, b), image_b, ...);          // for b < n
 *     net_forward(&net, n);                              // net_logits(&net, b)
 *     net_backward(&net, n, targets, GUIDE_FEATURES);    // net_input_grad(&net, b)
 *     net_free(&net);
 *
 * What survives: a forward overwrites every activation of the first n
 * images, a backward every gradient; neither touches the other's buffers,
 * so the logits and activations stay valid through any number of backward
 * passes. Net borrows the weights: they must outlive it. Every image gets
 * the same bits whatever the batch size and the thread count: convolutions
 * run in fixed gemm tiles (gemm.h, conv.h), the linear layers in a fixed
 * summation order (linear.h). The linear layers read their weights once per
 * batch.
 */
#ifndef GUIDEDBP_NET_H
#define GUIDEDBP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/gemm.h"
#include "nn/graph.h"
#include "nn/relu.h"
#include "nn/weights.h"
#include "util/error.h"

/* Which ReLUs use the method's rule in the backward pass; the others pass
 * the true gradient. GUIDE_FEATURES: those of the convolutional part
 * (Layer.conv_part), the reference recipe's hooks on model.features. */
typedef enum { GUIDE_NONE, GUIDE_FEATURES, GUIDE_ALL, GUIDES } GuideScope;
/* Their names, in GuideScope's order (--guide takes "features" and "all"). */
extern const char *const guide_names[GUIDES];

typedef struct {
    Graph graph;               // the weights' graph, shaped for this input size
    const Weights *weights;    // borrowed
    int batch, threads;
    GemmIsa isa;               // gemm's instruction set
    float *act[GRAPH_MAX_LAYERS + 1];  // (batch, ...) per value
    float *grad[GRAPH_MAX_LAYERS + 1]; // (batch, ...)
    size_t size[GRAPH_MAX_LAYERS + 1]; // floats per image of value v
    int32_t *argmax[GRAPH_MAX_LAYERS]; // max-pool choices, (batch, out_c, out_h, out_w)
    float *col;                // im2col scratch, for min(batch, CONV_GROUP) images
    float *sum;                // (batch, largest value): a gradient to add to another, for a
                               // value two layers read; NULL when none is
    void *arena;               // the one allocation behind all of the above
} Net;

int net_init(Net *net, const Weights *w, int height, int width, int batch, int threads,
             GemmIsa isa, Error *e);
void net_free(Net *net);
/* The bytes net_init would allocate for w at that size and batch. */
int net_memory(const Weights *w, int height, int width, int batch, size_t *bytes, Error *e);
/* Points the layers at w's tensors, which must have the widths net_init saw. */
void net_bind(Net *net, const Weights *w);

float *net_input(Net *net, int b);                // (3, height, width) of image b
const float *net_logits(const Net *net, int b);   // (classes)
int net_classes(const Net *net);
const float *net_input_grad(const Net *net, int b); // (3, height, width)
/* Layer i's output and its gradient for image b. */
const float *net_output(const Net *net, int i, int b);
const float *net_output_grad(const Net *net, int i, int b);

/* Runs the first n images of the batch through every layer. */
void net_forward(Net *net, int n);
/* 1 when every output of a convolution or linear layer of the first n
 * images is finite (a NaN or infinity among a layer's parameters makes all
 * of its outputs non-finite, weights.h); else 0 with *layer the first layer
 * that is not. */
int net_outputs_finite(const Net *net, int n, int *layer);
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

/* One layer, for the first n images: the steps net_forward and
 * net_backward_from take, callable alone (the benchmark times them).
 * reached (n_layers + 1 flags, zero before the first layer of a backward)
 * says which values already hold a gradient: the layer adds to those (a
 * value two layers read gets the sum) and writes, then marks, the others. */
void net_forward_layer(Net *net, int i, int n);
void net_backward_layer(Net *net, int i, int n, ReluRule rule, char *reached);

#endif
