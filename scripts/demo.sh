#!/bin/sh
# demo.sh GUIDEDBP: the saliency map of the bundled cat photo, with
# torchvision's pretrained AlexNet when weights/alexnet.safetensors exists,
# otherwise (loudly) with randomly initialised weights.
set -e
bin=${1:-./guidedbp}
image=test/fixtures/images/cat.png
out=build/demo
mkdir -p "$out"
if [ -f weights/alexnet.safetensors ]; then
    weights=weights/alexnet.safetensors
else
    weights=random:0
    cat >&2 <<'MSG'
************************************************************************
* weights/alexnet.safetensors is missing: this demo runs AlexNet with  *
* RANDOM weights (--weights random:0), so the class it reports means   *
* nothing. Get torchvision's pretrained weights with 'make weights'    *
* (downloads 233 MB), then run 'make demo' again.                      *
************************************************************************
MSG
fi
"$bin" "$image" --weights "$weights" --class 281 -o "$out/cat_guided.png" --npy
echo "demo: wrote $out/cat_guided.png (and its raw map $out/cat_guided.npy)"
