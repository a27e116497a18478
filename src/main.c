/* main.c: the guidedbp command line. Parses options into a struct, runs the
 * library, prints results on stdout and errors on stderr, and maps failures
 * to exit statuses. The only file that prints usage or calls exit(). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "labels.h"
#include "net.h"
#include "parallel.h"
#include "preprocess.h"
#include "saliency.h"
#include "weights.h"

#define GUIDEDBP_VERSION "0.1.0"
#define DEFAULT_WEIGHTS "weights/alexnet.safetensors"

enum {
    EXIT_INPUT = 1,   // the image could not be read or decoded
    EXIT_USAGE = 2,   // bad arguments
    EXIT_WEIGHTS = 3, // the weights could not be loaded
    EXIT_IO = 4,      // an output could not be written, or out of memory
};
enum { DEFAULT_TOPK = 5 };

typedef struct {
    const char *image;
    const char *weights;
    const char *class_arg; // NULL: the predicted class
    const char *output;    // NULL: <image stem>_guided.png in the current directory
    int npy, topk, threads, quiet;
    GuideScope guide;
} Options;

static void usage(FILE *f) {
    fprintf(f,
            "Usage: guidedbp [options] IMAGE\n"
            "Guided backpropagation saliency map of IMAGE (PNG or JPEG) for one class of\n"
            "torchvision's AlexNet, written as a PNG.\n"
            "\n"
            "  -w, --weights FILE     safetensors weights, or random:SEED for torchvision's\n"
            "                         default initialisation (default: $GUIDEDBP_WEIGHTS,\n"
            "                         else " DEFAULT_WEIGHTS ")\n"
            "  -c, --class N|NAME     target class, index or ImageNet name (default: the\n"
            "                         predicted class)\n"
            "  -o, --output FILE.png  where to write the map (default: IMAGE's name without\n"
            "                         its extension + _guided.png, in the current directory)\n"
            "      --npy              also write the raw float32 map, (224,224,3), as FILE.npy\n"
            "      --guide SCOPE      ReLUs that use the guided rule: features (the ReLUs of\n"
            "                         model.features, the reference recipe) or all (default:\n"
            "                         features)\n"
            "  -m, --method NAME      guided (the only method for now; default: guided)\n"
            "  -k, --topk K           how many top classes to print (default: %d)\n"
            "  -t, --threads N        threads (default: one per CPU); the output is\n"
            "                         identical for any N\n"
            "  -q, --quiet            print nothing but errors\n"
            "  -h, --help             this help\n"
            "  -V, --version          the version\n"
            "\n"
            "Exit status: 0 ok, 1 the image could not be read, 2 usage error,\n"
            "3 the weights could not be loaded, 4 an output could not be written.\n",
            DEFAULT_TOPK);
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "guidedbp: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'guidedbp --help' for more information.\n");
    return EXIT_USAGE;
}

static int parse_int(const char *text, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* Returns 0 to go on, or an exit status (with `*done` set for --help and
 * --version, which succeed without running). */
