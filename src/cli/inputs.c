#include "cli/inputs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/fileio.h"
#include "util/text.h"

/* A candidate before outputs are assigned: its path and the part of it that
 * is mirrored under the output directory. */
typedef struct {
    char *path, *rel;
    dev_t dev;
    ino_t ino;
} Found;

typedef struct {
    Found *items;
    size_t n, cap;
    int ignored, subfolders; // a scan's other files, and folders not entered (no -r)
} FoundList;

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int has_image_extension(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

static int add(FoundList *l, const char *path, const char *rel, const struct stat *st, Error *e) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        Found *p = realloc(l->items, cap * sizeof *p);
        if (!p) return error_set(e, "out of memory listing inputs");
        l->items = p;
        l->cap = cap;
    }
    Found *f = &l->items[l->n];
    memset(f, 0, sizeof *f);
    f->path = dup_str(path);
    f->rel = dup_str(rel);
    if (!f->path || !f->rel) {
        free(f->path);
        free(f->rel);
        return error_set(e, "out of memory listing inputs");
    }
    if (st) f->dev = st->st_dev, f->ino = st->st_ino;
    l->n++;
    return 0;
}

/* Adds the image files of dir; rel_prefix is dir's path below the DIR argument. */
static int walk(FoundList *l, const char *dir, const char *rel_prefix, int recursive, Error *e) {
    DIR *d = opendir(dir);
    if (!d) return error_set(e, "%s: cannot read directory: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        char *path = text_path_join(dir, ent->d_name);
        char *rel = *rel_prefix ? text_path_join(rel_prefix, ent->d_name) : dup_str(ent->d_name);
        struct stat st;
        if (!path || !rel) {
            rc = error_set(e, "out of memory listing %s", dir);
        } else if (lstat(path, &st) != 0) {
            rc = error_set(e, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (recursive) rc = walk(l, path, rel, recursive, e);
            else l->subfolders++;
        } else if (has_image_extension(ent->d_name)) {
            // A link to a file counts as the file; anything else that looks
            // like an image by name is listed and reported when it fails.
            struct stat target;
            rc = add(l, path, rel, stat(path, &target) == 0 ? &target : NULL, e);
        } else {
            l->ignored++;
        }
        free(path);
        free(rel);
    }
    closedir(d);
    return rc;
}

/* path's part below base (both as given: compared as text, "./" and
 * trailing slashes aside), or NULL when it is not below base. */
static const char *below(const char *base, const char *path) {
    while (strncmp(base, "./", 2) == 0) base += 2;
    while (strncmp(path, "./", 2) == 0) path += 2;
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/') n--;
    if (strncmp(path, base, n) != 0 || (path[n] != '/' && !(n == 1 && base[0] == '/'))) return NULL;
    path += n;
    while (*path == '/') path++;
    return *path ? path : NULL;
}

/* Where a listed or named image goes under the output directory: with
 * --base, its path below DIR (NULL: not below it); otherwise its relative
 * path, or its base name when that path is absolute or climbs with "..". */
static const char *listed_rel(const char *line, const char *base) {
    if (base) return below(base, line);
    if (line[0] == '/') return base_name(line);
    for (const char *p = line; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p))
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0')) return base_name(line);
    while (strncmp(line, "./", 2) == 0) line += 2;
    return line;
}

/* Adds a named (not scanned) image; with --base it must be below DIR. */
static int add_named(FoundList *l, const char *path, const char *rel, const char *base, Error *e) {
    if (!rel)
        return error_set(e, "%s: not under --base %s (its outputs would have no place)", path,
                         base);
    struct stat st;
    return add(l, path, rel, stat(path, &st) == 0 ? &st : NULL, e);
}

/* The paths of a --files-from list: one a line, or with -0 each ended by a
 * NUL. Read a byte at a time with bounds, so that no list can cost more
 * than its paths: a NUL inside a line is refused at once, never taken as
 * the end of the list (find -print0's output read without -0), an empty
 * -0 entry too (/dev/zero), and so is a path longer than PATH_MAX or a
 * list of more than INPUTS_MAX. */
