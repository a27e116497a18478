/* redraw_layer.c: for test/bench/compare_tolerances.sh, the guided map of an
 * image, and the same map with one layer of the weights re-drawn (as
 * --check randomize re-draws it, weights_randomize_layer from seed 1), each
 * written as PREFIX_orig.{png,npy} and PREFIX_redrawn.{png,npy} the way
 * guidedbp writes a map: "another map" that differs from the first by one
 * layer.
 *
 * Usage: redraw_layer WEIGHTS IMAGE CLASS LAYER PREFIX  (e.g. random:0 cat.png 281 classifier.6 m)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/explain.h"
#include "explain/render.h"
#include "io/image.h"
#include "io/npy.h"
#include "io/png.h"
#include "io/preprocess.h"

enum { S = PREPROCESS_SIZE };

/* The guided map of img under w, as PREFIX_TAG.png and .npy. */
static int write_map(const Weights *w, const Image *img, int target, const char *prefix,
                     const char *tag, Error *e) {
    MethodSpec spec = {.method = METHOD_GUIDED, .layer = -1, .guide = GUIDE_FEATURES};
    Explainer x;
    if (explain_init(&x, w, &spec, 1, 2, gemm_isa_best(), e) != 0) return -1;
    uint8_t *rgb = malloc((size_t)S * S * 3);
    char path[1024];
    int rc = -1;
    if (!rgb) {
        error_set(e, "out of memory");
    } else if (preprocess_imagenet(img, explain_input(&x, 0), NULL, e) == 0 &&
               explain_run(&x, 1, target, e) == 0) {
        render_color(rgb, x.maps, S, S);
        snprintf(path, sizeof path, "%s_%s.png", prefix, tag);
        if (png_write(path, rgb, S, S, 3, 0, NULL, 0, e) == 0) {
            snprintf(path, sizeof path, "%s_%s.npy", prefix, tag);
            rc = npy_write(path, x.maps, S, S, 3, e);
        }
    }
    free(rgb);
    explain_free(&x);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: redraw_layer WEIGHTS IMAGE CLASS LAYER PREFIX\n");
        return 2;
    }
    Weights w = {0}, view = {0};
    Image img = {0};
    Error e = {0};
    int layer = -1, rc = 1;
    if (weights_load(&w, argv[1], &e) == 0 && image_load(argv[2], IMAGE_MAX_PIXELS, &img, &e) == 0) {
        for (int l = 0; l < weights_layers(&w); l++)
            if (strcmp(weights_layer_name(&w, l), argv[4]) == 0) layer = l;
        weights_view(&w, &view);
        if (layer < 0) error_set(&e, "%s: no layer with weights of that name", argv[4]);
        else if (weights_randomize_layer(&view, layer, 1, &e) == 0 &&
                 write_map(&w, &img, atoi(argv[3]), argv[5], "orig", &e) == 0 &&
                 write_map(&view, &img, atoi(argv[3]), argv[5], "redrawn", &e) == 0)
            rc = 0;
    }
    if (rc) fprintf(stderr, "redraw_layer: %s\n", e.msg);
    weights_free(&view);
    weights_free(&w);
    image_free(&img);
    return rc;
}
