/* main.c: the guidedbp command line. Runs the library over the inputs,
 * prints results on stdout (human lines, or JSON Lines with --json), errors
 * and progress on stderr, and maps failures to exit statuses. The only file
 * that prints usage or calls exit(). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "explain/check.h"
#include "cli/cli.h"
#include "nn/conv.h"
#include "io/fileio.h"
#include "io/image.h"
#include "cli/inputs.h"
#include "io/jpeg.h"
#include "cli/labels.h"
#include "nn/net.h"
#include "util/parallel.h"
#include "io/preprocess.h"
#include "explain/saliency.h"
#include "nn/weights.h"

#define GUIDEDBP_VERSION "0.3.0"

enum {
    EXIT_SOME_FAILED = 1, // one or more images could not be read or decoded
    EXIT_USAGE = 2,       // bad arguments
    EXIT_WEIGHTS = 3,     // the weights could not be loaded
    EXIT_IO = 4,          // an output could not be written, or out of memory
    EXIT_INTERRUPTED = 130,
};

/* Set by SIGINT/SIGTERM; the run stops between batches, so every output
 * file is complete or absent. A signal handler can only talk through a
 * global, hence this one. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

static void usage(FILE *f) {
    fprintf(f,
            "Usage: guidedbp [options] IMAGE|DIR...\n"
            "Saliency maps of PNG/JPEG images for a class of torchvision's AlexNet:\n"
            "guided backpropagation, and the other gradient methods below.\n"
            "\n"
            "  -w, --weights FILE     safetensors weights, or random:SEED for torchvision's\n"
            "                         default initialisation (default: $GUIDEDBP_WEIGHTS,\n"
            "                         else " CLI_DEFAULT_WEIGHTS ")\n"
            "  -c, --class N|NAME     target class, index or ImageNet name (default: the\n"
            "                         predicted class)\n"
            "  -o, --output PATH      one image: the PNG to write (default: IMAGE's name\n"
            "                         without its extension + _guided.png, here); several\n"
            "                         images or a DIR: the output directory (required)\n"
            "      --npy              also write each raw float32 map, (224,224,3), or cam,\n"
            "                         (224,224), as .npy beside its PNG\n"
            "      --guide SCOPE      ReLUs that use the guided (deconv) rule in -m guided,\n"
            "                         deconv and guided-gradcam: features (those of\n"
            "                         model.features, the reference recipe) or all\n"
            "                         (default: features)\n"
            "  -m, --method NAME      guided, gradient, deconv, grad-x-input, integrated,\n"
            "                         gradcam or guided-gradcam (default: guided)\n"
            "      --layer NAME       gradcam's layer (default: the last ReLU of\n"
            "                         model.features, features.11 in AlexNet); with\n"
            "                         --channel, the layer whose channel is the target\n"
            "      --channel K        target: the sum of channel K of --layer's output\n"
            "                         instead of a class score\n"
            "      --smooth N         SmoothGrad: average over N noisy copies (default: off)\n"
            "      --noise F          SmoothGrad noise std, times the input's range\n"
            "                         (default: 0.15)\n"
            "      --steps N          integrated gradients: Gauss-Legendre steps (default: %d)\n"
            "      --baseline B       integrated gradients' start: black (the black image,\n"
            "                         default) or zero (zero after Normalize: the mean\n"
            "                         colour, Captum's default)\n"
            "      --style NAME       color, gray, pos, neg; heatmap or gray for gradcam\n"
            "                         (default: color; heatmap for gradcam)\n"
            "      --full-size        the picture in the original image's frame, not the\n"
            "                         224x224 crop\n"
            "  -k, --topk K           top classes to report (default: %d)\n"
            "  -t, --threads N        threads (default: one per CPU); outputs are identical\n"
            "                         for any N\n"
            "  -q, --quiet            no results, progress or warnings; only errors\n"
            "\n",
            CLI_DEFAULT_STEPS, CLI_DEFAULT_TOPK);
    fprintf(f,
            "Sanity checks (Adebayo et al. 2018), reported on stderr and in --json:\n"
            "      --check class      similarity of the map to the map of another class\n"
            "      --vs CLASS         that class (default: the lowest-scoring one)\n"
            "      --check randomize  similarity of the map to maps with layers re-drawn at\n"
            "                         random, cascading from classifier.6 down and one at a\n"
            "                         time\n"
            "      --seed N           seed of the re-drawn weights, and of --smooth's noise\n"
            "                         (default: 1)\n"
            "      --strip FILE.png   the compared maps side by side (one image only)\n"
            "\n"
            "Batches:\n"
            "  -r, --recursive        take images from DIRs' subdirectories too\n"
            "      --files-from FILE  also read image paths from FILE, one a line (- : stdin)\n"
            "      --json             one JSON record per image on stdout (JSON Lines)\n"
            "      --skip-existing    skip images whose outputs exist (resume a run)\n"
            "      --batch N          images per network pass, 1-%d (default: 1); outputs\n"
            "                         are identical for any N\n"
            "      --shard I/N        process only shard I of N (0 <= I < N) of the sorted\n"
            "                         inputs: input k belongs to shard k mod N\n"
            "      --max-pixels N     refuse larger images (default: %d)\n"
            "\n"
            "  -h, --help             this help\n"
            "  -V, --version          the version\n"
            "\n"
            "Exit status: 0 every image done or skipped, 1 some images failed,\n"
            "2 usage error, 3 the weights could not be loaded, 4 an output could not be\n"
            "written (the run stops), 130 interrupted (finished outputs are kept).\n"
            "\n"
            "Environment: GUIDEDBP_WEIGHTS (default weights); GUIDEDBP_ISA (sse2, avx2 or\n"
            "avx512: the convolutions' instruction set; default the fastest this CPU has).\n",
            CLI_MAX_BATCH, IMAGE_MAX_PIXELS);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* What happened to one input: the fields of its JSON record. */
