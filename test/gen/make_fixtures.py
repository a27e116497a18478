#!/usr/bin/env python3
"""make_fixtures.py: the PyTorch reference that writes guidedbp's golden fixtures.

    /usr/bin/python3 test/gen/make_fixtures.py      (or: make fixtures)

Needs torch, torchvision, PIL and numpy (Debian's python3-torch and friends);
run it from anywhere, it writes relative to the project root:

  weights/imagenet_classes.txt        torchvision's 1000 class names, index order
  test/fixtures/images/               cat.png (copied) and images derived from it
  test/fixtures/golden/
    <image>_input.npy                 preprocessed tensor (3, 224, 224) float32
    tiny.safetensors                  reduced-width AlexNet, generator seed 7
    random0_check.json                per-tensor spot values and sums of seed 0
    <case>_logits.npy                 (K,) float32
    <case>_map.npy                    guided input gradient, (224, 224, 3) float32
    <case>.png                        its picture
    manifest.json                     {"inputs": [...], "cases": [...]}

The recipe reproduced by the C program:
  * preprocessing: PIL convert('RGB'), Resize(224), CenterCrop(224), ToTensor,
    Normalize(ImageNet mean/std);
  * model.eval() AlexNet (torchvision's, or the same layer sequence with
    smaller widths), ReLU(inplace=False);
  * guided backprop: backward from a one-hot at the target logit; at a guided
    ReLU the gradient to its input is clamp(grad_out, min=0) * (out > 0);
    scope "features" guides the 5 ReLUs of model.features, "all" every ReLU;
  * map = input.grad[0].permute(1, 2, 0); picture =
    rint(255 * clip((g - mean) / std * 0.1 + 0.5, 0, 1)), statistics in
    float64 with the population std, mid-grey when std == 0.

Weights come from a counter-based splitmix64 stream (see generate_tensor), so
the C program draws the same full-size AlexNet from "random:0" and nothing
large is committed. Every output is a pure function of this script and
cat.png: re-running writes identical bytes. The script checks itself (two
independent guided-backprop implementations, a pure-Python generator, the
safetensors file read back) and stops with a message if a check fails.

Also calls write(fixture_dir) of test/gen/fixtures_resize.py and
test/gen/fixtures_pth.py when they exist, with fixture_dir = test/fixtures.
"""

import copy
import importlib
import io
import itertools
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.models._meta import _IMAGENET_CATEGORIES

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ROOT / "scripts"
FIXTURES = ROOT / "test" / "fixtures"
IMAGES = FIXTURES / "images"
GOLDEN = FIXTURES / "golden"
SOURCE_IMAGE = Path("/work/shared/images/cat.png")
SOURCE_README = Path("/work/shared/images/README.md")

TINY_SEED = 7
TINY_WIDTHS = (8, 16, 24, 16, 16)  # C1..C5
TINY_HIDDEN = (32, 32)             # H1, H2
FULL_SEED = 0
FULL_WIDTHS = (64, 192, 384, 256, 256)
FULL_HIDDEN = (4096, 4096)
CLASSES = 1000
FULL_CLASS = 281  # "tabby"

GOLDEN_RATIO = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
CHUNK = 1 << 22  # values per NumPy batch: bounds the generator's memory

# (feature index, kernel, stride, padding) of AlexNet's five convolutions.
CONVS = ((0, 11, 4, 2), (3, 5, 1, 2), (6, 3, 1, 1), (8, 3, 1, 1), (10, 3, 1, 1))
FEATURE_RELUS = ("features.1", "features.4", "features.7", "features.9", "features.11")
CLASSIFIER_RELUS = ("classifier.2", "classifier.5")
GUIDES = {"features": FEATURE_RELUS, "all": FEATURE_RELUS + CLASSIFIER_RELUS}


class Failure(Exception):
    """A self-check or a precondition failed; main() prints it and exits 1."""


def check(ok, message):
    if not ok:
        raise Failure(message)


# ---------------------------------------------------------------- file output