static int parse_args(int argc, char **argv, Options *o, int *done) {
    enum { OPT_NPY = 256, OPT_GUIDE };
    static const struct option longs[] = {
        {"weights", required_argument, 0, 'w'}, {"class", required_argument, 0, 'c'},
        {"output", required_argument, 0, 'o'},  {"npy", no_argument, 0, OPT_NPY},
        {"guide", required_argument, 0, OPT_GUIDE}, {"method", required_argument, 0, 'm'},
        {"topk", required_argument, 0, 'k'},    {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},       {0, 0, 0, 0},
    };
    const char *env = getenv("GUIDEDBP_WEIGHTS");
    *o = (Options){.weights = env && *env ? env : DEFAULT_WEIGHTS, .topk = DEFAULT_TOPK,
                   .guide = GUIDE_FEATURES};
    *done = 0;
    opterr = 0; // we word the messages ourselves
    int c;
    while ((c = getopt_long(argc, argv, ":w:c:o:m:k:t:qhV", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->weights = optarg; break;
        case 'c': o->class_arg = optarg; break;
        case 'o': o->output = optarg; break;
        case OPT_NPY: o->npy = 1; break;
        case OPT_GUIDE:
            if (strcmp(optarg, "features") == 0) o->guide = GUIDE_FEATURES;
            else if (strcmp(optarg, "all") == 0) o->guide = GUIDE_ALL;
            else return usage_error("--guide %s: expected 'features' or 'all'", optarg);
            break;
        case 'm':
            if (strcmp(optarg, "guided") != 0)
                return usage_error("--method %s: unknown method (available: guided)", optarg);
            break;
        case 'k':
            if (parse_int(optarg, 0, 1000000, &o->topk) != 0)
                return usage_error("--topk %s: expected a whole number >= 0", optarg);
            break;
        case 't':
            if (parse_int(optarg, 1, PARALLEL_MAX_THREADS, &o->threads) != 0)
                return usage_error("--threads %s: expected a whole number from 1 to 256", optarg);
            break;
        case 'q': o->quiet = 1; break;
        case 'h':
            usage(stdout);
            *done = 1;
            return 0;
        case 'V':
            printf("guidedbp " GUIDEDBP_VERSION "\n");
            *done = 1;
            return 0;
        case ':': {
            char opt[64];
            if (optopt) snprintf(opt, sizeof opt, "-%c", optopt);
            else snprintf(opt, sizeof opt, "%s", argv[optind - 1]);
            return usage_error("%s: this option needs a value", opt);
        }
        default: {
            char opt[64];
            if (optopt) snprintf(opt, sizeof opt, "-%c", optopt);
            else snprintf(opt, sizeof opt, "%s", argv[optind - 1]);
            return usage_error("%s: unknown option", opt);
        }
        }
    }
    if (optind == argc) return usage_error("%s", "no IMAGE given");
    if (optind + 1 < argc)
        return usage_error("%s: only one IMAGE at a time for now", argv[optind + 1]);
    o->image = argv[optind];
    return 0;
}

/* <stem of image>_guided.png, in the current directory. */
static char *default_output(const char *image) {
    const char *base = strrchr(image, '/');
    base = base ? base + 1 : image;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *out = malloc(stem + sizeof "_guided.png");
    if (out) sprintf(out, "%.*s_guided.png", (int)stem, base);
    return out;
}

/* FILE.png -> FILE.npy; any other name gets .npy appended. */
static char *npy_path(const char *png) {
    size_t n = strlen(png);
    if (n > 4 && strcmp(png + n - 4, ".png") == 0) n -= 4;
    char *out = malloc(n + sizeof ".npy");
    if (out) sprintf(out, "%.*s.npy", (int)n, png);
    return out;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void print_results(const Options *o, const Image *img, const float *logits, int classes,
                          int target) {
    double max = logits[0], z = 0.0;
    for (int i = 1; i < classes; i++) max = logits[i] > max ? logits[i] : max;
    for (int i = 0; i < classes; i++) z += exp(logits[i] - max);
    const char *name = labels_name(target, classes);
    printf("image:  %s (%dx%d)\n", o->image, img->width, img->height);
    printf("target: %d %s (score %.4f, p %.4f)\n", target, name ? name : "-", logits[target],
           exp(logits[target] - max) / z);
    int k = o->topk < classes ? o->topk : classes;
    if (k == 0) return;
    printf("top-%d:\n", k);
    // Selection by repeated scans: k is small, and ties keep index order.
    char *taken = calloc((size_t)classes, 1);
    if (!taken) return;
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < classes; i++)
            if (!taken[i] && (best < 0 || logits[i] > logits[best])) best = i;
        taken[best] = 1;
        name = labels_name(best, classes);
        printf("  %4d  %-28s %10.4f  p %.4f\n", best, name ? name : "-", logits[best],
               exp(logits[best] - max) / z);
    }
    free(taken);
}

