#!/usr/bin/python3
"""fixtures_resnet_pth.py: torchvision ResNet state_dicts for the converter's
tests (test/test_convert.sh); needs PyTorch and torchvision.

Usage: /usr/bin/python3 test/gen/fixtures_resnet_pth.py FIXTURE_DIR
       (writes FIXTURE_DIR/resnet_pth/; the committed copy is test/fixtures)

Small files, so the converter's ResNet path is tested on real torch.save
output without full-size weights (a full resnet152 is 230 MB):

  <arch>.pth           resnet18, resnet34, resnet50, resnet101, resnet152 with
                       torchvision's modules and block counts at tiny widths
                       (stem 2, planes 2, 4, 8, 16, 10 classes), zip format
  resnet18_legacy.pth  resnet18.pth's state_dict, legacy format
  resnet18_stem4.pth   stem 4, planes 2: torchvision's _make_layer gives
                       layer1.0 a downsample (4 != 2 x 1), which no full-size
                       BasicBlock model has
  resnet50_stem8.pth   stem 8, planes 2: layer1.0 has none (8 == 2 x 4), which
                       every full-size Bottleneck model has
  plain_conv1_fc.pth   conv1.weight and fc.* alone: names too common to claim,
                       converted as plain tensors
  bad_*.pth            each refused for one reason (see write())
  torchvision_shapes.json  {arch: [[name, shape], ...]}: the full-size
                       torchvision model's state_dict, for --expect
  manifest.json        {"cases": [{"arch", "pth", "format", "stem",
                       "planes", "classes", "tensors": [[name, shape], ...],
                       "folded_sha256", "batchnorms"}]}: for each valid file
                       the converted tensors in order, from the torch model's
                       modules (each Conv2d's weight and bias, fc's), and the
                       SHA-256 of their float32 bytes as a NumPy float64 fold
                       gives them

Values: every tensor is random, BatchNorm statistics and affine included, so
that folding is exercised: conv weights normal * sqrt(2 / fan_in), BatchNorm
gamma = 1 + 0.5 u, beta = 0.2 u, running_mean = 0.3 u, running_var = 2^u
(u uniform in [-1, 1)), num_batches_tracked 12345, fc uniform in
+-1 / sqrt(fan_in); torch.Generator seeded per file (SEEDS), so a rerun on
the same torch writes the same bytes.

Self-checks, each stopping the script with a message: the tiny models'
modules (kinds, kernels, strides, paddings, bias or not) and state_dict
names are torchvision's resnetNN's; every .pth loads back bit for bit;
scripts/convert_pth.py converts each valid file to exactly the manifest's
names, its "arch", and values bit-equal to the NumPy fold; a torch model
with plain biased convolutions and no BatchNorm, loaded from the converted
file, reproduces the BatchNorm model's eval-mode logits (relative error
printed); the refusal files are refused; a full-size torchvision resnet18
(random init, BatchNorm statistics randomised) converts with --expect
resnet18 and every full-size resnetNN's names and shapes pass --expect
resnetNN (not stored: tens of MB).
"""
import collections
import hashlib
import json
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ROOT / "scripts"
REL_DIR = "test/fixtures/resnet_pth"

ARCHS = collections.OrderedDict([  # name -> (Bottleneck, blocks per stage)
    ("resnet18", (False, (2, 2, 2, 2))),
    ("resnet34", (False, (3, 4, 6, 3))),
    ("resnet50", (True, (3, 4, 6, 3))),
    ("resnet101", (True, (3, 4, 23, 3))),
    ("resnet152", (True, (3, 8, 36, 3))),
])
STEM, PLANES, CLASSES = 2, (2, 4, 8, 16), 10
SEEDS = {name: 301 + i for i, name in enumerate(ARCHS)}
BN_COUNTER = 12345
EPS = 1e-5
FOLD_TOLERANCE = 1e-5  # relative to the max |logit|; float32 rounding gives ~1e-7

