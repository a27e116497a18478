#include "nn/net.h"

#include <stdlib.h>
#include <string.h>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/pool.h"

const char *const guide_names[] = {"none", "features", "all"};
_Static_assert(sizeof guide_names / sizeof *guide_names == GUIDES, "a name for each value");

void net_bind(Net *net, const Weights *w) { net->weights = w; }

/* 1 when some value is read by two layers (a residual block's input): its
 * gradient is then a sum, and the second term needs a buffer of its own. */
static int has_fan_out(const Graph *g) {
    int readers[GRAPH_MAX_LAYERS + 1] = {0};
    for (int i = 0; i < g->n_layers; i++) {
        if (++readers[g->layers[i].in] > 1) return 1;
        if (g->layers[i].in2 >= 0 && ++readers[g->layers[i].in2] > 1) return 1;
    }
    return 0;
}

/* One arena: activations and gradients for every value, the max-pool
 * choices, the im2col scratch and the sum buffer, each 64-byte aligned.
 * Its floats for `batch` images of the shaped graph g; size[v] gets value
 * v's floats per image, col the im2col scratch's per image group. */
#define ROUND(n) (((n) + 15) / 16 * 16) // 16 floats: 64 bytes
static size_t arena_floats(const Graph *g, size_t b, size_t *size, size_t *col, size_t *largest) {
    size_t total = 0, group = b < CONV_GROUP ? b : CONV_GROUP;
    *col = *largest = 0;
    for (int v = 0; v <= g->n_layers; v++) {
        size[v] = graph_value_size(g, v);
        *largest = size[v] > *largest ? size[v] : *largest;
        total += 2 * ROUND(b * size[v]);
    }
    for (int i = 0; i < g->n_layers; i++) {
        const Layer *l = &g->layers[i];
        if (l->kind == LAYER_CONV && conv_col_size(&l->conv) > *col) *col = conv_col_size(&l->conv);
        if (l->kind == LAYER_MAXPOOL) total += ROUND(b * size[i + 1]);
    }
    total += ROUND(group * *col);
    if (has_fan_out(g)) total += ROUND(b * *largest);
    return total;
}

int net_memory(const Weights *w, int height, int width, int batch, size_t *bytes, Error *e) {
    Graph g = w->graph;
    size_t size[GRAPH_MAX_LAYERS + 1], col, largest;
    if (graph_shapes(&g, 3, height, width, e) != 0) return -1;
    *bytes = arena_floats(&g, batch < 1 ? 1 : (size_t)batch, size, &col, &largest) * sizeof(float);
    return 0;
}

int net_init(Net *net, const Weights *w, int height, int width, int batch, int threads,
             GemmIsa isa, Error *e) {
    memset(net, 0, sizeof *net);
    net->batch = batch < 1 ? 1 : batch;
    net->threads = threads < 1 ? 1 : threads;
    net->isa = isa;
    net->weights = w;
    net->graph = w->graph;
    const Graph *g = &net->graph;
    if (graph_shapes(&net->graph, 3, height, width, e) != 0) return -1;
    size_t col, largest, b = (size_t)net->batch, group = b < CONV_GROUP ? b : CONV_GROUP;
    size_t total = arena_floats(g, b, net->size, &col, &largest);
    int fan_out = has_fan_out(g);
    if (!(net->arena = aligned_alloc(64, total * sizeof(float))))
        return error_set(e, "network: out of memory for %zu MB of activations",
                         total * sizeof(float) >> 20);
    float *p = net->arena;
    for (int v = 0; v <= g->n_layers; v++) {
        net->act[v] = p, p += ROUND(b * net->size[v]);
        net->grad[v] = p, p += ROUND(b * net->size[v]);
    }
    net->col = p, p += ROUND(group * col);
    if (fan_out) net->sum = p, p += ROUND(b * largest);
    for (int i = 0; i < g->n_layers; i++) {
        if (g->layers[i].kind != LAYER_MAXPOOL) continue;
        net->argmax[i] = (int32_t *)p; // int32 and float share size and alignment
        p += ROUND(b * net->size[i + 1]);
    }
#undef ROUND
    return 0;
}

int net_outputs_finite(const Net *net, int n, int *layer) {
    const Graph *g = &net->graph;
    for (int i = 0; i < g->n_layers; i++) {
        LayerKind k = g->layers[i].kind;
        if (k != LAYER_CONV && k != LAYER_LINEAR) continue;
        const float *y = net->act[i + 1];
        // A sum, not a branch a value: inf - inf and NaN stay NaN.
        float sum = 0.0f;
        for (size_t j = 0; j < (size_t)n * net->size[i + 1]; j++) sum += y[j] * 0.0f;
        if (sum != 0.0f) {
            *layer = i;
            return 0;
        }
    }
    return 1;
}

void net_free(Net *net) {
    if (!net) return;
    free(net->arena);
    memset(net, 0, sizeof *net);
}

float *net_input(Net *net, int b) { return net->act[0] + (size_t)b * net->size[0]; }
const float *net_logits(const Net *net, int b) {
    return net_output(net, net->graph.n_layers - 1, b);
}
int net_classes(const Net *net) { return net->graph.layers[net->graph.n_layers - 1].out_c; }
const float *net_input_grad(const Net *net, int b) {
    return net->grad[0] + (size_t)b * net->size[0];
}
const float *net_output(const Net *net, int i, int b) {
    return net->act[i + 1] + (size_t)b * net->size[i + 1];
}
const float *net_output_grad(const Net *net, int i, int b) {
    return net->grad[i + 1] + (size_t)b * net->size[i + 1];
}