typedef struct {
    enum { DONE, SKIPPED, FAILED } status;
    Error err;
    int width, height, target, written, checked;
    int flat;     // the map was constant: a warning, printed from the main thread
    int64_t clipped; // a 16-bit grey PNG's samples clipped to 255: a warning too
    int io_error; // an output could not be written: the run stops (exit 4)
    double ms;
    CheckResult check;
} Result;

/* The state of a run; every pointer is owned here and freed in run(). Per
 * batch slot: */
typedef struct {
    const Options *o;
    MethodSpec spec;
    InputList inputs;
    Weights weights;
    Net net;
    float *logits;   // (batch, classes), kept: the methods' passes overwrite the net's
    float *clean;    // (batch, 3, 224, 224) the inputs, kept for --check likewise
    float *maps;     // (batch, 224, 224, 3) the methods' maps
    float *cams;     // (batch, 224, 224) cams, for the cam methods
    uint8_t *crops;  // (batch, 224, 224, 3) the cropped photos, for heatmaps
    Image *images;   // (batch) the decoded images, kept for --full-size
    CropBox *boxes;  // (batch)
    uint8_t *pixels; // (batch, 224, 224, 3) the pictures being written
    int *topk;       // (topk)
    Result *results; // (batch)
    int classes, target, vs, progress, threads;
    int done, failed, skipped;
    double started;
} Run;

static void clear_progress(const Run *r) {
    if (r->progress) fprintf(stderr, "\r%70s\r", "");
}

static void show_progress(const Run *r) {
    if (!r->progress) return;
    int total = r->inputs.n, finished = r->done + r->failed + r->skipped;
    double secs = (now_ms() - r->started) / 1e3, rate = secs > 0 ? (r->done + r->failed) / secs : 0;
    int eta = rate > 0 ? (int)((total - finished) / rate) : 0;
    char bar[21];
    int filled = total ? finished * 20 / total : 20;
    for (int i = 0; i < 20; i++) bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r[%s] %d/%d  %.1f images/s  ETA %dm%02ds ", bar, finished, total, rate,
            eta / 60, eta % 60);
}

/* One line on stderr: file names come from strangers, so control bytes
 * (a newline, a terminal escape) are shown as \xNN, never sent raw. */
static void print_error(const char *msg) {
    fputs("guidedbp: ", stderr);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) fprintf(stderr, "\\x%02x", *p);
        else fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

static void report_error(const Run *r, const char *msg) {
    clear_progress(r);
    print_error(msg);
}

/* The k best classes, best first (ties keep index order). */
static void top_classes(const float *logits, int classes, int *out, int k) {
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < classes; i++) {
            int taken = 0;
            for (int j = 0; j < r && !taken; j++) taken = out[j] == i;
            if (!taken && (best < 0 || logits[i] > logits[best])) best = i;
        }
        out[r] = best;
    }
}

static double softmax_at(const float *logits, int classes, int i) {
    double max = logits[0], z = 0.0;
    for (int c = 1; c < classes; c++) max = logits[c] > max ? logits[c] : max;
    for (int c = 0; c < classes; c++) z += exp(logits[c] - max);
    return exp(logits[i] - max) / z;
}

