#include "nn/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/linear.h"
#include "nn/pool.h"
#include "nn/relu.h"


static size_t layer_out_size(const Layer *l) { return (size_t)l->out_c * l->out_h * l->out_w; }

/* Appends a layer taking the previous layer's output shape as its input. */
static Layer *push(Net *net, LayerKind kind, const char *name, int c, int h, int w) {
    Layer *l = &net->layers[net->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in_c = l->out_c = c;
    l->in_h = l->out_h = h;
    l->in_w = l->out_w = w;
    return l;
}

static int build(Net *net, const Weights *wt, int height, int width, Error *e) {
    const Arch *a = &wt->arch;
    int c = 3, h = height, w = width;
    char name[24];
    for (int i = 0; i < a->n_convs; i++) {
        snprintf(name, sizeof name, "features.%d", a->conv_module[i]);
        Layer *l = push(net, LAYER_CONV, name, c, h, w);
        l->conv = (ConvShape){.in_c = c, .in_h = h, .in_w = w, .out_c = wt->conv_c[i],
                              .k = a->conv_k[i], .stride = a->conv_stride[i],
                              .pad = a->conv_pad[i]};
        if (conv_shape_init(&l->conv) != 0)
            return error_set(e, "%s: a %dx%d input is too small for %s", l->name, height, width,
                             a->name);
        l->w = wt->conv_w[i];
        l->b = wt->conv_b[i];
        c = l->out_c = wt->conv_c[i];
        h = l->out_h = l->conv.out_h;
        w = l->out_w = l->conv.out_w;

        snprintf(name, sizeof name, "features.%d", a->conv_module[i] + a->relu_offset);
        push(net, LAYER_RELU, name, c, h, w)->in_features = 1;

        if (a->pool_after[i]) {
            snprintf(name, sizeof name, "features.%d", a->conv_module[i] + a->relu_offset + 1);
            if (h < a->pool_k || w < a->pool_k)
                return error_set(e, "%s: a %dx%d input is too small for %s", name, height, width,
                                 a->name);
            l = push(net, LAYER_MAXPOOL, name, c, h, w);
            l->k = a->pool_k;
            l->stride = a->pool_stride;
            h = l->out_h = (h - a->pool_k) / a->pool_stride + 1;
            w = l->out_w = (w - a->pool_k) / a->pool_stride + 1;
        }
    }
    Layer *l = push(net, LAYER_AVGPOOL, "avgpool", c, h, w);
    h = l->out_h = a->pooled;
    w = l->out_w = a->pooled;

    // classifier: linear-relu, linear-relu, linear (Dropout is the identity).
    int in = c * h * w;
    for (int i = 0; i < ARCH_FCS; i++) {
        snprintf(name, sizeof name, "classifier.%d", a->fc_module[i]);
        l = push(net, LAYER_LINEAR, name, in, 1, 1);
        l->out_c = wt->fc_out[i];
        l->w = wt->fc_w[i];
        l->b = wt->fc_b[i];
        in = l->out_c;
        if (i + 1 < ARCH_FCS) {
            snprintf(name, sizeof name, "classifier.%d", a->fc_relu_module[i]);
            push(net, LAYER_RELU, name, in, 1, 1);
        }
    }
    return 0;
}

void net_bind(Net *net, const Weights *w) {
    int conv = 0, fc = 0;
    for (int i = 0; i < net->n_layers; i++) {
        Layer *l = &net->layers[i];
        if (l->kind == LAYER_CONV) l->w = w->conv_w[conv], l->b = w->conv_b[conv], conv++;
        if (l->kind == LAYER_LINEAR) l->w = w->fc_w[fc], l->b = w->fc_b[fc], fc++;
    }
}

int net_init(Net *net, const Weights *w, int height, int width, int batch, int threads,
             Error *e) {
    memset(net, 0, sizeof *net);
    net->batch = batch < 1 ? 1 : batch;
    net->threads = threads < 1 ? 1 : threads;
    if (gemm_isa_from_env(&net->isa) != 0)
        return error_set(e, "%s=%s: not an instruction set this CPU has (sse2 up to %s)",
                         GEMM_ISA_ENV, getenv(GEMM_ISA_ENV), gemm_isa_names[gemm_isa_best()]);
    if (build(net, w, height, width, e) != 0) return -1;

    // One arena: activations and gradients for every layer boundary, the
    // max-pool choices and the im2col scratch, each 64-byte aligned.
    const size_t align = 16; // floats: 64 bytes
#define ROUND(n) (((n) + align - 1) / align * align)
    size_t total = 0, col = 0, b = (size_t)net->batch;
    net->size[0] = (size_t)3 * height * width;
    for (int i = 0; i < net->n_layers; i++) {
        const Layer *l = &net->layers[i];
        net->size[i + 1] = layer_out_size(l);
        if (l->kind == LAYER_CONV && conv_col_size(&l->conv) > col) col = conv_col_size(&l->conv);
        if (l->kind == LAYER_MAXPOOL) total += ROUND(b * layer_out_size(l));
    }
    for (int i = 0; i <= net->n_layers; i++) total += 2 * ROUND(b * net->size[i]);
    total += ROUND(col);
    if (!(net->arena = aligned_alloc(64, total * sizeof(float))))
        return error_set(e, "network: out of memory for %zu MB of activations",
                         total * sizeof(float) >> 20);
    float *p = net->arena;
    for (int i = 0; i <= net->n_layers; i++) {
        net->act[i] = p, p += ROUND(b * net->size[i]);
        net->grad[i] = p, p += ROUND(b * net->size[i]);
    }
    net->col = p, p += ROUND(col);
    for (int i = 0; i < net->n_layers; i++) {
        if (net->layers[i].kind != LAYER_MAXPOOL) continue;
        net->argmax[i] = (int32_t *)p; // int32 and float share size and alignment
        p += ROUND(b * net->size[i + 1]);
    }
#undef ROUND
    return 0;
}

void net_free(Net *net) {
    if (!net) return;
    free(net->arena);
    memset(net, 0, sizeof *net);
}

float *net_input(Net *net, int b) { return net->act[0] + (size_t)b * net->size[0]; }
const float *net_logits(const Net *net, int b) {
    return net->act[net->n_layers] + (size_t)b * net->size[net->n_layers];
}
int net_classes(const Net *net) { return net->layers[net->n_layers - 1].out_c; }
const float *net_input_grad(const Net *net, int b) {
    return net->grad[0] + (size_t)b * net->size[0];
}

void net_forward(Net *net, int n) {
    for (int i = 0; i < net->n_layers; i++) {
        const Layer *l = &net->layers[i];
        size_t in = net->size[i], out = net->size[i + 1];
        if (l->kind == LAYER_LINEAR) {
            linear_forward(net->act[i + 1], net->act[i], l->w, l->b, l->in_c, l->out_c, n,
                           net->threads);
            continue;
        }
        for (int b = 0; b < n; b++) {
            const float *x = net->act[i] + b * in;
            float *y = net->act[i + 1] + b * out;
            switch (l->kind) {
            case LAYER_CONV:
                conv2d_forward(y, x, l->w, l->b, &l->conv, net->col, net->isa, net->threads);
                break;
            case LAYER_RELU: relu_forward(y, x, out); break;
            case LAYER_MAXPOOL:
                maxpool_forward(y, net->argmax[i] + b * out, x, l->in_c, l->in_h, l->in_w, l->k,
                                l->stride, l->out_h, l->out_w);
                break;
            case LAYER_AVGPOOL:
                avgpool_adaptive_forward(y, x, l->in_c, l->in_h, l->in_w, l->out_h, l->out_w);
                break;
            case LAYER_LINEAR: break;
            }
        }
    }
}

int net_find_layer(const Net *net, const char *name) {
    for (int i = 0; i < net->n_layers; i++)
        if (strcmp(net->layers[i].name, name) == 0) return i;
    return -1;
}

void net_seed_classes(Net *net, int n, const int *targets) {
    int last = net->n_layers;
    memset(net->grad[last], 0, sizeof(float) * n * net->size[last]);
    for (int b = 0; b < n; b++) net->grad[last][b * net->size[last] + targets[b]] = 1.0f;
}

void net_seed_channel(Net *net, int n, int layer, int channel) {
    const Layer *l = &net->layers[layer];
    size_t plane = (size_t)l->out_h * l->out_w, size = net->size[layer + 1];
    float *g = net->grad[layer + 1];
    memset(g, 0, sizeof(float) * n * size);
    for (int b = 0; b < n; b++)
        for (size_t p = 0; p < plane; p++) g[b * size + channel * plane + p] = 1.0f;
}

static ReluRule rule_for(const Layer *l, ReluRule rule, GuideScope scope) {
    if (scope == GUIDE_ALL || (scope == GUIDE_FEATURES && l->in_features)) return rule;
    return RELU_PLAIN;
}

void net_backward_from(Net *net, int n, int top, ReluRule rule, GuideScope scope) {
    for (int i = top - 1; i >= 0; i--) {
        const Layer *l = &net->layers[i];
        size_t in = net->size[i], out = net->size[i + 1];
        if (l->kind == LAYER_LINEAR) {
            linear_backward_input(net->grad[i], net->grad[i + 1], l->w, l->in_c, l->out_c, n,
                                  net->threads);
            continue;
        }
        for (int b = 0; b < n; b++) {
            float *dx = net->grad[i] + b * in;
            const float *dy = net->grad[i + 1] + b * out;
            switch (l->kind) {
            case LAYER_CONV:
                conv2d_backward_input(dx, dy, l->w, &l->conv, net->col, net->isa, net->threads);
                break;
            case LAYER_RELU:
                relu_backward(dx, dy, net->act[i + 1] + b * out, out, rule_for(l, rule, scope));
                break;
            case LAYER_MAXPOOL:
                maxpool_backward(dx, dy, net->argmax[i] + b * out, l->in_c, l->in_h, l->in_w,
                                 l->out_h, l->out_w);
                break;
            case LAYER_AVGPOOL:
                avgpool_adaptive_backward(dx, dy, l->in_c, l->in_h, l->in_w, l->out_h, l->out_w);
                break;
            case LAYER_LINEAR: break;
            }
        }
    }
}

void net_backward(Net *net, int n, const int *targets, GuideScope scope) {
    net_seed_classes(net, n, targets);
    net_backward_from(net, n, net->n_layers, RELU_GUIDED, scope);
}