void net_forward_layer(Net *net, int i, int n) {
    const Layer *l = &net->graph.layers[i];
    const float *w = net->weights->w[i], *bias = net->weights->b[i];
    size_t in = net->size[l->in], out = net->size[i + 1];
    float *x = net->act[l->in], *y = net->act[i + 1];
    switch (l->kind) {
    case LAYER_CONV:
        conv2d_forward_batch(y, x, n, w, bias, &l->conv, net->col, net->isa, net->threads);
        return;
    case LAYER_LINEAR:
        linear_forward(y, x, w, bias, l->in_c, l->out_c, n, net->threads);
        return;
    case LAYER_RELU: relu_forward(y, x, out * n); return;
    case LAYER_ADD: {
        const float *x2 = net->act[l->in2];
        for (size_t j = 0; j < out * n; j++) y[j] = x[j] + x2[j];
        return;
    }
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL: break;
    }
    for (int b = 0; b < n; b++) {
        if (l->kind == LAYER_MAXPOOL)
            maxpool_forward(y + b * out, net->argmax[i] + b * out, x + b * in, l->in_c, l->in_h,
                            l->in_w, l->k, l->stride, l->pad, l->out_h, l->out_w);
        else
            avgpool_adaptive_forward(y + b * out, x + b * in, l->in_c, l->in_h, l->in_w, l->out_h,
                                     l->out_w);
    }
}

void net_forward(Net *net, int n) {
    for (int i = 0; i < net->graph.n_layers; i++) net_forward_layer(net, i, n);
}

void net_seed_classes(Net *net, int n, const int *targets) {
    int last = net->graph.n_layers;
    memset(net->grad[last], 0, sizeof(float) * n * net->size[last]);
    for (int b = 0; b < n; b++) net->grad[last][b * net->size[last] + targets[b]] = 1.0f;
}

void net_seed_channel(Net *net, int n, int layer, int channel) {
    const Layer *l = &net->graph.layers[layer];
    size_t plane = (size_t)l->out_h * l->out_w, size = net->size[layer + 1];
    float *g = net->grad[layer + 1];
    memset(g, 0, sizeof(float) * n * size);
    for (int b = 0; b < n; b++)
        for (size_t p = 0; p < plane; p++) g[b * size + channel * plane + p] = 1.0f;
}

/* d(input) of layer i from d(output) into dx, for the first n images. */
static void backward_into(Net *net, int i, int n, ReluRule rule, float *dx) {
    const Layer *l = &net->graph.layers[i];
    const float *w = net->weights->w[i];
    size_t in = net->size[l->in], out = net->size[i + 1];
    const float *dy = net->grad[i + 1];
    switch (l->kind) {
    case LAYER_CONV:
        conv2d_backward_input_batch(dx, dy, n, w, &l->conv, net->col, net->isa, net->threads);
        return;
    case LAYER_LINEAR:
        linear_backward_input(dx, dy, w, l->in_c, l->out_c, n, net->threads);
        return;
    case LAYER_RELU: relu_backward(dx, dy, net->act[i + 1], out * n, rule); return;
    case LAYER_ADD: memcpy(dx, dy, sizeof(float) * out * n); return;
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL: break;
    }
    for (int b = 0; b < n; b++) {
        if (l->kind == LAYER_MAXPOOL)
            maxpool_backward(dx + b * in, dy + b * out, net->argmax[i] + b * out, l->in_c,
                             l->in_h, l->in_w, l->out_h, l->out_w);
        else
            avgpool_adaptive_backward(dx + b * in, dy + b * out, l->in_c, l->in_h, l->in_w,
                                      l->out_h, l->out_w);
    }
}

/* grad[v] = g, or grad[v] += g (g in net->sum). */
static void send(Net *net, int v, int n, ReluRule rule, int i, int add) {
    if (!add) {
        backward_into(net, i, n, rule, net->grad[v]);
        return;
    }
    backward_into(net, i, n, rule, net->sum);
    float *dst = net->grad[v];
    for (size_t j = 0; j < net->size[v] * n; j++) dst[j] += net->sum[j];
}

void net_backward_layer(Net *net, int i, int n, ReluRule rule, char *reached) {
    const Layer *l = &net->graph.layers[i];
    send(net, l->in, n, rule, i, reached[l->in]);
    reached[l->in] = 1;
    // An add's gradient reaches both operands unchanged.
    if (l->kind == LAYER_ADD) {
        send(net, l->in2, n, rule, i, reached[l->in2]);
        reached[l->in2] = 1;
    }
}

static ReluRule rule_for(const Layer *l, ReluRule rule, GuideScope scope) {
    if (scope == GUIDE_ALL || (scope == GUIDE_FEATURES && l->conv_part)) return rule;
    return RELU_PLAIN;
}

void net_backward_from(Net *net, int n, int top, ReluRule rule, GuideScope scope) {
    char reached[GRAPH_MAX_LAYERS + 1] = {0};
    for (int i = top - 1; i >= 0; i--)
        net_backward_layer(net, i, n, rule_for(&net->graph.layers[i], rule, scope), reached);
}

void net_backward(Net *net, int n, const int *targets, GuideScope scope) {
    net_seed_classes(net, n, targets);
    net_backward_from(net, n, net->graph.n_layers, RELU_GUIDED, scope);
}
