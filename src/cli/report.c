#include "cli/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "cli/html.h"
#include "cli/labels.h"
#include "util/text.h"

double report_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int report_init(Report *r, int topk, int classes, const char *settings, Error *e) {
    r->topk = topk < classes ? topk : classes;
    r->classes = classes;
    r->started = report_now_ms();
    if (settings && !(r->settings_json = cJSON_Parse(settings)))
        return error_set(e, "out of memory");
    return 0;
}

void report_free(Report *r) {
    if (!r) return;
    cJSON_Delete(r->settings_json);
    r->settings_json = NULL;
}

static void clear_progress(const Report *r) {
    if (r->progress) fprintf(stderr, "\r\033[K"); // erase the line, whatever its width
}

void report_error(const Report *r, const char *msg) {
    clear_progress(r);
    fputs("guidedbp: ", stderr);
    text_escape_to(stderr, msg);
    fputc('\n', stderr);
}

void report_progress_line(char *out, size_t len, int columns, const PipelineCounts *c, int total,
                          double secs) {
    int finished = c->done + c->failed + c->skipped, worked = c->done + c->failed;
    // The rate and the ETA count images worked on, not skipped ones (a
    // resume skips fast, then works at the usual pace).
    double rate = secs > 0 ? worked / secs : 0;
    char eta[32] = "ETA --";
    if (worked > 0 && rate > 0) {
        int s = (int)((total - finished) / rate);
        snprintf(eta, sizeof eta, "ETA %dm%02ds", s / 60, s % 60);
    }
    char tail[96];
    int n = snprintf(tail, sizeof tail, " %d/%d  %.1f images/s  %s", finished, total, rate, eta);
    // The bar takes what the terminal has left (one column spare, so the
    // line never wraps); a terminal too narrow for it gets the numbers only.
    int bar = columns - 1 - n - 2;
    bar = bar > 40 ? 40 : bar;
    size_t used = 0;
    if (bar >= 5) {
        int filled = total ? (int)((long long)finished * bar / total) : bar;
        out[used++] = '[';
        for (int i = 0; i < bar && used + 2 < len; i++) out[used++] = i < filled ? '#' : '.';
        out[used++] = ']';
    }
    snprintf(out + used, len - used, "%.*s", columns > 1 ? columns - 1 - (int)used : 0, tail);
}

void report_group(void *report, const PipelineCounts *c) {
    Report *r = report;
    if (r->progress) {
        char line[256];
        report_progress_line(line, sizeof line, r->columns, c, r->total,
                             (report_now_ms() - r->started) / 1e3);
        fprintf(stderr, "\r%s\033[K", line);
    }
    fflush(r->out);
    Error err;
    if (r->page && html_due(r->page, report_now_ms()) && html_write(r->page, &err) != 0 &&
        !r->page_failed++)
        report_error(r, err.msg);
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

/* A rank correlation with a constant map is undefined (NaN, as scipy's
 * spearmanr gives): null, with the reason, never a number that reads as
 * "unchanged". */
static void add_similarity(cJSON *o, const char *key, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, v);
}

static cJSON *similarity_json(const Similarity *s, const char *layer) {
    cJSON *o = cJSON_CreateObject();
    if (layer) cJSON_AddStringToObject(o, "layer", layer);
    add_similarity(o, "spearman_abs", s->spearman_abs);
    add_similarity(o, "spearman", s->spearman);
    add_similarity(o, "ssim", s->ssim);
    if (isnan(s->spearman_abs) || isnan(s->spearman) || isnan(s->ssim))
        cJSON_AddStringToObject(o, "undefined", "a compared map is constant: it has no ranks");
    return o;
}

/* One similarity for the table: "undefined" rather than nan. */
static void print_similarity(double v) {
    if (isnan(v)) fprintf(stderr, " %9s", "undefined");
    else fprintf(stderr, " %9.4f", v);
}

