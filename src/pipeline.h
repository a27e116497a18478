/* pipeline.h: the batch loop. For each group of up to `batch` inputs:
 * decode -> preprocess -> explain (forward, method) -> check -> eval ->
 * render -> write -> report, with the decoding and writing spread over the threads.
 *
 *     Pipeline p;
 *     if (pipeline_init(&p, &config, &weights, &err) != 0) ...;
 *     int status = pipeline_run(&p, inputs, n, &err);  // calls config.report per input
 *     pipeline_free(&p);
 *
 * Every input is reported once, in order, as it finishes: done, skipped
 * (--skip-existing) or failed, with its reason. A file that cannot be read
 * fails that input only, and so does an output whose own name cannot be
 * written (too long, a directory in the way: FILE_BAD_NAME); an output that
 * cannot be written otherwise (a full disk), or memory that runs out, stops
 * the run after the group, every output written so far complete
 * (fileio.h). Each map is the same bits whatever the batch size
 * and the thread count.
 */
#ifndef GUIDEDBP_PIPELINE_H
#define GUIDEDBP_PIPELINE_H

#include <signal.h>
#include <stdint.h>

#include "explain/check.h"
#include "explain/explain.h"
#include "explain/faithfulness.h"
#include "explain/render.h"
#include "io/digest.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "util/budget.h"
#include "util/error.h"

/* One image to process and the files it writes. */
typedef struct {
    char *path;   // as given, or DIR/relative path
    char *png;    // where its map goes
    char *npy;    // where its raw map goes, or NULL without --npy
    int index;    // its place among all the run's inputs, every shard's
} Input;

typedef enum { RESULT_DONE, RESULT_SKIPPED, RESULT_FAILED, RESULT_STATUSES } ResultStatus;

/* Why --skip-existing did not keep an existing output. */
typedef enum {
    REDO_NONE,         // there was none (or no --skip-existing)
    REDO_UNREADABLE,   // not a PNG this can read
    REDO_UNKNOWN,      // a PNG without guidedbp's provenance
    REDO_SETTINGS,     // made with other settings (Result.was)
    REDO_INPUT,        // made from another input file (or from standard input)
    REDO_NPY,          // its .npy is missing
    REDOS
} Redo;

/* What happened to one input: the fields of its record. */
typedef struct {
    ResultStatus status;
    Error err;              // RESULT_FAILED: why
    Redo redo;              // an existing output that was replaced, and why
    char *was;              // REDO_SETTINGS: the old output's settings (report callback only)
    char *stored;           // RESULT_SKIPPED: the results its PNG holds, or NULL (report
                            // callback only)
    char input_sha[DIGEST_HEX]; // the input file's SHA-256; "" for standard input
    int width, height;      // the decoded image's size; 0 before it is known
    int target;             // the class explained
    const float *logits;    // (classes), valid during the report callback only
    // With keep_pictures, for a done image, valid during the report callback
    // only: the photo the network saw and the map's picture at that size
    // (before --full-size), for an HTML report's thumbnails; else NULL.
    const uint8_t *crop;    // (pic_h, pic_w, 3)
    const uint8_t *picture; // (pic_h, pic_w, pic_channels)
    int pic_h, pic_w, pic_channels;
    int written;            // its outputs exist
    int flat;               // the map was constant (written as a flat picture)
    int64_t clipped;        // a 16-bit grey PNG's samples clipped to 255
    double kept;            // the share of the resized image the center crop keeps
    int checked;            // check holds the sanity check's numbers
    CheckResult check;
    int evaluated;          // eval holds --eval's numbers (its curves valid during the
    FaithResult eval;       // report and results callbacks only)
    double ms;              // wall time spent on it
} Result;

/* The keywords of a PNG's provenance chunks (png.h): the run's settings,
 * the input file's SHA-256, and the results. */
#define PIPELINE_SETTINGS "guidedbp:settings"
#define PIPELINE_INPUT "guidedbp:input-sha256"
#define PIPELINE_RESULTS "guidedbp:results"

/* The network's memory a run may take by default, per pixel of input: the
 * largest torchvision model, ResNet-152, needs 9331 bytes (447 MB for a
 * 224x224 image: activations, gradients, im2col), VGG-19 7437. A weights
 * file whose layers are wider than any of them (a 1 MB file can ask for
 * 11 GB) is refused before anything is allocated, unless max_memory says
 * otherwise. */
enum { PIPELINE_BYTES_PER_PIXEL = 10 * 1024 };
/* The memory images being decoded may share by default (--max-decode-
 * memory): a 12-megapixel JPEG photo takes 40 MB, the costliest file within
 * the pixel limit (a 64-megapixel interlaced 16-bit RGBA PNG) 1.3 GB, and
 * an image bigger than the budget is decoded alone (budget.h), never
 * refused. */
enum { PIPELINE_DECODE_MEMORY_MB = 1024 };
/* What pipeline_init returns when the network would need more memory than
 * the budget (e says how much). */
enum { PIPELINE_OVER_BUDGET = -2 };
/* What pipeline_run returns when the weights hold a NaN or an infinity (e
 * names the tensor): found where they are first used (weights.h); the
 * group in flight is not reported. */
enum { PIPELINE_BAD_WEIGHTS = -3 };

