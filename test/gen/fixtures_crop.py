#!/usr/bin/env python3
"""fixtures_crop.py: PyTorch goldens for --crop none (the whole resized image, uncropped).

    /usr/bin/python3 test/gen/fixtures_crop.py [FIXTURE_DIR]   (default: test/fixtures)

or, from test/gen/make_fixtures.py: fixtures_crop.write(FIXTURE_DIR). Needs
Debian's torch 1.13 / torchvision 0.14, numpy, SciPy (fixtures_resnet
imports fixtures_methods) and PIL; make_fixtures.py, fixtures_vgg.py and
fixtures_resnet.py (imported: preprocessing constants, the generators, the
model classes and loaders, the guided-backprop implementations, the picture)
and their outputs FIXTURE_DIR/images/cat.png, golden/tiny.safetensors,
vgg/vgg11.safetensors and resnet/resnet18.safetensors. Writes
FIXTURE_DIR/crop/ (stale <model>_* and *_input.npy files there are removed):

  wide.png, tall.png, banner.png  crops of images/cat.png (below)
  <image>_input.npy               (3, H, W) float32, the preprocessed input; the
                                  same for every model
  <model>_<image>_logits.npy      (1000,) float32
  <model>_<image>_map.npy         (H, W, 3) HWC float32 guided-backprop map
  <model>_<image>.png             its picture (make_fixtures.saliency_png), W x H
  <model>_<image>_full.png        that picture resized to the original frame
  manifest.json                   {"cases": [{"case", "model", "arch", "image",
                                  "width", "height", "input_w", "input_h", "input",
                                  "logits", "map", "png", "full_png", "target",
                                  "score", "margin", "max_abs_map", ...}]}, paths
                                  as the committed layout's (test/fixtures/...)
  README.md                       where the images come from, their terms

<model> is tiny (test/fixtures/golden/tiny.safetensors, the reduced AlexNet
of make_fixtures.py), vgg11 (test/fixtures/vgg/vgg11.safetensors) or
resnet18 (test/fixtures/resnet/resnet18.safetensors); the cases are tiny and
resnet18 on wide, tiny and vgg11 on tall (CROPS): a float32 (3, 224, 906)
tensor alone is 2.4 MB, and these four cover the three architectures'
adaptive pools on a wide and a tall input in about 14 MB.

Definitions:
  * preprocessing (--crop none): PIL convert('RGB'), Resize(224) (shorter
    side 224, longer int(224 * long / short), PIL's BILINEAR on the PIL
    image, which antialiases when shrinking), ToTensor, Normalize(ImageNet
    mean/std); no CenterCrop: the input is (3, H, W), H x W the resized
    size, and the networks' AdaptiveAvgPool2d brings any size to the
    classifier's (6x6 AlexNet, 7x7 VGG, 1x1 ResNet).
  * the models as converted, loaded from the .safetensors files the way
    their generators load their references: tiny through
    make_fixtures.load_model(AlexNetShaped); vgg11 into
    fixtures_vgg.vgg_model(fold=True) after fixtures_vgg.check_converted;
    resnet18 by fixtures_resnet.folded_model (BatchNorm2d -> Identity, folded
    conv biases) after fixtures_resnet.check_converted. Every file is first
    checked to hold exactly what its generator draws.
  * guided backprop, scope "features", target = argmax of the logits: at a
    guided ReLU the gradient to its input is clamp(grad_out, min=0) *
    (out > 0); AlexNet/VGG guide the ReLUs of model.features, ResNet every
    ReLU call (its nn.ReLU modules are called several times a block);
    map = input.grad[0].permute(1, 2, 0).
  * picture: make_fixtures.saliency_png(map), H x W RGB.
  * full-size picture: the picture resized with PIL
    Image.resize((width, height), Image.Resampling.BILINEAR) to the original
    image's size: with --crop none the crop box is the whole resized image,
    so render_full_size's region is the whole frame (no neutral border).

Images (PIL 9.4 crops of cat.png, 451x300, saved as PNG; same CC0 terms):
  wide    449 x 111 at (1, 67), through the eyes   -> input 906 x 224 (4.05:1)
  tall    120 x 300 at (200, 0), through the nose  -> input 224 x 560 (1:2.5)
  banner  451 x 50 at (0, 100), the eyes           -> 2020 x 224: past --crop
          none's 8:1 limit (1792), for test/test_crop.sh's refusal; no goldens
Both resizes upsample (cat.png is 300 high, so a strip 4:1 or 1:2.5 has a
shorter side below 224); the shrinking, antialiasing resize is the center
crop's, golden-tested in test/fixtures/golden and resize/. cat.png itself
is not used: ResNet-18's stem max pool meets a near-tie on it (8 ulps).
tall's corner was picked by eye and passes the guards below as it is. wide's size and corner come from a search
(width 451, 449, 447 centred; height 109..112; y 40..120: 972 strips) in
which only this one passed every guard for all three models: at 906 x 224
VGG-11's first max pool has ~190000 live windows and met a near-tie in 99%
of the strips. Should a corner stop passing (another PyTorch, say), the
script tries the others of candidates() in order: the corner moved by +5,
-5, +10, ..., -20 pixels along the crop's free axis, printing each
rejection, and stops if none passes (for wide that
is the likely outcome).

Guards (a case decided by rounding has no reproducible golden): the argmax
margin must be above MIN_MARGIN * max(1, max |logit|); no max-pool window
(every nn.MaxPool2d, its kernel, stride and padding) whose maximum is
positive may have a runner-up within NEAR_ULPS float32 ulps of it in a
float64 forward (fixtures_resnet's criterion, here at every pool), nor a
float32 winner other than float64's, nor an exact float64 tie that float32
splits (exact ties that float32 keeps are allowed and counted: upsampled
flat regions give VGG-11 hundreds, which the first maximum decides); the map
must not be all zeros; the float32 map must be within MAX_VS_FLOAT64 of its
max from the same recipe in float64, with the same argmax.

Self-checks (each stops the script with a message): Resize(224) gives the
size above and the same pixels as PIL img.resize((W, H), BILINEAR);
PyTorch's max pooling takes the first maximum of a window (what guidedbp
does on exact ties, which float64 and float32 must share); the
weights files are their generators' (see above); every map is computed
twice, for AlexNet/VGG by make_fixtures' ReLU hooks and by its swapped
custom-autograd ReLU, for ResNet by swapped ReLU modules and by
fixtures_resnet's functional forward with tensor hooks (make_fixtures'
hooks keep one output per module, and ResNet calls its modules several
times), and the two agree to 1e-6 of the map's max (impl_rel_diff); the
written PNGs decode to the arrays they were made from.
Every output is a pure function of this script, its three siblings and the
files above: re-running writes the same bytes.
"""