static cJSON *check_json(CheckKind check, const CheckResult *c) {
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
static void print_check(const Report *r, const Input *in, const Result *res) {
    const CheckResult *c = &res->check;
    clear_progress(r);
    if (r->check == CHECK_CLASS) {
        const char *a = labels_name(res->target, r->classes), *b = labels_name(c->vs, r->classes);
        fprintf(stderr, "check class: ");
        text_escape_to(stderr, in->path);
        fprintf(stderr, ", map of %d %s vs map of %d %s\n", res->target, a ? a : "-", c->vs,
                b ? b : "-");
        fprintf(stderr, "  spearman_abs");
        print_similarity(c->class_sim.spearman_abs);
        fprintf(stderr, "  spearman");
        print_similarity(c->class_sim.spearman);
        fprintf(stderr, "  ssim");
        print_similarity(c->class_sim.ssim);
        fprintf(stderr, "\n");
        if (isnan(c->class_sim.spearman_abs) || isnan(c->class_sim.spearman))
            fprintf(stderr, "  (undefined: a map is constant, so it has no ranks)\n");
        return;
    }
    fprintf(stderr, "check randomize: ");
    text_escape_to(stderr, in->path);
    fprintf(stderr, ", seed %llu (1 = the map did not change)\n", (unsigned long long)r->seed);
    int wide = 14; // the layer column, as wide as its longest name
    for (int l = 0; l < c->steps; l++) {
        int n = (int)strlen(c->cascading[l].layer);
        wide = n > wide ? n : wide;
    }
    fprintf(stderr, "  %-*s %-29s %s\n", wide, "re-drawn", "cascading (this and above)",
            "independent (this layer only)");
    fprintf(stderr, "  %-*s %9s %9s %9s  %9s %9s %9s\n", wide, "layer", "sp_abs", "spearman",
            "ssim", "sp_abs", "spearman", "ssim");
    for (int l = 0; l < c->steps; l++) {
        const Similarity *x = &c->cascading[l].sim, *y = &c->independent[l].sim;
        fprintf(stderr, "  %-*s", wide, c->cascading[l].layer);
        print_similarity(x->spearman_abs);
        print_similarity(x->spearman);
        print_similarity(x->ssim);
        fprintf(stderr, " ");
        print_similarity(y->spearman_abs);
        print_similarity(y->spearman);
        print_similarity(y->ssim);
        fprintf(stderr, "\n");
    }
}

/* A NaN (a relative drop of a score that was not positive) as null. */
static void add_number(cJSON *o, const char *key, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, v);
}

static cJSON *curve_json(const FaithResult *f, const double *scores, double auc) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "auc", auc);
    cJSON *pixels = cJSON_AddArrayToObject(o, "pixels"), *list = cJSON_AddArrayToObject(o, "scores");
    for (int i = 0; i <= f->steps; i++) {
        cJSON_AddItemToArray(pixels, cJSON_CreateNumber(
            (double)faith_pixels_at(i, f->steps, f->height, f->width)));
        cJSON_AddItemToArray(list, cJSON_CreateNumber(scores[i]));
    }
    return o;
}

/* --eval's numbers: each metric asked for, its whole curve included. */
static cJSON *eval_json(const FaithSpec *s, const FaithResult *f) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "score", eval_score_names[s->score]);
    cJSON_AddNumberToObject(o, "total_pixels", (double)f->height * f->width);
    if (s->evals & 1u << EVAL_DELETION)
        cJSON_AddItemToObject(o, "deletion", curve_json(f, f->deletion, f->deletion_auc));
    if (s->evals & 1u << EVAL_INSERTION)
        cJSON_AddItemToObject(o, "insertion", curve_json(f, f->insertion, f->insertion_auc));
    if (s->evals & 1u << EVAL_ROAD) {
        cJSON *road = cJSON_AddObjectToObject(o, "road");
        cJSON_AddItemToObject(road, "percents", cJSON_CreateIntArray(s->percents, s->n_percents));
        cJSON_AddItemToObject(road, "morf", cJSON_CreateDoubleArray(f->morf, s->n_percents));
        cJSON_AddItemToObject(road, "lerf", cJSON_CreateDoubleArray(f->lerf, s->n_percents));
        cJSON_AddNumberToObject(road, "morf_mean", f->morf_mean);
        cJSON_AddNumberToObject(road, "lerf_mean", f->lerf_mean);
        cJSON_AddNumberToObject(road, "combined", f->road);
        cJSON_AddNumberToObject(road, "cg_iterations", f->road_iterations);
    }
    if (s->evals & 1u << EVAL_AVG_DROP) {
        cJSON *d = cJSON_AddObjectToObject(o, "avg_drop");
        cJSON_AddNumberToObject(d, "original", f->original);
        cJSON_AddNumberToObject(d, "masked", f->masked);
        cJSON_AddNumberToObject(d, "drop", f->drop);
        add_number(d, "relative_drop", f->relative_drop);
        cJSON_AddBoolToObject(d, "increase", f->increase);
    }
    return o;
}