static int run(const Options *o) {
    Error err = {0};
    int status = 0;
    Weights weights = {0};
    Image img = {0};
    Net net = {0};
    float *map = NULL;
    uint8_t *rgb = NULL;
    char *output = NULL, *npy = NULL;

    if (!(output = o->output ? strdup(o->output) : default_output(o->image)) ||
        (o->npy && !(npy = npy_path(output)))) {
        fprintf(stderr, "guidedbp: out of memory\n");
        status = EXIT_IO;
        goto done;
    }
    if (strcmp(output, o->image) == 0 || same_file(output, o->image) ||
        (npy && (strcmp(npy, o->image) == 0 || same_file(npy, o->image)))) {
        status = usage_error("%s: the output would overwrite the input image", o->image);
        goto done;
    }
    if (weights_load(&weights, o->weights, &err) != 0) {
        fprintf(stderr, "guidedbp: %s\n", err.msg);
        if (strcmp(o->weights, DEFAULT_WEIGHTS) == 0)
            fprintf(stderr, "guidedbp: get torchvision's pretrained AlexNet with 'make weights', "
                            "or try the tool with --weights random:0\n");
        status = EXIT_WEIGHTS;
        goto done;
    }
    const int size = PREPROCESS_SIZE;
    if (net_init(&net, &weights, size, size, 1, o->threads ? o->threads : parallel_cpus(), &err) !=
        0) {
        fprintf(stderr, "guidedbp: %s\n", err.msg);
        status = EXIT_IO;
        goto done;
    }
    int classes = net_classes(&net), target = -1;
    if (o->class_arg && labels_parse(o->class_arg, classes, &target, &err) != 0) {
        status = usage_error("%s", err.msg);
        goto done;
    }
    if (image_load(o->image, &img, &err) != 0 ||
        preprocess_imagenet(&img, net_input(&net, 0), NULL, &err) != 0) {
        fprintf(stderr, "guidedbp: %s\n", err.msg);
        status = EXIT_INPUT;
        goto done;
    }

    net_forward(&net, 1);
    const float *logits = net_logits(&net, 0);
    if (target < 0) {
        target = 0;
        for (int i = 1; i < classes; i++)
            if (logits[i] > logits[target]) target = i;
    }
    net_backward(&net, 1, &target, o->guide);

    size_t n = (size_t)size * size * 3;
    if (!(map = malloc(n * sizeof *map)) || !(rgb = malloc(n))) {
        fprintf(stderr, "guidedbp: out of memory\n");
        status = EXIT_IO;
        goto done;
    }
    saliency_chw_to_hwc(map, net_input_grad(&net, 0), size, size);
    if (saliency_to_rgb8(rgb, map, size, size) && !o->quiet)
        fprintf(stderr, "guidedbp: %s: the map is flat (zero standard deviation); "
                        "wrote a mid-grey image\n", o->image);
    if (saliency_write_png(output, rgb, size, size, &err) != 0 ||
        (npy && saliency_write_npy(npy, map, size, size, &err) != 0)) {
        fprintf(stderr, "guidedbp: %s\n", err.msg);
        status = EXIT_IO;
        goto done;
    }
    if (!o->quiet) {
        print_results(o, &img, logits, classes, target);
        printf("saliency: %s\n", output);
        if (npy) printf("raw map: %s\n", npy);
    }

done:
    free(rgb);
    free(map);
    free(npy);
    free(output);
    net_free(&net);
    image_free(&img);
    weights_free(&weights);
    return status;
}

int main(int argc, char **argv) {
    Options o;
    int done;
    int status = parse_args(argc, argv, &o, &done);
    if (status != 0 || done) return status;
    status = run(&o);
    if (fflush(stdout) != 0 && status == 0) {
        fprintf(stderr, "guidedbp: cannot write to standard output: %s\n", strerror(errno));
        status = EXIT_IO;
    }
    return status;
}