import collections
import copy
import io
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (AlexNet, generator, guided backprop, picture, output)
import fixtures_vgg as fv  # noqa: E402  (VGG model, its weights and converter check)
import fixtures_resnet as fr  # noqa: E402  (ResNet model, its weights, both implementations)

ROOT = mf.ROOT
REL_DIR = "test/fixtures/crop"
SIZE = 224
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
MIN_MARGIN = fr.MIN_MARGIN          # relative to max(1, max |logit|)
NEAR_ULPS = fr.NEAR_ULPS            # a max-pool runner-up this close to the maximum is a near-tie
MAX_VS_FLOAT64 = fr.MAX_VS_FLOAT64  # of max |map|
SHIFTS = (0, 5, -5, 10, -10, 15, -15, 20, -20)  # candidate corners: base + shift * direction
check = mf.check

# (image, width, height, base top-left corner in cat.png, direction the
# candidates move it in): see the docstring for how they were chosen.
# Each image is run through two of the models only: a map of a 906x224
# input is 2.4 MB of float32, and these four cases already cover the three
# architectures' adaptive pools on a wide and a tall input.
CROPS = [
    ("wide", 449, 111, (1, 67), (0, 1), ("tiny", "resnet18")),
    ("tall", 120, 300, (200, 0), (1, 0), ("tiny", "vgg11")),
]
# (image, width, height, top-left corner): cut from cat.png with no goldens.
REFUSED = [("banner", 451, 50, (0, 100))]
# (model, arch, weights file relative to FIXTURE_DIR)
MODELS = [
    ("tiny", "alexnet", "golden/tiny.safetensors"),
    ("vgg11", "vgg11", "vgg/vgg11.safetensors"),
    ("resnet18", "resnet18", "resnet/resnet18.safetensors"),
]