def write_bytes(path, data):
    """Writes atomically, so an interrupted run never leaves half a fixture."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_npy(path, array):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    write_bytes(path, buf.getvalue())


def write_png(path, image):
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    write_bytes(path, buf.getvalue())


def write_json(path, obj):
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def rel(path):
    return Path(path).relative_to(ROOT).as_posix()


# ------------------------------------------------------------------ generator

def alexnet_specs(widths, hidden, classes):
    """(name, shape, fan_in) of every tensor, in state_dict order."""
    specs = []
    in_c = 3
    for (index, k, _, _), out_c in zip(CONVS, widths):
        fan_in = in_c * k * k
        specs.append((f"features.{index}.weight", (out_c, in_c, k, k), fan_in))
        specs.append((f"features.{index}.bias", (out_c,), fan_in))
        in_c = out_c
    in_f = in_c * 6 * 6
    for index, out_f in zip((1, 4, 6), hidden + (classes,)):
        specs.append((f"classifier.{index}.weight", (out_f, in_f), in_f))
        specs.append((f"classifier.{index}.bias", (out_f,), in_f))
        in_f = out_f
    return specs


def generate_tensor(seed, start, shape, fan_in):
    """Values start .. start+n-1 of the stream, as a float32 array of shape.

    z_i = splitmix64 mix of (seed + (i+1) * golden) mod 2^64; u_i = (z_i >> 40)
    * 2^-24; value_i = float32((2 u_i - 1) * (1 / sqrt(fan_in))), the
    arithmetic in float64. PyTorch's default Conv2d/Linear init distribution.
    """
    n = math.prod(shape)
    bound = 1.0 / math.sqrt(fan_in)
    out = np.empty(n, dtype=np.float32)
    seed64 = np.uint64(seed)
    with np.errstate(over="ignore"):
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            z = np.arange(start + lo + 1, start + hi + 1, dtype=np.uint64)
            z *= np.uint64(GOLDEN_RATIO)
            z += seed64
            z ^= z >> np.uint64(30)
            z *= np.uint64(0xBF58476D1CE4E5B9)
            z ^= z >> np.uint64(27)
            z *= np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(31)
            u = (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24
            out[lo:hi] = ((2.0 * u - 1.0) * bound).astype(np.float32)
    return out.reshape(shape)


def generate_weights(seed, specs):
    """[(name, shape, fan_in, float32 array)] drawn from one counter stream."""
    tensors = []
    start = 0
    for name, shape, fan_in in specs:
        tensors.append((name, shape, fan_in, generate_tensor(seed, start, shape, fan_in)))
        start += math.prod(shape)
    return tensors


def splitmix64(seed, i):
    """z_i in plain Python integers."""
    z = (seed + (i + 1) * GOLDEN_RATIO) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def splitmix_value_bits(seed, i, fan_in):
    """The same value as generate_tensor, in plain Python: float32 bits."""
    u = float(splitmix64(seed, i) >> 40) * 2.0 ** -24
    value = (2.0 * u - 1.0) * (1.0 / math.sqrt(fan_in))
    return struct.unpack("<I", struct.pack("<f", value))[0]


def check_generator(seed, tensors, label):
    """Spot-checks the NumPy stream against the plain-Python one."""
    # splitmix64's published first outputs from state 0.
    check([splitmix64(0, i) for i in range(3)] ==
          [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F],
          "generator: splitmix64 from state 0 does not give its published outputs")
    start = 0
    checked = 0
    for name, shape, fan_in, arr in tensors:
        n = arr.size
        flat = arr.reshape(-1).view(np.uint32)
        offsets = {0, 1, 2, 3, n - 1, n // 2, (n * 7) // 11, (977 * 7919) % n}
        for off in sorted(offsets):
            want = splitmix_value_bits(seed, start + off, fan_in)
            check(int(flat[off]) == want,
                  f"generator: {label} {name}[{off}] is {flat[off]:#010x}, "
                  f"plain Python says {want:#010x}")
            checked += 1
        start += n
    return checked


def random_check_json(seed, tensors):
    """random0_check.json, written by hand: first values as float32 with 9
    significant digits (they round-trip exactly), sums as float64 repr."""
    lines = ["{",
             f'  "seed": {seed},',
             '  "generator": "z = splitmix64 at counter i+1, i over all values of all tensors in '
             'state_dict order; u = (z >> 40) * 2^-24; value = float32((2*u - 1) * (1.0 / '
             'sqrt(fan_in))), arithmetic in float64",',
             '  "sum": "math.fsum of the float32 values, in float64",',
             '  "tensors": [']
    entries = []
    for name, shape, fan_in, arr in tensors:
        flat = arr.reshape(-1)
        first = ", ".join("%.9g" % float(v) for v in flat[:4])
        for text, v in zip(first.split(", "), flat[:4]):
            check(np.float32(float(text)) == v, f"random check: {text} does not round-trip")
        total = math.fsum(itertools.chain.from_iterable(
            flat[lo:lo + CHUNK].tolist() for lo in range(0, flat.size, CHUNK)))
        entries.append(
            f'    {{"name": "{name}", "shape": {json.dumps(list(shape))}, '
            f'"fan_in": {fan_in}, "count": {flat.size}, "first": [{first}], '
            f'"sum": {float(total)!r}}}')
    lines.append(",\n".join(entries))
    lines += ["  ]", "}", ""]
    text = "\n".join(lines)
    json.loads(text)  # well-formed
    return text.encode()


def read_safetensors(path):
    """{name: (shape, float32 array)} and the metadata, for the read-back check."""
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    metadata = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        check(info["dtype"] == "F32", f"{path}: {name} has dtype {info['dtype']}")
        lo, hi = info["data_offsets"]
        out[name] = (tuple(info["shape"]), np.frombuffer(body[lo:hi], dtype="<f4"))
    return out, metadata, list(header)


# ---------------------------------------------------------------------- model

class AlexNetShaped(nn.Module):
    """torchvision's AlexNet with chosen widths: same layers, same key names."""

    def __init__(self, widths, hidden, classes):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(c5 * 6 * 6, hidden[0]), nn.ReLU(),
            nn.Dropout(), nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
            nn.Linear(hidden[1], classes))

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def load_model(model, tensors):
    """Loads generated tensors (strict: names, order and shapes must match)."""
    keys = list(model.state_dict().keys())
    check(keys == [t[0] for t in tensors],
          f"model: state_dict keys {keys} differ from the generator's order")
    model.load_state_dict({name: torch.from_numpy(arr.copy()) for name, _, _, arr in tensors},
                          strict=True)
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False  # full backward hooks need out-of-place ReLUs
    return model.eval()


