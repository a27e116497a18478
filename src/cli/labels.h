/* labels.h: the 1000 ImageNet class names, in torchvision's index order.
 *
 * The names come from weights/imagenet_classes.txt, compiled into the
 * program at build time (see the Makefile), so the binary needs no data
 * files at run time. A model with another number of classes has no names.
 */
#ifndef GUIDEDBP_LABELS_H
#define GUIDEDBP_LABELS_H

#include <stdio.h>

#include "util/error.h"

/* The name of class `index` of a model with `classes` outputs, or NULL. */
const char *labels_name(int index, int classes);

/* Parses a class argument: an index in [0, classes), or a class name matched
 * exactly, else ignoring case, else as a unique prefix or whole word
 * ("tabby", "retriever"); the first of these rules that matches decides,
 * and a name it finds twice is ambiguous, refused with every index it could
 * mean. An unknown name's message suggests the three nearest names. The
 * message starts with `option` (the option it came from). */
int labels_parse(const char *option, const char *text, int classes, int *index, Error *e);
/* "index<TAB>name" lines, one a class (--list-classes). */
void labels_list(FILE *f);

#endif
