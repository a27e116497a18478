#include "nn/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends layer `kind` reading the previous layer's output, its module
 * name formatted from fmt (the only place names are made). */
__attribute__((format(printf, 3, 4))) static Layer *push(Graph *g, LayerKind kind,
                                                         const char *fmt, ...) {
    Layer *l = &g->layers[g->n_layers];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->in = g->n_layers++;
    l->in2 = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->name, sizeof l->name, fmt, ap);
    va_end(ap);
    return l;
}

static void conv(Graph *g, int module, int width, int k, int stride, int pad) {
    Layer *l = push(g, LAYER_CONV, "features.%d", module);
    l->width = width, l->k = k, l->stride = stride, l->pad = pad, l->conv_part = 1;
}

static void relu(Graph *g, const char *prefix, int module, int conv_part) {
    push(g, LAYER_RELU, "%s.%d", prefix, module)->conv_part = conv_part;
}

static void maxpool(Graph *g, int module, int k, int stride) {
    Layer *l = push(g, LAYER_MAXPOOL, "features.%d", module);
    l->k = k, l->stride = stride, l->conv_part = 1;
}

/* avgpool to side x side, then the classifier: linear-relu, linear-relu,
 * linear, at torchvision's module indices (the gaps are its Dropouts). */
static void classifier(Graph *g, int side, const int fc[3], const int fc_relu[2]) {
    push(g, LAYER_AVGPOOL, "avgpool")->k = side;
    static const int widths[3] = {4096, 4096, 1000};
    for (int i = 0; i < 3; i++) {
        push(g, LAYER_LINEAR, "classifier.%d", fc[i])->width = widths[i];
        if (i < 2) relu(g, "classifier", fc_relu[i], 0);
    }
}

static void alexnet(Graph *g) {
    static const int fc[3] = {1, 4, 6}, fc_relu[2] = {2, 5};
    conv(g, 0, 64, 11, 4, 2), relu(g, "features", 1, 1), maxpool(g, 2, 3, 2);
    conv(g, 3, 192, 5, 1, 2), relu(g, "features", 4, 1), maxpool(g, 5, 3, 2);
    conv(g, 6, 384, 3, 1, 1), relu(g, "features", 7, 1);
    conv(g, 8, 256, 3, 1, 1), relu(g, "features", 9, 1);
    conv(g, 10, 256, 3, 1, 1), relu(g, "features", 11, 1), maxpool(g, 12, 3, 2);
    classifier(g, 6, fc, fc_relu);
}

/* torchvision's VGG configurations A, B, D, E: output widths, 0 for a max
 * pool, -1 at the end. */
static const struct {
    const char *name;
    int cfg[24];
} vggs[] = {
    {"vgg11", {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1}},
    {"vgg13", {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1}},
    {"vgg16", {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0, -1}},
    {"vgg19", {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512,
               512, 512, 0, -1}},
};

static void vgg(Graph *g, const int *cfg, int bn) {
    static const int fc[3] = {0, 3, 6}, fc_relu[2] = {1, 4};
    int module = 0;
    for (const int *c = cfg; *c >= 0; c++) {
        if (*c == 0) {
            maxpool(g, module++, 2, 2);
            continue;
        }
        // Each convolution is followed by its BatchNorm (folded) and ReLU.
        conv(g, module, *c, 3, 1, 1);
        module += bn ? 2 : 1;
        relu(g, "features", module++, 1);
    }
    classifier(g, 7, fc, fc_relu);
}

/* torchvision's ResNets: blocks per stage, and the block kind. */
static const struct {
    const char *name;
    int bottleneck;
    int blocks[4];
} resnets[] = {
    {"resnet18", 0, {2, 2, 2, 2}},  {"resnet34", 0, {3, 4, 6, 3}},
    {"resnet50", 1, {3, 4, 6, 3}},  {"resnet101", 1, {3, 4, 23, 3}},
    {"resnet152", 1, {3, 8, 36, 3}},
};

/* A convolution (its BatchNorm folded in) of value `in`; returns its
 * output's value. */
static int rconv(Graph *g, int in, int width, int k, int stride, const char *block,
                 const char *name) {
    Layer *l = push(g, LAYER_CONV, "%s%s%s", block, *block ? "." : "", name);
    l->in = in, l->width = width, l->k = k, l->stride = stride, l->pad = k / 2, l->conv_part = 1;
    return g->n_layers;
}

