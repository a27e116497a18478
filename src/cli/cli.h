/* cli.h: guidedbp's command line: its options, their defaults and help.
 *
 * cli_parse reads argv with getopt_long and checks every value; it prints
 * nothing and allocates nothing: the strings in Options point into argv. It
 * returns CLI_RUN, CLI_HELP or CLI_VERSION, or CLI_ERROR with e saying
 * which option and why. cli_usage prints the help, its defaults and names
 * taken from the constants and name tables below and beside their enums.
 */
#ifndef GUIDEDBP_CLI_H
#define GUIDEDBP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "explain/check.h"
#include "explain/faithfulness.h"
#include "explain/methods.h"
#include "explain/render.h"
#include "nn/graph.h"
#include "nn/net.h"
#include "pipeline.h"
#include "util/error.h"

#define GUIDEDBP_VERSION "0.4.0"

/* The default weights' file name, looked for where cli_find_weights says. */
#define CLI_WEIGHTS_FILE "alexnet.safetensors"

enum { CLI_ERROR = -1, CLI_RUN, CLI_HELP, CLI_VERSION, CLI_LIST_CLASSES };
enum { CLI_DEFAULT_TOPK = 5, CLI_DEFAULT_STEPS = 50, CLI_MAX_PASSES = 10000, CLI_DEFAULT_SEED = 1 };
#define CLI_DEFAULT_NOISE 0.15

typedef struct {
    char **inputs;          // the IMAGE/DIR arguments (argv's own)
    int n_inputs;
    const char *files_from; // --files-from FILE ("-": stdin), or NULL
    int null;               // -0: --files-from's paths end with NUL
    const char *base;       // --base DIR: paths under it keep their folders, or NULL
    int recursive;
    const char *weights;    // --weights, else $GUIDEDBP_WEIGHTS, else NULL: cli_find_weights
    const char *class_arg;  // NULL: the predicted class
    const char *output;     // FILE.png for one image, DIR for several; NULL: default
    const char *name;       // --name TEMPLATE for the outputs' names; NULL: the default
    int npy, json, skip_existing, quiet;
    const char *report;     // --report FILE.html, or NULL
    int topk, threads;      // threads 0: one per CPU
    int batch;
    int shard, shards;      // --shard I/N; 0/1 when not given
    int64_t max_pixels;
    int64_t max_memory;     // --max-memory, in bytes; 0: the per-pixel budget (pipeline.h)
    int64_t max_decode_memory; // --max-decode-memory, in bytes; 0: pipeline.h's default
    int portable;           // --portable: the same bits on every x86-64 CPU (main.c)
    Method method;
    GuideScope guide;       // --guide: for guided and deconv
    const char *layer;      // --layer NAME: gradcam's layer, or with --channel the target
    int channel;            // --channel K; -1: not given
    int smooth;             // --smooth N SmoothGrad copies; 0: off
    double noise;           // --noise F
    int steps;              // --steps N for integrated
    Baseline baseline;      // --baseline for integrated
    Style style;
    Overlay overlay;        // --colormap, --alpha, --sign: the heatmap's
    CropMode crop;          // --crop
    int full_size;
    CheckKind check;
    const char *vs_arg;     // --vs CLASS for --check class; NULL: the lowest-scoring
    const char *strip;      // --strip FILE.png: the maps of a check side by side
    CompareMethods compare; // --compare-methods LIST: methods side by side in the strip
    uint64_t seed;          // --seed: SmoothGrad's noise, --check randomize's weights, ROAD's
                            // noise
    FaithSpec eval;         // --eval, --eval-steps, --eval-road, --eval-score (its seed: --seed)
    const char *eval_plot;  // --eval-plot FILE.png
} Options;

int cli_parse(int argc, char **argv, Options *o, Error *e);
/* The style a method's pictures have unless --style says otherwise. */
Style cli_default_style(Method m);
/* An output's file name without ".png" for an image whose base name's first
 * `stem` bytes are its name without extension: --name's template, or by
 * default "%s_%m", with "_%y" when the style is not the method's default
 * (cat_guided, cat_gradcam, cat_guided_gray). Cut to len. */
enum { CLI_NAME_MAX = 256 };
void cli_output_name(const Options *o, const char *base, size_t stem, char *out, size_t len);
void cli_usage(FILE *f);
/* The default weights when neither -w nor $GUIDEDBP_WEIGHTS names them: the
 * first CLI_WEIGHTS_FILE found in $XDG_DATA_HOME/guidedbp (default
 * ~/.local/share/guidedbp), GUIDEDBP_DATADIR (PREFIX/share/guidedbp, set at
 * build time), then ./weights (a source checkout). Returns 0 and the path,
 * or -1 with e listing the places searched. */
int cli_find_weights(char *path, size_t len, Error *e);
/* The method the options ask for, its layers resolved by name in g (a
 * usage error when there is no such layer or channel). */
int cli_method_spec(const Options *o, const Graph *g, MethodSpec *spec, Error *e);

#endif
