#include "cli/provenance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "io/fileio.h"

/* The cache file: one line per weights file, "HEX DEV INO SIZE MTIME_NS PATH". */
static int cache_path(char *out, size_t len) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg == '/') snprintf(out, len, "%s/guidedbp/weights.sha256", xdg);
    else if (home && *home) snprintf(out, len, "%s/.cache/guidedbp/weights.sha256", home);
    else return -1;
    return 0;
}

static int key_of(const char *path, char *key, size_t len) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    snprintf(key, len, "%ju %ju %jd %jd", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
             (intmax_t)st.st_size,
             (intmax_t)st.st_mtim.tv_sec * 1000000000 + (intmax_t)st.st_mtim.tv_nsec);
    return 0;
}

int provenance_weights_digest(const char *path, char hex[DIGEST_HEX], Error *e) {
    char cache[1100], key[128] = "";
    int cached = cache_path(cache, sizeof cache) == 0 && key_of(path, key, sizeof key) == 0;
    FILE *f = cached ? fopen(cache, "r") : NULL;
    // Up to CACHE_LINES entries are kept, the newest first.
    enum { CACHE_LINES = 32, LINE = 1300 };
    char (*lines)[LINE] = calloc(CACHE_LINES, LINE);
    int n = 0, found = 0;
    size_t klen = strlen(key);
    for (char line[LINE]; f && lines && fgets(line, sizeof line, f) && n < CACHE_LINES;) {
        if (strlen(line) > DIGEST_HEX && strncmp(line + DIGEST_HEX, key, klen) == 0 &&
            line[DIGEST_HEX + klen] == ' ') {
            memcpy(hex, line, DIGEST_HEX - 1);
            hex[DIGEST_HEX - 1] = '\0';
            found = 1;
            break;
        }
        snprintf(lines[n++], LINE, "%s", line);
    }
    if (f) fclose(f);
    if (found || digest_file(path, hex, e) != 0) {
        free(lines);
        return found ? 0 : -1;
    }
    if (cached && lines) {
        // The new entry first; a cache that cannot be written is ignored.
        Buf b = {0};
        char head[LINE];
        int m = snprintf(head, sizeof head, "%s %s %s\n", hex, key, path);
        buf_append(&b, head, (size_t)m);
        for (int i = 0; i < n && i < CACHE_LINES - 1; i++)
            buf_append(&b, lines[i], strlen(lines[i]));
        Error ignored;
        if (!b.failed && file_make_parents(cache, &ignored) == 0)
            file_write_atomic(cache, b.data, b.len, &ignored);
        buf_free(&b);
    }
    free(lines);
    return 0;
}

/* The name of layer i as the user would give it. */
static const char *layer_name(const Graph *g, int i) { return g->layers[i].name; }

/* A seed: a JSON number while a double holds it exactly, else a string. */
static void add_seed(cJSON *o, const char *key, uint64_t v) {
    if (v <= (uint64_t)1 << 53) {
        cJSON_AddNumberToObject(o, key, (double)v);
    } else {
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, v);
        cJSON_AddStringToObject(o, key, text);
    }
}

char *provenance_settings(const Options *o, const char *weights, const char *digest,
                          const Graph *g, const MethodSpec *spec, int target, int vs) {
    cJSON *s = cJSON_CreateObject(), *w, *t;
    cJSON_AddStringToObject(s, "guidedbp", GUIDEDBP_VERSION);
    w = cJSON_AddObjectToObject(s, "weights");
    const char *slash = strrchr(weights, '/');
    int random = strncmp(weights, "random:", 7) == 0;
    cJSON_AddStringToObject(w, "name", slash && !random ? slash + 1 : weights);
    if (digest) cJSON_AddStringToObject(w, "sha256", digest);
    cJSON_AddStringToObject(w, "arch", g->arch);
    cJSON_AddStringToObject(s, "method", method_names[spec->method]);
    Method m = spec->method;
    if (m == METHOD_GUIDED || m == METHOD_DECONV || m == METHOD_GUIDED_GRADCAM)
        cJSON_AddStringToObject(s, "guide", guide_names[spec->guide]);
    if (method_has_cam(m)) cJSON_AddStringToObject(s, "cam_layer", layer_name(g, spec->cam_layer));
    t = cJSON_AddObjectToObject(s, "target");
    if (spec->layer >= 0) {
        cJSON_AddStringToObject(t, "kind", "channel");
        cJSON_AddStringToObject(t, "layer", layer_name(g, spec->layer));
        cJSON_AddNumberToObject(t, "channel", spec->channel);
    } else if (target >= 0) {
        cJSON_AddStringToObject(t, "kind", "class");
        cJSON_AddNumberToObject(t, "class", target);
    } else {
        cJSON_AddStringToObject(t, "kind", "predicted");
    }
    if (spec->smooth > 0) {
        cJSON *sm = cJSON_AddObjectToObject(s, "smooth");
        cJSON_AddNumberToObject(sm, "n", spec->smooth);
        cJSON_AddNumberToObject(sm, "noise", spec->noise);
        add_seed(sm, "seed", spec->seed);
    }
    if (m == METHOD_INTEGRATED) {
        cJSON_AddNumberToObject(s, "steps", spec->steps);
        cJSON_AddStringToObject(s, "baseline", baseline_names[spec->baseline]);
    }
    cJSON_AddStringToObject(s, "style", style_names[o->style]);
    if (o->style == STYLE_HEATMAP) {
        cJSON *ov = cJSON_AddObjectToObject(s, "overlay");
        cJSON_AddStringToObject(ov, "colormap", colormap_names[o->overlay.colormap]);
        cJSON_AddNumberToObject(ov, "alpha", o->overlay.alpha);
        if (!method_is_cam(m)) cJSON_AddStringToObject(ov, "sign", sign_names[o->overlay.sign]);
    }
    cJSON_AddStringToObject(s, "crop", crop_names[o->crop]);
    cJSON_AddBoolToObject(s, "full_size", o->full_size);
    cJSON_AddBoolToObject(s, "portable", o->portable);
    if (o->check != CHECK_NONE) {
        cJSON *c = cJSON_AddObjectToObject(s, "check");
        cJSON_AddStringToObject(c, "kind", check_names[o->check]);
        if (o->check == CHECK_CLASS && vs >= 0) cJSON_AddNumberToObject(c, "vs", vs);
        if (o->check == CHECK_CLASS && vs < 0) cJSON_AddStringToObject(c, "vs", "lowest");
        if (o->check == CHECK_RANDOMIZE) add_seed(c, "seed", o->seed);
    }
    if (o->eval.evals) {
        // Every setting a metric's numbers depend on, the defaults included.
        const FaithSpec *f = &o->eval;
        cJSON *ev = cJSON_AddObjectToObject(s, "eval"), *list = cJSON_AddArrayToObject(ev, "metrics");
        for (int k = 0; k < EVALS; k++)
            if (f->evals & 1u << k) cJSON_AddItemToArray(list, cJSON_CreateString(eval_names[k]));
        cJSON_AddStringToObject(ev, "score", eval_score_names[f->score]);
        if (f->evals & (1u << EVAL_DELETION | 1u << EVAL_INSERTION)) {
            if (f->steps) cJSON_AddNumberToObject(ev, "steps", f->steps);
            else cJSON_AddStringToObject(ev, "steps", "224 pixels a step");
        }
        if (f->evals & 1u << EVAL_ROAD) {
            cJSON_AddItemToObject(ev, "road_percents", cJSON_CreateIntArray(f->percents, f->n_percents));
            add_seed(ev, "seed", f->seed);
        }
    }
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return text;
}
