#include "io/preprocess.h"

#include <math.h>
#include <string.h>

#include "io/resize.h"

const float preprocess_mean[3] = {0.485f, 0.456f, 0.406f};
const float preprocess_std[3] = {0.229f, 0.224f, 0.225f};

int preprocess_imagenet(const Image *img, float *out, CropBox *box, Error *e) {
    return preprocess_imagenet_crop(img, out, box, NULL, e);
}

int preprocess_imagenet_crop(const Image *img, float *out, CropBox *box, uint8_t *crop, Error *e) {
    const int size = PREPROCESS_SIZE;
    int w = img->width, h = img->height;
    if (w < 1 || h < 1 || !img->rgb) return error_set(e, "preprocess: empty image");
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    // Python's int(size * long / short): a float64 division, truncated.
    int scaled = (int)((double)size * longer / shorter);
    int rw = w <= h ? size : scaled, rh = w <= h ? scaled : size;

    // rint rounds half to even in the default rounding mode, like Python's round.
    int x0 = (int)rint((rw - size) / 2.0), y0 = (int)rint((rh - size) / 2.0);
    // Only the crop of the resized image is computed: the same pixels, in
    // memory bounded by the crop however extreme the aspect ratio.
    Image cropped = {0};
    const Image *src = img;
    if (rw != w || rh != h) {
        if (image_resize_window(img, rw, rh, x0, y0, size, size, &cropped, e) != 0) return -1;
        src = &cropped;
    }
    int sx = src == img ? x0 : 0, sy = src == img ? y0 : 0, sw = src->width;
    for (int c = 0; c < 3; c++) {
        float *plane = out + (size_t)c * size * size;
        for (int y = 0; y < size; y++) {
            const uint8_t *row = src->rgb + ((size_t)(sy + y) * sw + sx) * 3 + c;
            for (int x = 0; x < size; x++)
                plane[y * size + x] = ((float)row[3 * x] / 255.0f - preprocess_mean[c]) / preprocess_std[c];
        }
    }
    for (int y = 0; crop && y < size; y++)
        memcpy(crop + (size_t)y * size * 3, src->rgb + ((size_t)(sy + y) * sw + sx) * 3,
               (size_t)size * 3);
    image_free(&cropped);
    if (box) *box = (CropBox){.resized_w = rw, .resized_h = rh, .crop_x = x0, .crop_y = y0};
    return 0;
}
