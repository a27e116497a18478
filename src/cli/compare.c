#include "cli/compare.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "cli/report.h"
#include "util/text.h"

/* The help, beside the table it describes; the defaults come from
 * mapdiff.h, so they cannot drift from the code. */
void compare_usage(FILE *f) {
    fprintf(f,
            "Usage: guidedbp compare [options] GOLDEN ACTUAL\n"
            "Holds saliency maps to their goldens: two PNG or .npy files, or two directories\n"
            "compared file by file (every .png and .npy under GOLDEN, in its subdirectories\n"
            "too, against the same path under ACTUAL; a file on one side only fails).\n"
            "PNGs are compared by their decoded 8-bit values, .npy (float32) maps by\n"
            "max |a-b| / max |golden| and cosine similarity. The defaults pass the same map\n"
            "within float rounding and fail another map (README: Golden-image tests).\n"
            "\n"
            "      --max-level N      PNG: the largest level difference allowed, 0-255\n"
            "                         (default: %d)\n"
            "      --max-differing F  PNG: the largest fraction of values that may differ\n"
            "                         at all, 0-1 (default: %g)\n"
            "      --max-rel E        .npy: the largest max |a-b| / max |golden|\n"
            "                         (default: %g)\n"
            "      --min-cosine C     .npy: the smallest cosine similarity, -1 to 1\n"
            "                         (default: %g)\n"
            "      --json             one JSON record per pair on stdout (JSON Lines), and\n"
            "                         nothing else there\n"
            "  -h, --help             this help\n"
            "\n"
            "Output: a line per pair on stdout, PASS or FAIL, its path and measures; a\n"
            "summary on stderr.\n"
            "Exit status: 0 every pair passed, 1 some pair failed (beyond a limit,\n"
            "unreadable or not a map, sizes that differ, a file on one side only), 2 usage\n"
            "error (bad option, a missing GOLDEN or ACTUAL, a file against a directory),\n"
            "4 the report could not be written.\n",
            MAPDIFF_DEFAULT_MAX_LEVEL, MAPDIFF_DEFAULT_MAX_DIFFERING, MAPDIFF_DEFAULT_MAX_REL,
            MAPDIFF_DEFAULT_MIN_COSINE);
}

/* A finite number in [lo, hi]. */
static int parse_number(const char *text, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int compare_parse(int argc, char **argv, CompareOptions *o, Error *e) {
    enum { OPT_MAX_LEVEL = 256, OPT_MAX_DIFFERING, OPT_MAX_REL, OPT_MIN_COSINE, OPT_JSON };
    static const struct option longs[] = {
        {"max-level", required_argument, 0, OPT_MAX_LEVEL},
        {"max-differing", required_argument, 0, OPT_MAX_DIFFERING},
        {"max-rel", required_argument, 0, OPT_MAX_REL},
        {"min-cosine", required_argument, 0, OPT_MIN_COSINE},
        {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *o = (CompareOptions){.limits = MAPDIFF_DEFAULT_LIMITS};
    opterr = 0; // messages are ours
    optind = 0; // a full reset of getopt's state
    int c;
    double v;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        const char *arg = argv[optind - 1];
        switch (c) {
        case OPT_MAX_LEVEL:
            if (parse_number(optarg, 0, 255, &v) != 0 || v != floor(v))
                return error_set(e, "--max-level %s: expected a whole number from 0 to 255",
                                 optarg);
            o->limits.max_level = (int)v;
            break;
        case OPT_MAX_DIFFERING:
            if (parse_number(optarg, 0, 1, &o->limits.max_differing) != 0)
                return error_set(e, "--max-differing %s: expected a fraction from 0 to 1 "
                                 "(0.001 is 0.1%%)", optarg);
            break;
        case OPT_MAX_REL:
            if (parse_number(optarg, 0, HUGE_VAL, &o->limits.max_rel) != 0)
                return error_set(e, "--max-rel %s: expected a number >= 0", optarg);
            break;
        case OPT_MIN_COSINE:
            if (parse_number(optarg, -1, 1, &o->limits.min_cosine) != 0)
                return error_set(e, "--min-cosine %s: expected a number from -1 to 1", optarg);
            break;
        case OPT_JSON: o->json = 1; break;
        case 'h': return CLI_HELP;
        case ':':
            return error_set(e, "%.*s: this option needs a value", (int)strcspn(arg, "="), arg);
        default:
            if (optopt > 0 && optopt < 256 && strncmp(arg, "--", 2) != 0)
                return error_set(e, "-%c: unknown option", optopt);
            return error_set(e, "%.*s: unknown option", (int)strcspn(arg, "="), arg);
        }
    }
    if (argc - optind != 2)
        return error_set(e, "expected GOLDEN and ACTUAL, got %d path%s", argc - optind,
                         argc - optind == 1 ? "" : "s");
    o->golden = argv[optind];
    o->actual = argv[optind + 1];
    return CLI_RUN;
}

/* --- Listing the maps of two trees ------------------------------------ */

typedef struct {
    char **rel; // paths below the directory, sorted
    size_t n, cap;
    int unreadable; // subdirectories that could not be read (reported on stderr)
} MapList;

static int is_npy(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && strcasecmp(dot, ".npy") == 0;
}

static int is_map(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".npy") == 0);
}

