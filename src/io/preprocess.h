/* preprocess.h: torchvision's ImageNet transform on an RGB image:
 *
 *   Resize(224)      shorter side to 224, longer to int(224*long/short),
 *                    Pillow's antialiased bilinear resampling bit for bit
 *   CenterCrop(224)  offsets round((d-224)/2), round half to even
 *   ToTensor         p / 255.0f (a true float32 division)
 *   Normalize        (x - mean) / std, per channel, in float32
 *
 * The result is (3, 224, 224) float32 in `out`, caller-owned. The crop box
 * is reported so a map can be related to the original image.
 */
#ifndef GUIDEDBP_PREPROCESS_H
#define GUIDEDBP_PREPROCESS_H

#include "util/error.h"
#include "io/raster.h"

/* The network's input side, and Normalize's ImageNet mean and std. */
enum { PREPROCESS_SIZE = 224 };
extern const float preprocess_mean[3], preprocess_std[3];

typedef struct {
    int resized_w, resized_h; // size after Resize
    int crop_x, crop_y;       // top-left corner of the crop in the resized image
} CropBox;

int preprocess_imagenet(const Image *img, float *out, CropBox *box, Error *e);
/* The same, also copying the cropped 8-bit pixels (224, 224, 3) to crop
 * (NULL: not wanted), the photo a heatmap is drawn over. */
int preprocess_imagenet_crop(const Image *img, float *out, CropBox *box, uint8_t *crop, Error *e);

#endif
