#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image.h"
#include "io/preprocess.h"
#include "pipeline.h"
#include "util/parallel.h"
#include "util/text.h"

#ifndef GUIDEDBP_DATADIR // the Makefile sets it from PREFIX
#define GUIDEDBP_DATADIR "/usr/local/share/guidedbp"
#endif

/* The help, beside the table it describes: defaults and names come from
 * the constants and name tables, so they cannot drift from the code. */
void cli_usage(FILE *f) {
    char methods[256];
    text_join(methods, sizeof methods, method_names, METHODS, "", " or ");
    fprintf(f,
            "Usage: guidedbp [options] IMAGE|DIR|-...\n"
            "       guidedbp compare [options] GOLDEN ACTUAL\n"
            "Saliency maps of PNG/JPEG images for a class of a torchvision AlexNet, VGG or\n"
            "ResNet: guided backpropagation, and the other gradient methods below. 'compare'\n"
            "holds maps to goldens made before (guidedbp compare --help).\n"
            "\n"
            "  -w, --weights FILE     safetensors weights, or random:SEED (AlexNet) or\n"
            "                         random:ARCH:SEED (e.g. random:resnet50:0) for weights\n"
            "                         drawn at random (README: Weights) (default:\n"
            "                         $GUIDEDBP_WEIGHTS, else " CLI_WEIGHTS_FILE " in\n"
            "                         $XDG_DATA_HOME/guidedbp, then %s,\n"
            "                         then ./weights)\n"
            "  -c, --class N|NAME     target class: an index, a WordNet id (n02123045), or\n"
            "                         an ImageNet name, its unique prefix or one of its\n"
            "                         words (default: the predicted class)\n"
            "      --list-classes     the class indices, WordNet ids and names, and exit\n"
            "  -o, --output PATH      one image: the PNG to write, - for standard output\n"
            "                         (default: the --name, here); several images, a DIR,\n"
            "                         or PATH ending in /: the output directory (required)\n"
            "      --name TEMPLATE    outputs' names: %%s the image's name without its\n"
            "                         extension, %%m the method, %%y the style, %%c the\n"
            "                         --class (top without), %%%% a %%; .png is added\n"
            "                         (default: %%s_%%m, and _%%y for a style not the\n"
            "                         method's default: cat_guided, cat_guided_gray)\n"
            "      --npy              also write each raw float32 map, (%d,%d,3), or cam,\n"
            "                         (%d,%d), as .npy beside its PNG\n"
            "      --guide SCOPE      ReLUs that use the guided (deconv) rule in -m guided,\n"
            "                         deconv and guided-gradcam: features (those of\n"
            "                         model.features, the reference recipe; in a ResNet,\n"
            "                         every ReLU) or all (default: features)\n"
            "  -m, --method NAME      ",
            GUIDEDBP_DATADIR, PREPROCESS_SIZE, PREPROCESS_SIZE, PREPROCESS_SIZE, PREPROCESS_SIZE);
    char line[320];
    snprintf(line, sizeof line, "%s (default: %s)", methods, method_names[METHOD_GUIDED]);
    text_wrap(f, line, 25, 25, 80);
    fprintf(f,
            "      --layer NAME       gradcam's layer (default: the last ReLU before the\n"
            "                         classifier: features.11 in AlexNet, layer4 in a\n"
            "                         ResNet); with --channel, the layer whose channel is\n"
            "                         the target. A ResNet's blocks and stages (layer3.1,\n"
            "                         layer4) name their outputs\n"
            "      --channel K        target: the sum of channel K of --layer's output\n"
            "                         instead of a class score\n"
            "      --smooth N         SmoothGrad: average over N noisy copies (default: off)\n"
            "      --noise F          SmoothGrad noise std, times the input's range\n"
            "                         (default: %g)\n"
            "      --steps N          integrated gradients: Gauss-Legendre steps (default: %d)\n"
            "      --baseline B       integrated gradients' start: black (the black image,\n"
            "                         default) or zero (zero after Normalize: the mean\n"
            "                         colour, Captum's default)\n"
            "      --style NAME       color, gray, pos, neg or heatmap (the map over the\n"
            "                         photo); heatmap or gray for gradcam (default: color;\n"
            "                         heatmap for gradcam)\n",
            CLI_DEFAULT_NOISE, CLI_DEFAULT_STEPS);
    char maps[128], signs[64];
    text_join(maps, sizeof maps, colormap_names, COLORMAPS, "", ", ");
    text_join(signs, sizeof signs, sign_names, SIGNS, "", ", ");
    snprintf(line, sizeof line, "heatmap: matplotlib's %s (default: %s)", maps,
             colormap_names[COLORMAP_JET]);
    fprintf(f, "      --colormap NAME    ");
    text_wrap(f, line, 25, 25, 80);
    fprintf(f,
            "      --alpha A          heatmap: the colormap's weight over the photo, 0-1\n"
            "                         (default: %g)\n", OVERLAY_DEFAULT_ALPHA);
    snprintf(line, sizeof line, "heatmap of a map: the part shown, %s: the sum of |g| over "
             "the colours, or the positive or negative part of their sum (default: %s)", signs,
             sign_names[SIGN_ABS]);
    fprintf(f, "      --sign PART        ");
    text_wrap(f, line, 25, 25, 80);
    fprintf(f,
            "      --crop MODE        center (default: the recipe's %dx%d center crop) or\n"
            "                         none (the whole image, shorter side %d, at most 8:1;\n"
            "                         one image a pass)\n"
            "      --full-size        the picture in the original image's frame, not the\n"
            "                         input's\n"
            "  -k, --topk K           top classes to report (default: %d)\n"
            "  -t, --threads N        threads (default: one per CPU); outputs are identical\n"
            "                         for any N\n"
            "      --portable         outputs identical on every x86-64 CPU, not only on\n"
            "                         this one (for goldens made elsewhere): libm's and\n"
            "                         libjpeg-turbo's baseline code, somewhat slower\n"
            "  -q, --quiet            no results, progress or warnings; only errors\n"
            "\n",
            PREPROCESS_SIZE, PREPROCESS_SIZE, PREPROCESS_SIZE, CLI_DEFAULT_TOPK);
    fprintf(f,
            "Sanity checks (Adebayo et al. 2018), reported on stderr and in --json:\n"
            "      --check class      similarity of the map to the map of another class\n"
            "      --vs CLASS         that class (default: the lowest-scoring one whose map\n"
            "                         is not constant)\n"
            "      --check randomize  similarity of the map to maps with layers re-drawn at\n"
            "                         random, cascading from classifier.6 down and one at a\n"
            "                         time\n"
            "      --seed N           seed of the re-drawn weights, and of --smooth's noise\n"
            "                         (default: %d)\n"
            "      --strip FILE.png   the compared maps side by side (one image only)\n"
            "      --compare-methods LIST\n"
            "                         the image's maps by each of LIST's methods (comma-\n"
            "                         separated: guided,gradient,gradcam) side by side in\n"
            "                         --strip, each titled, for the same class\n"
            "\n"
            "Faithfulness metrics (README: Faithfulness), on stderr and in --json:\n"
            "      --eval LIST        any of deletion, insertion (RISE), road (ROAD, MoRF\n"
            "                         and LeRF with noisy linear imputation), avg-drop\n"
            "                         (average drop/increase on input x map), comma-separated\n"
            "      --eval-steps N     deletion/insertion steps (default: %d pixels a step)\n"
            "      --eval-road LIST   ROAD's percentages, increasing, 1-99 (default:\n"
            "                         10,20,...,90); its noise comes from --seed\n"
            "      --eval-score S     probability (softmax of the class, default) or logit\n"
            "      --eval-plot FILE.png  the curves drawn: score against the fraction of\n"
            "                         pixels perturbed, AUCs in the legend (one image only)\n"
            "\n"
            "Batches:\n"
            "  -r, --recursive        take images from DIRs' subdirectories too\n"
            "      --files-from FILE  also read image paths from FILE, one a line (- : stdin)\n"
            "  -0, --null             --files-from's paths end with NUL, not newline (as\n"
            "                         find -print0 writes them)\n"
            "      --base DIR         image paths under DIR keep their folders below DIR\n"
            "                         in the output directory (others are refused); without\n"
            "                         it, absolute and ../ paths write to their base name\n"
            "      --json             one JSON record per image on stdout (JSON Lines)\n"
            "      --report FILE.html an offline page of the results, one sortable and\n"
            "                         filterable row per image, thumbnails in FILE_files/\n"
            "      --skip-existing    skip images whose outputs were made with the same\n"
            "                         settings from the same file (read back from the PNG);\n"
            "                         redo the others (resume a run)\n"
            "      --batch N          images per network pass, 1-%d (default: 1); outputs\n"
            "                         are identical for any N\n"
            "      --shard I/N        process only shard I of N (0 <= I < N) of the sorted\n"
            "                         inputs: input k belongs to shard k mod N\n"
            "      --max-pixels N     refuse larger images (default: %d)\n"
            "      --max-memory MB    the network's memory at most (default: 10 KB an input\n"
            "                         pixel a batch image, more than any torchvision model\n"
            "                         needs, so a weights file of wider layers is refused)\n"
            "      --max-decode-memory MB  the memory images being decoded share (default:\n"
            "                         %d; a 12-megapixel photo takes 40, an image that\n"
            "                         needs more than MB is decoded alone)\n"
            "\n"
            "  -h, --help             this help\n"
            "  -V, --version          the version\n"
            "\n"
            "Exit status: 0 every image done or skipped, 1 some images failed,\n"
            "2 usage error, 3 the weights could not be loaded, 4 an output could not be\n"
            "written (the run stops), 130 or 143 interrupted by SIGINT or SIGTERM\n"
            "(finished outputs are kept).\n"
            "\n"
            "Environment: GUIDEDBP_WEIGHTS (default weights); " GEMM_ISA_ENV " (sse2, avx2 or\n"
            "avx512: the convolutions' instruction set; default the fastest this CPU has).\n",
            CLI_DEFAULT_SEED, FAITH_RISE_STEP, PIPELINE_MAX_BATCH, IMAGE_MAX_PIXELS,
            PIPELINE_DECODE_MEMORY_MB);
}


