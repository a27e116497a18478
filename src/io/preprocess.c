#include "io/preprocess.h"

#include <math.h>
#include <string.h>

#include "io/resize.h"

const float preprocess_mean[3] = {0.485f, 0.456f, 0.406f};
const float preprocess_std[3] = {0.229f, 0.224f, 0.225f};
const char *const crop_names[] = {"center", "none"};
_Static_assert(sizeof crop_names / sizeof *crop_names == CROPS, "a name for each value");

int preprocess_box(int w, int h, CropMode mode, CropBox *box, Error *e) {
    const int size = PREPROCESS_SIZE;
    if (w < 1 || h < 1) return error_set(e, "preprocess: empty image");
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    // Python's int(size * long / short): a float64 division, truncated.
    double scaled = (double)size * longer / shorter;
    if (mode == CROP_NONE && scaled >= PREPROCESS_MAX_SIDE + 1)
        return error_set(e, "%dx%d is too elongated for --crop none: resized it would be %.0f "
                         "pixels long, more than %d (8:1); use --crop center", w, h, floor(scaled),
                         (int)PREPROCESS_MAX_SIDE);
    int rw = w <= h ? size : (int)scaled, rh = w <= h ? (int)scaled : size;
    *box = (CropBox){.resized_w = rw, .resized_h = rh, .crop_w = rw, .crop_h = rh};
    if (mode == CROP_CENTER) {
        // rint rounds half to even in the default rounding mode, like Python's round.
        box->crop_x = (int)rint((rw - size) / 2.0), box->crop_y = (int)rint((rh - size) / 2.0);
        box->crop_w = box->crop_h = size;
    }
    return 0;
}

int preprocess_apply(const Image *img, const CropBox *box, float *out, uint8_t *crop, Error *e) {
    const int cw = box->crop_w, ch = box->crop_h;
    if (!img->rgb) return error_set(e, "preprocess: empty image");
    // Only the crop of the resized image is computed: the same pixels, in
    // memory bounded by the crop however extreme the aspect ratio.
    Image cropped = {0};
    const Image *src = img;
    if (box->resized_w != img->width || box->resized_h != img->height) {
        if (image_resize_window(img, box->resized_w, box->resized_h, box->crop_x, box->crop_y, cw,
                                ch, &cropped, e) != 0)
            return -1;
        src = &cropped;
    }
    int sx = src == img ? box->crop_x : 0, sy = src == img ? box->crop_y : 0, sw = src->width;
    size_t plane = (size_t)cw * ch;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < ch; y++) {
            const uint8_t *row = src->rgb + ((size_t)(sy + y) * sw + sx) * 3 + c;
            float *dst = out + c * plane + (size_t)y * cw;
            for (int x = 0; x < cw; x++)
                dst[x] = ((float)row[3 * x] / 255.0f - preprocess_mean[c]) / preprocess_std[c];
        }
    for (int y = 0; crop && y < ch; y++)
        memcpy(crop + (size_t)y * cw * 3, src->rgb + ((size_t)(sy + y) * sw + sx) * 3,
               (size_t)cw * 3);
    image_free(&cropped);
    return 0;
}

int preprocess_imagenet(const Image *img, float *out, CropBox *box, Error *e) {
    CropBox b;
    if (preprocess_box(img->width, img->height, CROP_CENTER, &b, e) != 0 ||
        preprocess_apply(img, &b, out, NULL, e) != 0)
        return -1;
    if (box) *box = b;
    return 0;
}
