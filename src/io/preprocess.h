/* preprocess.h: torchvision's ImageNet transform on an RGB image:
 *
 *   Resize(224)      shorter side to 224, longer to int(224*long/short),
 *                    Pillow's antialiased bilinear resampling bit for bit
 *   CenterCrop(224)  offsets round((d-224)/2), round half to even
 *   ToTensor         p / 255.0f (a true float32 division)
 *   Normalize        (x - mean) / std, per channel, in float32
 *
 * --crop none leaves CenterCrop out: the whole resized image is the input,
 * (3, resized_h, resized_w), which the networks' adaptive average pooling
 * accepts. The box says what is explained, so a map can be related to the
 * original image.
 *
 *     CropBox box;
 *     if (preprocess_box(w, h, CROP_NONE, &box, &err) != 0) ...; // too elongated
 *     float *x = malloc(sizeof *x * 3 * box.crop_w * box.crop_h);
 *     if (preprocess_apply(&img, &box, x, NULL, &err) != 0) ...;
 */
#ifndef GUIDEDBP_PREPROCESS_H
#define GUIDEDBP_PREPROCESS_H

#include "util/error.h"
#include "io/raster.h"

/* The network's input side, and Normalize's ImageNet mean and std. */
enum { PREPROCESS_SIZE = 224 };
extern const float preprocess_mean[3], preprocess_std[3];
/* --crop none's longest resized side: 8:1, a 1200x150 banner. Activations
 * grow with the input (a VGG-16 at 224 x 1792 needs about 2 GB), so more
 * elongated images are refused rather than run out of memory. */
enum { PREPROCESS_MAX_SIDE = 8 * PREPROCESS_SIZE };

/* --crop: the recipe's center crop, or the whole resized image. */
typedef enum { CROP_CENTER, CROP_NONE, CROPS } CropMode;
/* --crop's names, in CropMode's order. */
extern const char *const crop_names[CROPS];

typedef struct {
    int resized_w, resized_h; // size after Resize
    int crop_x, crop_y;       // top-left corner of the input in the resized image
    int crop_w, crop_h;       // the input's size: 224 x 224, or the resized size
} CropBox;

/* The box of a width x height image; -1 (e says why) when CROP_NONE would
 * make a side longer than PREPROCESS_MAX_SIDE. */
int preprocess_box(int width, int height, CropMode mode, CropBox *box, Error *e);
/* img through the transform into out, (3, box->crop_h, box->crop_w),
 * caller-owned; with crop non-NULL also the input's 8-bit pixels (crop_h,
 * crop_w, 3), the photo a heatmap is drawn over. */
int preprocess_apply(const Image *img, const CropBox *box, float *out, uint8_t *crop, Error *e);
/* The recipe (CROP_CENTER) in one call: out is (3, 224, 224); box may be NULL. */
int preprocess_imagenet(const Image *img, float *out, CropBox *box, Error *e);

#endif
