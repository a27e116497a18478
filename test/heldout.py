#!/usr/bin/env python3
"""heldout.py: guidedbp's guided maps against PyTorch's on images that are
not in the repository, the fidelity measure the goldens cannot give.

    /usr/bin/python3 test/heldout.py [GUIDEDBP [IMAGE_DIR...]]

Not part of `make test` (it needs Debian's python3-torch, python3-pil and
python3-skimage, and takes minutes); it prints a table and a summary. The
images: every PNG and JPEG in IMAGE_DIRs (default: scikit-image's sample
data, /usr/lib/python3/dist-packages/skimage/data), each as it is and saved
by Pillow as two JPEGs (quality 75 4:2:0; quality 92 4:4:4 progressive),
since most photos people explain are JPEGs. Each image goes through both
test models (the reduced-width AlexNet of the goldens and full AlexNet with
random:0 weights), guide scope features, target PyTorch's predicted class,
and guidedbp runs the same (-c, --npy) under whatever GUIDEDBP_ISA says.

Measure: max |ours - torch| / max |torch| over the (224, 224, 3) map, where
torch is the float32 hook recipe (make_fixtures.guided_map); also against
the same recipe in float64, the exact answer up to rounding, which float32
PyTorch itself misses where max pooling meets near-ties.
"""
import copy
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import make_fixtures as mf  # noqa: E402

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
STRICT, LOOSE = 1e-4, 5e-2


def variants(path, tmp):
    """(label, file) of the image and its JPEG versions."""
    yield path.name, path
    with Image.open(path) as im:
        rgb = im.convert("RGB") if im.mode not in ("L", "RGB") else im.copy()
    for label, opts in (("q75_420", {"quality": 75}),
                        ("q92_444_prog", {"quality": 92, "subsampling": 0, "progressive": True})):
        out = Path(tmp) / f"{path.stem}_{label}.jpg"
        rgb.save(out, "JPEG", **opts)
        yield out.name, out


def guided64(model64, x, target):
    x = x.double().unsqueeze(0).clone().requires_grad_(True)
    swapped = mf.swap_guided_relus(model64, mf.GUIDES["features"])
    logits = swapped(x)[0]
    one_hot = torch.zeros_like(logits)
    one_hot[target] = 1.0
    logits.backward(one_hot)
    return x.grad[0].permute(1, 2, 0).numpy()


def rel(a, ref):
    return float(np.abs(a.astype(np.float64) - ref).max() / np.abs(ref).max())


def main(argv):
    guidedbp = argv[0] if argv else "./guidedbp"
    dirs = [Path(d) for d in argv[1:]] or [Path(SKIMAGE)]
    images = sorted(p for d in dirs for p in d.iterdir()
                    if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    torch.set_num_threads(1)
    tiny_t = mf.generate_weights(mf.TINY_SEED, mf.alexnet_specs(mf.TINY_WIDTHS, mf.TINY_HIDDEN,
                                                                 mf.CLASSES))
    tiny = mf.load_model(mf.AlexNetShaped(mf.TINY_WIDTHS, mf.TINY_HIDDEN, mf.CLASSES), tiny_t)
    full = mf.full_alexnet(mf.generate_weights(mf.FULL_SEED, mf.alexnet_specs(
        mf.FULL_WIDTHS, mf.FULL_HIDDEN, mf.CLASSES)))
    tiny_file = str(mf.GOLDEN / "tiny.safetensors")
    models = [("tiny", tiny, tiny_file), ("random0", full, "random:0")]
    models64 = {name: copy.deepcopy(m).double() for name, m, _ in models}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in images:
            try:
                with Image.open(path) as im:
                    im.convert("RGB")
            except Exception:  # not an image Pillow opens: not a case
                continue
            for label, file in variants(path, tmp):
                x = mf.preprocess(file)
                for name, model, weights in models:
                    _, ref, target, _ = mf.guided_map(model, x, "features", None)
                    out = Path(tmp) / "out.png"
                    run = subprocess.run([guidedbp, "-q", "-w", weights, "-c", str(target), "--npy",
                                          "-o", str(out), str(file)], capture_output=True, text=True)
                    if run.returncode != 0:
                        rows.append((label, name, None, None, run.stderr.strip()))
                        continue
                    ours = np.load(out.with_suffix(".npy"))
                    ref64 = guided64(models64[name], x, target)
                    rows.append((label, name, rel(ours, ref.astype(np.float64)), rel(ours, ref64),
                                 f"torch32 vs 64 {rel(ref, ref64):.2g}"))
    for label, name, e32, e64, note in rows:
        print(f"{label:40s} {name:8s} " + (f"{e32:9.2e} {e64:9.2e}  {note}" if e32 is not None
                                            else f"FAILED {note}"))
    done = [r for r in rows if r[2] is not None]
    jpeg = [r for r in done if r[0].lower().endswith((".jpg", ".jpeg"))]
    for title, err in (("vs float32 PyTorch", 2), ("vs float64 PyTorch", 3)):
        strict = sum(r[err] <= STRICT for r in done)
        print(f"{title}: {strict} of {len(done)} cases ({100 * strict / max(len(done), 1):.1f}%) "
              f"within {STRICT:g} of the max, JPEG {sum(r[err] <= STRICT for r in jpeg)} of "
              f"{len(jpeg)}; worst {max(r[err] for r in done):.3g}; "
              f"{sum(r[err] > LOOSE for r in done)} beyond {LOOSE:g}")
    failed = len(rows) - len(done)
    print(f"{len(rows)} cases, {failed} refused by guidedbp, ISA {os.environ.get('GUIDEDBP_ISA', 'default')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