static void print_error(const char *msg) {
    fputs("guidedbp compare: ", stderr);
    text_escape_to(stderr, msg);
    fputc('\n', stderr);
}

/* Adds the maps under dir, rel_prefix its path below the top; real
 * directories are entered, links to them are not (no loops), and anything
 * named *.png or *.npy is listed, to be measured or reported. -1 only when
 * memory runs out; a directory that cannot be read is said on stderr and
 * counted. */
static int walk(MapList *l, const char *dir, const char *rel_prefix) {
    DIR *d = opendir(dir);
    if (!d) {
        Error e;
        error_set(&e, "%s: cannot read directory: %s", dir, strerror(errno));
        print_error(e.msg);
        l->unreadable++;
        return 0;
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        char *path = text_path_join(dir, ent->d_name);
        char *rel = text_path_join(rel_prefix, ent->d_name);
        struct stat st;
        if (!path || !rel) {
            rc = -1;
        } else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = walk(l, path, rel);
        } else if (is_map(ent->d_name)) {
            if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                char **p = realloc(l->rel, cap * sizeof *p);
                if (p) l->rel = p, l->cap = cap;
            }
            if (l->n < l->cap) l->rel[l->n++] = rel, rel = NULL;
            else rc = -1;
        }
        free(path);
        free(rel);
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void maplist_free(MapList *l) {
    for (size_t i = 0; i < l->n; i++) free(l->rel[i]);
    free(l->rel);
    *l = (MapList){0};
}

/* --- Measuring and reporting one pair --------------------------------- */

typedef struct {
    const char *name;           // as shown: the path below the directories, or ACTUAL
    const char *golden, *actual;
    int npy;
    int measured;               // the measures below are valid
    MapDiffPixels px;
    MapDiffFloats fl;
    unsigned failures;          // mapdiff's flags beyond their limits
    char reason[sizeof(Error) + 64]; // why it failed; "" when it passed
} Outcome;

static void add_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *outcome_json(const Outcome *r) {
    cJSON *o = cJSON_CreateObject();
    report_add_bytes(o, "golden", r->golden);
    report_add_bytes(o, "actual", r->actual);
    cJSON_AddStringToObject(o, "kind", r->npy ? "npy" : "png");
    cJSON_AddBoolToObject(o, "pass", !r->reason[0]);
    if (!r->npy) {
        const char *keys[] = {"width", "height", "max_level", "mean_level", "differing",
                              "values", "differing_fraction"};
        double v[] = {r->px.width, r->px.height, r->px.max_level, r->px.mean_level,
                      (double)r->px.differing, (double)r->px.values, r->px.differing_frac};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (r->measured) add_number(o, keys[i], v[i]);
            else cJSON_AddNullToObject(o, keys[i]);
        }
    } else if (r->measured) {
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int i = 0; i < r->fl.ndim; i++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)r->fl.shape[i]));
        add_number(o, "max_rel", r->fl.max_rel); // null: the golden is zero, the map is not
        add_number(o, "cosine", r->fl.cosine);
    } else {
        cJSON_AddNullToObject(o, "shape");
        cJSON_AddNullToObject(o, "max_rel");
        cJSON_AddNullToObject(o, "cosine");
    }
    if (r->reason[0]) report_add_bytes(o, "reason", r->reason);
    else cJSON_AddNullToObject(o, "reason");
    return o;
}