/* --eval's numbers on stderr, for people. */
static void print_eval(const Report *r, const Input *in, const Result *res) {
    const FaithSpec *s = &r->eval;
    const FaithResult *f = &res->eval;
    const char *name = labels_name(res->target, r->classes);
    clear_progress(r);
    fprintf(stderr, "eval: ");
    text_escape_to(stderr, in->path);
    fprintf(stderr, ", class %d %s, score = %s\n", res->target, name ? name : "-",
            s->score == EVAL_PROBABILITY ? "softmax probability" : "logit");
    if (s->evals & 1u << EVAL_DELETION)
        fprintf(stderr, "  deletion   AUC %.6g (%d steps; lower is better)\n", f->deletion_auc,
                f->steps);
    if (s->evals & 1u << EVAL_INSERTION)
        fprintf(stderr, "  insertion  AUC %.6g (%d steps; higher is better)\n", f->insertion_auc,
                f->steps);
    if (s->evals & 1u << EVAL_ROAD) {
        fprintf(stderr, "  road       (LeRF - MoRF) / 2 = %.6g (higher is better); MoRF mean %.6g, "
                "LeRF mean %.6g\n", f->road, f->morf_mean, f->lerf_mean);
        fprintf(stderr, "    %%     ");
        for (int q = 0; q < s->n_percents; q++) fprintf(stderr, " %9d", s->percents[q]);
        fprintf(stderr, "\n    MoRF  ");
        for (int q = 0; q < s->n_percents; q++) fprintf(stderr, " %9.4g", f->morf[q]);
        fprintf(stderr, "\n    LeRF  ");
        for (int q = 0; q < s->n_percents; q++) fprintf(stderr, " %9.4g", f->lerf[q]);
        fprintf(stderr, "\n");
    }
    if (s->evals & 1u << EVAL_AVG_DROP) {
        fprintf(stderr, "  avg-drop   drop %.6g", f->drop);
        if (!isnan(f->relative_drop)) fprintf(stderr, " (%.4g%%)", 100 * f->relative_drop);
        fprintf(stderr, ", increase %s; score %.6g, on input x map %.6g\n",
                f->increase ? "yes" : "no", f->original, f->masked);
    }
}

static void add_class(cJSON *j, const Report *r, int class, const float *logits) {
    const char *name = labels_name(class, r->classes);
    cJSON_AddNumberToObject(j, "class", class);
    if (name) cJSON_AddStringToObject(j, "class_name", name);
    else cJSON_AddNullToObject(j, "class_name");
    cJSON_AddNumberToObject(j, "score", logits[class]);
    cJSON_AddNumberToObject(j, "probability", softmax_at(logits, r->classes, class));
}

/* The results of an image: the fields its record and its PNG share. A
 * channel target has no class: class, class_name, score and probability
 * are null, and the top-k say what the model predicted. Reentrant (the
 * pipeline calls it on its threads). */
static cJSON *results_json(const Report *r, const Result *res) {
    cJSON *j = cJSON_CreateObject();
    int done = res->status == RESULT_DONE;
    if (done && !r->channel_target) {
        add_class(j, r, res->target, res->logits);
    } else {
        cJSON_AddNullToObject(j, "class");
        cJSON_AddNullToObject(j, "class_name");
        cJSON_AddNullToObject(j, "score");
        cJSON_AddNullToObject(j, "probability");
    }
    int *top = done ? malloc(sizeof *top * (size_t)(r->topk + 1)) : NULL;
    if (top) {
        top_classes(res->logits, r->classes, top, r->topk);
        cJSON *list = cJSON_AddArrayToObject(j, "topk");
        for (int t = 0; t < r->topk; t++) {
            cJSON *c = cJSON_CreateObject();
            add_class(c, r, top[t], res->logits);
            cJSON_AddItemToArray(list, c);
        }
        free(top);
    } else {
        cJSON_AddNullToObject(j, "topk");
    }
    if (res->width) {
        cJSON_AddNumberToObject(j, "width", res->width);
        cJSON_AddNumberToObject(j, "height", res->height);
    } else {
        cJSON_AddNullToObject(j, "width");
        cJSON_AddNullToObject(j, "height");
    }
    if (done) cJSON_AddBoolToObject(j, "flat", res->flat);
    if (res->checked) cJSON_AddItemToObject(j, "check", check_json(r->check, &res->check));
    if (res->evaluated) cJSON_AddItemToObject(j, "eval", eval_json(&r->eval, &res->eval));
    return j;
}