static int read_list(FoundList *l, const Options *o, Error *e) {
    const char *from = o->files_from;
    FILE *f = strcmp(from, "-") == 0 ? stdin : fopen(from, "r");
    if (!f) return error_set(e, "--files-from %s: %s", from, strerror(errno));
    char line[PATH_MAX + 1];
    size_t len = 0;
    int rc = 0, c;
    long number = 1;
    const char *what = o->null ? "entry" : "line";
    while (rc == 0) {
        c = getc(f);
        int end = c == EOF || c == (o->null ? '\0' : '\n');
        if (!end) {
            if (c == '\0')
                rc = error_set(e, "--files-from %s: line %ld has a NUL byte (a list from find "
                               "-print0 needs -0)", from, number);
            else if (len == PATH_MAX)
                rc = error_set(e, "--files-from %s: %s %ld is longer than %d bytes, no path",
                               from, what, number, PATH_MAX);
            else
                line[len++] = (char)c;
            continue;
        }
        if (!o->null)
            while (len > 0 && line[len - 1] == '\r') len--;
        line[len] = '\0';
        if (len == 0 && o->null && c != EOF)
            rc = error_set(e, "--files-from %s: entry %ld is empty (not a list of paths?)", from,
                           number);
        else if (len > 0 && l->n >= INPUTS_MAX)
            rc = error_set(e, "--files-from %s: more than %d images; split the list", from,
                           INPUTS_MAX);
        else if (len > 0)
            rc = add_named(l, line, listed_rel(line, o->base), o->base, e);
        if (c == EOF) break;
        len = 0, number++;
    }
    if (rc == 0 && ferror(f)) rc = error_set(e, "--files-from %s: read error", from);
    if (f != stdin) fclose(f);
    return rc;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const Found *)a)->path, ((const Found *)b)->path);
}

static int by_png(const void *a, const void *b) {
    return strcmp((*(Input *const *)a)->png, (*(Input *const *)b)->png);
}

/* The output of an image: dir, then rel's directories, then the name the
 * template (--name, or cli_output_name's default) makes of rel's base name
 * without its extension, then ".png". */
static char *output_for(const char *dir, const char *rel, const Options *o) {
    const char *base = base_name(rel), *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char name[CLI_NAME_MAX];
    cli_output_name(o, base, stem, name, sizeof name);
    size_t a = strlen(dir), sub = (size_t)(base - rel);
    char *p = malloc(a + 1 + sub + strlen(name) + sizeof ".png");
    if (!p) return NULL;
    sprintf(p, "%s%s%.*s%s.png", dir, a && dir[a - 1] != '/' ? "/" : "", (int)sub, rel, name);
    return p;
}

/* FILE.png -> FILE.npy; any other name gets .npy appended. */
static char *npy_beside(const char *png) {
    size_t n = strlen(png);
    if (n > 4 && strcmp(png + n - 4, ".png") == 0) n -= 4;
    char *p = malloc(n + sizeof ".npy");
    if (p) sprintf(p, "%.*s.npy", (int)n, png);
    return p;
}

static int assign_outputs(InputList *list, const Found *found, const Options *o, Error *e) {
    for (int i = 0; i < list->n; i++) {
        Input *in = &list->items[i];
        const Found *f = &found[i];
        if (list->batch_mode) in->png = output_for(o->output, f->rel, o);
        else if (o->output) in->png = dup_str(o->output);
        else in->png = output_for("", strcmp(in->path, "-") == 0 ? "stdin" : base_name(in->path),
                                  o);
        if (!in->png || (o->npy && !(in->npy = npy_beside(in->png))))
            return error_set(e, "out of memory naming outputs");
    }
    return 0;
}

typedef struct {
    dev_t dev;
    ino_t ino;
} FileId;