/* The measures as a line shows them, each beyond its limit followed by
 * that limit: "max 37 > 2, mean 5.21, 45.1% differ > 0.1%". */
static void measures_text(const Outcome *r, const MapDiffLimits *l, char *out, size_t len) {
    if (!r->npy) {
        char level[32] = "", frac[32] = "";
        if (r->failures & MAPDIFF_MAX_LEVEL) snprintf(level, sizeof level, " > %d", l->max_level);
        if (r->failures & MAPDIFF_DIFFERING)
            snprintf(frac, sizeof frac, " > %.3g%%", l->max_differing * 100);
        snprintf(out, len, "max %d%s, mean %.3g, %.3g%% differ%s", r->px.max_level, level,
                 r->px.mean_level, r->px.differing_frac * 100, frac);
    } else {
        char rel[48] = "", cos[48] = "";
        if (r->failures & MAPDIFF_MAX_REL) snprintf(rel, sizeof rel, " > %g", l->max_rel);
        if (r->failures & MAPDIFF_COSINE) snprintf(cos, sizeof cos, " < %.9g", l->min_cosine);
        if (isfinite(r->fl.max_rel))
            snprintf(out, len, "max err/max %.3g%s, cosine %.9g%s", r->fl.max_rel, rel,
                     r->fl.cosine, cos);
        else
            snprintf(out, len, "the golden is all zero and the map is not, cosine %.9g%s",
                     r->fl.cosine, cos);
    }
}

/* Measures one pair (whose files both exist, or `missing` says which does
 * not) and fills r. */
static void measure(Outcome *r, const MapDiffLimits *l, const char *missing) {
    Error e = {0};
    if (missing) {
        snprintf(r->reason, sizeof r->reason, "%s", missing);
        return;
    }
    int rc = r->npy ? mapdiff_npy_files(r->golden, r->actual, &r->fl, &e)
                    : mapdiff_png_files(r->golden, r->actual, &r->px, &e);
    if (rc != 0) {
        snprintf(r->reason, sizeof r->reason, "%s", e.msg);
        return;
    }
    r->measured = 1;
    r->failures = r->npy ? mapdiff_floats_failures(&r->fl, l) : mapdiff_pixels_failures(&r->px, l);
    if (r->failures) measures_text(r, l, r->reason, sizeof r->reason);
}

static void report(const Outcome *r, const MapDiffLimits *l, int json) {
    if (json) {
        cJSON *o = outcome_json(r);
        char *text = cJSON_PrintUnformatted(o);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
        return;
    }
    char measures[256];
    if (r->measured) measures_text(r, l, measures, sizeof measures);
    fputs(r->reason[0] ? "FAIL " : "PASS ", stdout);
    text_escape_to(stdout, r->name); // a stranger's file name: one line, no escapes sent
    fputs(": ", stdout);
    text_escape_to(stdout, r->measured ? measures : r->reason);
    fputc('\n', stdout);
}

typedef struct {
    size_t pairs, passed, failed, one_side;
} Tally;

static void tally(Tally *t, const Outcome *r) {
    t->pairs++;
    if (r->reason[0]) t->failed++;
    else t->passed++;
}

