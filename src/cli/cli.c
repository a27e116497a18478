#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "util/parallel.h"

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
        OPT_SMOOTH, OPT_NOISE, OPT_STEPS, OPT_BASELINE, OPT_STYLE, OPT_FULL_SIZE,
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
        {"full-size", no_argument, 0, OPT_FULL_SIZE},
        {0, 0, 0, 0},
    };
    const char *env = getenv("GUIDEDBP_WEIGHTS");
    *o = (Options){.weights = env && *env ? env : CLI_DEFAULT_WEIGHTS, .topk = CLI_DEFAULT_TOPK,
                   .batch = 1, .shards = 1, .max_pixels = IMAGE_MAX_PIXELS, .seed = 1,
                   .channel = -1, .noise = CLI_DEFAULT_NOISE, .steps = CLI_DEFAULT_STEPS,
                   .guide = GUIDE_FEATURES};
    opterr = 0; // messages are ours
    optind = 0; // a full reset of getopt's state, so cli_parse can run again
    char name[64];
    int c, style_given = 0, baseline_given = 0;
    long long v;
    while ((c = getopt_long(argc, argv, ":w:c:o:m:k:t:qhVr", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->weights = optarg; break;
        case 'c': o->class_arg = optarg; break;
        case 'o': o->output = optarg; break;
        case 'r': o->recursive = 1; break;
        case 'q': o->quiet = 1; break;
        case OPT_NPY: o->npy = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_SKIP: o->skip_existing = 1; break;
        case OPT_FILES_FROM: o->files_from = optarg; break;
        case OPT_GUIDE:
            if (strcmp(optarg, "features") == 0) o->guide = GUIDE_FEATURES;
            else if (strcmp(optarg, "all") == 0) o->guide = GUIDE_ALL;
            else return error_set(e, "--guide %s: expected 'features' or 'all'", optarg);
            break;
        case 'm':
            if (method_parse(optarg, &o->method) != 0)
                return error_set(e, "--method %s: unknown method (available: %s)", optarg,
                                 method_names());
            break;
        case OPT_STYLE:
            if (style_parse(optarg, &o->style) != 0)
                return error_set(e, "--style %s: expected color, gray, pos, neg or heatmap",
                                 optarg);
            style_given = 1;
            break;
        case OPT_FULL_SIZE: o->full_size = 1; break;
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
        case OPT_BASELINE: {
            int found = -1;
            for (int i = 0; i < BASELINES; i++)
                if (strcmp(optarg, baseline_names[i]) == 0) found = i;
            if (found < 0)
                return error_set(e, "--baseline %s: expected 'black' or 'zero'", optarg);
            o->baseline = (Baseline)found;
            baseline_given = 1;
            break;
        }
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
            if (strcmp(optarg, "class") == 0) o->check = CHECK_CLASS;
            else if (strcmp(optarg, "randomize") == 0) o->check = CHECK_RANDOMIZE;
            else return error_set(e, "--check %s: expected 'class' or 'randomize'", optarg);
            break;
        case OPT_VS: o->vs_arg = optarg; break;
        case OPT_STRIP: o->strip = optarg; break;
        case OPT_SEED:
            if (parse_u64(optarg, &o->seed) != 0)
                return error_set(e, "--seed %s: expected a whole number from 0 to %" PRIu64,
                                 optarg, UINT64_MAX);
            break;
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
            if (parse_int(optarg, 1, CLI_MAX_BATCH, &o->batch) != 0)
                return error_set(e, "--batch %s: expected a whole number from 1 to %d", optarg,
                                 CLI_MAX_BATCH);
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
    if (o->strip && o->check == CHECK_NONE) return error_set(e, "--strip needs --check");
    int cam = method_is_cam(o->method), has_cam = cam || o->method == METHOD_GUIDED_GRADCAM;
    if (!style_given) o->style = cam ? STYLE_HEATMAP : STYLE_COLOR;
    if (cam && o->style != STYLE_HEATMAP && o->style != STYLE_GRAY)
        return error_set(e, "--style %s: a cam is shown as heatmap or gray",
                         style_name(o->style));
    if (!cam && o->style == STYLE_HEATMAP)
        return error_set(e, "--style heatmap: only for -m gradcam (maps use color, gray, pos "
                            "or neg)");
    if (o->channel >= 0 && !o->layer)
        return error_set(e, "--channel needs --layer (the layer whose channel is the target)");
    if (o->channel >= 0 && has_cam)
        return error_set(e, "--channel: -m %s explains a class; give --class instead",
                         method_name(o->method));
    if (o->layer && o->channel < 0 && !has_cam)
        return error_set(e, "--layer without --channel: only -m gradcam and guided-gradcam use a "
                            "layer by itself");
    if (baseline_given && o->method != METHOD_INTEGRATED)
        return error_set(e, "--baseline: only for -m integrated");
    if (o->smooth && (has_cam || o->method == METHOD_INTEGRATED))
        return error_set(e, "--smooth: not with -m %s", method_name(o->method));
    return CLI_RUN;
}