def candidates(w, h, base, step):
    """The crop corners tried, in order, that fit in cat.png."""
    out = []
    for s in SHIFTS:
        x, y = base[0] + s * step[0], base[1] + s * step[1]
        if 0 <= x and x + w <= 451 and 0 <= y and y + h <= 300:
            out.append((x, y))
    return out


# ------------------------------------------------------------------ models

def load_tiny(path):
    """The reduced AlexNet from its file, checked against make_fixtures' generator."""
    tensors, _, order = mf.read_safetensors(path)
    drawn = mf.generate_weights(mf.TINY_SEED, mf.alexnet_specs(mf.TINY_WIDTHS, mf.TINY_HIDDEN,
                                                               mf.CLASSES))
    check(order == [t[0] for t in drawn], f"{path}: tensors {order}, not make_fixtures' order")
    for name, shape, _, arr in drawn:
        check(tensors[name][0] == tuple(shape) and np.array_equal(
            tensors[name][1].view(np.uint32), arr.reshape(-1).view(np.uint32)),
              f"{path}: {name} is not make_fixtures' generator's (seed {mf.TINY_SEED})")
    model = mf.AlexNetShaped(mf.TINY_WIDTHS, mf.TINY_HIDDEN, mf.CLASSES)
    return mf.load_model(model, [(name, tensors[name][0], None, tensors[name][1].reshape(tensors[name][0]))
                                 for name in order])


def load_vgg(path, arch="vgg11"):
    """fixtures_vgg's plain (folded) model from the converter's file."""
    cfg = fv.cfg_of(arch, fv.WIDTHS)
    bn = arch.endswith("_bn")
    template = fv.vgg_model(cfg, bn, fv.HIDDEN, fv.CLASSES)
    sd = fv.draw_state_dict(template, fv.SEEDS[arch])
    folded = fv.check_converted(arch, path, sd, template)
    plain = fv.vgg_model(cfg, bn, fv.HIDDEN, fv.CLASSES, fold=True)
    plain.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in folded.items()}, strict=True)
    return plain.eval()


def load_resnet(path, arch="resnet18"):
    """fixtures_resnet's model as converted, from the converter's file."""
    bn_model = fr.draw_reduced(arch)
    tensors = fr.check_converted(arch, path, bn_model.state_dict(), bn_model)
    return fr.folded_model(bn_model, tensors)


LOADERS = {"alexnet": load_tiny, "vgg11": load_vgg, "resnet18": load_resnet}


# ---------------------------------------------------------------- guided maps

def feature_scope(model):
    return [f"features.{i}" for i, m in enumerate(model.features) if isinstance(m, nn.ReLU)]


def guided32(arch, model, x):
    """(logits, HWC map, target, implementation difference relative to max |map|)."""
    if arch.startswith("resnet"):
        net = fr.Net(model, arch)
        logits = fr.logits_of(model, x.unsqueeze(0)).astype(np.float32)
        target = int(np.argmax(logits))
        g, diff = fr.rule_grad(net, x.unsqueeze(0), "guided", target, None, None, True)
        hwc = g[0].permute(1, 2, 0).contiguous().numpy()
        return logits, hwc, target, diff
    logits, hwc, target = guided_hooks(model, x, None)
    logits2, grad2, _ = mf.backward_from(mf.swap_guided_relus(model, feature_scope(model)), x, target)
    hwc2 = grad2.permute(1, 2, 0).contiguous().numpy()
    scale = max(1e-30, float(np.abs(hwc).max()))
    diff = float(np.abs(hwc - hwc2).max()) / scale
    check(np.array_equal(logits, logits2.numpy()),
          f"{arch}: logits differ between the guided implementations")
    check(diff <= 1e-6, f"self-check: {arch}: guided maps differ by {diff:g} of the max between "
                        "make_fixtures' hooks and its custom autograd ReLU")
    return logits, hwc, target, diff


