#!/usr/bin/python3
"""fixtures_vgg.py: PyTorch goldens for torchvision's VGG models (needs PyTorch).

Usage: /usr/bin/python3 test/gen/fixtures_vgg.py FIXTURE_DIR   (writes FIXTURE_DIR/vgg/)
or, from test/gen/make_fixtures.py: fixtures_vgg.write(FIXTURE_DIR).

For each of vgg11, vgg13, vgg16, vgg19 and their _bn variants, a
reduced-width model with torchvision's exact layer sequence (torchvision's
cfg with widths 64/128/256/512 -> 4/8/8/8, classifier hidden 16, 1000
classes; module names and indices as torchvision's), written as

  <arch>.pth            its state_dict, torch.save (zip format)
  <arch>.safetensors    that file converted by scripts/convert_pth.py: BatchNorm
                        folded into the convolutions, __metadata__ "arch"
  <arch>_logits.npy     (1000,) float32, the *unfolded* model (real
                        BatchNorm2d, eval mode) on images/cat224.png
  <arch>_map.npy        (224, 224, 3) float32 guided-backprop map, scope
                        "features" (the ReLUs of model.features), target =
                        argmax: only for MAP_ARCHS, to keep the folder small
  manifest.json         {"cases": [{"arch", "weights", "pth", "image",
                        "target", "score", "logits", "map", "max_abs", ...}]}

and small .pth files for the converter's tests (test/test_convert.sh):

  tiny_alexnet.pth, tiny_vgg13_bn_zip.pth, tiny_vgg13_bn_legacy.pth,
  tiny_vgg13_bn_reordered.pth   valid (widths 2, hidden 4, 10 classes)
  bad_*.pth                     each breaks the layer sequence in one way

Weights: conv and linear weights are make_fixtures.py's splitmix64 stream
(seed SEEDS[arch]) scaled to He-uniform bounds sqrt(6 / fan_in) (the last
Linear: 1 / sqrt(fan_in)), biases 1 / sqrt(fan_in); BatchNorm gamma = 1 + 0.5 u,
beta = 0.2 u, running_mean = 0.3 u, running_var = 2^u from the same stream
(u in [-1, 1)), num_batches_tracked = 12345. Paths in the manifest are the
committed layout's (test/fixtures/vgg/...), wherever FIXTURE_DIR is.

Self-checks, each stopping the script with a message: the models' state_dict
names and layer types equal torchvision's vggNN(_bn); every .pth loads back
bit for bit; the converter's output has exactly the folded names, its "arch",
and (for _bn) tensors bit-equal to a NumPy float64 fold; a plain torch model
without BatchNorm, loaded from the safetensors file, reproduces the BatchNorm
model's logits and map (relative errors printed); the guided map agrees
between hooks and a custom autograd ReLU. Every output is a pure function of
this script, make_fixtures.py's generator and cat224.png.
"""
import collections
import io
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ROOT / "scripts"
IMAGE = ROOT / "test" / "fixtures" / "images" / "cat224.png"
REL_DIR = "test/fixtures/vgg"
REL_IMAGE = "test/fixtures/images/cat224.png"

ARCHS = ("vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn")
MAP_ARCHS = ("vgg11", "vgg11_bn", "vgg16_bn", "vgg19")
SEEDS = {arch: 101 + i for i, arch in enumerate(ARCHS)}
WIDTHS = {64: 4, 128: 8, 256: 8, 512: 8}  # torchvision's widths -> ours
HIDDEN = (16, 16)
CLASSES = 1000
TINY_WIDTHS = {64: 2, 128: 2, 256: 2, 512: 2}
TINY_HIDDEN = (4, 4)
TINY_CLASSES = 10
BN_COUNTER = 12345
EPS = 1e-5
FOLD_TOLERANCE = 1e-5  # relative (to the max |value|); float32 rounding gives ~1e-7

if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


class Failure(Exception):
    pass


def check(ok, message):
    if not ok:
        raise Failure("fixtures_vgg: " + message)


def _mf():
    """make_fixtures (the generator, preprocessing, guided-backprop helpers),
    sharing the copy that runs when called from it."""
    import make_fixtures
    return sys.modules.get("make_fixtures", make_fixtures)