for path in (SCRIPTS, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


class Failure(Exception):
    pass


def check(ok, message):
    if not ok:
        raise Failure("fixtures_resnet_pth: " + message)


def write_bytes(path, data):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_json(path, obj):
    write_bytes(path, (_json(obj) + "\n").encode())


def _depth(v):
    if isinstance(v, dict):
        return math.inf
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _json(obj, indent=0):
    """JSON with each [name, shape] pair (any list of depth <= 2) on one line:
    readable, and a third of indent=1's size."""
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        return "{\n" + ",\n".join("%s%s: %s" % (pad, json.dumps(k), _json(v, indent + 1))
                                   for k, v in obj.items()) + "\n" + " " * indent + "}"
    if isinstance(obj, list) and _depth(obj) > 2:
        return "[\n" + ",\n".join(pad + _json(v, indent + 1) for v in obj) + "\n" + \
            " " * indent + "]"
    return json.dumps(obj, separators=(",", ":"))


# ---------------------------------------------------------------------- model

def tiny_resnet(arch, stem=STEM, planes=PLANES, classes=CLASSES, base_width=64, blocks=None):
    """torchvision's ResNet with chosen widths: its own _make_layer (so the
    downsample rule is torchvision's), block classes and forward; only the
    widths hard-coded in ResNet.__init__ (64; 64, 128, 256, 512) are ours.
    base_width 128 makes a wide_resnet-shaped Bottleneck (width = 2 planes);
    blocks overrides arch's blocks per stage."""
    import torch.nn as nn
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    bottleneck, arch_blocks = ARCHS[arch]
    blocks = blocks or arch_blocks
    block = Bottleneck if bottleneck else BasicBlock

    class TinyResNet(ResNet):
        def __init__(self):
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes = stem
            self.dilation = 1
            self.groups = 1
            self.base_width = base_width
            self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(stem)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, planes[0], blocks[0])
            self.layer2 = self._make_layer(block, planes[1], blocks[1], stride=2)
            self.layer3 = self._make_layer(block, planes[2], blocks[2], stride=2)
            self.layer4 = self._make_layer(block, planes[3], blocks[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(planes[3] * block.expansion, classes)

    return TinyResNet()


def signature(m):
    import torch.nn as nn
    if isinstance(m, nn.Conv2d):
        return ("Conv2d", m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                m.bias is not None)
    if isinstance(m, nn.BatchNorm2d):
        return ("BatchNorm2d", m.eps, m.affine, m.track_running_stats)
    if isinstance(m, nn.MaxPool2d):
        return ("MaxPool2d", m.kernel_size, m.stride, m.padding, m.ceil_mode)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return ("AdaptiveAvgPool2d", m.output_size)
    return (type(m).__name__,)


def check_against_torchvision(arch, model):
    """Same modules (names, kinds, hyper-parameters) and state_dict names as
    torchvision's arch, for a model whose layer1.0 has a downsample where
    the full-size one has (the standard tiny widths)."""
    import torchvision
    ref = getattr(torchvision.models, arch)(weights=None)
    ours, theirs = list(model.named_modules()), list(ref.named_modules())
    check([n for n, _ in ours] == [n for n, _ in theirs], f"{arch}: module names differ "
          "from torchvision's")
    check(type(model).forward is type(ref).forward, f"{arch}: forward is not torchvision's")
    for (name, a), (_, b) in zip(ours[1:], theirs[1:]):  # [0]: the model itself
        check(signature(a) == signature(b), f"{arch}: {name} is {signature(a)}, torchvision's "
              f"{signature(b)}")
    check(list(model.state_dict()) == list(ref.state_dict()),
          f"{arch}: state_dict names differ from torchvision's")
    for k, v in ref.state_dict().items():
        check(model.state_dict()[k].dim() == v.dim(), f"{arch}: {k} differs in rank")


def randomise(model, seed):
    """Every parameter and BatchNorm statistic drawn (see the docstring)."""
    import torch
    import torch.nn as nn
    gen = torch.Generator().manual_seed(seed)

    def u(*shape):
        return torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2 / fan_in))
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(1 + 0.5 * u(c))
                m.bias.copy_(0.2 * u(c))
                m.running_mean.copy_(0.3 * u(c))
                m.running_var.copy_(torch.exp2(u(c)))
                m.num_batches_tracked.fill_(BN_COUNTER)
            elif isinstance(m, nn.Linear):
                bound = 1 / math.sqrt(m.in_features)
                m.weight.copy_(u(*m.weight.shape) * bound)
                m.bias.copy_(u(m.out_features) * bound)
    model.eval()
    return model


def conv_bn_pairs(model):
    """[(conv, its BatchNorm)] in module order: conv1/bn1, convK/bnK,
    downsample.0/downsample.1 (torchvision's ResNet: each Conv2d is followed
    by its BatchNorm2d in registration order)."""
    import torch.nn as nn
    modules = list(model.named_modules())
    pairs = []
    for i, (name, m) in enumerate(modules):
        if isinstance(m, nn.Conv2d):
            bn_name = name[:-1] + "1" if name.endswith("downsample.0") else \
                name.replace("conv", "bn")
            check(isinstance(dict(modules)[bn_name], nn.BatchNorm2d) and
                  dict(modules)[bn_name].num_features == m.out_channels,
                  f"{name}: no BatchNorm2d {bn_name} of its width")
            pairs.append((name, bn_name))
    return pairs