/* Images a group holds at most (--batch). */
enum { PIPELINE_MAX_BATCH = 256 };
/* A method of many passes an image (integrated gradients, SmoothGrad) runs
 * up to this many of them at once when the batch is smaller, if the network
 * then needs at most PIPELINE_PASS_MEMORY_MB: 8 is where AlexNet's
 * throughput levels off (make bench); a VGG-16 pass, 370 MB, runs alone. */
enum { PIPELINE_PASS_BATCH = 8, PIPELINE_PASS_MEMORY_MB = 512 };
/* Perturbed inputs --eval runs through the network at once at most (fewer
 * when the memory budget says so, at least 2): a 225-point deletion curve
 * in 8 passes. */
enum { PIPELINE_EVAL_BATCH = 32 };

/* Counts of a finished (or stopped) run. */
typedef struct {
    int done, skipped, failed;
} PipelineCounts;

typedef void (*ReportFn)(void *ctx, const Input *in, const Result *res);
/* The results of a finished image as text for its PNG (malloc'd, NULL when
 * out of memory); called on the worker threads, so it must be reentrant. */
typedef char *(*ResultsFn)(void *ctx, const Input *in, const Result *res);
typedef void (*GroupDoneFn)(void *ctx, const PipelineCounts *counts);

/* --compare-methods: one image's maps by several methods side by side, each
 * in its own style, in one strip (PipelineConfig.strip). */
typedef struct {
    int n;                  // 0: none
    Method method[METHODS]; // each different
    Style style[METHODS];   // each method's picture
} CompareMethods;

typedef struct {
    MethodSpec spec;
    Style style;
    Overlay overlay;        // the heatmap style's colormap, alpha and sign
    CropMode crop;          // what of the resized image is explained; CROP_NONE runs one
                            // image at a time, each at its own size
    int full_size;          // pictures in the original image's frame
    int npy;                // also the raw maps (Input.npy)
    int make_dirs;          // create the directories outputs go to
    int skip_existing;      // skip inputs whose outputs exist, made with `settings` from
                            // the same input file (else they are redone, Result.redo)
    const char *software;   // the PNGs' Software text ("guidedbp 1.2.3"), or NULL
    const char *settings;   // the run's settings, stored in each PNG and compared by
                            // skip_existing; NULL: no provenance (and nothing is skipped)
    ResultsFn results;      // each PNG's results text, or NULL
    int keep_pictures;      // Result.crop and Result.picture for the report callback
    int target;             // the class to explain, or -1: each image's top class
    CheckKind check;
    int vs;                 // check class: the other class, or -1: the lowest-scoring
    uint64_t seed;          // check randomize: the re-drawn weights' seed
    const char *strip;      // a check's maps side by side (one input only), or NULL; or
                            // with `compare`, the methods' pictures
    CompareMethods compare; // each compared method runs with spec's settings (its method
                            // changed; no SmoothGrad where it does not apply) on the
                            // target of spec's map
    const char *(*class_name)(int index, int classes); // a class's name for the strip's
                                                       // titles, or NULL (none known)
    FaithSpec eval;         // --eval's metrics (eval.evals 0: none), of the target class
    const char *eval_plot;  // their curves drawn (plot.h; one input only), or NULL
    int64_t max_pixels;
    int64_t max_memory;     // bytes the networks may take (--max-memory); 0: batch x input
                            // pixels x PIPELINE_BYTES_PER_PIXEL
    int64_t max_decode_memory; // bytes the images being decoded may share (image.h's
                               // image_decode_memory); 0: PIPELINE_DECODE_MEMORY_MB
    int batch, threads;
    GemmIsa isa;
    ReportFn report;        // each input's result, in order
    GroupDoneFn group_done; // after each group (progress)
    void *report_ctx;
    volatile sig_atomic_t *stop; // once set (by a signal), no new group starts; may be NULL
} PipelineConfig;

typedef struct {
    PipelineConfig c;
    const Weights *weights; // borrowed
    Explainer x;            // at one input size (x.height, x.width), as are the buffers below
    Explainer check;        // the checks' workspace (batch 1), when c.check is set
    Faith faith;            // --eval's workspace, when c.eval.evals is set
    double *curves;         // (batch, 2, steps + 1) deletion and insertion curves
    float *saliency;        // (height, width) the map's per-pixel score being evaluated
    Image *images;          // (batch) the decoded images, kept for --full-size
    CropBox *boxes;         // (batch)
    uint8_t *crops;         // (batch, height, width, 3) the cropped photos, for heatmaps
                            // (and the compared methods'), and keep_pictures
    uint8_t *pixels;        // (batch, height, width, 3) the pictures being written
    float *clean;           // (batch, 3, height, width) the inputs, kept for the check and
                            // the compared methods
    Result *results;        // (batch)
    Budget decoding;        // the memory decoding takes, shared by the loading threads
    int has_budget;         // decoding is initialised
} Pipeline;

/* The batch is cut to n_inputs when that is smaller (there is nothing to
 * gain from more buffers), and to 1 with CROP_NONE. -1 on failure, or
 * PIPELINE_OVER_BUDGET (e saying how much memory and why). */
int pipeline_init(Pipeline *p, const PipelineConfig *c, const Weights *w, int n_inputs,
                  Error *e);
void pipeline_free(Pipeline *p);
/* Processes inputs[0 .. n); 0, or -1 when the run stopped on a write or
 * memory failure (e says which; that input was reported too), or
 * PIPELINE_BAD_WEIGHTS. */
int pipeline_run(Pipeline *p, const Input *inputs, int n, PipelineCounts *counts, Error *e);

#endif
