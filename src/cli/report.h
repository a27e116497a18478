/* report.h: what the command line tells people and scripts about a run.
 *
 * stdout: one result per input, as human lines or (--json) one JSON record
 * per input (JSON Lines); stderr: errors, warnings, the sanity checks'
 * tables, and on a terminal a progress bar that is cleared before anything
 * else is printed. Every line on stderr goes through report_error, which
 * shows control bytes as \xNN (text.h). report_result and report_group are
 * the pipeline's callbacks (pipeline.h); with a page (--report) they also
 * add each image's row to it and rewrite it now and then (html.h).
 */
#ifndef GUIDEDBP_REPORT_H
#define GUIDEDBP_REPORT_H

#include <stdio.h>

#include <cJSON.h>

#include "explain/check.h"
#include "pipeline.h"

typedef struct {
    FILE *out;        // results: stdout, or stderr when the PNG goes to stdout (-o -)
    int json, quiet;
    int batch_mode;   // one line per image rather than the single-image report
    int progress;     // draw the progress bar (stderr is a terminal)
    int columns;      // its width
    int topk, classes;
    CheckKind check;
    uint64_t seed;    // check randomize's, for its table
    FaithSpec eval;   // --eval's settings, for its lines
    int total;        // inputs in the run
    int ignored, subfolders; // what the folder scan left out (inputs.h)
    double started;   // ms, CLOCK_MONOTONIC
    cJSON *settings_json; // the run's settings (provenance.h), owned; NULL: none
    const char *channel_target; // "channel K of LAYER" for a --channel target, else NULL
    int warned_crop;  // the center-crop warning was given (once a run)
    int redone;       // existing outputs replaced (--skip-existing found them stale)
    int out_failed;   // the errno of a record that could not be written, or 0
    struct HtmlPage *page; // --report's page (html.h), borrowed; NULL: none
    int page_failed;  // its thumbnails or rewrites that failed (the first one said)
} Report;

/* settings: the run's, as provenance_settings made them, or NULL. */
int report_init(Report *r, int topk, int classes, const char *settings, Error *e);
void report_free(Report *r);
/* "guidedbp: msg" on stderr, control bytes escaped, the progress bar cleared. */
void report_error(const Report *r, const char *msg);
void report_result(void *report, const Input *in, const Result *res);
/* The pipeline's ResultsFn: an image's results as its PNG stores them, the
 * same fields as its record's. */
char *report_results_text(void *report, const Input *in, const Result *res);
void report_group(void *report, const PipelineCounts *counts);
/* The note on an interrupted run, and the batch summary line. */
void report_summary(const Report *r, const PipelineCounts *counts, int interrupted);
double report_now_ms(void);
/* A string of bytes from outside (a file name, a message quoting one) into
 * object o under key, or appended to array o with key NULL: as valid UTF-8
 * JSON whatever the bytes (text_json_string). */
void report_add_bytes(cJSON *o, const char *key, const char *s);
/* The progress line for `columns` terminal columns, never wider than
 * columns - 1: a bar when there is room, done/total, the rate and the ETA
 * of the images worked on (skipped ones excluded; "ETA --" until one is). */
void report_progress_line(char *out, size_t len, int columns, const PipelineCounts *c, int total,
                          double secs);

#endif
