#!/bin/sh
# labels_to_c.sh CLASSES.txt: prints a C file defining the class names, one
# per line of the input, as `imagenet_classes` (see src/labels.c).
set -e
printf '/* Generated from %s by src/cli/labels_to_c.sh; do not edit. */\n' "$1"
printf 'const char *const imagenet_classes[] = {\n'
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/",/' "$1"
printf '};\n'
printf 'const int imagenet_classes_count = %d;\n' "$(wc -l < "$1")"
