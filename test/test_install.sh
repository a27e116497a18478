#!/bin/sh
# make install / uninstall: PREFIX and DESTDIR, the files a package ships,
# and the installed binary finding its default weights from any directory
# (XDG_DATA_HOME first, then PREFIX/share/guidedbp), with the places it
# searched named when there are none. Builds its own copy in $TMP.
. test/lib.sh
ROOT=$(pwd)
P=$TMP/prefix
B=$TMP/build
CAT=$ROOT/test/fixtures/images/cat.png
TINY=$ROOT/test/fixtures/golden/tiny.safetensors

installed() {
    make -s install PREFIX="$P" BUILD="$B" BIN="$B/guidedbp" >"$TMP/make.log" 2>&1 ||
        fail_with "make install: $(tail -5 "$TMP/make.log")" || return 1
    for f in bin/guidedbp bin/guidedbp-convert share/man/man1/guidedbp.1 \
        share/doc/guidedbp/README.md share/doc/guidedbp/WEIGHTS.md; do
        [ -f "$P/$f" ] || fail_with "$P/$f was not installed" || return 1
    done
    [ -x "$P/bin/guidedbp" ] && [ -x "$P/bin/guidedbp-convert" ] && [ -d "$P/share/guidedbp" ] ||
        fail_with "binaries not executable, or no share/guidedbp"
}
check "make install PREFIX=... installs the binary, the converter, the man page and the docs" installed

# run DIR ARGS...: the installed binary from DIR, with no weights in the
# environment and a home of its own.
run() {
    dir=$1
    shift
    (cd "$dir" && env -u GUIDEDBP_WEIGHTS HOME="$TMP/home" XDG_DATA_HOME= "$P/bin/guidedbp" "$@")
}

finds_weights() {
    mkdir -p "$TMP/elsewhere" "$TMP/home"
    run "$TMP/elsewhere" -q -o out.png "$CAT" 2>"$TMP/err" && fail_with "ran without weights" && return 1
    grep -q "no alexnet.safetensors in $TMP/home/.local/share/guidedbp, $P/share/guidedbp, weights" \
        "$TMP/err" || fail_with "the places searched are not listed: $(cat "$TMP/err")" || return 1
    cp "$TINY" "$P/share/guidedbp/alexnet.safetensors"
    run "$TMP/elsewhere" -q -o out.png "$CAT" && [ -s "$TMP/elsewhere/out.png" ] ||
        fail_with "PREFIX/share/guidedbp's weights not used" || return 1
    # A user's own copy wins over the system's.
    mkdir -p "$TMP/home/.local/share/guidedbp"
    printf 'not weights' >"$TMP/home/.local/share/guidedbp/alexnet.safetensors"
    ! run "$TMP/elsewhere" -q -o out2.png "$CAT" 2>"$TMP/err" &&
        grep -q "$TMP/home/.local/share/guidedbp/alexnet.safetensors" "$TMP/err" ||
        fail_with "XDG_DATA_HOME's file not tried first: $(cat "$TMP/err")"
}
check "the installed binary finds its weights from another directory, XDG first, PREFIX next" \
    finds_weights

converter_runs() {
    "$P/bin/guidedbp-convert" --help | grep -q resnet50 || fail_with "guidedbp-convert --help"
}
check "the installed guidedbp-convert runs" converter_runs

man_page() {
    m=$P/share/man/man1/guidedbp.1
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
        grep -q "^\.SH \"*$s" "$m" || fail_with "no $s section" || return 1
    done
    out=$(groff -man -ww -z "$m" 2>&1) && [ -z "$out" ] || fail_with "groff: $out"
}
check "the man page has a Debian maintainer's sections and groff finds nothing to warn about" \
    man_page

destdir_and_uninstall() {
    D=$TMP/dest
    make -s install DESTDIR="$D" PREFIX=/usr BUILD="$B" BIN="$B/guidedbp" >"$TMP/make.log" 2>&1 ||
        fail_with "make install DESTDIR: $(tail -5 "$TMP/make.log")" || return 1
    [ -x "$D/usr/bin/guidedbp" ] && [ -f "$D/usr/share/man/man1/guidedbp.1" ] ||
        fail_with "nothing under DESTDIR/usr" || return 1
    # Built for PREFIX=/usr: it looks in /usr/share/guidedbp, not in DESTDIR.
    "$D/usr/bin/guidedbp" --help | grep -q "/usr/share/guidedbp," ||
        fail_with "the binary does not look in PREFIX/share/guidedbp" || return 1
    make -s uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1 &&
        make -s uninstall PREFIX="$P" >/dev/null 2>&1 || fail_with "make uninstall failed" || return 1
    [ ! -e "$D/usr/bin/guidedbp" ] && [ ! -e "$P/bin/guidedbp-convert" ] &&
        [ ! -e "$P/share/man/man1/guidedbp.1" ] || fail_with "uninstall left files"
}
check "make install DESTDIR=... PREFIX=/usr stages a package; make uninstall removes it" \
    destdir_and_uninstall

summary
