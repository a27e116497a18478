/* The whole network: its plain backward pass against central finite
 * differences (away from kinks: a trial counts only if no ReLU or max-pool
 * decision changes between the two probes, where the network is exactly
 * linear), the guided rule against its definition on the last ReLU, and
 * bitwise independence from the batch size and thread count on full-size
 * AlexNet. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "nn/relu.h"
#include "util/rng.h"
#include "isa.h"
#include "test.h"

static uint64_t draws;
static float frand(void) { // uniform in [-1, 1), from rng.h's stream 7
    return (float)(2.0 * rng_uniform(7, draws++) - 1.0);
}

/* A model of graph g's layers with weights scaled to keep activations of
 * order one (He-like), so finite differences are well conditioned. */
typedef struct {
    Weights w;
    float *storage;
} SmallModel;

static void small_model_init(SmallModel *m, const Graph *g) {
    memset(m, 0, sizeof *m);
    m->w.graph = *g;
    Error e;
    CHECK_MSG(graph_shapes(&m->w.graph, 3, 0, 0, &e) == 0, "%s", e.msg);
    size_t total = 0;
    for (int i = 0; i < g->n_layers; i++) {
        const Layer *l = &m->w.graph.layers[i];
        size_t k = l->kind == LAYER_CONV ? (size_t)l->k * l->k : 1;
        if (graph_has_params(l->kind)) total += (size_t)l->width * (l->in_c * k + 1);
    }
    float *p = m->storage = malloc(total * sizeof(float));
    for (int i = 0; i < g->n_layers; i++) {
        const Layer *l = &m->w.graph.layers[i];
        if (!graph_has_params(l->kind)) continue;
        size_t fan_in = (size_t)l->in_c * (l->kind == LAYER_CONV ? l->k * l->k : 1);
        float scale = sqrtf(6.0f / (float)fan_in);
        m->w.w[i] = p;
        for (size_t j = 0; j < l->width * fan_in; j++) *p++ = scale * frand();
        m->w.b[i] = p;
        for (int j = 0; j < l->width; j++) *p++ = 0.1f * frand();
    }
}

/* AlexNet's layers at reduced widths. */
static void small_alexnet(SmallModel *m) {
    static const int widths[8] = {4, 6, 8, 6, 5, 7, 9, 10};
    Graph g;
    graph_build(&g, "alexnet");
    for (int p = 0; p < graph_params(&g); p++) g.layers[graph_param_layer(&g, p)].width = widths[p];
    small_model_init(m, &g);
}

static Layer layer(LayerKind kind, const char *name, int in, int width, int k, int conv_part) {
    Layer l = {.kind = kind, .in = in, .in2 = -1, .width = width, .k = k, .stride = 1,
               .pad = kind == LAYER_CONV ? k / 2 : 0, .conv_part = conv_part};
    snprintf(l.name, sizeof l.name, "%s", name);
    if (kind == LAYER_MAXPOOL) l.stride = k;
    return l;
}

/* A ResNet-like graph: a basic block whose input (value 2) is read by its
 * first convolution and by its residual add, and whose relu module is
 * applied twice, as torchvision's BasicBlock does. */
static void small_residual(SmallModel *m) {
    Graph g = {.arch = "residual"};
    Layer *L = g.layers;
    L[0] = layer(LAYER_CONV, "conv1", 0, 4, 3, 1);
    L[1] = layer(LAYER_RELU, "relu", 1, 0, 0, 1);
    L[2] = layer(LAYER_CONV, "layer1.0.conv1", 2, 4, 3, 1);
    L[3] = layer(LAYER_RELU, "layer1.0.relu", 3, 0, 0, 1);
    L[4] = layer(LAYER_CONV, "layer1.0.conv2", 4, 4, 3, 1);
    L[5] = layer(LAYER_ADD, "layer1.0.add", 5, 0, 0, 1);
    L[5].in2 = 2;
    L[6] = layer(LAYER_RELU, "layer1.0.relu", 6, 0, 0, 1);
    L[7] = layer(LAYER_MAXPOOL, "maxpool", 7, 0, 2, 1);
    L[8] = layer(LAYER_AVGPOOL, "avgpool", 8, 0, 2, 0);
    L[9] = layer(LAYER_LINEAR, "fc", 9, 10, 0, 0);
    g.n_layers = 10;
    small_model_init(m, &g);
}

/* Every piecewise decision of the last forward pass, packed: ReLU signs
 * and max-pool choices. */