def write_bytes(path, data):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------- model

def cfg_of(arch, widths):
    import torchvision.models.vgg as tvvgg
    letter = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}[arch.replace("_bn", "")]
    return [v if v == "M" else widths[v] for v in tvvgg.cfgs[letter]]


def vgg_model(cfg, bn, hidden, classes, fold=False, relu_inplace=False):
    """torchvision's VGG with chosen widths: the same modules at the same
    indices. fold: nn.Identity where the BatchNorm2d was (the folded model)."""
    import torch
    import torch.nn as nn

    class VGGShaped(nn.Module):
        def __init__(self):
            super().__init__()
            layers = []
            c_in = 3
            for v in cfg:
                if v == "M":
                    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                    continue
                layers.append(nn.Conv2d(c_in, v, kernel_size=3, padding=1))
                if bn:
                    layers.append(nn.Identity() if fold else nn.BatchNorm2d(v))
                layers.append(nn.ReLU(inplace=relu_inplace))
                c_in = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(c_in * 7 * 7, hidden[0]), nn.ReLU(inplace=relu_inplace), nn.Dropout(),
                nn.Linear(hidden[0], hidden[1]), nn.ReLU(inplace=relu_inplace), nn.Dropout(),
                nn.Linear(hidden[1], classes))

        def forward(self, x):  # torchvision.models.vgg.VGG.forward
            x = self.features(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    return VGGShaped()


def check_against_torchvision(arch, model):
    """Same state_dict names and tensor ranks, same layer types and
    hyper-parameters as torchvision's model."""
    import torch.nn as nn
    import torchvision
    ref = getattr(torchvision.models, arch)(weights=None)
    ours_sd, ref_sd = model.state_dict(), ref.state_dict()
    check(list(ours_sd) == list(ref_sd), f"{arch}: state_dict names differ from torchvision's")
    for k in ref_sd:
        check(ours_sd[k].dim() == ref_sd[k].dim() and ours_sd[k].dtype == ref_sd[k].dtype,
              f"{arch}: {k} differs in rank or dtype from torchvision's")

    def sig(m):
        if isinstance(m, nn.Conv2d):
            return ("Conv2d", m.kernel_size, m.stride, m.padding, m.dilation, m.bias is not None)
        if isinstance(m, nn.MaxPool2d):
            return ("MaxPool2d", m.kernel_size, m.stride, m.padding, m.ceil_mode)
        if isinstance(m, nn.BatchNorm2d):
            return ("BatchNorm2d", m.eps, m.affine, m.track_running_stats)
        if isinstance(m, nn.AdaptiveAvgPool2d):
            return ("AdaptiveAvgPool2d", m.output_size)
        return (type(m).__name__,)
    for part in ("features", "classifier"):
        check([sig(m) for m in getattr(model, part)] == [sig(m) for m in getattr(ref, part)],
              f"{arch}: model.{part} differs from torchvision's")
    check(sig(model.avgpool) == sig(ref.avgpool), f"{arch}: avgpool differs from torchvision's")


def draw_state_dict(model, seed):
    """The model's state_dict with deterministic values (see the docstring)."""
    import numpy as np
    import torch
    mf = _mf()
    sd = model.state_dict()
    out = collections.OrderedDict()
    start = 0
    raw_draws = []
    modules = dict(model.named_modules())
    for name, t in sd.items():
        module_name, param = name.rsplit(".", 1)
        module = modules[module_name]
        shape = tuple(t.shape)
        if param == "num_batches_tracked":
            out[name] = torch.tensor(BN_COUNTER, dtype=torch.int64)
            continue
        n = math.prod(shape)
        if isinstance(module, torch.nn.BatchNorm2d):
            u = mf.generate_tensor(seed, start, shape, 1).astype(np.float64)
            raw_draws.append((name, shape, 1, u.astype(np.float32)))
            value = {"weight": 1.0 + 0.5 * u, "bias": 0.2 * u, "running_mean": 0.3 * u,
                     "running_var": np.exp2(u)}[param].astype(np.float32)
        else:
            fan_in = math.prod(module.weight.shape[1:])
            last = module is model.classifier[-1]
            he = param == "weight" and not last
            value = mf.generate_tensor(seed, start, shape, fan_in / 6.0 if he else fan_in)
            raw_draws.append((name, shape, fan_in / 6.0 if he else fan_in, value))
        start += n
        out[name] = torch.from_numpy(np.ascontiguousarray(value))
    # Spot-check the NumPy stream against make_fixtures' plain-Python splitmix64.
    start = 0
    for name, shape, fan_in, arr in raw_draws:
        flat = arr.reshape(-1).view(np.uint32)
        for off in sorted({0, 1, 2, 3, flat.size // 2, flat.size - 1}):
            if off < flat.size:
                check(int(flat[off]) == mf.splitmix_value_bits(seed, start + off, fan_in),
                      f"generator: seed {seed} {name}[{off}] differs from plain Python")
        start += flat.size
    return out


def save_pth(path, sd, legacy=False):
    """torch.save into memory (so the archive's internal name is 'archive',
    whatever the file name), loaded back and compared bit for bit."""
    import torch
    buf = io.BytesIO()
    if legacy:
        torch.save(sd, buf, _use_new_zipfile_serialization=False)
    else:
        torch.save(sd, buf)
    data = buf.getvalue()
    if legacy:  # storage keys are memory addresses: make them deterministic
        from fixtures_pth import canonical_legacy_keys
        data = canonical_legacy_keys(data)
    back = torch.load(io.BytesIO(data))
    check(list(back) == list(sd), f"{path}: names do not load back")
    for k, v in sd.items():
        check(back[k].dtype == v.dtype and back[k].shape == v.shape and
              back[k].contiguous().view(-1).view(torch.uint8).equal(
                  v.contiguous().view(-1).view(torch.uint8)),
              f"{path}: {k} does not load back bit for bit")
    write_bytes(path, data)
    return data


# ------------------------------------------------------------------ folding

def numpy_fold(sd, conv):
    """(W', b') of the convolution features.<conv> folded with features.<conv+1>,
    in float64 from the float32 values, rounded once: the converter's rule."""
    import numpy as np
    p = lambda n: sd[n].numpy().astype(np.float64)
    w, b = p(f"features.{conv}.weight"), p(f"features.{conv}.bias")
    bn = f"features.{conv + 1}"
    s = p(f"{bn}.weight") / np.sqrt(p(f"{bn}.running_var") + EPS)
    w2 = (w * s[:, None, None, None]).astype(np.float32)
    b2 = ((b - p(f"{bn}.running_mean")) * s + p(f"{bn}.bias")).astype(np.float32)
    return w2, b2


def conv_indices(model):
    import torch.nn as nn
    return [i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]


def check_converted(arch, st_path, sd, model):
    """The converter's file: metadata, names in order, values (folded for _bn).
    Returns {name: float32 array}."""
    import numpy as np
    mf = _mf()
    tensors, meta, order = mf.read_safetensors(st_path)
    check(meta.get("arch") == arch, f"{st_path}: __metadata__ arch is {meta.get('arch')!r}")
    bn = arch.endswith("_bn")
    want_names = []
    for i in conv_indices(model):
        want_names += [f"features.{i}.weight", f"features.{i}.bias"]
    want_names += [f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")]
    check(order == want_names, f"{st_path}: tensors {order}, expected {want_names}")
    out = {}
    for name in order:
        shape, flat = tensors[name]
        out[name] = flat.reshape(shape)
    for name in want_names:
        conv = int(name.split(".")[1])
        if bn and name.startswith("features."):
            w2, b2 = numpy_fold(sd, conv)
            want = w2 if name.endswith("weight") else b2
        else:
            want = sd[name].numpy()
        check(out[name].shape == want.shape and
              np.array_equal(out[name].view(np.uint32), want.view(np.uint32)),
              f"{st_path}: {name} is not bit-equal to the {'NumPy fold' if bn else 'state_dict'}")
    return out


# ----------------------------------------------------------- guided backprop

def guided(model, image, target=None):
    """make_fixtures.py's recipe with scope "features": hooks on every ReLU of
    model.features, clamp(grad_out, 0) * (out > 0); checked against the
    custom autograd ReLU. Returns (logits, HWC map, target)."""
    import numpy as np
    import torch
    import torch.nn as nn
    mf = _mf()
    scope = [f"features.{i}" for i, m in enumerate(model.features) if isinstance(m, nn.ReLU)]
    hooks = mf.GuidedHooks(model, scope)
    try:
        logits, grad, target = mf.backward_from(model, image, target)
    finally:
        hooks.remove()
    logits2, grad2, _ = mf.backward_from(mf.swap_guided_relus(model, scope), image, target)
    check(torch.equal(logits, logits2), "logits differ between the guided implementations")
    diff = float((grad - grad2).abs().max())
    check(diff <= 1e-7 * max(1.0, float(grad.abs().max())),
          f"guided maps differ by {diff:g} between hooks and the custom autograd ReLU")
    hwc = grad.permute(1, 2, 0).contiguous().numpy().astype(np.float32)
    return logits.numpy().astype(np.float32), hwc, target


def rel_err(a, b):
    import numpy as np
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


# ----------------------------------------------------------------------- main

def write_case(arch, out, image):
    import numpy as np
    import torch
    import convert_pth
    mf = _mf()
    bn = arch.endswith("_bn")
    cfg = cfg_of(arch, WIDTHS)
    model = vgg_model(cfg, bn, HIDDEN, CLASSES)
    check_against_torchvision(arch, model)
    sd = draw_state_dict(model, SEEDS[arch])
    model.load_state_dict(sd, strict=True)
    model.eval()

    pth = out / f"{arch}.pth"
    st = out / f"{arch}.safetensors"
    save_pth(pth, sd)
    convert_pth.convert(str(pth), str(st))
    folded = check_converted(arch, st, sd, model)

    logits, hwc, target = guided(model, image)
    # The folding check: a torch model without BatchNorm, from the file.
    plain = vgg_model(cfg, bn, HIDDEN, CLASSES, fold=True)
    plain.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in folded.items()}, strict=True)
    plain.eval()
    logits_f, hwc_f, _ = guided(plain, image, target)
    fold_logits, fold_map = rel_err(logits_f, logits), rel_err(hwc_f, hwc)
    check(fold_logits <= FOLD_TOLERANCE and fold_map <= FOLD_TOLERANCE,
          f"{arch}: the folded model differs from the BatchNorm model by {fold_logits:.3g} "
          f"(logits) / {fold_map:.3g} (map), relative")
    if not bn:
        check(np.array_equal(logits_f, logits) and np.array_equal(hwc_f, hwc),
              f"{arch}: the model loaded from safetensors is not bit-identical")

    others = np.delete(logits, target)
    margin = float(logits[target]) - float(others.max())
    max_abs = float(np.abs(hwc.astype(np.float64)).max())
    nonzero = float((hwc != 0).mean())
    check(max_abs > 0 and nonzero > 0.05, f"{arch}: degenerate map (max {max_abs}, "
                                          f"{nonzero:.3f} nonzero)")
    check(margin > 1e-4 * max(1.0, float(np.abs(logits).max())),
          f"{arch}: target margin {margin:g} is too small to be reproducible")
    mf.write_npy(out / f"{arch}_logits.npy", logits)
    if arch in MAP_ARCHS:
        mf.write_npy(out / f"{arch}_map.npy", hwc)
    case = collections.OrderedDict([
        ("arch", arch), ("weights", f"{REL_DIR}/{arch}.safetensors"), ("pth", f"{REL_DIR}/{arch}.pth"),
        ("image", REL_IMAGE), ("guide", "features"), ("target", target),
        ("score", float(logits[target])), ("margin", margin),
        ("logits", f"{REL_DIR}/{arch}_logits.npy"),
        ("map", f"{REL_DIR}/{arch}_map.npy" if arch in MAP_ARCHS else None),
        ("max_abs", max_abs),
        ("widths", [WIDTHS[w] for w in (64, 128, 256, 512, 512)]), ("hidden", list(HIDDEN)),
        ("classes", CLASSES),
        ("fold_rel_err_logits", fold_logits), ("fold_rel_err_map", fold_map)])
    print(f"{arch:9s} target {target:4d} score {case['score']:.7g} margin {margin:.3g} "
          f"max|map| {max_abs:.6g} nonzero {nonzero:.3f} fold rel err logits {fold_logits:.3g} "
          f"map {fold_map:.3g}")
    return case


def tiny_sd(arch, seed):
    cfg = cfg_of(arch, TINY_WIDTHS)
    model = vgg_model(cfg, arch.endswith("_bn"), TINY_HIDDEN, TINY_CLASSES)
    return draw_state_dict(model, seed)


def write_converter_cases(out):
    """Small valid and broken files for test/test_convert.sh."""
    import torch
    mf = _mf()
    # A reduced-width AlexNet.
    alex = mf.AlexNetShaped((2, 3, 2, 2, 2), TINY_HIDDEN, TINY_CLASSES)
    save_pth(out / "tiny_alexnet.pth", draw_state_dict(alex, 201))
    # vgg13_bn in both formats, and with its keys in reverse order.
    sd = tiny_sd("vgg13_bn", 202)
    save_pth(out / "tiny_vgg13_bn_zip.pth", sd)
    save_pth(out / "tiny_vgg13_bn_legacy.pth", sd, legacy=True)
    save_pth(out / "tiny_vgg13_bn_reordered.pth", collections.OrderedDict(reversed(sd.items())))

    # Broken layer sequences.
    def vgg_sd(cfg, bn, seed):
        return draw_state_dict(vgg_model(cfg, bn, TINY_HIDDEN, TINY_CLASSES), seed)
    # One convolution more in the first stage than any torchvision VGG.
    save_pth(out / "bad_unknown.pth", vgg_sd([2, 2, 2, "M", 2, "M", 2, 2, "M", 2, 2, "M",
                                              2, 2, "M"], False, 203))
    # vgg11's layers with the first max pool and the second convolution swapped.
    save_pth(out / "bad_shuffled.pth", vgg_sd([2, 2, "M", "M", 2, 2, "M", 2, 2, "M", 2, 2, "M"],
                                              False, 204))
    # vgg11_bn with the third convolution's BatchNorm taken out.
    model = vgg_model(cfg_of("vgg11_bn", TINY_WIDTHS), True, TINY_HIDDEN, TINY_CLASSES)
    third = conv_indices(model)[2]
    model.features[third + 1] = torch.nn.Identity()
    save_pth(out / "bad_missing_bn.pth", draw_state_dict(model, 205))
    # vgg11 whose second convolution takes 3 input channels instead of 2.
    sd = tiny_sd("vgg11", 206)
    sd["features.3.weight"] = torch.ones(2, 3, 3, 3)
    save_pth(out / "bad_channels.pth", sd)
    # vgg11_bn with a negative running variance.
    sd = tiny_sd("vgg11_bn", 207)
    sd["features.1.running_var"] = sd["features.1.running_var"].clone()
    sd["features.1.running_var"][1] = -0.5
    save_pth(out / "bad_running_var.pth", sd)
    # A BatchNorm counter in a state_dict that is no VGG.
    bn = torch.nn.BatchNorm2d(2)
    save_pth(out / "bad_counter.pth", collections.OrderedDict(
        [("conv.weight", torch.ones(2, 1, 1, 1))] +
        [("bn." + k, v) for k, v in bn.state_dict().items()]))


def write(fixture_dir):
    import torch
    mf = _mf()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = Path(fixture_dir) / "vgg"
    out.mkdir(parents=True, exist_ok=True)
    image = mf.preprocess(IMAGE)
    check(tuple(image.shape) == (3, 224, 224), f"{IMAGE}: preprocessed to {tuple(image.shape)}")
    cases = [write_case(arch, out, image) for arch in ARCHS]
    write_converter_cases(out)
    mf.write_json(out / "manifest.json", {
        "eps": EPS,
        "note": "weights: convert_pth.py's output (BatchNorm folded); logits and maps: the "
                "unfolded PyTorch model (BatchNorm2d, eval mode) on the image; map: guided "
                "backprop, scope features, target = argmax, (224, 224, 3) float32, null "
                "where not stored",
        "cases": cases})
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fixtures_vgg.py FIXTURE_DIR")
    try:
        print("fixtures_vgg: wrote %s" % write(sys.argv[1]))
    except Failure as e:
        sys.exit(str(e))