def guided_hooks(model, x, target):
    """make_fixtures' hooks implementation: (logits, HWC map, target); target None: argmax."""
    hooks = mf.GuidedHooks(model, feature_scope(model))
    try:
        logits, grad, target = mf.backward_from(model, x, target)
    finally:
        hooks.remove()
    return logits.numpy(), grad.permute(1, 2, 0).contiguous().numpy(), target


def guided64(arch, model64, x64, target):
    """The same recipe in float64: (logits, HWC map)."""
    if arch.startswith("resnet"):
        logits = fr.logits_of(model64, x64.unsqueeze(0))
        g, _ = fr.rule_grad(fr.Net(model64, arch + " float64"), x64.unsqueeze(0), "guided", target,
                            None, None, False)
        return logits, g[0].permute(1, 2, 0).contiguous().numpy()
    return guided_hooks(model64, x64, target)[:2]


def pool_windows(model, x):
    """Every nn.MaxPool2d window of a forward pass: one (windows, k * k)
    float64 array per pool call, in call order (checking on the way that
    PyTorch takes each window's first maximum)."""
    found = []

    def hook(module, inputs, output):
        check(module.dilation in (1, (1, 1)) and not module.ceil_mode, f"{module}: not handled")
        k, s, p = (v if isinstance(v, int) else v[0] for v in (module.kernel_size, module.stride,
                                                                module.padding))
        a = inputs[0].detach()
        n, c, h, w = a.shape
        cols = F.unfold(F.pad(a, (p, p, p, p), value=-math.inf).reshape(n * c, 1, h + 2 * p, w + 2 * p),
                        k, stride=s)
        check(cols.shape[2] == output.shape[2] * output.shape[3], f"{module}: window count")
        cols = cols.transpose(1, 2).reshape(-1, k * k).numpy()
        _, index = F.max_pool2d(a, k, s, p, return_indices=True)
        n_out = output.shape[2] * output.shape[3]
        oy, ox = np.divmod(np.arange(n * c * n_out) % n_out, output.shape[3])
        first = np.argmax(cols, axis=1)
        live = cols.max(axis=1) > 0
        want = (oy * s - p + first // k) * w + ox * s - p + first % k
        check(np.array_equal(index.reshape(-1).numpy()[live], want[live]),
              f"{module}: PyTorch's max pooling does not take the first maximum of a window")
        found.append(cols.astype(np.float64))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    check(handles, "no max pooling")
    try:
        with torch.no_grad():
            model(x.unsqueeze(0))
    finally:
        for h in handles:
            h.remove()
    return found


def pool_ties(model, model64, x):
    """Where float32 rounding could decide a max pooling, over every window
    whose float64 maximum is positive (the input is a ReLU's: an all-zero
    window passes no gradient): near_ties, a runner-up within NEAR_ULPS
    float32 ulps of the maximum in float64; exact_ties, equal in float64
    (the first one wins, in PyTorch and guidedbp); exact_ties_split, equal in
    float64 but not in float32; flips, a float32 winner (first maximum)
    other than float64's; min_gap_ulps, the smallest nonzero float64 gap."""
    out = {"windows": 0, "exact_ties": 0, "exact_ties_split": 0, "near_ties": 0, "flips": 0,
           "min_gap_ulps": None}
    for cols32, cols64 in zip(pool_windows(model, x), pool_windows(model64, x.double())):
        top = np.sort(cols64, axis=1)[:, -2:]
        live = top[:, 1] > 0
        gap = top[:, 1] - top[:, 0]
        ulps = gap / np.spacing(top[:, 1].astype(np.float32)).astype(np.float64)
        top32 = np.sort(cols32, axis=1)[:, -2:]
        out["windows"] += int(live.sum())
        out["exact_ties"] += int((live & (gap == 0)).sum())
        out["exact_ties_split"] += int((live & (gap == 0) & (top32[:, 1] != top32[:, 0])).sum())
        out["near_ties"] += int((live & (gap > 0) & (ulps < NEAR_ULPS)).sum())
        out["flips"] += int((live & (np.argmax(cols32, axis=1) != np.argmax(cols64, axis=1))).sum())
        if (live & (gap > 0)).any():
            m = float(ulps[live & (gap > 0)].min())
            out["min_gap_ulps"] = m if out["min_gap_ulps"] is None else min(out["min_gap_ulps"], m)
    return out


def run_case(arch, model, model64, x):
    """Everything stored for one (model, image), or (None, reason)."""
    logits, hwc, target, diff = guided32(arch, model, x)
    logits64, hwc64 = guided64(arch, model64, x.double(), target)
    margin = float(logits[target]) - float(np.delete(logits, target).max())
    max_abs = float(np.abs(hwc.astype(np.float64)).max())
    scale64 = float(np.abs(hwc64).max())
    vs64 = float(np.abs(hwc64 - hwc.astype(np.float64)).max()) / max(scale64, 1e-300)
    ties = pool_ties(model, model64, x)
    threshold = MIN_MARGIN * max(1.0, float(np.abs(logits).max()))
    if margin <= threshold:
        return None, f"argmax margin {margin:.3g} <= {threshold:.3g}"
    if int(np.argmax(logits64)) != target:
        return None, f"float64's argmax is {int(np.argmax(logits64))}, float32's {target}"
    if ties["near_ties"] or ties["flips"] or ties["exact_ties_split"]:
        return None, (f"max pooling: {ties['near_ties']} near-ties (min gap {ties['min_gap_ulps']:.3g} "
                      f"ulps), {ties['flips']} float32 winners not float64's, "
                      f"{ties['exact_ties_split']} float64 ties split in float32")
    if not (np.isfinite(hwc).all() and max_abs > 0):
        return None, "the map is all zeros or not finite"
    if vs64 > MAX_VS_FLOAT64:
        return None, f"float32 map is {vs64:.3g} of its max from float64"
    return {"logits": logits, "map": hwc, "target": target, "margin": margin, "max_abs": max_abs,
            "impl_rel_diff": diff, "vs_float64": vs64, "ties": ties,
            "nonzero": float((hwc != 0).mean())}, None


# ------------------------------------------------------------------ images

def png_bytes(image):
    buf = io.BytesIO()
    image.save(buf, format="PNG")  # make_fixtures.write_png's encoding
    return buf.getvalue()


def preprocess_none(data, label):
    """--crop none's transform of a PNG file's bytes: (input tensor (3, H, W),
    (W, H) original, (W, H) resized)."""
    transform = transforms.Compose([transforms.Resize(SIZE), transforms.ToTensor(),
                                    transforms.Normalize(MEAN, STD)])
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    w, h = rgb.size
    short, long = min(w, h), max(w, h)
    new_long = int(SIZE * long / short)
    rw, rh = (SIZE, new_long) if w <= h else (new_long, SIZE)
    x = transform(rgb)
    check(tuple(x.shape) == (3, rh, rw), f"{label}: Resize gave {tuple(x.shape)}, expected (3, {rh}, {rw})")
    by_hand = transforms.Normalize(MEAN, STD)(transforms.ToTensor()(
        rgb.resize((rw, rh), Image.Resampling.BILINEAR)))
    check(torch.equal(x, by_hand), f"{label}: Resize(224) is not PIL's resize(({rw}, {rh}), BILINEAR)")
    return x, (w, h), (rw, rh)


def crop_image(cat, w, h, corner):
    x0, y0 = corner
    return cat.crop((x0, y0, x0 + w, y0 + h))


def write_png_checked(path, image):
    mf.write_png(path, image)
    with Image.open(path) as back:
        check(back.mode == image.mode and np.array_equal(np.asarray(back), np.asarray(image)),
              f"{path}: does not decode to the pixels written")


def choose_crop(cat, models, image, w, h, base, step):
    """The first candidate corner at which each of `models` passes the guards:
    (corner, PNG bytes, input, original size, resized size, per-model results)."""
    for corner in candidates(w, h, base, step):
        data = png_bytes(crop_image(cat, w, h, corner))
        x, size, resized = preprocess_none(data, f"{image}.png at {corner}")
        results, failed = [], None
        for key, arch, _, model, model64 in models:
            res, reason = run_case(arch, model, model64, x)
            if res is None:
                failed = f"{key}: {reason}"
                break
            results.append(res)
        if failed is None:
            return corner, data, x, size, resized, results
        print(f"fixtures_crop: {image} at {corner} rejected: {failed}")
    raise mf.Failure(f"{image}: every candidate corner was rejected (see above)")


README = """# --crop none fixtures

Written by `test/gen/fixtures_crop.py` (regenerate: `/usr/bin/python3
test/gen/fixtures_crop.py`; it rewrites identical bytes). The script's
docstring has every definition: PyTorch goldens of the reduced AlexNet
(`golden/tiny.safetensors`), VGG-11 (`vgg/vgg11.safetensors`) and ResNet-18
(`resnet/resnet18.safetensors`) on whole resized images (torchvision's
Resize(224) without CenterCrop): inputs, logits, guided-backprop maps
(scope features, target = argmax), their pictures and the pictures resized
back to the original frame (`--full-size`).

## Images

Crops of `test/fixtures/images/cat.png` ("Chelsea the cat", 451×300, from
scikit-image's sample data, CC0 by the photographer, Stefan van der Walt),
cut by PIL 9.4 and saved as PNG; they carry the same terms (CC0):

{images}
"""


# -------------------------------------------------------------------- main

def write(fixture_dir):
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    fixture_dir = Path(fixture_dir)
    out = fixture_dir / "crop"
    out.mkdir(parents=True, exist_ok=True)
    cat_path = fixture_dir / "images" / "cat.png"
    check(cat_path.is_file(), f"{cat_path}: missing")
    with Image.open(cat_path) as src:
        cat = src.convert("RGB")
    check(cat.size == (451, 300), f"{cat_path} is {cat.size}, expected (451, 300)")

    models = []
    for key, arch, weights in MODELS:
        path = fixture_dir / weights
        check(path.is_file(), f"{path}: missing (run its generator first)")
        try:
            model = LOADERS[arch](path)
        except fv.Failure as failure:
            raise mf.Failure(str(failure)) from None
        models.append((key, arch, f"test/fixtures/{weights}", model, copy.deepcopy(model).double()))

    written, cases, rows, readme_lines = set(), [], [], []

    def save_npy(name, arr):
        check(arr.dtype == np.float32, f"{name}: {arr.dtype}, not float32")
        mf.write_npy(out / name, arr)
        written.add(name)
        return f"{REL_DIR}/{name}"

    # Everything is computed before anything is written: a rejected image
    # leaves the folder as it was.
    chosen = []
    for image, w, h, base, step, keys in CROPS:
        used = [m for m in models if m[0] in keys]
        chosen.append((image, w, h, used) + choose_crop(cat, used, image, w, h, base, step))
    for image, w, h, used, corner, data, x, (ow, oh), (rw, rh), results in chosen:
        path = out / f"{image}.png"
        mf.write_bytes(path, data)
        written.add(path.name)
        readme_lines.append(f"- `{image}.png` — the {w}×{h} region at x {corner[0]}..{corner[0] + w - 1}, "
                            f"y {corner[1]}..{corner[1] + h - 1} (→ {rw}×{rh} resized)")
        rel_image = f"{REL_DIR}/{image}.png"
        rel_input = save_npy(f"{image}_input.npy", x.numpy())
        with Image.open(path) as back:
            check(np.array_equal(np.asarray(back.convert("RGB")), np.asarray(crop_image(cat, w, h, corner))),
                  f"{path}: does not decode to the crop")

        for (key, arch, weights, _, _), res in zip(used, results):
            case = f"{key}_{image}"
            hwc = res["map"]
            picture = mf.saliency_png(hwc)
            full = picture.resize((ow, oh), Image.Resampling.BILINEAR)
            write_png_checked(out / f"{case}.png", picture)
            write_png_checked(out / f"{case}_full.png", full)
            written.update({f"{case}.png", f"{case}_full.png"})
            target = res["target"]
            entry = collections.OrderedDict([
                ("case", case), ("model", weights), ("arch", arch), ("image", rel_image),
                ("width", ow), ("height", oh), ("input_w", rw), ("input_h", rh),
                ("input", rel_input),
                ("logits", save_npy(f"{case}_logits.npy", res["logits"])),
                ("map", save_npy(f"{case}_map.npy", hwc)),
                ("png", f"{REL_DIR}/{case}.png"), ("full_png", f"{REL_DIR}/{case}_full.png"),
                ("target", target), ("score", float(res["logits"][target])),
                ("margin", res["margin"]), ("max_abs_map", res["max_abs"]),
                ("guide", "features"), ("crop", [corner[0], corner[1], w, h]),
                ("nonzero", res["nonzero"]), ("vs_float64", res["vs_float64"]),
                ("impl_rel_diff", res["impl_rel_diff"]), ("pool_ties", res["ties"])])
            cases.append(entry)
            rows.append((case, rw, rh, target, entry["score"], res["margin"], res["max_abs"],
                         res["nonzero"], res["vs_float64"], res["ties"]))

    for image, w, h, corner in REFUSED:
        crop = crop_image(cat, w, h, corner)
        check(max(w, h) * SIZE // min(w, h) > 8 * SIZE, f"{image}: not past the 8:1 limit")
        write_png_checked(out / f"{image}.png", crop)
        written.add(f"{image}.png")
        readme_lines.append(f"- `{image}.png` — the {w}×{h} region at x {corner[0]}..{corner[0] + w - 1}, "
                            f"y {corner[1]}..{corner[1] + h - 1}: too elongated for --crop none "
                            f"(→ {max(w, h) * SIZE // min(w, h)}×{SIZE}), no goldens")
    mf.write_json(out / "manifest.json", collections.OrderedDict([
        ("written_by", "test/gen/fixtures_crop.py"),
        ("versions", {"torch": torch.__version__, "numpy": np.__version__}),
        ("note", "--crop none: Resize(224) without CenterCrop, the input (3, input_h, input_w); "
                 "models as converted; guided backprop scope features (ResNet: every ReLU call), "
                 "target = argmax; png = make_fixtures.saliency_png(map), input_w x input_h; "
                 "full_png = png resized by PIL BILINEAR to width x height; crop: [x, y, w, h] "
                 "of the image in images/cat.png; vs_float64: the float32 map's max distance "
                 "from the float64 recipe, relative to its max; pool_ties: float64 max-pool "
                 "windows with a positive max, exact / near (< NEAR_ULPS float32 ulps) ties"),
        ("cases", cases)]))
    written.add("manifest.json")
    mf.write_bytes(out / "README.md", README.format(images="\n".join(readme_lines)).encode())
    written.add("README.md")
    # Only what this script names: anything else in the folder is someone else's.
    ours = tuple(f"{key}_" for key, _, _ in MODELS)
    for stale in sorted(os.listdir(out)):
        if (stale.startswith(ours) or stale.endswith("_input.npy")) and stale not in written:
            os.remove(out / stale)

    print(f"{'case':16s} {'input':>9s} {'target':>6s} {'score':>10s} {'margin':>9s} {'max |map|':>10s} "
          f"{'nonzero':>7s} {'vs f64':>8s} {'pool windows, ties exact+near (min ulps)':>40s}")
    for case, rw, rh, target, score, margin, max_abs, nonzero, v64, ties in rows:
        gap = "-" if ties["min_gap_ulps"] is None else f"{ties['min_gap_ulps']:.3g}"
        print(f"{case:16s} {f'{rw}x{rh}':>9s} {target:6d} {score:10.4g} {margin:9.3g} {max_abs:10.4g} "
              f"{nonzero:7.3f} {v64:8.2g} {ties['windows']:>14d}, "
              f"{ties['exact_ties']}+{ties['near_ties']} ({gap})")
    print(f"fixtures_crop: {len(cases)} cases, all self-checks passed, {time.perf_counter() - t0:.1f} s")
    return out


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(f"usage: {sys.argv[0]} [FIXTURE_DIR]")
    sys.modules.setdefault("fixtures_crop", sys.modules[__name__])
    try:
        write(sys.argv[1] if len(sys.argv) == 2 else ROOT / "test" / "fixtures")
    except (mf.Failure, fv.Failure) as failure:
        sys.exit(f"fixtures_crop: {failure}")
