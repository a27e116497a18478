/* cli.h: guidedbp's command line, parsed into Options.
 *
 * cli_parse reads argv with getopt_long and checks every value; it prints
 * nothing (src/main.c does) and allocates nothing: the strings in Options
 * point into argv. It returns CLI_RUN, CLI_HELP or CLI_VERSION, or
 * CLI_ERROR with e saying which option and why.
 */
#ifndef GUIDEDBP_CLI_H
#define GUIDEDBP_CLI_H

#include <stdint.h>

#include "error.h"
#include "net.h"

#define CLI_DEFAULT_WEIGHTS "weights/alexnet.safetensors"

enum { CLI_ERROR = -1, CLI_RUN, CLI_HELP, CLI_VERSION };
enum { CLI_DEFAULT_TOPK = 5, CLI_MAX_BATCH = 256 };

typedef enum { METHOD_GUIDED, METHOD_GRADIENT } Method;
/* --check: how much the map depends on the class, or on the weights. */
typedef enum { CHECK_NONE, CHECK_CLASS, CHECK_RANDOMIZE } Check;

typedef struct {
    char **inputs;          // the IMAGE/DIR arguments (argv's own)
    int n_inputs;
    const char *files_from; // --files-from FILE ("-": stdin), or NULL
    int recursive;
    const char *weights;    // --weights, else $GUIDEDBP_WEIGHTS, else the default
    const char *class_arg;  // NULL: the predicted class
    const char *output;     // FILE.png for one image, DIR for several; NULL: default
    int npy, json, skip_existing, quiet;
    int topk, threads;      // threads 0: one per CPU
    int batch;
    int shard, shards;      // --shard I/N; 0/1 when not given
    int64_t max_pixels;
    Method method;
    GuideScope guide;       // --guide; the method decides whether it applies
    Check check;
    const char *vs_arg;     // --vs CLASS for --check class; NULL: the lowest-scoring
    const char *strip;      // --strip FILE.png: the maps of a check side by side
    uint64_t seed;          // --seed: the re-drawn weights of --check randomize
} Options;

/* The ReLU scope the method and --guide give: GUIDE_NONE for gradient. */
GuideScope cli_scope(const Options *o);

int cli_parse(int argc, char **argv, Options *o, Error *e);

#endif
