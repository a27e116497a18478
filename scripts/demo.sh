#!/bin/sh
# demo.sh GUIDEDBP: the saliency maps of the bundled cat photo, with
# torchvision's pretrained AlexNet when guidedbp finds its default weights
# (`make weights`), otherwise (loudly) with randomly initialised weights.
set -e
bin=${1:-./guidedbp}
image=test/fixtures/images/cat.png
out=build/demo
mkdir -p "$out"
data=${XDG_DATA_HOME:-$HOME/.local/share}/guidedbp
if [ -n "${GUIDEDBP_WEIGHTS:-}" ]; then
    weights=$GUIDEDBP_WEIGHTS
elif [ -f "$data/alexnet.safetensors" ]; then
    weights=$data/alexnet.safetensors
elif [ -f weights/alexnet.safetensors ]; then
    weights=weights/alexnet.safetensors
else
    weights=random:0
    cat >&2 <<'MSG'
************************************************************************
* no alexnet.safetensors found: this demo runs AlexNet with           *
* RANDOM weights (--weights random:0), so the class it reports means   *
* nothing. Get torchvision's pretrained weights with 'make weights'    *
* (downloads 233 MB), then run 'make demo' again.                      *
************************************************************************
MSG
fi
"$bin" "$image" --weights "$weights" --class 281 -o "$out/cat_guided.png" --npy
echo "demo: wrote $out/cat_guided.png (and its raw map $out/cat_guided.npy)"
# The other methods and styles, quietly.
for method in gradient deconv grad-x-input gradcam guided-gradcam; do
    "$bin" -q "$image" --weights "$weights" --class 281 -m "$method" -o "$out/cat_$method.png"
done
"$bin" -q "$image" --weights "$weights" --class 281 -m integrated --steps 16 \
    -o "$out/cat_integrated.png"
"$bin" -q "$image" --weights "$weights" --class 281 --smooth 8 --batch 8 -o "$out/cat_smooth.png"
"$bin" -q "$image" --weights "$weights" --class 281 --style gray -o "$out/cat_gray.png"
"$bin" -q "$image" --weights "$weights" --layer features.10 --channel 7 -o "$out/cat_channel.png"
"$bin" -q "$image" --weights "$weights" --class 281 -m gradcam --full-size \
    -o "$out/cat_gradcam_full.png"
echo "demo: wrote the other methods' maps as $out/cat_<method>.png"