def expected_tensors(model):
    """[(name, shape)] the converter must write: each convolution's weight
    and bias in module order, then fc's."""
    mods = dict(model.named_modules())
    out = []
    for conv, _ in conv_bn_pairs(model):
        w = mods[conv].weight
        out += [(conv + ".weight", list(w.shape)), (conv + ".bias", [w.shape[0]])]
    return out + [("fc.weight", list(model.fc.weight.shape)), ("fc.bias", [model.fc.out_features])]


def numpy_fold(sd, model):
    """{name: float32 array}: the expected tensors, each BatchNorm folded in
    float64 from the float32 values (b = 0) and rounded once."""
    import numpy as np
    p = lambda n: sd[n].numpy().astype(np.float64)
    out = collections.OrderedDict()
    for conv, bn in conv_bn_pairs(model):
        s = p(f"{bn}.weight") / np.sqrt(p(f"{bn}.running_var") + EPS)
        out[conv + ".weight"] = (p(conv + ".weight") * s[:, None, None, None]).astype(np.float32)
        out[conv + ".bias"] = ((0.0 - p(f"{bn}.running_mean")) * s + p(f"{bn}.bias")) \
            .astype(np.float32)
    out["fc.weight"] = sd["fc.weight"].numpy()
    out["fc.bias"] = sd["fc.bias"].numpy()
    return out


def folded_model(model, tensors):
    """A copy of `model` whose convolutions carry biases, its BatchNorms the
    identity, loaded from the converted `tensors`: what the C side runs."""
    import copy
    import torch
    import torch.nn as nn
    plain = copy.deepcopy(model)
    mods = dict(plain.named_modules())
    for conv, bn in conv_bn_pairs(model):
        c = mods[conv]
        c.bias = nn.Parameter(torch.zeros(c.out_channels))
        parent, _, leaf = bn.rpartition(".")
        setattr(mods[parent] if parent else plain, leaf, nn.Identity())
    plain.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()},
                          strict=True)
    return plain.eval()


def read_safetensors(path):
    """(metadata, [(name, shape, float32 array)]) in file order."""
    import numpy as np
    blob = Path(path).read_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n], object_pairs_hook=collections.OrderedDict)
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out = []
    for name, e in header.items():
        check(e["dtype"] == "F32", f"{path}: {name} is {e['dtype']}")
        a, b = e["data_offsets"]
        out.append((name, e["shape"], np.frombuffer(data[a:b], np.float32).reshape(e["shape"])))
    return meta, out


# ----------------------------------------------------------------------- files

def save_pth(path, sd, legacy=False):
    from fixtures_vgg import save_pth as save  # torch.save, loaded back bit for bit
    try:
        return save(path, sd, legacy)
    except Exception as e:  # fixtures_vgg's Failure: same meaning here
        raise Failure("fixtures_resnet_pth: %s" % e) from None


def convert(src, dst, expect=None):
    import convert_pth
    return convert_pth.convert(str(src), str(dst), expect)


def refused(src, expect=None):
    """The converter's message for `src`, which it must refuse."""
    import convert_pth
    with tempfile.TemporaryDirectory() as tmp:
        try:
            convert(src, Path(tmp) / "out.safetensors", expect)
        except convert_pth.PthError as e:
            return str(e)
    raise Failure(f"fixtures_resnet_pth: {src} was converted, expected a refusal")