static int parse_long(const char *text, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *text, int lo, int hi, int *out) {
    long long v;
    if (parse_long(text, lo, hi, &v) != 0) return -1;
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* --eval-steps at most: one pixel a step on the largest input. */
enum { EVAL_MAX_STEPS = PREPROCESS_SIZE * PREPROCESS_MAX_SIDE };

/* --eval's comma-separated metric names into bits of evals. */
static int parse_evals(const char *text, unsigned *evals, Error *e) {
    *evals = 0;
    for (const char *p = text;; p++) {
        size_t n = strcspn(p, ",");
        char word[32];
        snprintf(word, sizeof word, "%.*s", (int)(n < 31 ? n : 31), p);
        int found = n < 31 ? text_index(word, eval_names, 0, EVALS) : -1;
        if (found < 0) {
            char list[128];
            text_join(list, sizeof list, eval_names, EVALS, "", ", ");
            return error_set(e, "--eval %s: '%.*s' is not a metric (available: %s)", text,
                             (int)(n < 60 ? n : 60), p, list);
        }
        *evals |= 1u << found;
        p += n;
        if (!*p) return 0;
    }
}

/* --eval-road's increasing percentages, each 1..99. */
static int parse_percents(const char *text, FaithSpec *s, Error *e) {
    s->n_percents = 0;
    for (const char *p = text;; p++) {
        size_t n = strcspn(p, ",");
        char word[16];
        int v;
        snprintf(word, sizeof word, "%.*s", (int)(n < 15 ? n : 15), p);
        if (n >= 15 || parse_int(word, 1, 99, &v) != 0 ||
            (s->n_percents > 0 && v <= s->percents[s->n_percents - 1]))
            return error_set(e, "--eval-road %s: expected increasing whole percentages from 1 "
                             "to 99, comma-separated", text);
        s->percents[s->n_percents++] = v;
        p += n;
        if (!*p) return 0;
    }
}

Style cli_default_style(Method m) { return method_is_cam(m) ? STYLE_HEATMAP : STYLE_COLOR; }

/* --name's fields: %s the image's name without extension, %m the method,
 * %y the style, %c the --class as given ("top" without), %% a percent sign. */
static const char NAME_FIELDS[] = "smyc%";

void cli_output_name(const Options *o, const char *base, size_t stem, char *out, size_t len) {
    const char *t = o->name ? o->name
                    : o->style == cli_default_style(o->method) ? "%s_%m" : "%s_%m_%y";
    size_t used = 0;
    out[0] = '\0';
    for (; *t && used + 1 < len; t++) {
        if (*t != '%') {
            out[used++] = *t, out[used] = '\0';
            continue;
        }
        const char *field = "";
        int n = -1;
        switch (*++t) {
        case 's': field = base, n = (int)stem; break;
        case 'm': field = method_names[o->method]; break;
        case 'y': field = style_names[o->style]; break;
        case 'c': field = o->class_arg ? o->class_arg : "top"; break;
        case '%': field = "%"; break;
        }
        used += (size_t)snprintf(out + used, len - used, "%.*s", n >= 0 ? n : (int)strlen(field),
                                 field);
        if (used >= len) used = len - 1;
    }
}

/* A --name template: every % a field of NAME_FIELDS, no '/' (a name, not a
 * path), and %c's class argument without one either. */
static int check_name(const Options *o, Error *e) {
    const char *t = o->name;
    if (!*t) return error_set(e, "--name: the template is empty");
    for (const char *p = t; *p; p++) {
        if (*p == '/')
            return error_set(e, "--name %s: a file name, without '/' (outputs keep their "
                             "folders under -o DIR)", t);
        if (*p == '%' && (!p[1] || !strchr(NAME_FIELDS, p[1])))
            return error_set(e, "--name %s: %%%c is not a field (%%s name, %%m method, %%y "
                             "style, %%c class, %%%% a %%)", t, p[1] ? p[1] : ' ');
        if (*p == '%') p++;
    }
    if (strstr(t, "%c") && o->class_arg && strchr(o->class_arg, '/'))
        return error_set(e, "--name %s: the class %s has a '/', which cannot go in a name", t,
                         o->class_arg);
    return 0;
}

int cli_find_weights(char *path, size_t len, Error *e) {
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char dirs[3][1024] = {"", GUIDEDBP_DATADIR, "weights"};
    if (xdg && *xdg == '/') snprintf(dirs[0], sizeof dirs[0], "%s/guidedbp", xdg);
    else if (home && *home) snprintf(dirs[0], sizeof dirs[0], "%s/.local/share/guidedbp", home);
    char searched[3200] = "";
    for (int i = 0; i < 3; i++) {
        if (!dirs[i][0]) continue;
        snprintf(path, len, "%s/%s", dirs[i], CLI_WEIGHTS_FILE);
        if (access(path, F_OK) == 0) return 0;
        size_t used = strlen(searched);
        snprintf(searched + used, sizeof searched - used, "%s%s", used ? ", " : "", dirs[i]);
    }
    return error_set(e, "no weights given and no %s in %s", CLI_WEIGHTS_FILE, searched);
}

/* text as one of names[first, n): its index, or -1 with e saying "OPTION
 * TEXT: expected a, b or c", each name between `quote`s. */
static int parse_choice(const char *option, const char *text, const char *const *names, int first,
                        int n, const char *quote, Error *e) {
    int found = text_index(text, names, first, n);
    if (found < 0) {
        char list[256];
        text_join(list, sizeof list, names + first, n - first, quote, " or ");
        error_set(e, "%s %s: expected %s", option, text, list);
    }
    return found;
}

/* --compare-methods' list: two or more different method names, comma-separated. */
static int parse_methods(const char *text, CompareMethods *out, Error *e) {
    char names[256];
    out->n = 0;
    for (const char *p = text;; p++) {
        size_t len = strcspn(p, ",");
        char one[32];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one - 1 ? len : sizeof one - 1), p);
        int m = len < sizeof one ? text_index(one, method_names, 0, METHODS) : -1;
        if (m < 0) {
            text_join(names, sizeof names, method_names, METHODS, "", ", ");
            return error_set(e, "--compare-methods %s: unknown method '%.*s' (available: %s)", text,
                             (int)(len < 40 ? len : 40), p, names);
        }
        for (int i = 0; i < out->n; i++)
            if (out->method[i] == (Method)m)
                return error_set(e, "--compare-methods %s: %s twice", text, method_names[m]);
        out->method[out->n++] = (Method)m;
        p += len;
        if (!*p) break;
    }
    if (out->n < 2)
        return error_set(e, "--compare-methods %s: expected two or more methods, comma-separated",
                         text);
    return 0;
}

