/* arch.h: the layer sequences of torchvision's AlexNet and VGG models.
 *
 * An Arch says where each convolution sits in model.features (its module
 * index, which is also its state_dict prefix), its kernel, stride and
 * padding, which convolutions a max pool follows, the AdaptiveAvgPool2d
 * size and the classifier's module indices. Widths are not part of it: they
 * come from the weight shapes.
 *
 * Names: "alexnet", "vgg11", "vgg13", "vgg16", "vgg19" and "vgg11_bn" ...
 * "vgg19_bn". A _bn model's BatchNorm layers are folded into their
 * convolutions by scripts/convert_pth.py, so they run as plain convolutions;
 * only the module numbering remembers them (each ReLU is at conv + 2).
 */
#ifndef GUIDEDBP_ARCH_H
#define GUIDEDBP_ARCH_H

enum { ARCH_MAX_CONVS = 16, ARCH_FCS = 3, ARCH_MAX_LAYERS = ARCH_MAX_CONVS + ARCH_FCS };

typedef struct {
    char name[16];
    int n_convs;
    int conv_module[ARCH_MAX_CONVS]; // features.N of each convolution
    int conv_k[ARCH_MAX_CONVS], conv_stride[ARCH_MAX_CONVS], conv_pad[ARCH_MAX_CONVS];
    int pool_after[ARCH_MAX_CONVS];  // 1: a max pool follows this convolution's ReLU
    int relu_offset;                 // ReLU module = conv module + relu_offset
    int pool_k, pool_stride;
    int pooled;                      // AdaptiveAvgPool2d((pooled, pooled))
    int fc_module[ARCH_FCS];         // classifier.N of each linear layer
    int fc_relu_module[ARCH_FCS - 1];
} Arch;

/* Fills arch for a name above; -1 for any other name. */
int arch_lookup(const char *name, Arch *arch);
/* "alexnet, vgg11, ...": for messages. */
const char *arch_names(void);

#endif