static int rrelu(Graph *g, int in, const char *block) {
    Layer *l = push(g, LAYER_RELU, "%s%srelu", block, *block ? "." : "");
    l->in = in, l->conv_part = 1;
    return g->n_layers;
}

/* `name` also names layer `layer`'s output: a block's or a stage's. */
static void alias(Graph *g, const char *name, int layer) {
    GraphAlias *a = &g->aliases[g->n_aliases++];
    snprintf(a->name, sizeof a->name, "%s", name);
    a->layer = layer;
}

/* torchvision.models.resnet: the stem (7x7/2 conv, ReLU, 3x3/2 max pool
 * with padding 1), four stages whose first block strides by 2 (but the
 * first stage's) and takes a 1x1 conv shortcut where the shape changes,
 * out += identity then ReLU, AdaptiveAvgPool2d(1), fc. torchvision applies
 * each block's one ReLU module two or three times: each call is a layer of
 * that name. The add has no module; it is named BLOCK.add. */
static void resnet(Graph *g, int bottleneck, const int blocks[4]) {
    g->init = GRAPH_INIT_RESNET;
    int v = rrelu(g, rconv(g, 0, 64, 7, 2, "", "conv1"), "");
    Layer *pool = push(g, LAYER_MAXPOOL, "maxpool");
    pool->in = v, pool->k = 3, pool->stride = 2, pool->pad = 1, pool->conv_part = 1;
    v = g->n_layers;
    int inplanes = 64, expansion = bottleneck ? 4 : 1;
    for (int s = 0; s < 4; s++) {
        int planes = 64 << s;
        for (int b = 0; b < blocks[s]; b++) {
            char block[GRAPH_NAME_LEN];
            snprintf(block, sizeof block, "layer%d.%d", s + 1, b);
            int stride = s > 0 && b == 0 ? 2 : 1, x = v, y;
            if (bottleneck) {
                y = rrelu(g, rconv(g, x, planes, 1, 1, block, "conv1"), block);
                y = rrelu(g, rconv(g, y, planes, 3, stride, block, "conv2"), block);
                y = rconv(g, y, planes * 4, 1, 1, block, "conv3");
            } else {
                y = rrelu(g, rconv(g, x, planes, 3, stride, block, "conv1"), block);
                y = rconv(g, y, planes, 3, 1, block, "conv2");
            }
            int identity = x;
            if (stride != 1 || inplanes != planes * expansion)
                identity = rconv(g, x, planes * expansion, 1, stride, block, "downsample.0");
            Layer *add = push(g, LAYER_ADD, "%s.add", block);
            add->in = y, add->in2 = identity, add->conv_part = 1;
            v = rrelu(g, g->n_layers, block);
            alias(g, block, v - 1);
            inplanes = planes * expansion;
        }
        char stage[GRAPH_NAME_LEN];
        snprintf(stage, sizeof stage, "layer%d", s + 1);
        alias(g, stage, v - 1);
    }
    Layer *avg = push(g, LAYER_AVGPOOL, "avgpool");
    avg->in = v, avg->k = 1;
    push(g, LAYER_LINEAR, "fc")->width = 1000;
}

int graph_build(Graph *g, const char *arch) {
    memset(g, 0, sizeof *g);
    if (strlen(arch) >= sizeof g->arch) return -1;
    snprintf(g->arch, sizeof g->arch, "%s", arch);
    if (strcmp(arch, "alexnet") == 0) {
        alexnet(g);
        return 0;
    }
    for (size_t v = 0; v < sizeof vggs / sizeof *vggs; v++) {
        size_t n = strlen(vggs[v].name);
        if (strncmp(arch, vggs[v].name, n) != 0) continue;
        int bn = strcmp(arch + n, "_bn") == 0;
        if (arch[n] != '\0' && !bn) continue;
        vgg(g, vggs[v].cfg, bn);
        return 0;
    }
    for (size_t r = 0; r < sizeof resnets / sizeof *resnets; r++)
        if (strcmp(arch, resnets[r].name) == 0) {
            resnet(g, resnets[r].bottleneck, resnets[r].blocks);
            return 0;
        }
    return -1;
}

