/* labels.h: the 1000 ImageNet class names and WordNet ids, in torchvision's
 * index order (the sorted order of the ids).
 *
 * The names come from weights/imagenet_classes.txt, the ids from
 * weights/imagenet_wnids.txt, compiled into the program at build time (see
 * the Makefile), so the binary needs no data files at run time. A model with
 * another number of classes has neither.
 */
#ifndef GUIDEDBP_LABELS_H
#define GUIDEDBP_LABELS_H

#include <stdio.h>

#include "util/error.h"

/* The name of class `index` of a model with `classes` outputs, or NULL. */
const char *labels_name(int index, int classes);

/* Parses a class argument: an index in [0, classes); a WordNet id, "n" and 8
 * digits ("n02123045", also "N02123045"), matched exactly and refused if no
 * class has it; or a class name matched exactly, else ignoring case, else as
 * a unique prefix or whole word ("tabby", "retriever"); the first of these
 * rules that matches decides, and a name it finds twice is ambiguous, refused
 * with every index it could mean. An unknown name's message suggests the
 * three nearest names. The message starts with `option` (the option it came
 * from). */
int labels_parse(const char *option, const char *text, int classes, int *index, Error *e);
/* "index<TAB>wnid<TAB>name" lines, one a class (--list-classes). */
void labels_list(FILE *f);

#endif