static size_t decisions(const Net *net, int32_t *out) {
    size_t n = 0;
    for (int i = 0; i < net->graph.n_layers; i++) {
        const Layer *l = &net->graph.layers[i];
        size_t size = (size_t)l->out_c * l->out_h * l->out_w;
        if (l->kind == LAYER_RELU)
            for (size_t j = 0; j < size; j++) out[n++] = net->act[i + 1][j] > 0.0f;
        if (l->kind == LAYER_MAXPOOL)
            for (size_t j = 0; j < size; j++) out[n++] = net->argmax[i][j];
    }
    return n;
}

/* The plain backward pass of m on an H x W input against central finite
 * differences, with probe steps `step` times the usual (a small network
 * crosses a kink sooner). */
static void check_finite_differences(SmallModel *m, int H, int W, float step) {
    Net net;
    Error e;
    CHECK_MSG(net_init(&net, &m->w, H, W, 1, 2, test_isa(), &e) == 0, "%s", e.msg);
    size_t n = (size_t)3 * H * W;
    float *x = malloc(n * 4), *v = malloc(n * 4), *grad = malloc(n * 4);
    int32_t *d0 = malloc(sizeof(int32_t) * 200000), *d1 = malloc(sizeof(int32_t) * 200000);
    for (size_t i = 0; i < n; i++) x[i] = frand();
    int valid = 0, trials = 0, valid_dense = 0;
    double worst = 0;
    for (int target = 0; target < 10; target += 3) {
        memcpy(net_input(&net, 0), x, n * 4);
        net_forward(&net, 1);
        size_t nd = decisions(&net, d0);
        net_backward(&net, 1, &target, GUIDE_NONE);
        memcpy(grad, net_input_grad(&net, 0), n * 4);
        for (int t = 0; t < 16; t++, trials++) {
            // Half the trials probe one pixel, half a random direction over
            // a 6x6 patch of all three channels. The network is linear
            // between kinks, so the steps are as large as the kinks allow:
            // large steps keep the logits' float rounding small beside them.
            memset(v, 0, n * 4);
            float h;
            if (t % 2) {
                int y0 = (int)((frand() + 1.0f) * 0.5f * (H - 6)), x0 = (int)((frand() + 1.0f) * 0.5f * (W - 6));
                for (int c = 0; c < 3; c++)
                    for (int y = y0; y < y0 + 6; y++)
                        for (int xx = x0; xx < x0 + 6; xx++) v[((size_t)c * H + y) * W + xx] = frand();
                h = 2e-2f * step;
            } else {
                v[(size_t)((frand() + 1.0f) * 0.5f * (float)(n - 1))] = 1.0f;
                h = 2.5e-1f * step;
            }
            double f[2];
            int same = 1;
            for (int s = 0; s < 2; s++) {
                float *in = net_input(&net, 0);
                for (size_t i = 0; i < n; i++) in[i] = x[i] + (s ? -h : h) * v[i];
                net_forward(&net, 1);
                f[s] = net_logits(&net, 0)[target];
                same &= decisions(&net, d1) == nd && memcmp(d0, d1, nd * sizeof(int32_t)) == 0;
            }
            if (!same) continue; // a kink between the probes: no derivative to compare
            valid++;
            valid_dense += t % 2;
            double fd = (f[0] - f[1]) / (2.0 * h), an = 0, scale = 0;
            for (size_t i = 0; i < n; i++) an += (double)grad[i] * v[i];
            for (size_t i = 0; i < n; i++) scale += fabs((double)grad[i] * v[i]);
            // Allowed: 1e-3 of the terms' magnitude, plus the logits' float
            // rounding through the layers (taken as 16 ulps of |f|) magnified by 1/(2h).
            double rounding = 16.0 * 0x1p-23 * fmax(fabs(f[0]), fabs(f[1])) / (2.0 * h);
            double err = fabs(fd - an) / (1e-3 * scale + rounding);
            worst = err > worst ? err : worst;
            CHECK_MSG(err <= 1.0, "target %d trial %d: finite difference %.6g, backward %.6g",
                      target, t, fd, an);
        }
    }
    printf("  %s: finite differences: %d of %d trials away from kinks, worst error %.2f of "
           "allowed\n", m->w.graph.arch, valid, trials, worst);
    CHECK_MSG(valid >= 16 && valid_dense >= 4, "only %d of %d trials (%d dense) were away from kinks",
              valid, trials, valid_dense);
    free(x), free(v), free(grad), free(d0), free(d1);
    net_free(&net);
}