def write_case(out, name, arch, model, seed, formats=("zip",)):
    """model randomised and saved as out/NAME.pth (and NAME_legacy.pth);
    converted and checked; returns its manifest entries."""
    import numpy as np
    import torch
    randomise(model, seed)
    sd = model.state_dict()
    want = expected_tensors(model)
    fold = numpy_fold(sd, model)
    check([n for n, _ in want] == list(fold), f"{name}: fold names")
    folded_bytes = b"".join(fold[n].astype("<f4").tobytes() for n, _ in want)
    cases = []
    for fmt in formats:
        stem = name if fmt == "zip" else name + "_legacy"
        pth = out / f"{stem}.pth"
        save_pth(pth, sd, legacy=fmt == "legacy")
        with tempfile.TemporaryDirectory() as tmp:
            st = Path(tmp) / "out.safetensors"
            summary = convert(pth, st)
            meta, tensors = read_safetensors(st)
        check(f": {arch} (" in summary, f"{pth}: summary {summary!r} lacks {arch}")
        check(meta.get("arch") == arch, f"{pth}: __metadata__ arch {meta.get('arch')!r}")
        check([[n, s] for n, s, _ in tensors] == [[n, s] for n, s in want],
              f"{pth}: tensors {[n for n, _, _ in tensors]}, expected {[n for n, _ in want]}")
        for n, _, a in tensors:
            check(np.array_equal(a.view(np.uint32), fold[n].view(np.uint32)),
                  f"{pth}: {n} is not bit-equal to the NumPy fold")
        cases.append(collections.OrderedDict([
            ("name", stem), ("arch", arch), ("pth", f"{REL_DIR}/{stem}.pth"), ("format", fmt),
            ("tensors", [[n, s] for n, s in want]),
            ("batchnorms", len(conv_bn_pairs(model))),
            ("folded_sha256", hashlib.sha256(folded_bytes).hexdigest())]))
    # The fold is the BatchNorm model's eval-mode function.
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ref = model(x)
        got = folded_model(model, fold)(x)
    err = float((got - ref).abs().max() / ref.abs().max())
    check(err <= FOLD_TOLERANCE, f"{name}: the folded model is {err:.3g} off the BatchNorm model")
    size = os.path.getsize(out / f"{name}.pth")
    print(f"{name:16s} {len(sd):4d} tensors -> {len(want):4d}, {size:7d} bytes, "
          f"fold rel err {err:.3g}")
    return cases