char *report_results_text(void *report, const Input *in, const Result *res) {
    (void)in;
    cJSON *j = results_json(report, res);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* "KEY WAS (now NOW)" for each top-level setting that differs, into out. */
static void settings_diff(char *out, size_t len, const char *was, const cJSON *now) {
    cJSON *old = cJSON_Parse(was);
    size_t used = 0;
    out[0] = '\0';
    const cJSON *item;
    // The keys of both, the current ones first.
    for (int pass = 0; old && pass < 2; pass++) {
        const cJSON *list = pass == 0 ? now : old; // (the macro needs a name)
        cJSON_ArrayForEach(item, list) {
            const cJSON *other =
                cJSON_GetObjectItemCaseSensitive(pass == 0 ? old : now, item->string);
            if (pass == 1 && other) continue; // compared in the first pass
            if (other && cJSON_Compare(item, other, 1)) continue;
            char *a = pass == 0 ? (other ? cJSON_PrintUnformatted(other) : NULL)
                                : cJSON_PrintUnformatted(item);
            char *b = pass == 0 ? cJSON_PrintUnformatted(item) : NULL;
            if (used < len)
                used += (size_t)snprintf(out + used, len - used, "%s%s %s (now %s)",
                                         used ? ", " : "", item->string, a ? a : "absent",
                                         b ? b : "absent");
            free(a);
            free(b);
        }
    }
    if (!old) snprintf(out, len, "settings that do not parse");
    cJSON_Delete(old);
}

/* Why an existing output was replaced, for the record and the note. */
static void redo_reason(char *out, size_t len, const Report *r, const Result *res) {
    char diff[600];
    switch (res->redo) {
    case REDO_UNREADABLE:
        snprintf(out, len, "the existing output is not a PNG guidedbp can read");
        break;
    case REDO_UNKNOWN:
        snprintf(out, len, "the existing output does not say how it was made (not guidedbp's, "
                 "or made before 0.4.0)");
        break;
    case REDO_SETTINGS:
        settings_diff(diff, sizeof diff, res->was, r->settings_json);
        snprintf(out, len, "the existing output was made with other settings: %s", diff);
        break;
    case REDO_INPUT:
        snprintf(out, len, res->input_sha[0] ? "the existing output was made from another input "
                           "file (its SHA-256 differs)" : "standard input cannot be compared "
                           "with the existing output's input");
        break;
    case REDO_NPY: snprintf(out, len, "the existing output's .npy is missing"); break;
    case REDO_NONE:
    case REDOS: out[0] = '\0'; break;
    }
}

/* text and a newline in one write(2), after what r->out holds: a kill -9
 * can lose a record but never leave half of one in a JSON Lines file. A
 * failure sets r->out_failed. */
static void write_line(Report *r, const char *text) {
    size_t n = strlen(text);
    char *line = malloc(n + 1);
    if (!line || fflush(r->out) != 0) {
        free(line);
        r->out_failed = errno ? errno : ENOMEM;
        return;
    }
    memcpy(line, text, n);
    line[n] = '\n';
    for (size_t at = 0; at <= n;) {
        ssize_t wrote = write(fileno(r->out), line + at, n + 1 - at);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) {
            r->out_failed = wrote < 0 ? errno : EIO;
            break;
        }
        at += (size_t)wrote;
    }
    free(line);
}

void report_add_bytes(cJSON *o, const char *key, const char *s) {
    char *literal = text_json_string(s);
    cJSON *item = literal ? cJSON_CreateRaw(literal) : cJSON_CreateNull();
    free(literal);
    if (key) cJSON_AddItemToObject(o, key, item);
    else cJSON_AddItemToArray(o, item);
}

/* The record's "status" for each ResultStatus. */
static const char *const status_names[] = {"ok", "skipped", "error"};
_Static_assert(sizeof status_names / sizeof *status_names == RESULT_STATUSES, "a name for each value");

/* An image's record, as --json prints it; without the run's settings
 * when `settings` is 0 (the HTML page holds them once). */