static int by_id(const void *a, const void *b) {
    const FileId *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int by_path_key(const void *key, const void *item) {
    return strcmp(key, ((const Input *)item)->path);
}

/* Refuses two inputs writing one file, and an output that is an input (the
 * same path, or an existing file that is the same inode). list is sorted by
 * path and found[i] describes list->items[i]. */
static int refuse_clashing_outputs(const InputList *list, const Found *found, Error *e) {
    size_t n = (size_t)list->n;
    const Input **sorted = malloc((n ? n : 1) * sizeof *sorted);
    FileId *ids = malloc((n ? n : 1) * sizeof *ids);
    int rc = 0;
    if (!sorted || !ids) {
        free(sorted);
        free(ids);
        return error_set(e, "out of memory checking outputs");
    }
    for (size_t i = 0; i < n; i++) sorted[i] = &list->items[i];
    qsort(sorted, n, sizeof *sorted, by_png);
    for (size_t i = 1; rc == 0 && i < n; i++)
        if (strcmp(sorted[i - 1]->png, sorted[i]->png) == 0)
            rc = error_set(e, "%s and %s would both write %s; rename one or run them separately",
                           sorted[i - 1]->path, sorted[i]->path, sorted[i]->png);
    size_t n_ids = 0;
    for (size_t i = 0; i < n; i++)
        if (found[i].ino) ids[n_ids++] = (FileId){found[i].dev, found[i].ino};
    qsort(ids, n_ids, sizeof *ids, by_id);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *outs[2] = {list->items[i].png, list->items[i].npy};
        for (int k = 0; rc == 0 && k < 2 && outs[k]; k++) {
            struct stat st;
            if (strcmp(outs[k], "-") == 0) continue; // standard output is not a file
            const Input *same = bsearch(outs[k], list->items, n, sizeof *list->items, by_path_key);
            FileId id = {0, 0};
            if (!same && stat(outs[k], &st) == 0) id = (FileId){st.st_dev, st.st_ino};
            if (same || (id.ino && bsearch(&id, ids, n_ids, sizeof *ids, by_id)))
                rc = error_set(e, "%s: the output would overwrite an input image; choose another "
                               "output", outs[k]);
        }
    }
    free(sorted);
    free(ids);
    return rc;
}

int inputs_collect(InputList *list, const Options *o, Error *e) {
    memset(list, 0, sizeof *list);
    FoundList found = {0};
    int rc = 0, dirs = 0;
    for (int i = 0; rc == 0 && i < o->n_inputs; i++) {
        const char *arg = o->inputs[i];
        struct stat st;
        if (strcmp(arg, "-") == 0) {
            // Standard input: its outputs are named after "stdin".
            rc = add(&found, arg, "stdin", NULL, e);
        } else if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
            dirs++;
            rc = walk(&found, arg, "", o->recursive, e);
        } else {
            // A missing or unreadable file is listed and fails as an input.
            rc = add_named(&found, arg, o->base ? below(o->base, arg) : base_name(arg), o->base, e);
        }
    }
    if (rc == 0 && o->files_from) rc = read_list(&found, o, e);
    struct stat out_st;
    size_t out_len = o->output ? strlen(o->output) : 0;
    int output_is_dir = o->output && ((stat(o->output, &out_st) == 0 && S_ISDIR(out_st.st_mode)) ||
                                      o->output[out_len - 1] == '/'); // dir/: a directory to make
    int stdin_inputs = 0;
    for (size_t i = 0; i < found.n; i++) stdin_inputs += strcmp(found.items[i].path, "-") == 0;
    list->batch_mode = o->n_inputs > 1 || dirs > 0 || o->files_from || output_is_dir;
    if (rc == 0 && list->batch_mode && !o->output)
        rc = error_set(e, "several inputs: give an output directory with -o DIR");
    if (rc == 0 && stdin_inputs > 1)
        rc = error_set(e, "-: standard input can be read only once");
    if (rc == 0 && o->output && strcmp(o->output, "-") == 0 && (list->batch_mode || o->npy))
        rc = error_set(e, "-o -: the PNG of one image on standard output (no --npy, no batch)");
    if (rc == 0) {
        if (found.n > 1) qsort(found.items, found.n, sizeof *found.items, by_path);
        list->total = (int)found.n;
        list->ignored = found.ignored;
        list->subfolders = found.subfolders;
        list->cap = (int)found.n;
        list->items = calloc(found.n ? found.n : 1, sizeof *list->items);
        if (!list->items) rc = error_set(e, "out of memory listing inputs");
    }
    // Outputs are named and checked over all shards, so that every shard
    // refuses (or accepts) the same command line.
    if (rc == 0) {
        list->n = (int)found.n;
        for (size_t i = 0; i < found.n; i++) {
            list->items[i].path = found.items[i].path;
            list->items[i].index = (int)i;
            found.items[i].path = NULL;
        }
        rc = assign_outputs(list, found.items, o, e);
    }
    if (rc == 0) rc = refuse_clashing_outputs(list, found.items, e);
    if (rc == 0) {
        int kept = 0;
        for (int i = 0; i < list->n; i++) {
            if (i % o->shards == o->shard) {
                list->items[kept++] = list->items[i];
            } else {
                free(list->items[i].path);
                free(list->items[i].png);
                free(list->items[i].npy);
            }
        }
        list->n = kept;
    }
    for (size_t i = 0; i < found.n; i++) free(found.items[i].path), free(found.items[i].rel);
    free(found.items);
    if (rc != 0) inputs_free(list);
    return rc;
}