def write(fixture_dir):
    import torch
    import torchvision
    import convert_pth
    torch.set_num_threads(1)
    out = Path(fixture_dir) / "resnet_pth"
    out.mkdir(parents=True, exist_ok=True)

    cases = []
    for arch in ARCHS:
        model = tiny_resnet(arch)
        check_against_torchvision(arch, model)
        cases += write_case(out, arch, arch, model, SEEDS[arch],
                            ("zip", "legacy") if arch == "resnet18" else ("zip",))
    # The downsample rule at widths no full-size model has.
    model = tiny_resnet("resnet18", stem=4)
    check(model.layer1[0].downsample is not None, "resnet18_stem4: no layer1.0 downsample")
    cases += write_case(out, "resnet18_stem4", "resnet18", model, 311)
    model = tiny_resnet("resnet50", stem=8)
    check(model.layer1[0].downsample is None, "resnet50_stem8: a layer1.0 downsample")
    cases += write_case(out, "resnet50_stem8", "resnet50", model, 312)

    # conv1.* and fc.* alone are not claimed as a ResNet.
    gen = torch.Generator().manual_seed(313)
    plain = collections.OrderedDict([("conv1.weight", torch.randn(2, 3, 7, 7, generator=gen)),
                                     ("fc.weight", torch.randn(3, 2, generator=gen)),
                                     ("fc.bias", torch.randn(3, generator=gen))])
    save_pth(out / "plain_conv1_fc.pth", plain)
    with tempfile.TemporaryDirectory() as tmp:
        convert(out / "plain_conv1_fc.pth", Path(tmp) / "o.safetensors")
        meta, tensors = read_safetensors(Path(tmp) / "o.safetensors")
    check("arch" not in meta and [n for n, _, _ in tensors] == list(plain),
          "plain_conv1_fc: not converted as plain tensors")

    # Refused, each for one reason; the message must name what test_convert.sh greps.
    def tiny_sd(arch, seed, **widths):
        return randomise(tiny_resnet(arch, **widths), seed).state_dict()

    bad = collections.OrderedDict()
    sd = tiny_sd("resnet50", 321)
    del sd["layer3.2.bn2.running_var"]
    bad["bad_missing"] = (sd, "tensor 'layer3.2.bn2.running_var' is missing")
    sd = tiny_sd("resnet50", 322)
    # layer1's output is 8 channels (2 planes x 4); give the shortcut 4 inputs.
    check(tuple(sd["layer2.0.downsample.0.weight"].shape) == (16, 8, 1, 1), "downsample shape")
    sd["layer2.0.downsample.0.weight"] = torch.randn(16, 4, 1, 1, generator=gen)
    bad["bad_shape"] = (sd, "tensor 'layer2.0.downsample.0.weight' has shape [16,4,1,1], "
                            "expected [16,8,1,1] for resnet50")
    # A third block in layer3: (2, 2, 3, 2) is no torchvision ResNet.
    sd = tiny_sd("resnet18", 323, blocks=(2, 2, 3, 2))
    bad["bad_counts"] = (sd, "blocks per stage (2, 2, 3, 2) with BasicBlock")
    sd = tiny_sd("resnet18", 324)
    sd = collections.OrderedDict([("conv1.weight", sd["conv1.weight"]),
                                  ("conv1.bias", torch.zeros(STEM))] + list(sd.items())[1:])
    bad["bad_conv_bias"] = (sd, "tensor 'conv1.bias' is not part of resnet18")
    # Stem 4, planes 2 needs a downsample in layer1.0; take it away.
    sd = tiny_sd("resnet18", 325, stem=4)
    sd = collections.OrderedDict((k, v) for k, v in sd.items()
                                 if not k.startswith("layer1.0.downsample."))
    bad["bad_no_downsample"] = (sd, "tensor 'layer1.0.downsample.0.weight' is missing")
    # Stem 2, planes 2 needs none; add one, from a model whose layer1.0 has it.
    donor = tiny_sd("resnet18", 326, stem=4)
    sd = tiny_sd("resnet18", 327)
    items = list(sd.items())
    at = [k for k, _ in items].index("layer1.1.conv1.weight")
    ds = [("layer1.0.downsample.0.weight", torch.randn(2, 2, 1, 1, generator=gen))] + \
        [(k, v) for k, v in donor.items() if k.startswith("layer1.0.downsample.1.")]
    sd = collections.OrderedDict(items[:at] + ds + items[at:])
    bad["bad_extra_downsample"] = (sd, "tensor 'layer1.0.downsample.0.weight' is not part of "
                                       "resnet18 at these widths")
    # wide_resnet50_2's shape (Bottleneck width = 2 planes): conv3 is not 4 x width.
    sd = tiny_sd("resnet50", 328, planes=(1, 1, 1, 1), base_width=128)
    bad["bad_wide"] = (sd, "tensor 'layer1.0.conv3.weight' has shape [4,2,1,1], expected "
                           "[8,2,1,1] for resnet50")
    for name, (sd, message) in bad.items():
        save_pth(out / f"{name}.pth", sd)
        got = refused(out / f"{name}.pth")
        check(message in got, f"{name}: refused with {got!r}, expected {message!r}")
        print(f"{name:20s} refused: {got}")

    # torchvision's full-size models: the --expect targets.
    shapes = collections.OrderedDict()
    for arch in ARCHS:
        ref = getattr(torchvision.models, arch)(weights=None)
        shapes[arch] = [[k, list(v.shape)] for k, v in ref.state_dict().items()]
        check(convert_pth.EXPECTED_MODELS[arch] == [(k, tuple(s)) for k, s in shapes[arch]],
              f"convert_pth.EXPECTED_MODELS[{arch!r}] is not torchvision's {arch}")
        tensors = [convert_pth.Tensor(k, tuple(s), "int64" if k.endswith("num_batches_tracked")
                                      else "float32", None) for k, s in shapes[arch]]
        check(convert_pth.identify(tensors, arch).name == arch, f"--expect {arch} refuses {arch}")
    write_json(out / "torchvision_shapes.json", shapes)
    # One full-size file end to end (in a temp dir: 47 MB).
    model = randomise(torchvision.models.resnet18(weights=None), 331)
    with tempfile.TemporaryDirectory() as tmp:
        pth, st = Path(tmp) / "resnet18.pth", Path(tmp) / "resnet18.safetensors"
        torch.save(model.state_dict(), pth)
        convert(pth, st, "resnet18")
        meta, tensors = read_safetensors(st)
    import numpy as np
    fold = numpy_fold(model.state_dict(), model)
    check(meta.get("arch") == "resnet18" and [n for n, _, _ in tensors] == list(fold) and
          all(np.array_equal(a.view(np.uint32), fold[n].view(np.uint32)) for n, _, a in tensors),
          "full-size resnet18: the converted file is not the NumPy fold")

    write_json(out / "manifest.json", collections.OrderedDict([
        ("eps", EPS), ("stem", STEM), ("planes", list(PLANES)), ("classes", CLASSES),
        ("note", "tensors: what convert_pth.py must write, in order (each Conv2d's weight "
                 "and bias in module order, then fc), from the torch model; folded_sha256: "
                 "their float32 little-endian bytes, concatenated, as a NumPy float64 fold "
                 "(b = 0) rounded once; resnet18_stem4 and resnet50_stem8 use stem 4 and 8, "
                 "planes 2, 4, 8, 16"),
        ("cases", cases)]))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fixtures_resnet_pth.py FIXTURE_DIR")
    try:
        print("fixtures_resnet_pth: wrote %s" % write(sys.argv[1]))
    except Failure as e:
        sys.exit(str(e))