static cJSON *similarity_json(const Similarity *s, const char *layer) {
    cJSON *o = cJSON_CreateObject();
    if (layer) cJSON_AddStringToObject(o, "layer", layer);
    cJSON_AddNumberToObject(o, "spearman_abs", s->spearman_abs);
    cJSON_AddNumberToObject(o, "spearman", s->spearman);
    cJSON_AddNumberToObject(o, "ssim", s->ssim);
    return o;
}

static cJSON *check_json(Check check, const CheckResult *c) {
    if (check == CHECK_CLASS) {
        cJSON *o = similarity_json(&c->class_sim, NULL);
        cJSON_AddNumberToObject(o, "vs", c->vs);
        return o;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *cascading = cJSON_AddArrayToObject(o, "cascading");
    cJSON *independent = cJSON_AddArrayToObject(o, "independent");
    for (int l = 0; l < c->steps; l++) {
        cJSON_AddItemToArray(cascading,
                             similarity_json(&c->cascading[l].sim, c->cascading[l].layer));
        cJSON_AddItemToArray(independent,
                             similarity_json(&c->independent[l].sim, c->independent[l].layer));
    }
    return o;
}

/* The check's numbers as a table on stderr, for people. */
static void print_check(const Run *r, const Input *in, const Result *res) {
    const CheckResult *c = &res->check;
    clear_progress(r);
    if (r->o->check == CHECK_CLASS) {
        const char *a = labels_name(res->target, r->classes), *b = labels_name(c->vs, r->classes);
        fprintf(stderr, "check class: %s, map of %d %s vs map of %d %s\n", in->path, res->target,
                a ? a : "-", c->vs, b ? b : "-");
        fprintf(stderr, "  spearman_abs %.4f  spearman %.4f  ssim %.4f\n",
                c->class_sim.spearman_abs, c->class_sim.spearman, c->class_sim.ssim);
        return;
    }
    fprintf(stderr, "check randomize: %s, seed %llu (1 = the map did not change)\n", in->path,
            (unsigned long long)r->o->seed);
    fprintf(stderr, "  %-14s %-29s %s\n", "re-drawn", "cascading (this and above)",
            "independent (this layer only)");
    fprintf(stderr, "  %-14s %9s %9s %9s  %9s %9s %9s\n", "layer", "sp_abs", "spearman", "ssim",
            "sp_abs", "spearman", "ssim");
    for (int l = 0; l < c->steps; l++) {
        const Similarity *x = &c->cascading[l].sim, *y = &c->independent[l].sim;
        fprintf(stderr, "  %-14s %9.4f %9.4f %9.4f  %9.4f %9.4f %9.4f\n", c->cascading[l].layer,
                x->spearman_abs, x->spearman, x->ssim, y->spearman_abs, y->spearman, y->ssim);
    }
}

static void print_json(const Run *r, const Input *in, const Result *res, const float *logits,
                       int k) {
    cJSON *j = cJSON_CreateObject(), *outs = cJSON_CreateArray();
    static const char *const names[] = {"ok", "skipped", "error"};
    cJSON_AddStringToObject(j, "input", in->path);
    if (res->written || res->status == SKIPPED) {
        cJSON_AddItemToArray(outs, cJSON_CreateString(in->png));
        if (in->npy) cJSON_AddItemToArray(outs, cJSON_CreateString(in->npy));
    }
    cJSON_AddItemToObject(j, "outputs", outs);
    cJSON_AddStringToObject(j, "status", names[res->status]);
    if (res->status == FAILED) cJSON_AddStringToObject(j, "error", res->err.msg);
    else cJSON_AddNullToObject(j, "error");
    if (res->status == DONE) {
        const char *name = labels_name(res->target, r->classes);
        cJSON_AddNumberToObject(j, "class", res->target);
        if (name) cJSON_AddStringToObject(j, "class_name", name);
        else cJSON_AddNullToObject(j, "class_name");
        cJSON_AddNumberToObject(j, "score", logits[res->target]);
        cJSON *top = cJSON_AddArrayToObject(j, "topk");
        for (int t = 0; t < k; t++) {
            cJSON *c = cJSON_CreateObject();
            name = labels_name(r->topk[t], r->classes);
            cJSON_AddNumberToObject(c, "class", r->topk[t]);
            if (name) cJSON_AddStringToObject(c, "class_name", name);
            else cJSON_AddNullToObject(c, "class_name");
            cJSON_AddNumberToObject(c, "score", logits[r->topk[t]]);
            cJSON_AddItemToArray(top, c);
        }
    } else {
        cJSON_AddNullToObject(j, "class");
        cJSON_AddNullToObject(j, "class_name");
        cJSON_AddNullToObject(j, "score");
        cJSON_AddNullToObject(j, "topk");
    }
    if (res->width) {
        cJSON_AddNumberToObject(j, "width", res->width);
        cJSON_AddNumberToObject(j, "height", res->height);
    } else {
        cJSON_AddNullToObject(j, "width");
        cJSON_AddNullToObject(j, "height");
    }
    if (res->checked) cJSON_AddItemToObject(j, "check", check_json(r->o->check, &res->check));
    cJSON_AddNumberToObject(j, "ms", round(res->ms * 10) / 10);
    char *text = cJSON_PrintUnformatted(j);
    if (text) puts(text);
    free(text);
    cJSON_Delete(j);
}

static void print_human(const Run *r, const Input *in, const Result *res, const float *logits,
                        int k) {
    if (res->status == SKIPPED) {
        printf("%s: skipped, %s exists\n", in->path, in->png);
        return;
    }
    const char *name = labels_name(res->target, r->classes);
    if (r->inputs.batch_mode) {
        printf("%s: %d %s %.4f -> %s\n", in->path, res->target, name ? name : "-",
               logits[res->target], in->png);
        return;
    }
    printf("image:  %s (%dx%d)\n", in->path, res->width, res->height);
    printf("target: %d %s (score %.4f, p %.4f)\n", res->target, name ? name : "-",
           logits[res->target], softmax_at(logits, r->classes, res->target));
    if (k > 0) printf("top-%d:\n", k);
    for (int t = 0; t < k; t++) {
        int c = r->topk[t];
        name = labels_name(c, r->classes);
        printf("  %4d  %-28s %10.4f  p %.4f\n", c, name ? name : "-", logits[c],
               softmax_at(logits, r->classes, c));
    }
    printf("saliency: %s\n", in->png);
    if (in->npy) printf("raw map: %s\n", in->npy);
}

static void emit(Run *r, const Input *in, const Result *res, const float *logits) {
    int k = r->o->topk < r->classes ? r->o->topk : r->classes;
    if (res->status == DONE) top_classes(logits, r->classes, r->topk, k);
    if (res->status == FAILED) {
        r->failed++;
        report_error(r, res->err.msg);
    }
    r->done += res->status == DONE;
    r->skipped += res->status == SKIPPED;
    if (res->checked && !r->o->quiet) print_check(r, in, res);
    if (r->o->json) {
        clear_progress(r);
        print_json(r, in, res, logits, k);
    } else if (!r->o->quiet && res->status != FAILED) {
        clear_progress(r);
        print_human(r, in, res, logits, k);
    }
}

enum { S = PREPROCESS_SIZE, PLANE = S * S, MAP = 3 * PLANE };

/* Decodes and preprocesses input i into batch slot `slot`. */
static void load_input(Run *r, const Input *in, int slot, Result *res) {
    Image *img = &r->images[slot];
    Error err;
    if (image_load(in->path, r->o->max_pixels, img, &res->err) != 0) {
        res->status = FAILED;
    } else if (preprocess_imagenet_crop(img, net_input(&r->net, slot), &r->boxes[slot],
                                        r->crops ? r->crops + (size_t)slot * MAP : NULL,
                                        &err) != 0) {
        error_set(&res->err, "%s: %s", in->path, err.msg);
        res->status = FAILED;
    } else {
        res->width = img->width;
        res->height = img->height;
        res->clipped = img->clipped;
    }
    if (!r->o->full_size) image_free(img);
}

/* The picture of slot's result in the chosen style (into the slot's
 * pixels); -1 when there is no contrast to show (it is written anyway). */
static int render(Run *r, int slot) {
    const float *map = r->maps + (size_t)slot * MAP, *cam = r->cams + (size_t)slot * PLANE;
    uint8_t *px = r->pixels + (size_t)slot * MAP;
    switch (r->o->style) {
    case STYLE_COLOR: return saliency_to_rgb8(px, map, S, S) ? -1 : 0;
    case STYLE_HEATMAP:
        saliency_heatmap(px, cam, r->crops + (size_t)slot * MAP, S, S);
        return 0;
    case STYLE_GRAY:
        if (method_is_cam(r->spec.method)) {
            for (int p = 0; p < PLANE; p++) px[p] = (uint8_t)rint(255.0 * cam[p]);
            return 0;
        }
        return saliency_render(STYLE_GRAY, map, S, S, px) ? -1 : 0;
    case STYLE_POS:
    case STYLE_NEG: return saliency_render(r->o->style, map, S, S, px) ? -1 : 0;
    }
    return 0;
}

/* Writes one image's PNG (and .npy); 0, or -1 with res->err set. */
static int write_outputs(Run *r, const Input *in, int slot, Result *res) {
    const Options *o = r->o;
    int channels = style_channels(o->style), cam = method_is_cam(r->spec.method);
    res->flat = render(r, slot) != 0;
    const uint8_t *picture = r->pixels + (size_t)slot * MAP;
    // Gradient maps are noise to deflate; cams, heatmaps and pictures
    // upsampled to the photo's size are smooth and worth compressing.
    int smooth = cam || o->style == STYLE_HEATMAP || o->full_size;
    uint8_t *full = NULL;
    int h = S, w = S;
    if (o->full_size) {
        const Image *img = &r->images[slot];
        full = malloc((size_t)img->width * img->height * (size_t)channels);
        if (!full)
            return error_set(&res->err, "%s: out of memory for a %dx%d picture", in->png,
                             img->width, img->height);
        if (saliency_full_size(full, o->style, picture, r->cams + (size_t)slot * PLANE, img,
                               &r->boxes[slot], &res->err) != 0) {
            free(full);
            return -1;
        }
        picture = full, h = img->height, w = img->width;
    }
    int rc = (r->inputs.batch_mode && file_make_parents(in->png, &res->err) != 0) ||
             saliency_write_pixels(in->png, picture, h, w, channels, smooth, &res->err) != 0 ||
             (in->npy && (cam ? saliency_write_npy(in->npy, r->cams + (size_t)slot * PLANE, S, S,
                                                   1, &res->err)
                              : saliency_write_npy(in->npy, r->maps + (size_t)slot * MAP, S, S,
                                                   3, &res->err)) != 0);
    free(full);
    if (rc) return -1;
    res->written = 1;
    return 0;
}

/* The check the options ask for, on the image in slot whose clean input is
 * `input`, and the strip of its maps when asked; 0, or -1 with res->err set. */
static int run_check(Run *r, int slot, const float *input, Result *res) {
    const Options *o = r->o;
    const int size = PREPROCESS_SIZE;
    size_t map = (size_t)size * size * 3;
    const float *base = r->maps + (size_t)slot * map;
    int tiles = o->check == CHECK_CLASS ? 2 : 1 + weights_layers(&r->weights);
    float *maps = NULL;
    uint8_t *strip = NULL;
    int rc = -1;
    if (o->strip && (!(maps = malloc(sizeof *maps * map * (size_t)tiles)) ||
                     !(strip = malloc(map * (size_t)tiles)))) {
        error_set(&res->err, "%s: out of memory for the check's strip", o->strip);
        goto done;
    }
    if (maps) memcpy(maps, base, sizeof *maps * map);
    int vs = r->vs;
    if (o->check == CHECK_CLASS && vs < 0) {
        const float *logits = r->logits + (size_t)slot * r->classes;
        for (int c = vs = 0; c < r->classes; c++) vs = logits[c] < logits[vs] ? c : vs;
    }
    if ((o->check == CHECK_CLASS
             ? check_class(&r->weights, input, base, vs, &r->spec, r->threads, &res->check,
                           maps ? maps + map : NULL, &res->err)
             : check_randomize(&r->weights, input, base, res->target, &r->spec, o->seed,
                               r->threads, &res->check, maps ? maps + map : NULL, &res->err)) != 0)
        goto done;
    res->checked = 1;
    if (strip) {
        // Tiles side by side, each normalized on its own.
        uint8_t *tile = malloc(map);
        if (!tile) {
            error_set(&res->err, "%s: out of memory", o->strip);
            goto done;
        }
        for (int t = 0; t < tiles; t++) {
            saliency_to_rgb8(tile, maps + (size_t)t * map, size, size);
            for (int y = 0; y < size; y++)
                memcpy(strip + ((size_t)y * tiles + t) * size * 3, tile + (size_t)y * size * 3,
                       (size_t)size * 3);
        }
        free(tile);
        if (saliency_write_png(o->strip, strip, size, size * tiles, &res->err) != 0) goto done;
    }
    rc = 0;
done:
    free(strip);
    free(maps);
    return rc;
}

/* The images of a group are decoded, and their outputs written, on the
 * threads (each image is one task and the same work on any thread, so
 * nothing depends on the thread count); the network runs them together. */
typedef struct {
    Run *r;
    int first;
    Result *res;
    const int *slots;
} Group;

static void load_task(void *ctx, int i) {
    const Group *g = ctx;
    if (g->res[i].status != DONE) return; // skipped
    double start = now_ms();
    load_input(g->r, &g->r->inputs.items[g->first + i], i, &g->res[i]);
    g->res[i].ms += now_ms() - start;
}

static void write_task(void *ctx, int i) {
    const Group *g = ctx;
    if (g->res[i].status != DONE) return;
    double start = now_ms();
    if (write_outputs(g->r, &g->r->inputs.items[g->first + i], g->slots[i], &g->res[i]) != 0)
        g->res[i].status = FAILED, g->res[i].io_error = 1;
    g->res[i].ms += now_ms() - start;
}

/* Moves what load_input put in slot `from` to slot `to`. */
static void move_slot(Run *r, int from, int to) {
    memcpy(net_input(&r->net, to), net_input(&r->net, from), sizeof(float) * MAP);
    r->boxes[to] = r->boxes[from];
    if (r->crops) memcpy(r->crops + (size_t)to * MAP, r->crops + (size_t)from * MAP, MAP);
    Image img = r->images[to];
    r->images[to] = r->images[from];
    r->images[from] = img; // freed with the group's others (--full-size), or empty
}

/* Runs inputs [first, first + n) as one batch; returns 0 or EXIT_IO. */
static int run_group(Run *r, int first, int n) {
    Result *res = r->results;
    int slots[CLI_MAX_BATCH], targets[CLI_MAX_BATCH], used = 0;
    Group g = {r, first, res, slots};
    for (int i = 0; i < n; i++) {
        const Input *in = &r->inputs.items[first + i];
        res[i] = (Result){.status = DONE};
        if (r->o->skip_existing && file_exists(in->png) && (!in->npy || file_exists(in->npy)))
            res[i].status = SKIPPED;
    }
    // Input i is loaded into slot i; the network wants the loaded ones first.
    parallel_for(n, r->threads, load_task, &g);
    for (int i = 0; i < n; i++) {
        if (res[i].status != DONE) continue;
        if (used != i) move_slot(r, i, used);
        slots[i] = used++;
    }
    double t1 = now_ms();
    int status = 0;
    if (used > 0) {
        net_forward(&r->net, used);
        memcpy(r->logits, net_logits(&r->net, 0), sizeof(float) * (size_t)used * r->classes);
        if (r->clean)
            memcpy(r->clean, net_input(&r->net, 0), sizeof(float) * (size_t)used * MAP);
        for (int b = 0; b < used; b++) {
            const float *logits = r->logits + (size_t)b * r->classes;
            int t = r->target;
            if (t < 0)
                for (int c = t = 0; c < r->classes; c++) t = logits[c] > logits[t] ? c : t;
            targets[b] = t;
        }
        Error err = {0};
        if (methods_run(&r->net, &r->spec, used, targets, r->maps, r->cams, &err) != 0) {
            // Only memory can fail here; every image of the batch shares it.
            for (int i = 0; i < n; i++)
                if (res[i].status == DONE) res[i].status = FAILED, res[i].err = err;
            status = EXIT_IO;
        }
    }
    double shared = used > 0 ? (now_ms() - t1) / used : 0;
    for (int i = 0; i < n; i++)
        if (res[i].status == DONE) res[i].target = targets[slots[i]], res[i].ms += shared;
    parallel_for(n, r->threads, write_task, &g);
    for (int i = 0; i < n; i++) {
        const Input *in = &r->inputs.items[first + i];
        // A failed write is fatal (exit 4); the group's other outputs are
        // complete files, reported as usual.
        if (res[i].io_error) status = EXIT_IO;
        if (res[i].clipped && !r->o->quiet) {
            char msg[1100];
            snprintf(msg, sizeof msg, "%s: warning: 16-bit grey PNG: %lld samples above 255 "
                     "clipped to white, as Pillow's convert('RGB') does (README: How it works)",
                     in->path, (long long)res[i].clipped);
            report_error(r, msg);
        }
        if (res[i].flat && !r->o->quiet) {
            char msg[1100];
            snprintf(msg, sizeof msg, "%s: the map has no contrast to show (it is constant); "
                     "wrote a flat image", in->path);
            report_error(r, msg);
        }
        int slot = res[i].status == DONE ? slots[i] : -1;
        if (slot >= 0 && r->o->check) {
            double start = now_ms();
            if (run_check(r, slot, r->clean + (size_t)slot * MAP, &res[i]) != 0)
                res[i].status = FAILED;
            res[i].ms += now_ms() - start;
        }
        emit(r, in, &res[i], slot >= 0 ? r->logits + (size_t)slot * r->classes : NULL);
    }
    for (int i = 0; r->o->full_size && i < n; i++) image_free(&r->images[i]);
    show_progress(r);
    fflush(stdout);
    return status;
}

/* The method, its layers resolved by name in the net; exit 2 on a bad name. */
static int make_spec(Run *r, Error *e) {
    const Options *o = r->o;
    r->spec = (MethodSpec){.method = o->method, .guide = o->guide, .layer = -1,
                           .channel = o->channel, .smooth = o->smooth, .noise = o->noise,
                           .seed = o->seed, .steps = o->steps, .baseline = o->baseline};
    int has_cam = method_is_cam(o->method) || o->method == METHOD_GUIDED_GRADCAM;
    if (has_cam && !o->layer) {
        // The last ReLU of the convolutional part (features.11 for AlexNet).
        for (int i = 0; i < r->net.n_layers; i++)
            if (r->net.layers[i].kind == LAYER_RELU && r->net.layers[i].in_features)
                r->spec.cam_layer = i;
        return 0;
    }
    const char *name = o->layer;
    if (!name) return 0;
    int l = net_find_layer(&r->net, name);
    if (l < 0 || (has_cam && !strstr(name, "features."))) {
        char names[512] = "";
        for (int i = 0; i < r->net.n_layers; i++) {
            const char *n = r->net.layers[i].name;
            if (has_cam && !strstr(n, "features.")) continue;
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", n);
        }
        return error_set(e, "--layer %s: no such layer%s (layers: %s)", name,
                         has_cam ? " with a spatial output" : "", names);
    }
    if (has_cam) {
        r->spec.cam_layer = l;
    } else {
        if (o->channel >= r->net.layers[l].out_c)
            return error_set(e, "--channel %d: layer %s has channels 0 to %d", o->channel, name,
                             r->net.layers[l].out_c - 1);
        r->spec.layer = l;
    }
    return 0;
}

static int run(const Options *o) {
    Run r = {.o = o, .target = -1, .vs = -1};
    Error err = {0};
    int status = 0;
    const int size = PREPROCESS_SIZE;

    if (inputs_collect(&r.inputs, o, &err) != 0) {
        print_error(err.msg);
        fprintf(stderr, "Try 'guidedbp --help' for more information.\n");
        return EXIT_USAGE;
    }
    if (r.inputs.total == 0) {
        fprintf(stderr, "guidedbp: %s%sno images to process (folders contribute their .png, .jpg "
                        "and .jpeg files%s)\n", o->n_inputs == 1 ? o->inputs[0] : "",
                o->n_inputs == 1 ? ": " : "", o->recursive ? "" : "; -r to look in subfolders");
        inputs_free(&r.inputs);
        return EXIT_USAGE;
    }
    int batch = o->batch < r.inputs.n ? o->batch : (r.inputs.n > 0 ? r.inputs.n : 1);
    if (o->strip && r.inputs.batch_mode) {
        fprintf(stderr, "guidedbp: --strip %s: only with one image\n", o->strip);
        status = EXIT_USAGE;
        goto done;
    }
    if (weights_load(&r.weights, o->weights, &err) != 0) {
        print_error(err.msg);
        if (strcmp(o->weights, CLI_DEFAULT_WEIGHTS) == 0)
            fprintf(stderr, "guidedbp: get torchvision's pretrained AlexNet with 'make weights', "
                            "or try the tool with --weights random:0\n");
        status = EXIT_WEIGHTS;
        goto done;
    }
    char same_seed[32];
    snprintf(same_seed, sizeof same_seed, "random:%llu", (unsigned long long)o->seed);
    if (o->check == CHECK_RANDOMIZE && strcmp(o->weights, same_seed) == 0 && !o->quiet)
        fprintf(stderr, "guidedbp: warning: --seed %llu re-draws exactly the weights of %s, so "
                        "nothing will change; choose another --seed\n",
                (unsigned long long)o->seed, o->weights);
    r.threads = o->threads ? o->threads : parallel_cpus();
    if (net_init(&r.net, &r.weights, size, size, batch, r.threads, &err) != 0) {
        print_error(err.msg);
        status = EXIT_IO;
        goto done;
    }
    r.classes = net_classes(&r.net);
    if ((o->class_arg && labels_parse("--class", o->class_arg, r.classes, &r.target, &err) != 0) ||
        (o->vs_arg && labels_parse("--vs", o->vs_arg, r.classes, &r.vs, &err) != 0)) {
        print_error(err.msg);
        fputs("Try 'guidedbp --help' for more information.\n", stderr);
        status = EXIT_USAGE;
        goto done;
    }
    if (make_spec(&r, &err) != 0) {
        print_error(err.msg);
        fputs("Try 'guidedbp --help' for more information.\n", stderr);
        status = EXIT_USAGE;
        goto done;
    }
    size_t b = (size_t)batch;
    r.logits = malloc(sizeof *r.logits * b * (size_t)r.classes);
    r.maps = malloc(sizeof *r.maps * b * MAP);
    r.cams = malloc(sizeof *r.cams * b * PLANE);
    r.boxes = malloc(sizeof *r.boxes * b);
    r.images = calloc(b, sizeof *r.images);
    r.pixels = malloc(b * MAP);
    r.topk = malloc(sizeof *r.topk * (size_t)(o->topk < r.classes ? o->topk + 1 : r.classes));
    r.results = malloc(sizeof *r.results * b);
    int want_crops = o->style == STYLE_HEATMAP, want_clean = o->check != CHECK_NONE;
    if (want_crops) r.crops = malloc(b * MAP);
    if (want_clean) r.clean = malloc(sizeof *r.clean * b * MAP);
    if (!r.logits || !r.maps || !r.cams || !r.boxes || !r.images || !r.pixels || !r.topk ||
        !r.results || (want_crops && !r.crops) || (want_clean && !r.clean)) {
        fprintf(stderr, "guidedbp: out of memory\n");
        status = EXIT_IO;
        goto done;
    }
    r.progress = r.inputs.batch_mode && !o->quiet && isatty(STDERR_FILENO);
    r.started = now_ms();
    for (int first = 0; first < r.inputs.n && status == 0; first += batch) {
        if (interrupted) break;
        int count = r.inputs.n - first < batch ? r.inputs.n - first : batch;
        status = run_group(&r, first, count);
    }
    clear_progress(&r);
    if (status == 0 && interrupted) {
        fprintf(stderr, "guidedbp: interrupted after %d of %d images; finished outputs are "
                        "complete (rerun with --skip-existing to resume)\n",
                r.done + r.failed + r.skipped, r.inputs.n);
        status = EXIT_INTERRUPTED;
    }
    if (status == 0 && r.failed > 0) status = EXIT_SOME_FAILED;
    if (r.inputs.batch_mode && !o->quiet)
        fprintf(stderr, "guidedbp: %d done, %d skipped, %d failed of %d images (%.1f s)\n",
                r.done, r.skipped, r.failed, r.inputs.n, (now_ms() - r.started) / 1e3);

done:
    free(r.results);
    free(r.topk);
    free(r.pixels);
    for (int i = 0; r.images && i < batch; i++) image_free(&r.images[i]);
    free(r.images);
    free(r.boxes);
    free(r.clean);
    free(r.crops);
    free(r.cams);
    free(r.maps);
    free(r.logits);
    net_free(&r.net);
    weights_free(&r.weights);
    inputs_free(&r.inputs);
    return status;
}

/* What decides the bits of a map, for bug reports and goldens. */
static void print_version(void) {
    GemmIsa isa;
    int env_ok = gemm_isa_from_env(&isa) == 0;
    printf("guidedbp " GUIDEDBP_VERSION "\n");
    printf("gemm: %s%s (this CPU has:", env_ok ? gemm_isa_names[isa] : "?",
           env_ok ? "" : ", " GEMM_ISA_ENV " names none this CPU has");
    for (int i = 0; i < GEMM_ISAS; i++)
        if (gemm_isa_supported((GemmIsa)i)) printf(" %s", gemm_isa_names[i]);
    printf("); the same bits on each\n");
    printf("libjpeg-turbo %s (JPEG), stb_image %s (PNG)\n", jpeg_version(), STB_IMAGE_VERSION);
}

int main(int argc, char **argv) {
    Options o;
    Error err = {0};
    switch (cli_parse(argc, argv, &o, &err)) {
    case CLI_HELP: usage(stdout); return 0;
    case CLI_VERSION: print_version(); return 0;
    case CLI_ERROR:
        print_error(err.msg);
        fputs("Try 'guidedbp --help' for more information.\n", stderr);
        return EXIT_USAGE;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; // a second signal stops the run at once
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int status = run(&o);
    if ((fflush(stdout) != 0 || ferror(stdout)) && status == 0) {
        fprintf(stderr, "guidedbp: cannot write to standard output: %s\n", strerror(errno));
        status = EXIT_IO;
    }
    return status;
}