def full_alexnet(tensors):
    model = torchvision.models.alexnet(weights=None)
    return load_model(model, tensors)


# ------------------------------------------------------------ guided backprop

class GuidedHooks:
    """Implementation 1: hooks on the ReLU modules named in scope."""

    def __init__(self, model, scope):
        self.outputs = {}
        self.handles = []
        modules = dict(model.named_modules())
        for name in scope:
            relu = modules[name]
            check(isinstance(relu, nn.ReLU) and not relu.inplace, f"{name} is not ReLU(inplace=False)")
            self.handles.append(relu.register_forward_hook(self._save))
            self.handles.append(relu.register_full_backward_hook(self._guide))

    def _save(self, module, inputs, output):
        self.outputs[module] = output.detach()

    def _guide(self, module, grad_input, grad_output):
        return (torch.clamp(grad_output[0], min=0) * (self.outputs[module] > 0),)

    def remove(self):
        for handle in self.handles:
            handle.remove()


class GuidedReLUFunction(torch.autograd.Function):
    """Implementation 2: a ReLU whose backward is the guided rule itself."""

    @staticmethod
    def forward(ctx, x):
        out = torch.where(x > 0, x, torch.zeros_like(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return torch.where((out > 0) & (grad > 0), grad, torch.zeros_like(grad))


class GuidedReLU(nn.Module):
    def forward(self, x):
        return GuidedReLUFunction.apply(x)


def swap_guided_relus(model, scope):
    model = copy.deepcopy(model)
    for name in scope:
        parent, index = name.rsplit(".", 1)
        getattr(model, parent)[int(index)] = GuidedReLU()
    return model


def backward_from(model, image, target):
    """(logits (K,), input gradient (3, H, W), target) for one image."""
    x = image.unsqueeze(0).clone().requires_grad_(True)
    logits = model(x)[0]
    if target is None:
        target = int(torch.argmax(logits))
    one_hot = torch.zeros_like(logits)
    one_hot[target] = 1.0
    logits.backward(one_hot)
    return logits.detach(), x.grad[0].detach(), target


def guided_map(model, image, guide, target):
    """Runs both implementations, checks they agree, returns implementation 1."""
    hooks = GuidedHooks(model, GUIDES[guide])
    try:
        logits, grad, target = backward_from(model, image, target)
    finally:
        hooks.remove()
    logits2, grad2, _ = backward_from(swap_guided_relus(model, GUIDES[guide]), image, target)
    check(torch.equal(logits, logits2), "self-check: logits differ between the implementations")
    diff = float((grad - grad2).abs().max())
    check(diff <= 1e-7, f"self-check: guided maps differ by {diff:g} between hooks and "
                        "the custom autograd ReLU")
    hwc = grad.permute(1, 2, 0).contiguous().numpy().astype(np.float32)
    return logits.numpy().astype(np.float32), hwc, target, diff


def saliency_png(hwc):
    g = hwc.astype(np.float64)
    std = g.std()
    if std == 0 or not np.isfinite(std):
        v = np.full(g.shape, 0.5)
    else:
        v = np.clip((g - g.mean()) / std * 0.1 + 0.5, 0.0, 1.0)
    return Image.fromarray(np.rint(v * 255.0).astype(np.uint8), "RGB")


# --------------------------------------------------------------------- images

def preprocess(path):
    transform = transforms.Compose([
        transforms.Resize(224), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with Image.open(path) as img:
        return transform(img.convert("RGB"))


IMAGES_README = """# Test images

`cat.png` — "Chelsea the cat", 451×300 RGB PNG, from scikit-image's sample data (Debian package
python3-skimage, `skimage/data/chelsea.png`). No copyright restrictions: CC0 by the photographer,
Stefan van der Walt.

The others are derived from it by `test/gen/make_fixtures.py` (PIL 9.4) and carry the same terms:

- `cat224.png` — the 300×300 centre square (x 75..374) resized with PIL bicubic to exactly
  224×224 RGB: preprocessing does no resize and no crop.
- `cat.jpg` — cat.png saved by PIL as JPEG, quality 90, default (4:2:0) subsampling: the JPEG
  decoder path.
- `gray.png` — the 160×120 region at x 150..309, y 70..189 (the face), converted to mode L:
  grey→RGB replication and an upscaling resize (120 → 224 on the short side).

`readme_methods.png` — the strip of method pictures shown in the top-level
README: maps of `cat.png` under full-size AlexNet with random weights,
written by `make demo` and assembled by `test/gen/readme_figure.py`.
"""


def write_images():
    """(file name, path) of every test image, derived deterministically."""
    check(SOURCE_IMAGE.is_file(), f"{SOURCE_IMAGE}: missing (the source image)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    write_bytes(IMAGES / "cat.png", SOURCE_IMAGE.read_bytes())
    write_bytes(IMAGES / "README.md", IMAGES_README.encode())
    with Image.open(SOURCE_IMAGE) as src:
        cat = src.convert("RGB")
    check(cat.size == (451, 300), f"cat.png is {cat.size}, expected (451, 300)")
    write_png(IMAGES / "cat224.png",
              cat.crop((75, 0, 375, 300)).resize((224, 224), Image.Resampling.BICUBIC))
    buf = io.BytesIO()
    cat.save(buf, format="JPEG", quality=90)
    write_bytes(IMAGES / "cat.jpg", buf.getvalue())
    write_png(IMAGES / "gray.png", cat.crop((150, 70, 310, 190)).convert("L"))
    return [(name, IMAGES / name) for name in ("cat224.png", "cat.png", "cat.jpg", "gray.png")]


def image_key(name):
    return name.replace(".", "_")


# ----------------------------------------------------------------------- main

GEN = Path(__file__).resolve().parent


def import_sibling(name, folder=GEN):
    """A module of folder: test/gen/'s fixture scripts, or scripts/' converter."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    if not (folder / f"{name}.py").is_file():
        return None
    return importlib.import_module(name)


def write_tiny(tensors):
    convert_pth = import_sibling("convert_pth", SCRIPTS)
    check(convert_pth is not None and hasattr(convert_pth, "write_safetensors"),
          f"{SCRIPTS / 'convert_pth.py'}: missing or has no write_safetensors()")
    path = GOLDEN / "tiny.safetensors"
    metadata = {
        "format": "pt",
        "model": "AlexNet-shaped, widths " + ",".join(map(str, TINY_WIDTHS + TINY_HIDDEN))
                 + f", {CLASSES} classes",
        "generator": f"splitmix64 seed {TINY_SEED} (test/gen/make_fixtures.py)",
    }
    convert_pth.write_safetensors(
        str(path), [(name, tuple(shape), arr.astype("<f4").tobytes())
                    for name, shape, _, arr in tensors], metadata)
    back, meta_back, order = read_safetensors(path)
    check(order == [t[0] for t in tensors], f"{path}: tensor order {order} is not state_dict order")
    check(meta_back == metadata, f"{path}: metadata reads back as {meta_back}")
    for name, shape, _, arr in tensors:
        check(back[name][0] == tuple(shape) and np.array_equal(
            back[name][1].view(np.uint32), arr.reshape(-1).view(np.uint32)),
              f"{path}: {name} does not read back bit for bit")
    return path


def run_case(cases, name, model, weights_label, image_path, image, guide, cls):
    logits, hwc, target, diff = guided_map(model, image, guide, cls)
    # How far the target's logit is above the best other one: an argmax
    # target is only reproducible if this is well above float error.
    margin = float(logits[target]) - float(np.delete(logits, target).max())
    max_abs = float(np.abs(hwc.astype(np.float64)).max())
    paths = {k: GOLDEN / f"{name}{suffix}" for k, suffix in
             (("logits", "_logits.npy"), ("map", "_map.npy"), ("png", ".png"))}
    write_npy(paths["logits"], logits)
    write_npy(paths["map"], hwc)
    write_png(paths["png"], saliency_png(hwc))
    score = float(logits[target])
    cases.append({
        "case": name, "weights": weights_label, "image": rel(image_path), "guide": guide,
        "class": cls, "target": target, "score": score,
        "margin": margin, "max_abs_map": max_abs,
        "logits": rel(paths["logits"]), "map": rel(paths["map"]), "png": rel(paths["png"])})
    print(f"{name:28s} target {target:4d} ({_IMAGENET_CATEGORIES[target]}) score {score:.7g} "
          f"margin {margin:.3g} max|map| {max_abs:.6g} impl diff {diff:g}")


def main():
    # Sibling modules import this one by name; let them share this copy.
    sys.modules.setdefault("make_fixtures", sys.modules[__name__])
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)  # nothing is random; this only pins what might be

    check(len(_IMAGENET_CATEGORIES) == CLASSES and _IMAGENET_CATEGORIES[281] == "tabby",
          "torchvision's class list is not the expected 1000 ImageNet names")
    write_bytes(ROOT / "weights" / "imagenet_classes.txt",
                ("\n".join(_IMAGENET_CATEGORIES) + "\n").encode())

    images = write_images()
    inputs = {}
    manifest_inputs = []
    for name, path in images:
        inputs[name] = preprocess(path)
        check(tuple(inputs[name].shape) == (3, 224, 224), f"{name}: preprocessed to {inputs[name].shape}")
        npy = GOLDEN / f"{image_key(name)}_input.npy"
        write_npy(npy, inputs[name].numpy().astype(np.float32))
        manifest_inputs.append({"image": rel(path), "input": rel(npy)})

    tiny_tensors = generate_weights(TINY_SEED, alexnet_specs(TINY_WIDTHS, TINY_HIDDEN, CLASSES))
    spot = check_generator(TINY_SEED, tiny_tensors, "tiny")
    tiny_path = write_tiny(tiny_tensors)
    full_tensors = generate_weights(FULL_SEED, alexnet_specs(FULL_WIDTHS, FULL_HIDDEN, CLASSES))
    spot += check_generator(FULL_SEED, full_tensors, "random0")
    write_bytes(GOLDEN / "random0_check.json", random_check_json(FULL_SEED, full_tensors))
    print(f"generator: {spot} values match the plain-Python splitmix64; "
          f"{tiny_path.name} reads back bit for bit")

    cases = []
    tiny = load_model(AlexNetShaped(TINY_WIDTHS, TINY_HIDDEN, CLASSES), tiny_tensors)
    for name, path in images:
        for guide in ("features", "all"):
            run_case(cases, f"tiny_{image_key(name)}_{guide}", tiny, rel(tiny_path),
                     path, inputs[name], guide, None)
    full = full_alexnet(full_tensors)
    del full_tensors
    for name, guide in (("cat224.png", "features"), ("cat224.png", "all"), ("cat.png", "features")):
        run_case(cases, f"random0_{image_key(name)}_{guide}", full, f"random:{FULL_SEED}",
                 IMAGES / name, inputs[name], guide, FULL_CLASS)
    write_json(GOLDEN / "manifest.json", {"inputs": manifest_inputs, "cases": cases})

    # In order: fixtures_crop reads the vgg/ and resnet/ models, fixtures_overlay
    # the maps of golden/ and methods/, fixtures_faithfulness the methods/ cams.
    for sibling in ("fixtures_resize", "fixtures_pth", "fixtures_similarity", "fixtures_methods",
                    "fixtures_overlay", "fixtures_vgg", "fixtures_jpeg", "fixtures_flat",
                    "fixtures_resnet_pth", "fixtures_resnet", "fixtures_crop",
                    "fixtures_faithfulness"):
        module = import_sibling(sibling)
        if module is None:
            print(f"{sibling}.py: not present, skipped")
            continue
        module.write(str(FIXTURES))
        print(f"{sibling}.py: written")

    print(f"make_fixtures: {len(cases)} cases, all self-checks passed, "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as failure:
        sys.exit(f"make_fixtures: {failure}")