/* Two directories, file by file, in path order. */
static int compare_dirs(const CompareOptions *o, Tally *t, int *unreadable) {
    MapList g = {0}, a = {0};
    int rc = 0;
    if (walk(&g, o->golden, "") != 0 || walk(&a, o->actual, "") != 0) {
        print_error("out of memory listing the maps");
        rc = COMPARE_IO;
    } else if (g.n == 0 && !g.unreadable) {
        Error e;
        error_set(&e, "%s: no .png or .npy files in this directory or below it", o->golden);
        print_error(e.msg);
        rc = COMPARE_USAGE;
    }
    *unreadable = g.unreadable + a.unreadable;
    if (rc != 0) goto done;
    qsort(g.rel, g.n, sizeof *g.rel, by_path);
    qsort(a.rel, a.n, sizeof *a.rel, by_path);
    for (size_t i = 0, j = 0; i < g.n || j < a.n;) {
        int cmp = i == g.n ? 1 : j == a.n ? -1 : strcmp(g.rel[i], a.rel[j]);
        const char *rel = cmp <= 0 ? g.rel[i] : a.rel[j];
        char *golden = text_path_join(o->golden, rel), *actual = text_path_join(o->actual, rel);
        if (!golden || !actual) {
            free(golden), free(actual);
            print_error("out of memory");
            rc = COMPARE_IO;
            break;
        }
        Outcome r = {.name = rel, .golden = golden, .actual = actual, .npy = is_npy(rel)};
        char missing[sizeof r.reason];
        if (cmp < 0) snprintf(missing, sizeof missing, "missing in ACTUAL: no %s", actual);
        if (cmp > 0) snprintf(missing, sizeof missing, "not in GOLDEN: no %s", golden);
        measure(&r, &o->limits, cmp ? missing : NULL);
        report(&r, &o->limits, o->json);
        tally(t, &r);
        t->one_side += cmp != 0;
        free(golden);
        free(actual);
        i += cmp <= 0;
        j += cmp >= 0;
    }
done:
    maplist_free(&g);
    maplist_free(&a);
    return rc;
}

int compare_run(const CompareOptions *o) {
    struct stat gs, as;
    const char *which = stat(o->golden, &gs) != 0 ? o->golden
                        : stat(o->actual, &as) != 0 ? o->actual : NULL;
    Error e;
    if (which) {
        error_set(&e, "%s: %s", which, strerror(errno));
        print_error(e.msg);
        return COMPARE_USAGE;
    }
    if (S_ISDIR(gs.st_mode) != S_ISDIR(as.st_mode)) {
        error_set(&e, "%s is a directory and %s is not: compare two files or two directories",
                  S_ISDIR(gs.st_mode) ? o->golden : o->actual,
                  S_ISDIR(gs.st_mode) ? o->actual : o->golden);
        print_error(e.msg);
        return COMPARE_USAGE;
    }
    Tally t = {0};
    int unreadable = 0, status = 0;
    if (S_ISDIR(gs.st_mode)) {
        status = compare_dirs(o, &t, &unreadable);
    } else {
        Outcome r = {.name = o->actual, .golden = o->golden, .actual = o->actual,
                     .npy = is_npy(o->golden)};
        measure(&r, &o->limits, NULL);
        report(&r, &o->limits, o->json);
        tally(&t, &r);
    }
    if (status == 0) {
        char one_side[64] = "", dirs[96] = "";
        if (t.one_side) snprintf(one_side, sizeof one_side, " (%zu on one side only)", t.one_side);
        if (unreadable)
            snprintf(dirs, sizeof dirs, "; %d director%s could not be read", unreadable,
                     unreadable == 1 ? "y" : "ies");
        fprintf(stderr, "guidedbp compare: %zu pair%s, %zu passed, %zu failed%s%s; limits "
                "--max-level %d --max-differing %g --max-rel %g --min-cosine %.9g\n", t.pairs,
                t.pairs == 1 ? "" : "s", t.passed, t.failed, one_side, dirs, o->limits.max_level,
                o->limits.max_differing, o->limits.max_rel, o->limits.min_cosine);
        status = t.failed || unreadable ? COMPARE_FAILED : COMPARE_PASSED;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        error_set(&e, "cannot write to standard output: %s", strerror(errno));
        print_error(e.msg);
        status = COMPARE_IO;
    }
    return status;
}
