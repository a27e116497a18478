#include "cli/labels.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Generated from weights/imagenet_classes.txt and weights/imagenet_wnids.txt
 * into build/labels_data.c; both have imagenet_classes_count entries. */
extern const char *const imagenet_classes[];
extern const char *const imagenet_wnids[];
extern const int imagenet_classes_count;

const char *labels_name(int index, int classes) {
    if (classes != imagenet_classes_count || index < 0 || index >= classes) return NULL;
    return imagenet_classes[index];
}

static int exact(const char *name, const char *text) { return strcmp(name, text) == 0; }
static int same_case(const char *name, const char *text) { return strcasecmp(name, text) == 0; }

/* text begins name, or is one of its words (case-insensitive): "tabby"
 * finds "tabby", "golden" "golden retriever". */
static int prefix_or_word(const char *name, const char *text) {
    size_t n = strlen(text);
    if (n == 0) return 0;
    for (const char *p = name; *p; p++)
        if ((p == name || p[-1] == ' ' || p[-1] == '-') && strncasecmp(p, text, n) == 0 &&
            (p == name || p[n] == '\0' || p[n] == ' ' || p[n] == '-'))
            return 1;
    return 0;
}

/* "n" or "N" and 8 digits: the form of every ImageNet WordNet id. */
static int is_wnid(const char *text) {
    if (*text != 'n' && *text != 'N') return 0;
    for (int i = 1; i <= 8; i++)
        if (text[i] < '0' || text[i] > '9') return 0;
    return text[9] == '\0';
}

/* Levenshtein distance, case-insensitive, of strings up to 63 bytes (longer
 * ones are cut: this only ranks suggestions). */
static int distance(const char *a, const char *b) {
    enum { MAX = 64 };
    int row[MAX + 1], la = (int)strnlen(a, MAX - 1), lb = (int)strnlen(b, MAX - 1);
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j], cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = diag + cost;
            if (up + 1 < v) v = up + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v, diag = up;
        }
    }
    return row[lb];
}

int labels_parse(const char *option, const char *text, int classes, int *index, Error *e) {
    if (*text >= '0' && *text <= '9') {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (*end != '\0' || errno == ERANGE || v >= classes)
            return error_set(e, "%s %s: not a class index (the model has classes 0 to %d)",
                             option, text, classes - 1);
        *index = (int)v;
        return 0;
    }
    if (classes != imagenet_classes_count)
        return error_set(e, "%s %s: this model has %d classes and no names; give an index",
                         option, text, classes);
    if (is_wnid(text)) {
        for (int i = 0; i < classes; i++)
            if (strcasecmp(imagenet_wnids[i], text) == 0) {
                *index = i;
                return 0;
            }
        return error_set(e, "%s %s: no ImageNet class has this WordNet id (guidedbp "
                         "--list-classes shows all %d)", option, text, classes);
    }
    // Exact, then case-insensitive, then a unique prefix or whole word: the
    // first rule that matches anything decides, and more than one class
    // under it is ambiguous (torchvision has two "crane"s and two
    // "maillot"s).
    static int (*const rules[])(const char *, const char *) = {exact, same_case, prefix_or_word};
    for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
        int found = -1, count = 0, cut = 0;
        char all[512] = "";
        for (int i = 0; i < classes; i++) {
            if (!rules[r](imagenet_classes[i], text)) continue;
            if (count++ == 0) found = i;
            size_t used = strlen(all);
            if (used < 400)
                snprintf(all + used, sizeof all - used, "%s%d \"%s\"", used ? ", " : "", i,
                         imagenet_classes[i]);
            else if (!cut)
                cut = 1, snprintf(all + used, sizeof all - used, ", ...");
        }
        if (count == 1) {
            *index = found;
            return 0;
        }
        if (count > 1)
            return error_set(e, "%s %s: ambiguous, it names %d classes: %s; give the exact name "
                             "or index", option, text, count, all);
    }
    // Nothing: the three names nearest in spelling.
    int best[3] = {-1, -1, -1}, dist[3] = {1 << 30, 1 << 30, 1 << 30};
    for (int i = 0; i < classes; i++) {
        int d = distance(imagenet_classes[i], text);
        for (int k = 0; k < 3; k++)
            if (d < dist[k]) {
                for (int m = 2; m > k; m--) dist[m] = dist[m - 1], best[m] = best[m - 1];
                dist[k] = d, best[k] = i;
                break;
            }
    }
    return error_set(e, "%s %s: no ImageNet class has this name; did you mean %d \"%s\", %d "
                     "\"%s\" or %d \"%s\"? (guidedbp --list-classes shows all %d)", option, text,
                     best[0], imagenet_classes[best[0]], best[1], imagenet_classes[best[1]],
                     best[2], imagenet_classes[best[2]], classes);
}

void labels_list(FILE *f) {
    for (int i = 0; i < imagenet_classes_count; i++)
        fprintf(f, "%d\t%s\t%s\n", i, imagenet_wnids[i], imagenet_classes[i]);
}
