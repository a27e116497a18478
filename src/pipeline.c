#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/fileio.h"
#include "io/npy.h"
#include "io/png.h"
#include "explain/plot.h"
#include "util/parallel.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The images the network holds at once: the batch, or for a method of many
 * passes per image (integrated gradients, SmoothGrad) up to
 * PIPELINE_PASS_BATCH of its passes at once, within PIPELINE_PASS_MEMORY_MB
 * (a pass's gradients are the same bits however many run together). */
static int net_batch(const PipelineConfig *c, const Weights *w, int h, int wd, Error *e) {
    int passes = c->spec.method == METHOD_INTEGRATED ? c->spec.steps : c->spec.smooth;
    if (passes <= c->batch) return c->batch;
    size_t one;
    if (net_memory(w, h, wd, 1, &one, e) != 0) return -1;
    size_t fit = ((size_t)PIPELINE_PASS_MEMORY_MB << 20) / (one ? one : 1);
    int most = passes < PIPELINE_PASS_BATCH ? passes : PIPELINE_PASS_BATCH;
    int b = fit < (size_t)most ? (int)fit : most;
    return b > c->batch ? b : c->batch;
}

/* The explainers and the per-pixel buffers at input size h x w, replacing
 * those of another size; on failure the pipeline holds none (the next
 * input tries again). */
static int pipeline_shape(Pipeline *p, int h, int w, Error *e) {
    const PipelineConfig *c = &p->c;
    explain_free(&p->x);
    explain_free(&p->check);
    faith_free(&p->faith);
    // The budget, checked before anything is allocated.
    size_t need = 0, check = 0, eval = 0;
    int batch = net_batch(c, p->weights, h, w, e);
    if (batch < 0 || net_memory(p->weights, h, w, batch, &need, e) != 0 ||
        ((c->check || c->compare.n) && net_memory(p->weights, h, w, 1, &check, e) != 0))
        return -1;
    double budget = c->max_memory > 0 ? (double)c->max_memory
                                      : (double)batch * h * w * PIPELINE_BYTES_PER_PIXEL;
    // Passes at once are a speed-up, never a reason to refuse: past
    // --max-memory they run a batch at a time.
    if (batch > c->batch && (double)(need + check) > budget) {
        batch = c->batch;
        if (net_memory(p->weights, h, w, batch, &need, e) != 0) return -1;
        budget = c->max_memory > 0 ? (double)c->max_memory
                                   : (double)batch * h * w * PIPELINE_BYTES_PER_PIXEL;
    }
    // --eval's batch: as many perturbed inputs as the budget leaves room
    // for, up to what a curve needs; its results do not depend on it.
    int steps = faith_steps(&c->eval, h, w), eval_batch = 0;
    if (c->eval.evals) {
        int want = c->eval.evals & (1u << EVAL_DELETION | 1u << EVAL_INSERTION) ? steps + 1 : 2;
        if (c->eval.evals & 1u << EVAL_ROAD && 2 * c->eval.n_percents > want)
            want = 2 * c->eval.n_percents;
        eval_batch = want < PIPELINE_EVAL_BATCH ? want : PIPELINE_EVAL_BATCH;
        for (;; eval_batch /= 2) {
            if (eval_batch < 2) eval_batch = 2;
            if (faith_memory(p->weights, h, w, eval_batch, c->threads, &eval, e) != 0) return -1;
            if ((double)(need + check + eval) <= budget || eval_batch == 2) break;
        }
    }
    if ((double)(need + check + eval) > budget) {
        error_set(e, "the model needs %zu MB for a batch of %d %dx%d input%s%s, more than %s%.0f MB%s",
                  (need + check + eval) >> 20, batch, w, h, batch == 1 ? "" : "s",
                  c->eval.evals ? " and --eval's perturbed inputs" : "",
                  c->max_memory > 0 ? "--max-memory's " : "the budget of ", budget / 1048576,
                  c->max_memory > 0 ? "" : " (10 KB an input pixel, more than any torchvision "
                  "model needs: are its layers this wide?); --max-memory MB raises it");
        return PIPELINE_OVER_BUDGET;
    }
    free(p->pixels), free(p->crops), free(p->clean), free(p->curves), free(p->saliency);
    p->pixels = p->crops = NULL, p->clean = NULL, p->curves = NULL, p->saliency = NULL;
    if (explain_init_size(&p->x, p->weights, &c->spec, h, w, batch, c->threads, c->isa, e) !=
            0 ||
        (c->check &&
         explain_init_size(&p->check, p->weights, &c->spec, h, w, 1, c->threads, c->isa, e) != 0) ||
        (c->eval.evals &&
         faith_init(&p->faith, p->weights, h, w, eval_batch, c->threads, c->isa, e) != 0)) {
        explain_free(&p->x);
        explain_free(&p->check);
        return -1;
    }
    size_t b = (size_t)c->batch, map = (size_t)h * w * 3;
    int want_crops = c->style == STYLE_HEATMAP || c->compare.n || c->keep_pictures,
        want_clean = c->check != CHECK_NONE || c->compare.n || c->eval.evals;
    p->pixels = malloc(b * map);
    if (want_crops) p->crops = malloc(b * map);
    if (want_clean) p->clean = malloc(sizeof *p->clean * b * map);
    if (c->eval.evals) {
        p->curves = malloc(sizeof *p->curves * b * 2 * (size_t)(steps + 1));
        p->saliency = malloc(sizeof *p->saliency * (size_t)h * w);
    }
    if (!p->pixels || (want_crops && !p->crops) || (want_clean && !p->clean) ||
        (c->eval.evals && (!p->curves || !p->saliency))) {
        explain_free(&p->x);
        explain_free(&p->check);
        faith_free(&p->faith);
        return error_set(e, "out of memory for a batch of %zu images of %dx%d", b, w, h);
    }
    return 0;
}

int pipeline_init(Pipeline *p, const PipelineConfig *c, const Weights *w, int n_inputs,
                  Error *e) {
    memset(p, 0, sizeof *p);
    p->c = *c;
    p->c.spec.stop = c->stop; // long methods and checks hear a signal between passes
    p->weights = w;
    int batch = c->batch < n_inputs ? c->batch : (n_inputs > 0 ? n_inputs : 1);
    p->c.batch = c->crop == CROP_NONE ? 1 : batch;
    size_t b = (size_t)p->c.batch;
    p->images = calloc(b, sizeof *p->images);
    p->boxes = malloc(sizeof *p->boxes * b);
    p->results = malloc(sizeof *p->results * b);
    if (!p->images || !p->boxes || !p->results) {
        pipeline_free(p);
        return error_set(e, "out of memory");
    }
    int64_t decoding = c->max_decode_memory > 0 ? c->max_decode_memory
                                                : (int64_t)PIPELINE_DECODE_MEMORY_MB << 20;
    if (budget_init(&p->decoding, (size_t)decoding) != 0) {
        pipeline_free(p);
        return error_set(e, "cannot make a lock for the decoding budget");
    }
    p->has_budget = 1;
    // The recipe's size; --crop none reshapes to each image's.
    int rc = pipeline_shape(p, PREPROCESS_SIZE, PREPROCESS_SIZE, e);
    if (rc != 0) {
        pipeline_free(p);
        return rc;
    }
    return 0;
}

void pipeline_free(Pipeline *p) {
    if (!p) return;
    for (int i = 0; p->images && i < p->c.batch; i++) image_free(&p->images[i]);
    free(p->images);
    free(p->boxes);
    free(p->pixels);
    free(p->results);
    free(p->crops);
    free(p->clean);
    free(p->curves);
    free(p->saliency);
    explain_free(&p->x);
    explain_free(&p->check);
    faith_free(&p->faith);
    if (p->has_budget) budget_free(&p->decoding);
    memset(p, 0, sizeof *p);
}

/* Does slot's image fit the explainer's input size? */
static int fits(const Pipeline *p, int slot) {
    return p->boxes[slot].crop_w == p->x.width && p->boxes[slot].crop_h == p->x.height;
}

/* Preprocesses the image in slot `slot` into the explainer's input there. */
static void preprocess_slot(Pipeline *p, const Input *in, int slot, Result *res) {
    size_t map = (size_t)p->x.height * p->x.width * 3;
    Error err;
    if (preprocess_apply(&p->images[slot], &p->boxes[slot], explain_input(&p->x, slot),
                         p->crops ? p->crops + (size_t)slot * map : NULL, &err) != 0) {
        error_set(&res->err, "%s: %s", in->path, err.msg);
        res->status = RESULT_FAILED;
    }
    if (!p->c.full_size) image_free(&p->images[slot]);
}

/* --skip-existing: keeps in's output, res then RESULT_SKIPPED with the
 * results it stores, when it was made with this run's settings from the
 * same input file (res->input_sha); otherwise says in res->redo why not. */
static void keep_existing(const PipelineConfig *c, const Input *in, Result *res) {
    static const char *const keys[] = {PIPELINE_SETTINGS, PIPELINE_INPUT, PIPELINE_RESULTS};
    char *text[3];
    Error ignored;
    if (png_read_texts(in->png, keys, 3, text, &ignored) != 0) {
        res->redo = REDO_UNREADABLE;
        return;
    }
    if (!text[0] || !c->settings) {
        res->redo = REDO_UNKNOWN;
    } else if (strcmp(text[0], c->settings) != 0) {
        res->redo = REDO_SETTINGS, res->was = text[0], text[0] = NULL;
    } else if (!res->input_sha[0] || !text[1] || strcmp(text[1], res->input_sha) != 0) {
        res->redo = REDO_INPUT;
    } else if (in->npy && !file_exists(in->npy)) {
        res->redo = REDO_NPY;
    } else {
        res->status = RESULT_SKIPPED, res->stored = text[2], text[2] = NULL;
    }
    for (int k = 0; k < 3; k++) free(text[k]);
}

/* Decodes an input into batch slot `slot` and, when it fits the
 * explainer's size, preprocesses it (else run_group reshapes first); or
 * keeps its existing output (--skip-existing). */
static void load_input(Pipeline *p, const Input *in, int slot, Result *res) {
    Image *img = &p->images[slot];
    CropBox *b = &p->boxes[slot];
    Error err;
    // The input's digest, for its provenance: read alone only to compare
    // with an existing output (standard input cannot be read twice), else
    // computed as the image is read.
    if (p->c.skip_existing && file_exists(in->png)) {
        if (strcmp(in->path, "-") == 0 || digest_file(in->path, res->input_sha, &err) != 0)
            res->input_sha[0] = '\0'; // unreadable: fails below, with image_load's message
        keep_existing(&p->c, in, res);
        if (res->status == RESULT_SKIPPED) return;
    }
    // (Hashed above already when there was an output to compare with.)
    // The file is read under the budget, then decoded under its estimate
    // of the decoders' memory; that is held until the image is preprocessed.
    char *sha = res->input_sha[0] ? NULL : res->input_sha;
    size_t held = 0, size;
    unsigned char *data;
    budget_take(&p->decoding, &held, file_size(in->path));
    if (image_read(in->path, &data, &size, sha, &res->err) != 0) {
        budget_give(&p->decoding, &held);
        res->status = RESULT_FAILED;
        return;
    }
    size_t need = image_decode_memory(data, size, p->c.max_pixels);
    if (need > held) budget_take(&p->decoding, &held, need - held);
    int rc = image_decode(data, size, in->path, p->c.max_pixels, img, &res->err);
    free(data);
    res->width = img->width;
    res->height = img->height;
    res->clipped = img->clipped;
    if (rc == 0 && preprocess_box(img->width, img->height, p->c.crop, b, &err) != 0) {
        error_set(&res->err, "%s: %s", in->path, err.msg);
        image_free(img);
        rc = -1;
    }
    if (rc != 0) {
        budget_give(&p->decoding, &held);
        res->status = RESULT_FAILED;
        return;
    }
    res->kept = (double)b->crop_w * b->crop_h / ((double)b->resized_w * b->resized_h);
    if (fits(p, slot)) preprocess_slot(p, in, slot, res);
    budget_give(&p->decoding, &held);
}

/* Renders and writes one image's PNG (and .npy); 0, or with res->err set
 * FILE_BAD_NAME (that name could not be written) or -1 (nothing can be). */
static int write_outputs(Pipeline *p, const Input *in, int slot, Result *res) {
    const PipelineConfig *c = &p->c;
    const int height = p->x.height, width = p->x.width;
    size_t plane = (size_t)height * width, map = plane * 3;
    int channels = style_channels(c->style), is_cam = method_is_cam(c->spec.method);
    const float *cam = p->x.cams ? p->x.cams + (size_t)slot * plane : NULL;
    uint8_t *picture = p->pixels + (size_t)slot * map;
    float *heat = NULL;
    if (c->style == STYLE_HEATMAP && !(heat = malloc(sizeof *heat * plane)))
        return error_set(&res->err, "%s: out of memory", in->png);
    int flat = render_picture(picture, heat, c->style, &c->overlay, is_cam,
                              p->x.maps + (size_t)slot * map, cam,
                              p->crops ? p->crops + (size_t)slot * map : NULL, height, width);
    if (flat < 0) {
        free(heat);
        return error_set(&res->err, "%s: out of memory", in->png);
    }
    res->flat = flat != 0;
    // Gradient maps are noise to deflate; cams, heatmaps and pictures
    // upsampled to the photo's size are smooth and worth compressing.
    int compress = is_cam || c->style == STYLE_HEATMAP || c->full_size;
    uint8_t *full = NULL;
    int h = height, w = width;
    if (c->full_size) {
        const Image *img = &p->images[slot];
        full = malloc((size_t)img->width * img->height * (size_t)channels);
        if (!full) {
            free(heat);
            return error_set(&res->err, "%s: out of memory for a %dx%d picture", in->png,
                             img->width, img->height);
        }
        if (render_full_size(full, c->style, &c->overlay, picture, heat, img, &p->boxes[slot],
                             &res->err) != 0) {
            free(full);
            free(heat);
            return -1;
        }
        picture = full, h = img->height, w = img->width;
    }
    free(heat);
    // Its provenance (pipeline.h), in the order a reader wants it.
    char *results = c->settings && c->results ? c->results(c->report_ctx, in, res) : NULL;
    PngText texts[4];
    int n_texts = 0;
    if (c->software) texts[n_texts++] = (PngText){"Software", c->software};
    if (c->settings) texts[n_texts++] = (PngText){PIPELINE_SETTINGS, c->settings};
    if (c->settings && res->input_sha[0])
        texts[n_texts++] = (PngText){PIPELINE_INPUT, res->input_sha};
    if (results) texts[n_texts++] = (PngText){PIPELINE_RESULTS, results};
    int rc = 0;
    if (c->settings && c->results && !results)
        rc = error_set(&res->err, "%s: out of memory", in->png);
    if (rc == 0 && c->make_dirs) rc = file_make_parents(in->png, &res->err);
    if (rc == 0) rc = png_write(in->png, picture, h, w, channels, compress, texts, n_texts, &res->err);
    if (rc == 0 && in->npy)
        rc = is_cam ? npy_write(in->npy, cam, height, width, 1, &res->err)
                    : npy_write(in->npy, p->x.maps + (size_t)slot * map, height, width, 3,
                                &res->err);
    free(full);
    free(results);
    if (rc == 0) res->written = 1;
    return rc;
}

/* What the map explains: "281 tabby", or the channel. */
static void target_title(const PipelineConfig *c, int k, int classes, char *out, size_t len) {
    const char *name = c->class_name ? c->class_name(k, classes) : NULL;
    if (c->spec.layer >= 0)
        snprintf(out, len, "channel %d", c->spec.channel);
    else if (name)
        snprintf(out, len, "%d %s", k, name);
    else
        snprintf(out, len, "%d", k);
}

static void strip_titles(const Pipeline *p, const Result *res, char (*text)[CHECK_TITLE_LEN]) {
    char target[64], vs[64];
    target_title(&p->c, res->target, p->x.classes, target, sizeof target);
    target_title(&p->c, res->check.vs, p->x.classes, vs, sizeof vs);
    check_titles(&res->check, p->c.check, target, vs, text);
}

/* The configured check of the image in `slot`, and its strip when asked; 0,
 * or -1 with res->err set. */
static int run_check(Pipeline *p, int slot, Result *res) {
    const PipelineConfig *c = &p->c;
    const int height = p->x.height, width = p->x.width;
    size_t map = (size_t)height * width * 3;
    const float *input = p->clean + (size_t)slot * map;
    float *base = malloc(sizeof *base * map);
    int tiles = c->check == CHECK_CLASS ? 2 : 1 + weights_layers(p->weights);
    float *maps = NULL;
    uint8_t *strip = NULL;
    char (*text)[CHECK_TITLE_LEN] = NULL;
    const char **titles = NULL;
    int rc = -1;
    if (!base) {
        error_set(&res->err, "check: out of memory");
        goto done;
    }
    explain_map3(&p->x, slot, base);
    size_t strip_size = (size_t)(RENDER_STRIP_BAND + height) * width * 3 * (size_t)tiles;
    if (c->strip && (!(maps = malloc(sizeof *maps * map * (size_t)tiles)) ||
                     !(strip = malloc(strip_size)) || !(text = malloc(sizeof *text * tiles)) ||
                     !(titles = malloc(sizeof *titles * tiles)))) {
        error_set(&res->err, "%s: out of memory for the check's strip", c->strip);
        goto done;
    }
    if (maps) memcpy(maps, base, sizeof *maps * map);
    if (c->check == CHECK_CLASS) {
        // The given --vs; else the lowest-scoring class whose map is not
        // constant (a cam of a class the image gives no evidence for is all
        // zero, and a constant map has no ranks to compare), trying the
        // VS_TRIES lowest.
        enum { VS_TRIES = 8 };
        const float *logits = p->x.logits + (size_t)slot * p->x.classes;
        float above = -INFINITY;
        for (int t = 0; t < (c->vs < 0 ? VS_TRIES : 1); t++) {
            int vs = c->vs;
            if (c->vs < 0) {
                vs = -1;
                for (int k = 0; k < p->x.classes; k++)
                    if (logits[k] > above && (vs < 0 || logits[k] < logits[vs])) vs = k;
                if (vs < 0) break;
                above = logits[vs];
            }
            if (check_class(&p->check, input, base, vs, &res->check, maps ? maps + map : NULL,
                            &res->err) != 0)
                goto done;
            if (!isnan(res->check.class_sim.spearman)) break;
        }
    } else if (check_randomize(&p->check, p->weights, input, base, res->target, c->seed,
                               &res->check, maps ? maps + map : NULL, &res->err) != 0) {
        goto done;
    }
    res->checked = 1;
    if (strip) {
        strip_titles(p, res, text);
        for (int t = 0; t < tiles; t++) titles[t] = text[t];
        if (render_strip(strip, maps, titles, tiles, height, width) != 0) {
            error_set(&res->err, "%s: out of memory", c->strip);
            goto done;
        }
        if (png_write(c->strip, strip, RENDER_STRIP_BAND + height, width * tiles, 3, 0, NULL, 0,
                      &res->err) != 0)
            goto done;
    }
    rc = 0;
done:
    free(titles);
    free(text);
    free(strip);
    free(maps);
    free(base);
    return rc;
}

/* The image in `slot` by each of c->compare's methods, for the same
 * target, side by side in the strip; 0, or -1 with res->err set. */
static int run_compare(Pipeline *p, int slot, Result *res) {
    const PipelineConfig *c = &p->c;
    const int height = p->x.height, width = p->x.width, tiles = c->compare.n;
    size_t plane = (size_t)height * width, map = plane * 3;
    uint8_t *pictures = malloc(map * (size_t)tiles), *one = malloc(map);
    uint8_t *strip = malloc((size_t)(RENDER_STRIP_BAND + height) * width * 3 * (size_t)tiles);
    float *heat = malloc(sizeof *heat * plane);
    char target[64], text[METHODS][96];
    const char *titles[METHODS];
    int rc = -1;
    if (!pictures || !one || !strip || !heat) {
        error_set(&res->err, "%s: out of memory for the methods' strip", c->strip);
        goto done;
    }
    target_title(c, res->target, p->x.classes, target, sizeof target);
    for (int t = 0; t < tiles; t++) {
        Method m = c->compare.method[t];
        MethodSpec spec = c->spec;
        spec.method = m;
        if (method_has_cam(m) || m == METHOD_INTEGRATED) spec.smooth = 0;
        Explainer x;
        Error err;
        if (explain_init_size(&x, p->weights, &spec, height, width, 1, c->threads, c->isa, &err) != 0) {
            error_set(&res->err, "-m %s: %s", method_names[m], err.msg);
            goto done;
        }
        memcpy(explain_input(&x, 0), p->clean + (size_t)slot * map, sizeof(float) * map);
        int ran = explain_run(&x, 1, res->target, &err);
        Style style = c->compare.style[t];
        if (ran == 0 && render_picture(one, heat, style, &c->overlay, method_is_cam(m), x.maps,
                                       x.cams, p->crops + (size_t)slot * map, height, width) < 0)
            ran = error_set(&err, "out of memory");
        explain_free(&x);
        if (ran != 0) {
            error_set(&res->err, "-m %s: %s", method_names[m], err.msg);
            goto done;
        }
        // A gray picture's one channel in all three.
        uint8_t *dst = pictures + (size_t)t * map;
        for (size_t i = 0; i < map; i++)
            dst[i] = style_channels(style) == 1 ? one[i / 3] : one[i];
        snprintf(text[t], sizeof text[t], "%s %s\n%.60s", method_names[m], style_names[style],
                 target);
        titles[t] = text[t];
    }
    render_strip_pictures(strip, pictures, titles, tiles, height, width);
    if (png_write(c->strip, strip, RENDER_STRIP_BAND + height, width * tiles, 3, 1, NULL, 0,
                  &res->err) == 0)
        rc = 0;
done:
    free(heat);
    free(strip);
    free(one);
    free(pictures);
    return rc;
}

/* --eval-plot: res's curves, score against the fraction of pixels
 * perturbed: deletion's and insertion's, ROAD's MoRF and LeRF at their
 * percentages; 0, or -1 with res->err set. */
static int plot_eval(const Pipeline *p, Result *res) {
    const PipelineConfig *c = &p->c;
    const FaithResult *r = &res->eval;
    int points = r->steps + 1, n = 0;
    double plane = (double)r->height * r->width, road_x[FAITH_MAX_PERCENTS];
    double *x = malloc(sizeof *x * (size_t)points);
    uint8_t *rgb = malloc((size_t)PLOT_W * PLOT_H * 3);
    int rc = -1;
    if (!x || !rgb) {
        error_set(&res->err, "%s: out of memory for the plot", c->eval_plot);
        goto done;
    }
    for (int i = 0; i < points; i++) x[i] = (double)faith_pixels_at(i, r->steps, r->height, r->width) / plane;
    for (int q = 0; q < c->eval.n_percents; q++) road_x[q] = c->eval.percents[q] / 100.0;
    PlotSeries s[4];
    char labels[4][64];
    if (c->eval.evals & 1u << EVAL_DELETION) {
        snprintf(labels[n], sizeof labels[n], "deletion, AUC %.4g", r->deletion_auc);
        s[n] = (PlotSeries){labels[n], x, r->deletion, points, {214, 39, 40}}, n++;
    }
    if (c->eval.evals & 1u << EVAL_INSERTION) {
        snprintf(labels[n], sizeof labels[n], "insertion, AUC %.4g", r->insertion_auc);
        s[n] = (PlotSeries){labels[n], x, r->insertion, points, {31, 119, 180}}, n++;
    }
    if (c->eval.evals & 1u << EVAL_ROAD) {
        snprintf(labels[n], sizeof labels[n], "ROAD MoRF, mean %.4g", r->morf_mean);
        s[n] = (PlotSeries){labels[n], road_x, r->morf, c->eval.n_percents, {255, 127, 14}}, n++;
        snprintf(labels[n], sizeof labels[n], "ROAD LeRF, mean %.4g", r->lerf_mean);
        s[n] = (PlotSeries){labels[n], road_x, r->lerf, c->eval.n_percents, {44, 160, 44}}, n++;
    }
    char target[64], title[128];
    target_title(c, res->target, p->x.classes, target, sizeof target);
    snprintf(title, sizeof title, "%s: %s of the class", target, eval_score_names[c->eval.score]);
    plot_draw(rgb, PLOT_W, PLOT_H, title, "fraction of the pixels perturbed", s, n);
    rc = png_write(c->eval_plot, rgb, PLOT_H, PLOT_W, 3, 1, NULL, 0, &res->err);
done:
    free(rgb);
    free(x);
    return rc;
}

/* --eval's metrics of the image in `slot`; 0, or -1 with res->err set. */
static int run_eval(Pipeline *p, int slot, Result *res) {
    const int height = p->x.height, width = p->x.width;
    size_t plane = (size_t)height * width;
    int points = faith_steps(&p->c.eval, height, width) + 1;
    double *curves = p->curves + (size_t)slot * 2 * (size_t)points;
    res->eval = (FaithResult){.deletion = curves, .insertion = curves + points};
    faith_saliency(p->x.maps + (size_t)slot * 3 * plane,
                   method_is_cam(p->c.spec.method) ? p->x.cams + (size_t)slot * plane : NULL,
                   plane, p->saliency);
    if (faith_run(&p->faith, &p->c.eval, p->clean + (size_t)slot * 3 * plane, p->saliency,
                  res->target, &res->eval, &res->err) != 0)
        return -1;
    res->evaluated = 1;
    return p->c.eval_plot ? plot_eval(p, res) : 0;
}

/* The images of a group are decoded, and their outputs written, on the
 * threads (each image is one task and the same work on any thread, so
 * nothing depends on the thread count); the network runs them together. */
typedef struct {
    Pipeline *p;
    const Input *inputs;
    const int *slots;
    int io_error[PIPELINE_MAX_BATCH]; // an output could not be written: the run stops
} Group;

static void load_task(void *ctx, int i) {
    Group *g = ctx;
    Result *res = &g->p->results[i];
    if (res->status != RESULT_DONE) return; // skipped
    double start = now_ms();
    load_input(g->p, &g->inputs[i], i, res);
    res->ms += now_ms() - start;
}

static void write_task(void *ctx, int i) {
    Group *g = ctx;
    Result *res = &g->p->results[i];
    if (res->status != RESULT_DONE) return;
    double start = now_ms();
    int rc = write_outputs(g->p, &g->inputs[i], g->slots[i], res);
    if (rc != 0) res->status = RESULT_FAILED;
    // A name of its own is that image's failure; anything else stops the run.
    if (rc != 0 && rc != FILE_BAD_NAME) g->io_error[i] = 1;
    res->ms += now_ms() - start;
}

/* Moves what load_input put in slot `from` to slot `to`. */
static void move_slot(Pipeline *p, int from, int to) {
    size_t map = (size_t)p->x.height * p->x.width * 3;
    memcpy(explain_input(&p->x, to), explain_input(&p->x, from), sizeof(float) * map);
    p->boxes[to] = p->boxes[from];
    if (p->crops) memcpy(p->crops + (size_t)to * map, p->crops + (size_t)from * map, map);
    Image img = p->images[to];
    p->images[to] = p->images[from];
    p->images[from] = img; // freed with the group's others (--full-size), or empty
}

/* Runs inputs[0, n) as one group; 0, or -1 with e set when the run must stop. */
static int run_group(Pipeline *p, const Input *inputs, int n, PipelineCounts *counts, Error *e) {
    const PipelineConfig *c = &p->c;
    Result *res = p->results;
    int slots[PIPELINE_MAX_BATCH], used = 0;
    Group g = {.p = p, .inputs = inputs, .slots = slots};
    for (int i = 0; i < n; i++) res[i] = (Result){.status = RESULT_DONE};
    // Input i is loaded into slot i; the network wants the loaded ones first.
    parallel_for(n, c->threads, load_task, &g);
    // An image of another size (--crop none, where the batch is 1): the
    // explainer is rebuilt for it, which is where memory runs out if it does.
    for (int i = 0; i < n; i++) {
        if (res[i].status != RESULT_DONE || (p->x.inputs && fits(p, i))) continue;
        Error err;
        if (pipeline_shape(p, p->boxes[i].crop_h, p->boxes[i].crop_w, &err) != 0) {
            error_set(&res[i].err, "%s: %s", inputs[i].path, err.msg);
            res[i].status = RESULT_FAILED;
            image_free(&p->images[i]);
            continue;
        }
        preprocess_slot(p, &inputs[i], i, &res[i]);
    }
    size_t map = (size_t)p->x.height * p->x.width * 3;
    for (int i = 0; i < n; i++) {
        if (res[i].status != RESULT_DONE) continue;
        if (used != i) move_slot(p, i, used);
        slots[i] = used++;
    }
    double t1 = now_ms();
    int rc = 0;
    if (used > 0) {
        if (p->clean) memcpy(p->clean, p->x.inputs, sizeof(float) * (size_t)used * map);
        Error err = {0};
        int ran = explain_run(&p->x, used, c->target, &err);
        if (ran == EXPLAIN_NON_FINITE) {
            // The weights, not these images: the run stops here, its one
            // message the tensor's (as when a file cannot be loaded).
            *e = err;
            for (int i = 0; i < n; i++) image_free(&p->images[i]);
            return PIPELINE_BAD_WEIGHTS;
        }
        if (ran != 0) {
            // A signal (the run stops after this group), or memory: every
            // image of the group shares it.
            for (int i = 0; i < n; i++)
                if (res[i].status == RESULT_DONE) {
                    res[i].status = RESULT_FAILED;
                    error_set(&res[i].err, "%s: %s", inputs[i].path, err.msg);
                }
            if (ran != METHODS_STOPPED) *e = err, rc = -1;
        }
    }
    double shared = used > 0 ? (now_ms() - t1) / used : 0;
    for (int i = 0; i < n; i++) {
        if (res[i].status != RESULT_DONE) continue;
        res[i].target = p->x.targets[slots[i]], res[i].ms += shared;
        res[i].logits = p->x.logits + (size_t)slots[i] * p->x.classes;
        // The check and --eval first: their numbers go into the PNG's results.
        if (c->check) {
            double start = now_ms();
            if (run_check(p, slots[i], &res[i]) != 0) res[i].status = RESULT_FAILED;
            res[i].ms += now_ms() - start;
        }
        if (c->compare.n && res[i].status == RESULT_DONE && run_compare(p, slots[i], &res[i]) != 0)
            res[i].status = RESULT_FAILED;
        if (c->eval.evals && res[i].status == RESULT_DONE) {
            double start = now_ms();
            if (run_eval(p, slots[i], &res[i]) != 0) res[i].status = RESULT_FAILED;
            res[i].ms += now_ms() - start;
        }
    }
    parallel_for(n, c->threads, write_task, &g);
    for (int i = 0; i < n; i++) {
        // A failed write stops the run; the group's other outputs are
        // complete files, reported as usual.
        if (g.io_error[i] && rc == 0) *e = res[i].err, rc = -1;
        counts->done += res[i].status == RESULT_DONE;
        counts->skipped += res[i].status == RESULT_SKIPPED;
        counts->failed += res[i].status == RESULT_FAILED;
        if (c->keep_pictures && res[i].status == RESULT_DONE) {
            res[i].crop = p->crops + (size_t)slots[i] * map;
            res[i].picture = p->pixels + (size_t)slots[i] * map;
            res[i].pic_h = p->x.height, res[i].pic_w = p->x.width;
            res[i].pic_channels = style_channels(c->style);
        }
        if (c->report) c->report(c->report_ctx, &inputs[i], &res[i]);
        free(res[i].was);
        free(res[i].stored);
    }
    for (int i = 0; c->full_size && i < n; i++) image_free(&p->images[i]);
    return rc;
}

int pipeline_run(Pipeline *p, const Input *inputs, int n, PipelineCounts *counts, Error *e) {
    memset(counts, 0, sizeof *counts);
    for (int first = 0; first < n; first += p->c.batch) {
        if (p->c.stop && *p->c.stop) return 0;
        int count = n - first < p->c.batch ? n - first : p->c.batch;
        int rc = run_group(p, inputs + first, count, counts, e);
        if (rc != 0) return rc;
        if (p->c.group_done) p->c.group_done(p->c.report_ctx, counts);
    }
    return 0;
}
