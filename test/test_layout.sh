#!/bin/sh
# The source layout's one rule: imports run one way. Each part of src/ may
# include only its own and lower parts,
#   util < io < nn < explain < pipeline < cli < main
# (command line -> pipeline -> methods -> network -> kernels; image and
# weight I/O below the network), and no two files include each other,
# directly or through others.
. test/lib.sh

rank() {
    case $1 in
        util/*) echo 0 ;; io/*) echo 1 ;; nn/*) echo 2 ;; explain/*) echo 3 ;;
        pipeline.*) echo 4 ;; cli/*) echo 5 ;; main.c) echo 6 ;; *) echo 99 ;;
    esac
}

# Every include of the tree under $1, as "FROM TO" lines, paths relative
# to $1 (how src/ files name each other).
edges() {
    (cd "$1" && for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
        sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r to; do
            echo "$f $to"
        done
    done)
}

imports_run_one_way() {
    edges "$1" >"$TMP/edges"
    [ -s "$TMP/edges" ] || fail_with "no includes found under $1" || return 1
    bad=0
    while read -r from to; do
        [ -f "$1/$to" ] || { fail_with "$1/$from includes $to, which is not under $1"; bad=1; continue; }
        rf=$(rank "$from") rt=$(rank "$to")
        [ "$rf" -ne 99 ] || { fail_with "$1/$from is in no part of the layout"; bad=1; continue; }
        [ "$rt" -le "$rf" ] || { fail_with "$1/$from (rank $rf) includes $to (rank $rt)"; bad=1; }
    done <"$TMP/edges"
    [ "$bad" -eq 0 ]
}

# Modules (a .c with its .h) and their imports; tsort reports a cycle.
no_cycles() {
    edges "$1" | sed 's/\.[ch] / /; s/\.[ch]$//' | awk '$1 != $2' >"$TMP/modules"
    tsort "$TMP/modules" >/dev/null 2>"$TMP/tsort" || true
    [ ! -s "$TMP/tsort" ] || fail_with "a cycle of imports: $(cat "$TMP/tsort")"
}

check "every include in src/ goes to the same or a lower part" imports_run_one_way src
check "no module in src/ imports itself through others" no_cycles src

# Both rules refuse what they should, on a small tree of each fault.
bad_tree() {
    rm -rf "$TMP/bad" && mkdir -p "$TMP/bad/io" "$TMP/bad/explain" "$TMP/bad/util"
    printf '#include "%s"\n' "$2" >"$TMP/bad/$1"
    printf '#include "%s"\n' "$4" >"$TMP/bad/$3"
}
refuses_upward() {
    bad_tree io/png.c explain/render.h explain/render.h util/error.h
    touch "$TMP/bad/util/error.h"
    ! imports_run_one_way "$TMP/bad" >/dev/null
}
check "an include from io/ up to explain/ is refused" refuses_upward
refuses_cycle() {
    bad_tree io/a.h io/b.h io/b.c io/a.h
    ! no_cycles "$TMP/bad" >/dev/null
}
check "two modules including each other are refused" refuses_cycle

summary
