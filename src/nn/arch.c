#include "nn/arch.h"

#include <stdio.h>
#include <string.h>

/* torchvision's VGG configurations A, B, D, E: output widths (their value
 * does not matter here, only their places) and 0 for a max pool. */
static const struct {
    const char *name;
    int cfg[24];
} vgg[] = {
    {"vgg11", {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1}},
    {"vgg13", {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1}},
    {"vgg16", {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0, -1}},
    {"vgg19", {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512,
               512, 512, 0, -1}},
};

const char *arch_names(void) {
    return "alexnet, vgg11, vgg13, vgg16, vgg19, vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn";
}

int arch_lookup(const char *name, Arch *a) {
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->relu_offset = 1;
    if (strcmp(name, "alexnet") == 0) {
        static const int module[] = {0, 3, 6, 8, 10}, k[] = {11, 5, 3, 3, 3},
                         stride[] = {4, 1, 1, 1, 1}, pad[] = {2, 2, 1, 1, 1},
                         pool[] = {1, 1, 0, 0, 1};
        a->n_convs = 5;
        for (int i = 0; i < 5; i++) {
            a->conv_module[i] = module[i], a->conv_k[i] = k[i], a->conv_stride[i] = stride[i];
            a->conv_pad[i] = pad[i], a->pool_after[i] = pool[i];
        }
        a->pool_k = 3, a->pool_stride = 2, a->pooled = 6;
        a->fc_module[0] = 1, a->fc_module[1] = 4, a->fc_module[2] = 6;
        a->fc_relu_module[0] = 2, a->fc_relu_module[1] = 5;
        return 0;
    }
    for (size_t v = 0; v < sizeof vgg / sizeof *vgg; v++) {
        size_t n = strlen(vgg[v].name);
        if (strncmp(name, vgg[v].name, n) != 0) continue;
        int bn = strcmp(name + n, "_bn") == 0;
        if (name[n] != '\0' && !bn) continue;
        // Each convolution is followed by its BatchNorm (folded) and ReLU.
        a->relu_offset = bn ? 2 : 1;
        int module = 0;
        for (const int *c = vgg[v].cfg; *c >= 0; c++) {
            if (*c == 0) {
                a->pool_after[a->n_convs - 1] = 1;
                module++;
                continue;
            }
            int i = a->n_convs++;
            a->conv_module[i] = module, a->conv_k[i] = 3, a->conv_stride[i] = 1;
            a->conv_pad[i] = 1;
            module += a->relu_offset + 1;
        }
        a->pool_k = 2, a->pool_stride = 2, a->pooled = 7;
        a->fc_module[0] = 0, a->fc_module[1] = 3, a->fc_module[2] = 6;
        a->fc_relu_module[0] = 1, a->fc_relu_module[1] = 4;
        return 0;
    }
    return -1;
}