void graph_arch_list(char *out, size_t len) {
    size_t used = (size_t)snprintf(out, len, "alexnet");
    for (int bn = 0; bn < 2; bn++)
        for (size_t v = 0; v < sizeof vggs / sizeof *vggs && used < len; v++)
            used += (size_t)snprintf(out + used, len - used, ", %s%s", vggs[v].name, bn ? "_bn" : "");
    for (size_t r = 0; r < sizeof resnets / sizeof *resnets && used < len; r++)
        used += (size_t)snprintf(out + used, len - used, ", %s", resnets[r].name);
}

void graph_value_shape(const Graph *g, int v, int *c, int *h, int *w) {
    if (v == 0) {
        *c = g->in_c, *h = g->in_h, *w = g->in_w;
        return;
    }
    const Layer *l = &g->layers[v - 1];
    *c = l->out_c, *h = l->out_h, *w = l->out_w;
}

size_t graph_value_size(const Graph *g, int v) {
    int c, h, w;
    graph_value_shape(g, v, &c, &h, &w);
    return (size_t)c * h * w;
}

static int too_small(const Graph *g, const Layer *l, Error *e) {
    return error_set(e, "%s: a %dx%d input is too small for %s", l->name, g->in_h, g->in_w,
                     g->arch);
}

int graph_shape_layer(Graph *g, int i, Error *e) {
    Layer *l = &g->layers[i];
    int c, h, w;
    graph_value_shape(g, l->in, &c, &h, &w);
    l->in_c = c, l->in_h = h, l->in_w = w;
    l->out_c = c, l->out_h = h, l->out_w = w;
    switch (l->kind) {
    case LAYER_CONV:
        l->out_c = l->width;
        l->conv = (ConvShape){.in_c = c, .in_h = h, .in_w = w, .out_c = l->width, .k = l->k,
                              .stride = l->stride, .pad = l->pad};
        if (h == 0) break; // spatial size not known yet
        if (conv_shape_init(&l->conv) != 0) return too_small(g, l, e);
        l->out_h = l->conv.out_h, l->out_w = l->conv.out_w;
        break;
    case LAYER_MAXPOOL:
        if (h == 0) break;
        if (h + 2 * l->pad < l->k || w + 2 * l->pad < l->k) return too_small(g, l, e);
        l->out_h = (h + 2 * l->pad - l->k) / l->stride + 1;
        l->out_w = (w + 2 * l->pad - l->k) / l->stride + 1;
        break;
    case LAYER_AVGPOOL: l->out_h = l->out_w = l->k; break;
    case LAYER_LINEAR:
        // torch.flatten: the input's every value is a feature.
        l->in_c = c * h * w, l->in_h = l->in_w = 1;
        l->out_c = l->width, l->out_h = l->out_w = 1;
        break;
    case LAYER_ADD: {
        int c2, h2, w2;
        graph_value_shape(g, l->in2, &c2, &h2, &w2);
        if (c2 != c)
            return error_set(e, "%s: adds a %d-channel value to a %d-channel one", l->name, c2, c);
        if (h2 != h || w2 != w)
            return error_set(e, "%s: adds a %dx%d value to a %dx%d one", l->name, h2, w2, h, w);
        break;
    }
    case LAYER_RELU: break;
    }
    return 0;
}

int graph_shapes(Graph *g, int c, int h, int w, Error *e) {
    g->in_c = c, g->in_h = h, g->in_w = w;
    for (int i = 0; i < g->n_layers; i++)
        if (graph_shape_layer(g, i, e) != 0) return -1;
    return 0;
}

int graph_find(const Graph *g, const char *name) {
    for (int i = 0; i < g->n_layers; i++)
        if (strcmp(g->layers[i].name, name) == 0) return i;
    for (int a = 0; a < g->n_aliases; a++)
        if (strcmp(g->aliases[a].name, name) == 0) return g->aliases[a].layer;
    return -1;
}

int graph_has_params(LayerKind kind) { return kind == LAYER_CONV || kind == LAYER_LINEAR; }

int graph_params(const Graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_layers; i++) n += graph_has_params(g->layers[i].kind);
    return n;
}

int graph_param_layer(const Graph *g, int p) {
    for (int i = 0; i < g->n_layers; i++)
        if (graph_has_params(g->layers[i].kind) && p-- == 0) return i;
    return -1;
}