/* a and b name the same file: the same path, or existing with one inode. */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
                                 sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

int inputs_refuse_overwriting(const InputList *list, const ExtraOutput *extras, int n_extra,
                              const char *const *reads, int n, Error *e) {
    for (int i = 0; i < list->n + n_extra; i++) {
        const ExtraOutput *x = i < list->n ? NULL : &extras[i - list->n];
        const char *outs[2] = {x ? x->path : list->items[i].png, x ? NULL : list->items[i].npy};
        for (int k = 0; k < 2; k++) {
            if (!outs[k] || strcmp(outs[k], "-") == 0) continue;
            for (int r = 0; r < n; r++)
                if (reads[r] && strcmp(reads[r], "-") != 0 && same_file(outs[k], reads[r]))
                    return error_set(e, "%s: the output would overwrite %s, which this run reads; "
                                     "choose another output", outs[k], reads[r]);
            // Each extra against the maps, the inputs and the extras before it.
            for (int j = 0; x && j < list->n; j++) {
                if (same_file(x->path, list->items[j].png) ||
                    (list->items[j].npy && same_file(x->path, list->items[j].npy)))
                    return error_set(e, "%s %s: both %s and an image's output; choose another",
                                     x->option, x->path, x->option);
                if (strcmp(list->items[j].path, "-") != 0 && same_file(x->path, list->items[j].path))
                    return error_set(e, "%s %s: the output would overwrite an input image; "
                                     "choose another output", x->option, x->path);
            }
            for (int j = 0; x && j < i - list->n; j++)
                if (extras[j].path && same_file(x->path, extras[j].path))
                    return error_set(e, "%s %s: also %s's output; choose another", x->option,
                                     x->path, extras[j].option);
        }
    }
    return 0;
}

int inputs_remove_stale_temporaries(const InputList *list) {
    int removed = 0;
    char *last = NULL;
    for (int i = 0; i < list->n; i++) {
        const char *png = list->items[i].png, *slash = strrchr(png, '/');
        size_t n = slash ? (size_t)(slash - png) : 0;
        // Sorted inputs mostly share their directory with the one before.
        if (last && strlen(last) == n && strncmp(last, png, n) == 0) continue;
        free(last);
        if (!(last = malloc(n + 1))) break;
        memcpy(last, png, n);
        last[n] = '\0';
        file_remove_stale_temporaries(n == 0 && slash ? "/" : last, &removed);
    }
    free(last);
    return removed;
}

void inputs_free(InputList *list) {
    if (!list) return;
    for (int i = 0; i < list->n; i++) {
        free(list->items[i].path);
        free(list->items[i].png);
        free(list->items[i].npy);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}
