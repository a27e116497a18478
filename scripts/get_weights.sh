#!/bin/sh
# get_weights.sh (`make weights`): downloads torchvision's AlexNet weights once,
# checks that their SHA-256 starts with the hex prefix in the file name (the
# check torchvision itself makes), and converts them to alexnet.safetensors in
# $XDG_DATA_HOME/guidedbp (default ~/.local/share/guidedbp), where guidedbp,
# installed or not, looks for its default weights.
# An existing weights/alexnet-owt-7be5be79.pth is not downloaded again, but it
# is checked all the same.
#
# Environment (defaults in brackets; the tests point them elsewhere):
#   GUIDEDBP_WEIGHTS_URL     [torchvision's alexnet-owt-7be5be79.pth]
#   GUIDEDBP_WEIGHTS_DIR     [$XDG_DATA_HOME/guidedbp]
#   GUIDEDBP_WEIGHTS_EXPECT  model whose tensor names and shapes the file must
#                            have [alexnet]; empty: no check
#   PYTHON                   any python3 >= 3.9 [python3]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
url=${GUIDEDBP_WEIGHTS_URL:-https://download.pytorch.org/models/alexnet-owt-7be5be79.pth}
data=${XDG_DATA_HOME:-${HOME:?neither XDG_DATA_HOME nor HOME is set}/.local/share}
dir=${GUIDEDBP_WEIGHTS_DIR:-$data/guidedbp}
expect=${GUIDEDBP_WEIGHTS_EXPECT-alexnet}
python=${PYTHON:-python3}
name=${url##*/}
pth=$dir/$name
part=$dir/${name%.pth}.part.pth  # *.pth: git-ignored if a kill leaves it
out=$dir/alexnet.safetensors

say() {
    echo "get_weights: $*" >&2
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    else
        shasum -a 256 "$1" | cut -d ' ' -f 1
    fi
}

# torchvision names its files NAME-<first hex digits of the SHA-256>.pth.
prefix=$(printf '%s\n' "$name" | sed -n 's/^.*-\([0-9a-f]\{8,64\}\)\.[A-Za-z0-9]*$/\1/p')
if [ -z "$prefix" ]; then
    say "cannot tell the expected SHA-256 from the file name '$name' (want NAME-<hex>.pth)"
    exit 1
fi

mkdir -p "$dir"
if [ -f "$pth" ]; then
    echo "get_weights: $pth is already here, not downloading it again"
else
    trap 'rm -f "$part"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "get_weights: downloading $url"
    fetched=no
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 2 --connect-timeout 30 -o "$part" "$url" && fetched=yes
    elif command -v wget >/dev/null 2>&1; then
        wget -O "$part" "$url" && fetched=yes
    else
        say "neither curl nor wget is installed"
    fi
    if [ "$fetched" != yes ]; then
        say "could not download $url (no network?). Download that file by other means," \
            "put it at $pth and run 'make weights' again."
        exit 1
    fi
    sum=$(sha256 "$part")
    case $sum in
        "$prefix"*) ;;
        *)
            say "the download from $url has SHA-256 $sum, which does not start with" \
                "$prefix: it is corrupt or not $name. Nothing was kept; try again."
            exit 1
            ;;
    esac
    mv "$part" "$pth"
    trap - EXIT INT TERM
fi

sum=$(sha256 "$pth")
case $sum in
    "$prefix"*) ;;
    *)
        say "$pth has SHA-256 $sum, which does not start with $prefix: it is not" \
            "torchvision's $name. Delete it and run 'make weights' again, or put the" \
            "right file there (from $url)."
        exit 1
        ;;
esac

if [ -n "$expect" ]; then
    set -- --expect "$expect"
else
    set --
fi
"$python" "$root/scripts/convert_pth.py" "$@" "$pth" "$out"
