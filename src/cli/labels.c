#include "cli/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Generated from weights/imagenet_classes.txt into build/labels_data.c. */
extern const char *const imagenet_classes[];
extern const int imagenet_classes_count;

const char *labels_name(int index, int classes) {
    if (classes != imagenet_classes_count || index < 0 || index >= classes) return NULL;
    return imagenet_classes[index];
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
    for (int i = 0; i < classes; i++) {
        if (strcmp(imagenet_classes[i], text) == 0) {
            *index = i;
            return 0;
        }
    }
    int found = -1, count = 0;
    char others[256] = "";
    for (int i = 0; i < classes; i++) {
        if (strcasecmp(imagenet_classes[i], text) != 0) continue;
        if (count++ == 0) found = i;
        size_t used = strlen(others);
        snprintf(others + used, sizeof others - used, "%s%d \"%s\"", used ? ", " : "", i,
                 imagenet_classes[i]);
    }
    if (count == 1) {
        *index = found;
        return 0;
    }
    if (count > 1)
        return error_set(e, "%s %s: ambiguous, it names %s; give the exact name or index",
                         option, text, others);
    return error_set(e, "%s %s: no ImageNet class has this name (see "
                     "weights/imagenet_classes.txt, or give an index 0-%d)", option, text,
                     classes - 1);
}