/* "I/N" with 0 <= I < N. */
static int parse_shard(const char *text, int *shard, int *shards) {
    const char *slash = strchr(text, '/');
    if (!slash || slash == text || slash - text > 10) return -1;
    char first[16];
    memcpy(first, text, (size_t)(slash - text));
    first[slash - text] = '\0';
    if (parse_int(first, 0, 1000000, shard) != 0 || parse_int(slash + 1, 1, 1000000, shards) != 0)
        return -1;
    return *shard < *shards ? 0 : -1;
}

/* The option as the user typed it, for messages. */
static const char *option_name(int opt, char **argv, char *buf, size_t len) {
    const char *arg = argv[optind - 1];
    if (strncmp(arg, "--", 2) != 0 && opt > 0 && opt < 256) {
        snprintf(buf, len, "-%c", opt);
        return buf;
    }
    size_t n = strcspn(arg, "=");
    snprintf(buf, len, "%.*s", (int)(n < 60 ? n : 60), arg);
    return buf;
}

int cli_parse(int argc, char **argv, Options *o, Error *e) {
    enum {
        OPT_NPY = 256, OPT_GUIDE, OPT_JSON, OPT_SKIP, OPT_BATCH, OPT_SHARD, OPT_FILES_FROM,
        OPT_MAX_PIXELS, OPT_CHECK, OPT_VS, OPT_STRIP, OPT_SEED, OPT_LAYER, OPT_CHANNEL,
        OPT_SMOOTH, OPT_NOISE, OPT_STEPS, OPT_BASELINE, OPT_STYLE, OPT_FULL_SIZE, OPT_LIST_CLASSES,
        OPT_CROP, OPT_NAME, OPT_BASE, OPT_MAX_MEMORY, OPT_MAX_DECODE, OPT_PORTABLE,
        OPT_COLORMAP, OPT_ALPHA, OPT_SIGN, OPT_COMPARE, OPT_REPORT,
        OPT_EVAL, OPT_EVAL_STEPS, OPT_EVAL_ROAD, OPT_EVAL_SCORE, OPT_EVAL_PLOT,
    };
    static const struct option longs[] = {
        {"weights", required_argument, 0, 'w'},  {"class", required_argument, 0, 'c'},
        {"output", required_argument, 0, 'o'},   {"npy", no_argument, 0, OPT_NPY},
        {"guide", required_argument, 0, OPT_GUIDE}, {"method", required_argument, 0, 'm'},
        {"topk", required_argument, 0, 'k'},     {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {"recursive", no_argument, 0, 'r'},
        {"json", no_argument, 0, OPT_JSON},      {"skip-existing", no_argument, 0, OPT_SKIP},
        {"batch", required_argument, 0, OPT_BATCH}, {"shard", required_argument, 0, OPT_SHARD},
        {"files-from", required_argument, 0, OPT_FILES_FROM},
        {"max-pixels", required_argument, 0, OPT_MAX_PIXELS},
        {"check", required_argument, 0, OPT_CHECK}, {"vs", required_argument, 0, OPT_VS},
        {"strip", required_argument, 0, OPT_STRIP}, {"seed", required_argument, 0, OPT_SEED},
        {"layer", required_argument, 0, OPT_LAYER}, {"channel", required_argument, 0, OPT_CHANNEL},
        {"smooth", required_argument, 0, OPT_SMOOTH}, {"noise", required_argument, 0, OPT_NOISE},
        {"steps", required_argument, 0, OPT_STEPS}, {"baseline", required_argument, 0, OPT_BASELINE}, {"style", required_argument, 0, OPT_STYLE},
        {"full-size", no_argument, 0, OPT_FULL_SIZE}, {"crop", required_argument, 0, OPT_CROP},
        {"name", required_argument, 0, OPT_NAME}, {"null", no_argument, 0, '0'},
        {"base", required_argument, 0, OPT_BASE},
        {"max-memory", required_argument, 0, OPT_MAX_MEMORY},
        {"max-decode-memory", required_argument, 0, OPT_MAX_DECODE},
        {"portable", no_argument, 0, OPT_PORTABLE},
        {"colormap", required_argument, 0, OPT_COLORMAP}, {"alpha", required_argument, 0, OPT_ALPHA},
        {"sign", required_argument, 0, OPT_SIGN},
        {"compare-methods", required_argument, 0, OPT_COMPARE},
        {"report", required_argument, 0, OPT_REPORT},
        {"eval", required_argument, 0, OPT_EVAL},
        {"eval-steps", required_argument, 0, OPT_EVAL_STEPS},
        {"eval-road", required_argument, 0, OPT_EVAL_ROAD},
        {"eval-score", required_argument, 0, OPT_EVAL_SCORE},
        {"eval-plot", required_argument, 0, OPT_EVAL_PLOT},
        {"list-classes", no_argument, 0, OPT_LIST_CLASSES},
        {0, 0, 0, 0},
    };
    const char *env = getenv("GUIDEDBP_WEIGHTS");
    *o = (Options){.weights = env && *env ? env : NULL, .topk = CLI_DEFAULT_TOPK,
                   .batch = 1, .shards = 1, .max_pixels = IMAGE_MAX_PIXELS,
                   .seed = CLI_DEFAULT_SEED,
                   .channel = -1, .noise = CLI_DEFAULT_NOISE, .steps = CLI_DEFAULT_STEPS,
                   .guide = GUIDE_FEATURES,
                   .overlay = {.colormap = COLORMAP_JET, .alpha = OVERLAY_DEFAULT_ALPHA}};
    for (int p = 10; p < 100; p += 10) o->eval.percents[o->eval.n_percents++] = p;
    opterr = 0; // messages are ours
    optind = 0; // a full reset of getopt's state, so cli_parse can run again
    char name[64];
    char names[256];
    int c, found, style_given = 0, baseline_given = 0, eval_options = 0, road_given = 0;
    const char *overlay_option = NULL, *sign_option = NULL; // given, for messages
    long long v;
    while ((c = getopt_long(argc, argv, ":w:c:o:m:k:t:qhVr0", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->weights = optarg; break;
        case 'c': o->class_arg = optarg; break;
        case 'o': o->output = optarg; break;
        case 'r': o->recursive = 1; break;
        case 'q': o->quiet = 1; break;
        case OPT_NPY: o->npy = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_SKIP: o->skip_existing = 1; break;
        case OPT_REPORT: o->report = optarg; break;
        case OPT_FILES_FROM: o->files_from = optarg; break;
        case '0': o->null = 1; break;
        case OPT_BASE: o->base = optarg; break;
        case OPT_NAME: o->name = optarg; break;
        case OPT_PORTABLE: o->portable = 1; break;
        case OPT_MAX_MEMORY:
            if (parse_long(optarg, 1, (long long)1 << 30, &v) != 0)
                return error_set(e, "--max-memory %s: expected megabytes, a whole number from 1",
                                 optarg);
            o->max_memory = v << 20;
            break;
        case OPT_MAX_DECODE:
            if (parse_long(optarg, 1, (long long)1 << 30, &v) != 0)
                return error_set(e, "--max-decode-memory %s: expected megabytes, a whole number "
                                 "from 1", optarg);
            o->max_decode_memory = v << 20;
            break;
        case OPT_GUIDE:
            if ((found = parse_choice("--guide", optarg, guide_names, GUIDE_FEATURES, GUIDES, "'",
                                      e)) < 0)
                return CLI_ERROR;
            o->guide = (GuideScope)found;
            break;
        case 'm':
            if ((found = text_index(optarg, method_names, 0, METHODS)) < 0) {
                text_join(names, sizeof names, method_names, METHODS, "", ", ");
                return error_set(e, "--method %s: unknown method (available: %s)", optarg,
                                 names);
            }
            o->method = (Method)found;
            break;
        case OPT_STYLE:
            if ((found = parse_choice("--style", optarg, style_names, 0, STYLES, "", e)) < 0)
                return CLI_ERROR;
            o->style = (Style)found;
            style_given = 1;
            break;
        case OPT_COLORMAP:
            if ((found = parse_choice("--colormap", optarg, colormap_names, 0, COLORMAPS, "", e)) < 0)
                return CLI_ERROR;
            o->overlay.colormap = (Colormap)found;
            overlay_option = "--colormap";
            break;
        case OPT_ALPHA: {
            char *end;
            errno = 0;
            o->overlay.alpha = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || errno == ERANGE || !(o->overlay.alpha >= 0.0) ||
                o->overlay.alpha > 1.0)
                return error_set(e, "--alpha %s: expected a number from 0 to 1 (the colormap's "
                                 "weight over the photo)", optarg);
            overlay_option = "--alpha";
            break;
        }
        case OPT_SIGN:
            if ((found = parse_choice("--sign", optarg, sign_names, 0, SIGNS, "", e)) < 0)
                return CLI_ERROR;
            o->overlay.sign = (Sign)found;
            overlay_option = sign_option = "--sign";
            break;
        case OPT_FULL_SIZE: o->full_size = 1; break;
        case OPT_CROP:
            if ((found = parse_choice("--crop", optarg, crop_names, 0, CROPS, "", e)) < 0)
                return -1;
            o->crop = (CropMode)found;
            break;
        case OPT_LAYER: o->layer = optarg; break;
        case OPT_CHANNEL:
            if (parse_int(optarg, 0, 1 << 20, &o->channel) != 0)
                return error_set(e, "--channel %s: expected a whole number >= 0", optarg);
            break;
        case OPT_SMOOTH:
            if (parse_int(optarg, 1, CLI_MAX_PASSES, &o->smooth) != 0)
                return error_set(e, "--smooth %s: expected a whole number from 1 to %d", optarg,
                                 CLI_MAX_PASSES);
            break;
        case OPT_BASELINE:
            if ((found = parse_choice("--baseline", optarg, baseline_names, 0, BASELINES, "'", e)) < 0)
                return CLI_ERROR;
            o->baseline = (Baseline)found;
            baseline_given = 1;
            break;
        case OPT_STEPS:
            if (parse_int(optarg, 1, CLI_MAX_PASSES, &o->steps) != 0)
                return error_set(e, "--steps %s: expected a whole number from 1 to %d", optarg,
                                 CLI_MAX_PASSES);
            break;
        case OPT_NOISE: {
            char *end;
            errno = 0;
            o->noise = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || errno == ERANGE || !(o->noise > 0.0) ||
                o->noise > 10.0)
                return error_set(e, "--noise %s: expected a number above 0 and at most 10",
                                 optarg);
            break;
        }
        case OPT_CHECK:
            if ((found = parse_choice("--check", optarg, check_names, CHECK_CLASS, CHECKS, "'", e)) < 0)
                return CLI_ERROR;
            o->check = (CheckKind)found;
            break;
        case OPT_VS: o->vs_arg = optarg; break;
        case OPT_STRIP: o->strip = optarg; break;
        case OPT_COMPARE:
            if (parse_methods(optarg, &o->compare, e) != 0) return CLI_ERROR;
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &o->seed) != 0)
                return error_set(e, "--seed %s: expected a whole number from 0 to %" PRIu64,
                                 optarg, UINT64_MAX);
            break;
        case OPT_EVAL:
            if (parse_evals(optarg, &o->eval.evals, e) != 0) return CLI_ERROR;
            break;
        case OPT_EVAL_STEPS:
            if (parse_int(optarg, 1, EVAL_MAX_STEPS, &o->eval.steps) != 0)
                return error_set(e, "--eval-steps %s: expected a whole number from 1 to %d",
                                 optarg, EVAL_MAX_STEPS);
            eval_options = 1;
            break;
        case OPT_EVAL_ROAD:
            if (parse_percents(optarg, &o->eval, e) != 0) return CLI_ERROR;
            eval_options = road_given = 1;
            break;
        case OPT_EVAL_SCORE:
            if ((found = parse_choice("--eval-score", optarg, eval_score_names, 0, EVAL_SCORES,
                                      "", e)) < 0)
                return CLI_ERROR;
            o->eval.score = (EvalScore)found;
            eval_options = 1;
            break;
        case OPT_EVAL_PLOT: o->eval_plot = optarg; break;
        case 'k':
            if (parse_int(optarg, 0, 1000000, &o->topk) != 0)
                return error_set(e, "--topk %s: expected a whole number >= 0", optarg);
            break;
        case 't':
            if (parse_int(optarg, 1, PARALLEL_MAX_THREADS, &o->threads) != 0)
                return error_set(e, "--threads %s: expected a whole number from 1 to %d", optarg,
                                 PARALLEL_MAX_THREADS);
            break;
        case OPT_BATCH:
            if (parse_int(optarg, 1, PIPELINE_MAX_BATCH, &o->batch) != 0)
                return error_set(e, "--batch %s: expected a whole number from 1 to %d", optarg,
                                 PIPELINE_MAX_BATCH);
            break;
        case OPT_SHARD:
            if (parse_shard(optarg, &o->shard, &o->shards) != 0)
                return error_set(e, "--shard %s: expected I/N with 0 <= I < N, e.g. 0/4", optarg);
            break;
        case OPT_MAX_PIXELS:
            if (parse_long(optarg, 1, (long long)IMAGE_MAX_SIDE * IMAGE_MAX_SIDE, &v) != 0)
                return error_set(e, "--max-pixels %s: expected a whole number from 1 to %lld",
                                 optarg, (long long)IMAGE_MAX_SIDE * IMAGE_MAX_SIDE);
            o->max_pixels = v;
            break;
        case 'h': return CLI_HELP;
        case 'V': return CLI_VERSION;
        case OPT_LIST_CLASSES: return CLI_LIST_CLASSES;
        case ':':
            return error_set(e, "%s: this option needs a value",
                             option_name(optopt, argv, name, sizeof name));
        default:
            return error_set(e, "%s: unknown option", option_name(optopt, argv, name, sizeof name));
        }
    }
    o->inputs = argv + optind;
    o->n_inputs = argc - optind;
    if (o->n_inputs == 0 && !o->files_from) return error_set(e, "no IMAGE given");
    if (o->vs_arg && o->check != CHECK_CLASS) return error_set(e, "--vs needs --check class");
    if (o->null && !o->files_from) return error_set(e, "-0/--null needs --files-from");
    if (o->base && !*o->base) return error_set(e, "--base: the directory is empty");
    if (o->name && check_name(o, e) != 0) return -1;
    if (o->strip && o->check == CHECK_NONE && !o->compare.n)
        return error_set(e, "--strip needs --check or --compare-methods");
    if (o->compare.n && !o->strip)
        return error_set(e, "--compare-methods needs --strip FILE.png (where the methods' strip "
                            "goes)");
    if (o->compare.n && o->check != CHECK_NONE)
        return error_set(e, "--compare-methods: not with --check (--strip is one strip: the "
                            "check's or the methods')");
    int compares_integrated = 0;
    for (int i = 0; i < o->compare.n; i++) {
        Method m = o->compare.method[i];
        compares_integrated |= m == METHOD_INTEGRATED;
        if (o->channel >= 0 && method_has_cam(m))
            return error_set(e, "--compare-methods: %s explains a class, not --channel's channel",
                             method_names[m]);
        // Each method's picture: --style when given and the method can show it
        // (a cam that cannot is a heatmap), else the method's default.
        o->compare.style[i] = !style_given ? cli_default_style(m)
                              : method_is_cam(m) && o->style != STYLE_GRAY ? STYLE_HEATMAP
                                                                           : o->style;
    }
    if (o->report && (!*o->report || strcmp(o->report, "-") == 0 ||
                      (o->output && strcmp(o->output, "-") == 0)))
        return error_set(e, "--report %s: the page is a file, beside maps written as files (not "
                         "with -o -)", o->report);
    o->eval.seed = o->seed;
    if (eval_options && !o->eval.evals)
        return error_set(e, "--eval-steps, --eval-road and --eval-score need --eval");
    if (o->eval_plot && !(o->eval.evals & (1u << EVAL_DELETION | 1u << EVAL_INSERTION | 1u << EVAL_ROAD)))
        return error_set(e, "--eval-plot needs --eval deletion, insertion or road (its curves)");
    if (road_given && !(o->eval.evals & 1u << EVAL_ROAD))
        return error_set(e, "--eval-road needs --eval road");
    if (o->eval.evals && o->channel >= 0)
        return error_set(e, "--eval: the metrics score a class; not with --channel");
    int cam = method_is_cam(o->method), has_cam = method_has_cam(o->method);
    if (!style_given) o->style = cli_default_style(o->method);
    if (cam && o->style != STYLE_HEATMAP && o->style != STYLE_GRAY)
        return error_set(e, "--style %s: a cam is shown as heatmap or gray",
                         style_names[o->style]);
    if (overlay_option && o->style != STYLE_HEATMAP)
        return error_set(e, "%s: only with --style heatmap (the style is %s)", overlay_option,
                         style_names[o->style]);
    if (sign_option && cam)
        return error_set(e, "--sign: -m %s's cam is not signed (it is at least 0)",
                         method_names[o->method]);
    if (o->channel >= 0 && o->class_arg)
        return error_set(e, "--class %s: with --channel the target is the channel (the sum of its "
                         "activations), not a class; give one or the other", o->class_arg);
    if (o->channel >= 0 && !o->layer)
        return error_set(e, "--channel needs --layer (the layer whose channel is the target)");
    if (o->channel >= 0 && has_cam)
        return error_set(e, "--channel: -m %s explains a class; give --class instead",
                         method_names[o->method]);
    if (o->layer && o->channel < 0 && !has_cam)
        return error_set(e, "--layer without --channel: only -m gradcam and guided-gradcam use a "
                            "layer by itself");
    if (baseline_given && o->method != METHOD_INTEGRATED && !compares_integrated)
        return error_set(e, "--baseline: only for -m integrated");
    if (o->smooth && (has_cam || o->method == METHOD_INTEGRATED))
        return error_set(e, "--smooth: not with -m %s", method_names[o->method]);
    return CLI_RUN;
}