static cJSON *record_json(const Report *r, const Input *in, const Result *res, const char *redo,
                          int settings) {
    cJSON *j = cJSON_CreateObject(), *outs = cJSON_CreateArray();
    report_add_bytes(j, "input", in->path);
    cJSON_AddNumberToObject(j, "index", in->index);
    if (res->written || res->status == RESULT_SKIPPED) {
        report_add_bytes(outs, NULL, in->png);
        if (in->npy) report_add_bytes(outs, NULL, in->npy);
    }
    cJSON_AddItemToObject(j, "outputs", outs);
    cJSON_AddStringToObject(j, "status", status_names[res->status]);
    if (res->status == RESULT_FAILED) report_add_bytes(j, "error", res->err.msg);
    else cJSON_AddNullToObject(j, "error");
    if (*redo) report_add_bytes(j, "redone", redo);
    else cJSON_AddNullToObject(j, "redone");
    if (res->input_sha[0]) cJSON_AddStringToObject(j, "input_sha256", res->input_sha);
    else cJSON_AddNullToObject(j, "input_sha256");
    if (r->settings_json && settings)
        cJSON_AddItemToObject(j, "settings", cJSON_Duplicate(r->settings_json, 1));
    // The results: this run's, or for a skipped image those its PNG holds.
    cJSON *results = res->status == RESULT_SKIPPED ? cJSON_Parse(res->stored ? res->stored : "")
                                                   : results_json(r, res);
    if (!cJSON_IsObject(results)) {
        cJSON_Delete(results);
        Result none = {.width = res->width, .height = res->height};
        results = results_json(r, &none);
    }
    while (results->child) {
        cJSON *item = cJSON_DetachItemViaPointer(results, results->child);
        cJSON_AddItemToObject(j, item->string, item); // cJSON copies the key before freeing it
    }
    cJSON_Delete(results);
    cJSON_AddNumberToObject(j, "ms", round(res->ms * 10) / 10);
    return j;
}

static void print_json(Report *r, const Input *in, const Result *res, const char *redo) {
    cJSON *j = record_json(r, in, res, redo, 1);
    char *text = cJSON_PrintUnformatted(j);
    if (text) write_line(r, text);
    else r->out_failed = ENOMEM;
    free(text);
    cJSON_Delete(j);
}

/* in's row of the HTML page; a failure is said once (the summary's exit
 * status says it again). */
static void add_row(Report *r, const Input *in, const Result *res, const char *redo) {
    Error err;
    cJSON *j = record_json(r, in, res, redo, 0);
    if (j && html_add(r->page, j, in, res, &err) != 0 && !r->page_failed++)
        report_error(r, err.msg);
    cJSON_Delete(j);
}

/* a, then text, then b (each NULL for nothing): a and b are paths, shown
 * with their control bytes escaped (text.h), text is ours. */
static void put_paths(FILE *f, const char *a, const char *text, const char *b) {
    if (a) text_escape_to(f, a);
    if (text) fputs(text, f);
    if (b) text_escape_to(f, b);
}

/* What the map explains, for people: "281 tabby" or "channel 3 of features.10". */
static void describe_target(char *out, size_t len, const Report *r, int target) {
    const char *name = labels_name(target, r->classes);
    if (r->channel_target) snprintf(out, len, "%s", r->channel_target);
    else snprintf(out, len, "%d %s", target, name ? name : "-");
}

static void print_human(const Report *r, const Input *in, const Result *res) {
    char what[160];
    if (res->status == RESULT_SKIPPED) {
        cJSON *stored = cJSON_Parse(res->stored ? res->stored : "");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(stored, "class");
        const cJSON *score = cJSON_GetObjectItemCaseSensitive(stored, "score");
        if (cJSON_IsNumber(c) && cJSON_IsNumber(score)) {
            describe_target(what, sizeof what, r, c->valueint);
            put_paths(r->out, in->path, ": skipped, ", in->png);
            fprintf(r->out, " (%s %.4f) was made with these settings\n", what, score->valuedouble);
        } else {
            put_paths(r->out, in->path, ": skipped, ", in->png);
            fprintf(r->out, " was made with these settings\n");
        }
        cJSON_Delete(stored);
        return;
    }
    const float *logits = res->logits;
    describe_target(what, sizeof what, r, res->target);
    if (r->batch_mode) {
        text_escape_to(r->out, in->path);
        if (r->channel_target) fprintf(r->out, ": %s -> ", what);
        else fprintf(r->out, ": %s %.4f -> ", what, logits[res->target]);
        put_paths(r->out, in->png, "\n", NULL);
        return;
    }
    put_paths(r->out, NULL, "image:  ", in->path);
    fprintf(r->out, " (%dx%d)\n", res->width, res->height);
    if (r->channel_target)
        fprintf(r->out, "target: %s (the sum of its activations)\n", what);
    else
        fprintf(r->out, "target: %s (score %.4f, p %.4f)\n", what, logits[res->target],
                softmax_at(logits, r->classes, res->target));
    int *top = malloc(sizeof *top * (size_t)(r->topk + 1));
    if (top && r->topk > 0) {
        top_classes(logits, r->classes, top, r->topk);
        fprintf(r->out, "top-%d:\n", r->topk);
    }
    for (int t = 0; top && t < r->topk; t++) {
        int c = top[t];
        const char *name = labels_name(c, r->classes);
        fprintf(r->out, "  %4d  %-28s %10.4f  p %.4f\n", c, name ? name : "-", logits[c],
               softmax_at(logits, r->classes, c));
    }
    free(top);
    put_paths(r->out, NULL, "saliency: ", in->png);
    fputc('\n', r->out);
    if (in->npy) put_paths(r->out, NULL, "raw map: ", in->npy), fputc('\n', r->out);
}

