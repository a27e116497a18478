#!/bin/sh
# labels_to_c.sh CLASSES.txt [WNIDS.txt]: prints a C file defining the class
# names, one per line of CLASSES.txt, as `imagenet_classes`, and their WordNet
# ids, one per line of WNIDS.txt (default: imagenet_wnids.txt beside
# CLASSES.txt), as `imagenet_wnids` (see src/cli/labels.c). Both lists are in
# class index order, so they must have the same number of lines.
set -e
wnids=${2:-$(dirname "$1")/imagenet_wnids.txt}
names=$(wc -l < "$1")
ids=$(wc -l < "$wnids")
if [ "$names" -ne "$ids" ]; then
    echo "labels_to_c.sh: $1 has $names lines but $wnids has $ids; they list the same classes" >&2
    exit 1
fi
bad=$(grep -Evn '^n[0-9]{8}$' "$wnids" | head -n 1)
if [ -n "$bad" ]; then
    echo "labels_to_c.sh: $wnids:${bad%%:*}: not a WordNet id (n and 8 digits): ${bad#*:}" >&2
    exit 1
fi
printf '/* Generated from %s and %s by src/cli/labels_to_c.sh; do not edit. */\n' "$1" "$wnids"
printf 'const char *const imagenet_classes[] = {\n'
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/",/' "$1"
printf '};\n'
printf 'const int imagenet_classes_count = %d;\n' "$names"
printf 'const char *const imagenet_wnids[] = {\n'
sed -e 's/^/    "/' -e 's/$/",/' "$wnids"
printf '};\n'