int cli_method_spec(const Options *o, const Graph *g, MethodSpec *spec, Error *e) {
    *spec = (MethodSpec){.method = o->method, .guide = o->guide, .layer = -1,
                         .channel = o->channel, .smooth = o->smooth, .noise = o->noise,
                         .seed = o->seed, .steps = o->steps, .baseline = o->baseline};
    int has_cam = method_has_cam(o->method);
    // The cams' layer unless --layer names one, for -m and --compare-methods:
    // the last ReLU of the convolutional part (features.11 for AlexNet).
    for (int i = 0; i < g->n_layers; i++)
        if (g->layers[i].kind == LAYER_RELU && g->layers[i].conv_part) spec->cam_layer = i;
    const char *name = o->layer;
    if (!name) return 0;
    int l = graph_find(g, name);
    if (l < 0 || (has_cam && !g->layers[l].conv_part)) {
        // Each name once (a module called twice is one name), then the
        // blocks' and stages' names; a long list is cut with a count.
        enum { SHOWN = 400 };
        char names[SHOWN + 64] = "";
        int more = 0;
        for (int i = 0; i < g->n_layers + g->n_aliases; i++) {
            int alias = i >= g->n_layers, at = alias ? g->aliases[i - g->n_layers].layer : i;
            const char *n = alias ? g->aliases[i - g->n_layers].name : g->layers[i].name;
            if ((has_cam && !g->layers[at].conv_part) || (!alias && graph_find(g, n) != i))
                continue;
            size_t used = strlen(names);
            if (more || used + strlen(n) + 2 > SHOWN) more++;
            else snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", n);
        }
        if (more) snprintf(names + strlen(names), sizeof names - strlen(names), " and %d more", more);
        return error_set(e, "--layer %s: no such layer%s (layers: %s)", name,
                         has_cam ? " with a spatial output" : "", names);
    }
    if (has_cam) {
        spec->cam_layer = l;
    } else {
        if (o->channel >= g->layers[l].out_c)
            return error_set(e, "--channel %d: layer %s has channels 0 to %d", o->channel, name,
                             g->layers[l].out_c - 1);
        spec->layer = l;
    }
    return 0;
}