void report_result(void *report, const Input *in, const Result *res) {
    Report *r = report;
    char msg[sizeof res->err.msg + 200];
    if (res->status == RESULT_DONE && res->kept < 0.75 && !r->warned_crop && !r->quiet) {
        snprintf(msg, sizeof msg, "%s: warning: the center crop (the recipe's) explains only "
                 "%.0f%% of this %dx%d image; --full-size shows which part, --crop none "
                 "explains it all (said once a run)",
                 in->path, 100 * res->kept, res->width, res->height);
        report_error(r, msg);
        r->warned_crop = 1;
    }
    if (res->clipped && !r->quiet) {
        snprintf(msg, sizeof msg, "%s: warning: 16-bit grey PNG: %lld samples above 255 "
                 "clipped to white, as Pillow's convert('RGB') does (README: How it works)",
                 in->path, (long long)res->clipped);
        report_error(r, msg);
    }
    if (res->flat && !r->quiet) {
        snprintf(msg, sizeof msg, "%s: the map has no contrast to show (it is constant); "
                 "wrote a flat image", in->path);
        report_error(r, msg);
    }
    char redo[800];
    redo_reason(redo, sizeof redo, r, res);
    if (*redo) {
        // Said for the first; the summary counts them.
        if (!r->redone++ && !r->quiet) {
            snprintf(msg, sizeof msg, "%s: redoing %s: %s (said once a run; --json records say "
                     "it for each)", in->path, in->png, redo);
            report_error(r, msg);
        }
    }
    if (res->status == RESULT_FAILED) report_error(r, res->err.msg);
    if (res->checked && !r->quiet) print_check(r, in, res);
    if (res->evaluated && !r->quiet) print_eval(r, in, res);
    if (r->page) add_row(r, in, res, redo);
    if (r->json) {
        clear_progress(r);
        print_json(r, in, res, redo);
    } else if (!r->quiet && res->status != RESULT_FAILED) {
        clear_progress(r);
        print_human(r, in, res);
    }
}

void report_summary(const Report *r, const PipelineCounts *c, int interrupted) {
    clear_progress(r);
    int finished = c->done + c->failed + c->skipped;
    if (interrupted)
        fprintf(stderr, "guidedbp: interrupted after %d of %d images; finished outputs are "
                        "complete (rerun with --skip-existing to resume)\n", finished, r->total);
    if (r->batch_mode && !r->quiet) {
        fprintf(stderr, "guidedbp: %d done, %d skipped, %d failed of %d images (%.1f s)",
                c->done, c->skipped, c->failed, r->total, (report_now_ms() - r->started) / 1e3);
        if (r->redone)
            fprintf(stderr, "; %d existing output%s redone (not made with these settings from "
                    "these files)", r->redone, r->redone == 1 ? "" : "s");
        if (r->ignored)
            fprintf(stderr, "; %d other file%s in the folders left out (not .png, .jpg or .jpeg)",
                    r->ignored, r->ignored == 1 ? "" : "s");
        if (r->subfolders)
            fprintf(stderr, "; %d subfolder%s not entered (-r enters them)", r->subfolders,
                    r->subfolders == 1 ? "" : "s");
        fputc('\n', stderr);
    }
}