static void test_plain_backward_matches_finite_differences(void) {
    SmallModel m;
    small_alexnet(&m);
    check_finite_differences(&m, 67, 71, 1.0f); // pools down to 1x1: AdaptiveAvgPool upsamples to 6x6
    free(m.storage);
}

/* A value two layers read gets the sum of their gradients; an add passes
 * its gradient to both operands. */
static void test_residual_graph_backward_matches_finite_differences(void) {
    SmallModel m;
    small_residual(&m);
    check_finite_differences(&m, 9, 11, 0.05f);
    Net net;
    Error e;
    CHECK_MSG(net_init(&net, &m.w, 9, 11, 1, 1, test_isa(), &e) == 0, "%s", e.msg);
    CHECK(net.sum != NULL);
    for (size_t i = 0; i < net.size[0]; i++) net_input(&net, 0)[i] = frand();
    net_forward(&net, 1);
    int wrong = 0;
    for (size_t i = 0; i < net.size[6]; i++)
        wrong += net_output(&net, 5, 0)[i] != net_output(&net, 4, 0)[i] + net_output(&net, 1, 0)[i];
    CHECK_MSG(wrong == 0, "%d values of the add are not the sum of its operands", wrong);
    net_free(&net);
    free(m.storage);
}

/* Guided and plain backward agree where they must and differ as defined:
 * at the classifier's last ReLU, GUIDE_ALL zeroes the negative gradients
 * that GUIDE_FEATURES passes on. */
static void test_guide_scopes_apply_the_rule_where_asked(void) {
    SmallModel m;
    small_alexnet(&m);
    Net net;
    Error e;
    CHECK_MSG(net_init(&net, &m.w, 67, 67, 1, 1, test_isa(), &e) == 0, "%s", e.msg);
    size_t n = (size_t)3 * 67 * 67;
    for (size_t i = 0; i < n; i++) net_input(&net, 0)[i] = frand();
    net_forward(&net, 1);
    const Layer *layers = net.graph.layers;
    int last_relu = net.graph.n_layers - 2; // classifier.5
    CHECK(layers[last_relu].kind == LAYER_RELU && !layers[last_relu].conv_part);
    size_t width = (size_t)layers[last_relu].out_c;
    float *expect = malloc(width * 4);
    int negatives = 0;
    for (GuideScope s = GUIDE_NONE; s <= GUIDE_ALL; s++) {
        int target = 3;
        net_backward(&net, 1, &target, s);
        relu_backward(expect, net.grad[last_relu + 1], net.act[last_relu + 1], width,
                      s == GUIDE_ALL ? RELU_GUIDED : RELU_PLAIN);
        CHECK_MSG(memcmp(expect, net.grad[last_relu], width * 4) == 0, "scope %d", s);
        for (size_t i = 0; s == GUIDE_FEATURES && i < width; i++)
            negatives += net.grad[last_relu][i] < 0;
        // Every guided ReLU passes no negative gradient.
        for (int l = 0; s != GUIDE_NONE && l < net.graph.n_layers; l++) {
            if (layers[l].kind != LAYER_RELU) continue;
            if (s == GUIDE_FEATURES && !layers[l].conv_part) continue;
            size_t size = (size_t)layers[l].out_c * layers[l].out_h * layers[l].out_w;
            int neg = 0;
            for (size_t i = 0; i < size; i++) neg += net.grad[l][i] < 0;
            CHECK_MSG(neg == 0, "scope %d: %s passed %d negative gradients", s,
                      layers[l].name, neg);
        }
    }
    CHECK_MSG(negatives > 0, "the test needs a negative gradient at classifier.5");
    free(expect);
    net_free(&net);
    free(m.storage);
}

/* Full-size AlexNet: each image's logits and map have the same bits alone
 * on one thread as in a batch of 3 on 3 threads. */
static void test_full_alexnet_bits_do_not_depend_on_batch_or_threads(void) {
    Weights w;
    Error e;
    CHECK_MSG(weights_load(&w, "random:3", &e) == 0, "%s", e.msg);
    Net one, three;
    CHECK(net_init(&one, &w, 224, 224, 1, 1, test_isa(), &e) == 0);
    CHECK(net_init(&three, &w, 224, 224, 3, 3, test_isa(), &e) == 0);
    size_t n = (size_t)3 * 224 * 224;
    for (int b = 0; b < 3; b++)
        for (size_t i = 0; i < n; i++) net_input(&three, b)[i] = 2.0f * frand();
    int targets[3] = {281, 0, 999};
    net_forward(&three, 3);
    net_backward(&three, 3, targets, GUIDE_FEATURES);
    for (int b = 0; b < 3; b++) {
        memcpy(net_input(&one, 0), net_input(&three, b), n * 4);
        net_forward(&one, 1);
        net_backward(&one, 1, &targets[b], GUIDE_FEATURES);
        CHECK_MSG(memcmp(net_logits(&one, 0), net_logits(&three, b), sizeof(float) * 1000) == 0,
                  "logits of image %d", b);
        CHECK_MSG(memcmp(net_input_grad(&one, 0), net_input_grad(&three, b), n * 4) == 0,
                  "map of image %d", b);
        float any = 0;
        for (size_t i = 0; i < n; i++) any = fmaxf(any, fabsf(net_input_grad(&one, 0)[i]));
        CHECK_MSG(any > 0, "the map of image %d is all zeros", b);
    }
    net_free(&one);
    net_free(&three);
    weights_free(&w);
}

/* Each architecture's graph: its layers with weights, its names, and for
 * the ResNets the shapes torchvision gives at 224x224. */
static void test_architectures_have_torchvisions_layers(void) {
    static const struct {
        const char *arch;
        int params;          // convolutions + linear layers
        const char *name;    // a module name it must have
        const char *output;  // ... and a module whose output shape is `c h w`
        int c, h, w;
    } cases[] = {
        {"alexnet", 8, "features.10", "features.12", 256, 6, 6},
        {"vgg16_bn", 16, "features.42", "features.43", 512, 7, 7},
        {"resnet18", 21, "layer3.1.conv2", "layer4", 512, 7, 7},
        {"resnet34", 37, "layer3.5.relu", "layer2.3", 128, 28, 28},
        {"resnet50", 54, "layer1.0.downsample.0", "layer4.2", 2048, 7, 7},
        {"resnet101", 105, "layer3.22.conv3", "maxpool", 64, 56, 56},
        {"resnet152", 156, "layer3.35.add", "layer3", 1024, 14, 14},
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        Graph g;
        Error e;
        CHECK_MSG(graph_build(&g, cases[t].arch) == 0, "%s", cases[t].arch);
        CHECK_MSG(graph_shapes(&g, 3, 224, 224, &e) == 0, "%s: %s", cases[t].arch, e.msg);
        CHECK_MSG(graph_params(&g) == cases[t].params, "%s: %d layers with weights",
                  cases[t].arch, graph_params(&g));
        CHECK_MSG(graph_find(&g, cases[t].name) >= 0, "%s: no %s", cases[t].arch, cases[t].name);
        int o = graph_find(&g, cases[t].output);
        CHECK_MSG(o >= 0 && g.layers[o].out_c == cases[t].c && g.layers[o].out_h == cases[t].h &&
                      g.layers[o].out_w == cases[t].w,
                  "%s: %s", cases[t].arch, cases[t].output);
        const Layer *last = &g.layers[g.n_layers - 1];
        CHECK(last->kind == LAYER_LINEAR && last->out_c == 1000);
    }
    // A ResNet block's ReLU module is called after each conv but the last
    // and after the add; its name finds the first call.
    Graph g;
    graph_build(&g, "resnet50");
    int calls = 0;
    for (int i = 0; i < g.n_layers; i++) calls += strcmp(g.layers[i].name, "layer2.1.relu") == 0;
    CHECK_MSG(calls == 3, "layer2.1.relu is called %d times", calls);
    int first = graph_find(&g, "layer2.1.relu");
    CHECK(first >= 0 && g.layers[first - 1].kind == LAYER_CONV);
}

static void test_too_small_input_is_refused(void) {
    SmallModel m;
    small_alexnet(&m);
    Net net;
    Error e;
    CHECK(net_init(&net, &m.w, 20, 20, 1, 1, test_isa(), &e) != 0);
    CHECK_MSG(strstr(e.msg, "too small") != NULL, "%s", e.msg);
    net_free(&net);
    free(m.storage);
}

int main(void) {
    RUN(test_plain_backward_matches_finite_differences);
    RUN(test_residual_graph_backward_matches_finite_differences);
    RUN(test_guide_scopes_apply_the_rule_where_asked);
    RUN(test_full_alexnet_bits_do_not_depend_on_batch_or_threads);
    RUN(test_architectures_have_torchvisions_layers);
    RUN(test_too_small_input_is_refused);
    return test_summary();
}
