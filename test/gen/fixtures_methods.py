#!/usr/bin/env python3
"""fixtures_methods.py: PyTorch goldens for guidedbp's other gradient methods.

    /usr/bin/python3 test/gen/fixtures_methods.py test/fixtures

Needs Debian's torch 1.13 / torchvision 0.14, numpy, SciPy and PIL, and
make_fixtures.py's outputs (golden/ inputs, tiny.safetensors and guided
maps). Writes FIXTURE_DIR/methods/ (stale *.npy/*.png there are removed):

  <case>_map.npy       a method's result: (224, 224, 3) HWC float32, or
                       (224, 224) float32 for a cam
  manifest.json
    "cases"     every stored result with its recipe (weights, image, method,
                guide, class, target, layer, channel, cam_layer, smooth,
                noise, seed, sigma, steps), its score, target margin, max_abs,
                and "vs_float64": how far the same recipe in float64 is from
                it (max_rel, and the count of values off by > 1e-3 max_abs),
                i.e. how much rounding alone moves it
    "derived"   results not stored because they are, bit for bit, the
                float32 product of stored files ("product": paths, layouts)
    "legendre"  Captum's alphas and step sizes for N = 1, 16, 50
    "noise"     SmoothGrad z and float32 noise at a few (seed, k, j)

Captum and pytorch-grad-cam are not installed here (and there is no
network), so every method is written out directly in torch, following
those libraries' code (captum/attr/_core/integrated_gradients.py and
_utils/approximation_methods.py, pytorch_grad_cam/grad_cam.py), and checked
against a second formulation. The definitions, exactly as src/explain/methods.h
implements them:

  gradient        d score / d x, x the normalized input (1, 3, 224, 224)
  deconv          ReLUs in scope pass clamp(grad_out, min=0) to their input,
                  whatever their activation; the others the true gradient
  grad-x-input    x * d score / d x
  integrated      baseline b = Normalize(black image) (integrated(start="zero"):
                  0, Captum's default, for fixtures_flat.py); nodes/weights
                  leggauss(N) -> alpha_i = 0.5 (x_i + 1), w_i = 0.5 w_i
                  (float64); s_i = b + alpha_i (x - b) in float32; total =
                  sum_i grad(s_i) * float32(w_i) over a stacked (N, ...)
                  tensor; result = total * (x - b)
  SmoothGrad      sigma = F (max x - min x) in float64; copy k, CHW element j:
                  u1 = ((z(2(kn+j)) >> 40) + 1) 2^-24, u2 = (z(2(kn+j)+1) >> 40)
                  2^-24, z(i) = splitmix64 value i of stream S (make_fixtures'
                  generator); noise = float32(sigma sqrt(-2 ln u1) cos(2 pi u2));
                  result = (sum_k method(x + noise_k)) / K in float32
  gradcam         A = layer output, G = d score / d A; cam = relu(sum_c
                  mean_hw(G_c) A_c); bilinear (align_corners=False) to
                  224x224; (cam - min) / (max - min), zeros if max == min
  guided-gradcam  guided map (scope features) * cam
  layer target    score = sum of layer NAME's output in channel K

The score is the target's logit; the target is the argmax on the clean input
unless a class is given. Every output is a pure function of this script,
make_fixtures.py and the test images: re-running writes identical bytes.
"""

import copy
import functools
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.special
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (the model, generator, preprocessing)

ROOT = mf.ROOT
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SIZE = 224
N_IN = 3 * SIZE * SIZE
check = mf.check


# ------------------------------------------------------------ ReLU rules

class DeconvReLUFunction(torch.autograd.Function):
    """A ReLU whose backward is the deconvnet rule: max(grad, 0), whatever x."""

    @staticmethod
    def forward(ctx, x):
        return torch.where(x > 0, x, torch.zeros_like(x))

    @staticmethod
    def backward(ctx, grad):
        return torch.where(grad > 0, grad, torch.zeros_like(grad))


class DeconvReLU(nn.Module):
    def forward(self, x):
        return DeconvReLUFunction.apply(x)


def swap_relus(model, rule, scope):
    """Implementation A: a copy of the model with the scope's ReLUs replaced."""
    if rule is None:
        return model
    model = copy.deepcopy(model)
    for name in scope:
        parent, index = name.rsplit(".", 1)
        getattr(model, parent)[int(index)] = mf.GuidedReLU() if rule == "guided" else DeconvReLU()
    return model


class RuleHooks:
    """Implementation B: full backward hooks on the scope's ReLU modules."""

    def __init__(self, model, rule, scope):
        self.outputs, self.handles = {}, []
        if rule is None:
            return
        modules = dict(model.named_modules())
        for name in scope:
            relu = modules[name]
            check(isinstance(relu, nn.ReLU) and not relu.inplace, f"{name} is not ReLU(inplace=False)")
            self.handles.append(relu.register_forward_hook(self._save))
            hook = self._guided if rule == "guided" else self._deconv
            self.handles.append(relu.register_full_backward_hook(hook))

    def _save(self, module, inputs, output):
        self.outputs[module] = output.detach()

    def _guided(self, module, grad_input, grad_output):
        return (torch.clamp(grad_output[0], min=0) * (self.outputs[module] > 0),)

    @staticmethod
    def _deconv(module, grad_input, grad_output):
        return (torch.clamp(grad_output[0], min=0),)

    def remove(self):
        for handle in self.handles:
            handle.remove()


def method_rule(method):
    """(ReLU rule, default scope) of a gradient-like method."""
    return {"gradient": (None, None), "grad-x-input": (None, None),
            "guided": ("guided", "features"), "deconv": ("deconv", "features")}[method]


# ------------------------------------------------------------ scores

def forward_to(model, x, name):
    """The output of module `name` (features.i or classifier.i), computed by
    running the model's Sequential prefix, so module hooks fire normally."""
    part, index = name.split(".")
    index = int(index)
    if part == "features":
        return model.features[:index + 1](x)
    h = torch.flatten(model.avgpool(model.features(x)), 1)
    return model.classifier[:index + 1](h)


def score_of(model, x, target, layer, channel):
    if layer is None:
        return model(x)[0, target]
    return forward_to(model, x, layer)[0, channel].sum()


def input_grad(model, x, target, layer=None, channel=None, hook_layer=False):
    """d score / d x for one (1, 3, H, W) input (adds no ReLU hooks). With
    hook_layer, a layer's output is taken by a forward hook during the whole
    model's forward instead of by running the Sequential prefix."""
    x = x.detach().clone().requires_grad_(True)
    if layer is not None and hook_layer:
        store = {}
        handle = dict(model.named_modules())[layer].register_forward_hook(
            lambda module, inputs, output: store.__setitem__("out", output))
        try:
            model(x)
        finally:
            handle.remove()
        score = store["out"][0, channel].sum()
    else:
        score = score_of(model, x, target, layer, channel)
    (g,) = torch.autograd.grad(score, x)
    return g.detach()


def rule_grad(model, swapped, x, rule, scope, target, layer=None, channel=None, second=True):
    """The gradient under the ReLU rule by implementation A (the swapped
    model), checked against implementation B (hooks on the original model;
    a layer's output taken by a forward hook) when `second`; returns A's
    result and the largest difference."""
    g = input_grad(swapped, x, target, layer, channel)
    if not second:
        return g, 0.0
    relus = mf.GUIDES[scope] if rule else ()
    # A forward hook sees a module's output before its own full backward
    # hook wraps it: B cannot target a ReLU that carries the rule.
    check(layer not in relus, f"implementation B cannot target {layer} under the {rule} rule")
    hooks = RuleHooks(model, rule, relus)
    try:
        g2 = input_grad(model, x, target, layer, channel, hook_layer=True)
    finally:
        hooks.remove()
    diff = float((g - g2).abs().max())
    check(diff <= 1e-7 * max(1.0, float(g.abs().max())),
          f"self-check: {rule or 'plain'} gradient differs by {diff:g} between the two implementations")
    return g, diff


def hwc(t):
    """(1, 3, H, W) or (3, H, W) tensor -> (H, W, 3) array, same dtype."""
    return t.reshape(3, SIZE, SIZE).permute(1, 2, 0).contiguous().numpy()


# ------------------------------------------------------------ SmoothGrad noise

def splitmix64_at(seed, idx):
    """splitmix64 value i of stream `seed` for a uint64 array of i, as in
    make_fixtures.generate_tensor: mix(seed + (i + 1) * golden)."""
    z = idx + np.uint64(1)
    with np.errstate(over="ignore"):
        z *= np.uint64(mf.GOLDEN_RATIO)
        z += np.uint64(seed)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def uniforms(seed, k, n=N_IN):
    """(u1, u2) of copy k, elements 0..n-1: u1 in (0, 1], u2 in [0, 1)."""
    i = np.uint64(2) * (np.uint64(k) * np.uint64(n) + np.arange(n, dtype=np.uint64))
    u1 = ((splitmix64_at(seed, i) >> np.uint64(40)).astype(np.float64) + 1.0) * 2.0 ** -24
    u2 = (splitmix64_at(seed, i + np.uint64(1)) >> np.uint64(40)).astype(np.float64) * 2.0 ** -24
    return u1, u2


@functools.lru_cache(maxsize=None)
def gaussian(seed, k, n=N_IN):
    """z of copy k, elements 0..n-1 (float64), by Python's math module, i.e.
    the C library's log, cos and sqrt (what the C program calls); NumPy's
    own vectorised log and cos may differ from them in the last bit."""
    u1, u2 = uniforms(seed, k, n)
    log, cos, sqrt, two_pi = math.log, math.cos, math.sqrt, 2.0 * math.pi
    return np.array([sqrt(-2.0 * log(a)) * cos(two_pi * b) for a, b in zip(u1.tolist(), u2.tolist())])


def gaussian_numpy(seed, k, n=N_IN):
    u1, u2 = uniforms(seed, k, n)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def gaussian_python(seed, k, j, n=N_IN):
    """The same value in plain Python (make_fixtures.splitmix64, math)."""
    i = 2 * (k * n + j)
    u1 = ((mf.splitmix64(seed, i) >> 40) + 1) * 2.0 ** -24
    u2 = (mf.splitmix64(seed, i + 1) >> 40) * 2.0 ** -24
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def sigma_of(x, noise):
    return noise * (float(x.max()) - float(x.min()))


NOISE_SPOTS = (0, 1, 2, 50175, 50176, 100351, 100352, N_IN - 1)


def noise_copy(x, sigma, seed, k, spots, stats):
    """x_k = x + float32(sigma z); checks z against plain Python at spots."""
    z = gaussian(seed, k)
    for j in NOISE_SPOTS + tuple(range(997 * (k + 1), N_IN, 7919 * 13)):
        want = gaussian_python(seed, k, j)
        check(z[j] == want, f"self-check: noise seed {seed} copy {k} element {j}: {z[j]!r} vs {want!r}")
    for j in NOISE_SPOTS:
        spots.append({"seed": seed, "sigma": sigma, "k": k, "j": j, "z": float(z[j]),
                      "noise": float(np.float32(sigma * z[j]))})
    stats["numpy_ulps"] = stats.get("numpy_ulps", 0) + int((gaussian_numpy(seed, k) != z).sum())
    stats["z"] = stats.get("z", []) + [z]
    return x + torch.from_numpy((sigma * z).astype(np.float32)).view(1, 3, SIZE, SIZE)


# ------------------------------------------------------------ methods

def baseline():
    """The preprocessed black image, as torch computes it."""
    b = transforms.Normalize(MEAN, STD)(torch.zeros(3, SIZE, SIZE))
    mean = torch.tensor(MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(3, 1, 1)
    check(torch.equal(b, (torch.zeros(3, SIZE, SIZE) - mean) / std),
          "self-check: Normalize(black) differs from (0 - mean) / std")
    return b.unsqueeze(0)


def legendre(n):
    """Captum's gausslegendre alphas and step sizes (lists of float64)."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return [float(a) for a in 0.5 * (1 + nodes)], [float(w) for w in 0.5 * weights]


def integrated(model, x, target, n, stats, start="black"):
    # black: Captum's baselines=Normalize(zeros); zero: its default, 0 after Normalize.
    b = baseline().to(x.dtype) if start == "black" else torch.zeros_like(x)
    alphas, steps = legendre(n)
    scaled = [b + alpha * (x - b) for alpha in alphas]
    # Captum: the N scaled inputs go through the model as one batch.
    s = torch.cat(scaled, 0).requires_grad_(True)
    (grads,) = torch.autograd.grad(torch.unbind(model(s)[:, target]), s)
    total = (grads * torch.tensor(steps, dtype=torch.float32).view(n, 1, 1, 1)).sum(0, keepdim=True)
    attr = total * (x - b)

    # Second formulation: one input at a time, accumulated in a loop.
    acc = torch.zeros_like(x)
    for s_i, w in zip(scaled, steps):
        acc = acc + input_grad(model, s_i, target) * np.float32(w)
    attr2 = acc * (x - b)
    diff = float((attr - attr2).abs().max())
    check(diff <= 1e-6 * float(attr.abs().max()), f"self-check: integrated N={n} batched vs "
                                                  f"one at a time differs by {diff:g}")
    # Captum as written multiplies by torch.tensor(step_sizes), which is
    # float64, and so sums and returns float64: how far that is.
    captum64 = (grads.double() * torch.tensor(steps).view(n, 1, 1, 1)).sum(0, keepdim=True) * (x - b)
    d64 = float((captum64 - attr.double()).abs().max())
    # Completeness: sum of attributions vs score(x) - score(b).
    with torch.no_grad():
        gap = float(model(x)[0, target]) - float(model(b)[0, target])
    total_attr = float(attr.double().sum())
    stats.append(f"integrated N={n}: batched vs per-step {diff:.3g}; vs Captum's float64 step "
                 f"sizes {d64:.3g}; completeness sum {total_attr:.6g} vs score gap {gap:.6g}")
    return attr


def smooth(model, swapped, x, method, target, k_copies, noise, seed, spots, stats):
    rule, scope = method_rule(method)
    sigma = sigma_of(x, noise)
    acc = torch.zeros_like(x)
    info = {}
    for k in range(k_copies):
        xk = noise_copy(x, sigma, seed, k, spots, info)
        g, _ = rule_grad(model, swapped, xk, rule, scope, target, second=(k == 0))
        acc = acc + (xk * g if method == "grad-x-input" else g)
    z = np.concatenate(info["z"])
    stats.append(f"smooth {method} K={k_copies} F={noise} S={seed}: sigma {sigma!r}; z mean "
                 f"{z.mean():.4f} std {z.std():.4f} over {z.size}; NumPy's log/cos differ from "
                 f"libm's in {info['numpy_ulps']} values")
    return acc / k_copies, sigma


def gradcam_parts(model, x, target, layer):
    """(A, G): the layer's output and the score's gradient there, as
    pytorch-grad-cam gets them (a forward hook and a tensor hook)."""
    store = {}

    def save(module, inputs, output):
        store["A"] = output.detach()
        output.register_hook(lambda grad: store.__setitem__("G", grad.detach()))

    handle = dict(model.named_modules())[layer].register_forward_hook(save)
    try:
        x = x.detach().clone().requires_grad_(True)
        model(x)[0, target].backward()
    finally:
        handle.remove()
    return store["A"], store["G"]


def gradcam_parts_split(model, x, target, layer):
    """Second formulation: the net cut at the layer, A a leaf."""
    part, index = layer.split(".")
    check(part == "features", "gradcam layers are in features")
    with torch.no_grad():
        a = model.features[:int(index) + 1](x)
    a = a.clone().requires_grad_(True)
    h = torch.flatten(model.avgpool(model.features[int(index) + 1:](a)), 1)
    (g,) = torch.autograd.grad(model.classifier(h)[0, target], a)
    return a.detach(), g


def cam_from(a, g):
    weights = g.mean(dim=(2, 3))                                # (1, C)
    cam = torch.relu((weights[:, :, None, None] * a).sum(dim=1))  # (1, h, w)
    up = F.interpolate(cam[None], size=(SIZE, SIZE), mode="bilinear", align_corners=False)[0, 0]
    lo, hi = up.min(), up.max()
    if float(hi) == float(lo):
        return torch.zeros_like(up), cam[0]
    return (up - lo) / (hi - lo), cam[0]


def bilinear_numpy(c, oh, ow):
    """F.interpolate(bilinear, align_corners=False) in float64, written out."""
    h, w = c.shape

    def axis(n_out, n_in):
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, fy = axis(oh, h)
    x0, x1, fx = axis(ow, w)
    c = c.astype(np.float64)
    top = c[y0][:, x0] * (1 - fx) + c[y0][:, x1] * fx
    bot = c[y1][:, x0] * (1 - fx) + c[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


def gradcam(model, x, target, layer, stats):
    a, g = gradcam_parts(model, x, target, layer)
    a2, g2 = gradcam_parts_split(model, x, target, layer)
    check(torch.equal(a, a2), f"self-check: gradcam {layer} activations differ between formulations")
    dg = float((g - g2).abs().max())
    check(dg <= 1e-6 * float(g.abs().max()), f"self-check: gradcam {layer} gradients differ by {dg:g}")
    cam, coarse = cam_from(a, g)
    cam2, _ = cam_from(a2, g2)
    dc = float((cam - cam2).abs().max())
    check(dc <= 1e-5, f"self-check: gradcam {layer} cams differ by {dc:g}")
    # The upsampling against a written-out bilinear (before min-max).
    up = F.interpolate(coarse[None, None], size=(SIZE, SIZE), mode="bilinear",
                       align_corners=False)[0, 0].double().numpy()
    du = float(np.abs(up - bilinear_numpy(coarse.numpy(), SIZE, SIZE)).max())
    check(du <= 1e-6 * max(1e-30, float(coarse.max())), f"self-check: bilinear upsampling off by {du:g}")
    c = cam.numpy()
    check(c.min() >= 0 and c.max() <= 1 and (c.max() == 1 or c.max() == 0),
          f"self-check: cam {layer} outside [0, 1]: {c.min()} .. {c.max()}")
    stats.append(f"gradcam {layer}: A {tuple(a.shape)}, hooks vs split: grad {dg:.3g}, cam {dc:.3g}; "
                 f"upsampling vs numpy {du:.3g}; cam range [{c.min()}, {c.max()}], "
                 f"coarse max {float(coarse.max()):.6g}, zero coarse cells {int((coarse == 0).sum())}")
    return cam


# ------------------------------------------------------------ cases

# (case, model, image, method, class, layer, channel, options). A map is
# 600 KB and the folder's budget about 6 MB: results that are exactly (bit
# for bit) the product of stored files are listed in the manifest's
# "derived" with the recipe instead of being stored (see DERIVED).
CASES = [
    ("tiny_cat224_gradient", "tiny", "cat224.png", "gradient", None, None, None, {}),
    ("tiny_cat224_deconv_features", "tiny", "cat224.png", "deconv", None, None, None, {"guide": "features"}),
    ("tiny_cat224_deconv_all", "tiny", "cat224.png", "deconv", None, None, None, {"guide": "all"}),
    ("tiny_cat224_grad_x_input", "tiny", "cat224.png", "grad-x-input", None, None, None, {}),
    ("tiny_cat224_smooth_guided", "tiny", "cat224.png", "guided", None, None, None,
     {"guide": "features", "smooth": 4, "noise": 0.15, "seed": 1}),
    ("tiny_cat224_smooth_grad_x_input", "tiny", "cat224.png", "grad-x-input", None, None, None,
     {"smooth": 3, "noise": 0.2, "seed": 5}),
    ("tiny_cat224_gradcam", "tiny", "cat224.png", "gradcam", None, None, None, {"cam_layer": "features.11"}),
    ("tiny_cat224_gradcam_f8", "tiny", "cat224.png", "gradcam", None, None, None, {"cam_layer": "features.8"}),
    ("tiny_cat224_guided_gradcam", "tiny", "cat224.png", "guided-gradcam", None, None, None,
     {"guide": "features", "cam_layer": "features.11"}),
    ("tiny_cat224_layer_f10c3_guided", "tiny", "cat224.png", "guided", None, "features.10", 3,
     {"guide": "features"}),
    ("tiny_cat224_layer_f11c5_gradient", "tiny", "cat224.png", "gradient", None, "features.11", 5, {}),
    # Integrated gradients is sensitive to rounding on this model: near the
    # black baseline, max pooling meets near-ties and ReLUs near-zero inputs,
    # so float32 and float64 differ by up to 1% (in 0.1-3% of the values) for
    # N = 8, 24, 32, 50 on either image. N = 16 on cat224 is stable (1.5e-7):
    # a tight golden. ("tiny_cat_integrated50" on cat.png: float64 differs by
    # 1% in 573 values; add it back for the default N if 600 KB allow.)
    ("tiny_cat224_integrated16", "tiny", "cat224.png", "integrated", None, None, None, {"steps": 16}),
    ("random0_cat224_gradcam", "random0", "cat224.png", "gradcam", mf.FULL_CLASS, None, None,
     {"cam_layer": "features.11"}),
    ("random0_cat224_guided_gradcam", "random0", "cat224.png", "guided-gradcam", mf.FULL_CLASS, None, None,
     {"guide": "features", "cam_layer": "features.11"}),
]

# case: its factors, (fixture path below FIXTURE_DIR, layout). The product is
# float32, elementwise, a HW factor broadcast over the channels, CHW read as
# HWC after a transpose.
DERIVED = {
    "tiny_cat224_grad_x_input": (("golden/cat224_png_input.npy", "CHW"),
                                 ("methods/tiny_cat224_gradient_map.npy", "HWC")),
    "tiny_cat224_guided_gradcam": (("golden/tiny_cat224_png_features_map.npy", "HWC"),
                                   ("methods/tiny_cat224_gradcam_map.npy", "HW")),
    "random0_cat224_guided_gradcam": (("golden/random0_cat224_png_features_map.npy", "HWC"),
                                      ("methods/random0_cat224_gradcam_map.npy", "HW")),
}

LEGENDRE_N = (1, 16, 50)


def as_hwc(arr, layout):
    if layout == "CHW":
        return np.ascontiguousarray(arr.transpose(1, 2, 0))
    if layout == "HW":
        return arr[:, :, None]
    return arr


def rel(path):
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def load_models(fixture_dir):
    specs = mf.alexnet_specs(mf.TINY_WIDTHS, mf.TINY_HIDDEN, mf.CLASSES)
    tiny_tensors = mf.generate_weights(mf.TINY_SEED, specs)
    tiny_file = Path(fixture_dir) / "golden" / "tiny.safetensors"
    if tiny_file.is_file():
        back, _, _ = mf.read_safetensors(tiny_file)
        for name, shape, _, arr in tiny_tensors:
            check(back[name][0] == tuple(shape) and np.array_equal(
                back[name][1].view(np.uint32), arr.reshape(-1).view(np.uint32)),
                  f"{tiny_file}: {name} is not the generator's seed {mf.TINY_SEED}")
    tiny = mf.load_model(mf.AlexNetShaped(mf.TINY_WIDTHS, mf.TINY_HIDDEN, mf.CLASSES), tiny_tensors)
    full_tensors = mf.generate_weights(mf.FULL_SEED, mf.alexnet_specs(mf.FULL_WIDTHS, mf.FULL_HIDDEN,
                                                                      mf.CLASSES))
    full = mf.full_alexnet(full_tensors)
    del full_tensors
    return {"tiny": (tiny, rel(tiny_file)), "random0": (full, f"random:{mf.FULL_SEED}")}


def extra_checks(models, inputs, stats):
    """Checks of the methods against second formulations that write nothing."""
    tiny = models["tiny"][0]
    x = inputs["cat224.png"]
    with torch.no_grad():
        t = int(torch.argmax(tiny(x)[0]))
    g = input_grad(tiny, x, t)

    # The gradient against a central difference of the float64 model along a
    # fixed direction (the noise stream, seed 99).
    tiny64 = copy.deepcopy(tiny).double()
    v = torch.from_numpy(gaussian_numpy(99, 0)).view(1, 3, SIZE, SIZE)
    eps = 1e-5  # small enough that no ReLU or max pooling switches
    with torch.no_grad():
        fd = (float(tiny64(x.double() + eps * v)[0, t]) - float(tiny64(x.double() - eps * v)[0, t])) / (2 * eps)
    dot = float((g.double() * v).sum())
    rel_err = abs(fd - dot) / abs(fd)
    check(rel_err < 1e-5, f"self-check: gradient . v = {dot:g}, central difference {fd:g}")
    stats.append(f"gradient: directional derivative {dot:.9g} vs float64 central difference "
                 f"{fd:.9g} (relative {rel_err:.2g})")

    # Integrated gradients with one node: the midpoint gradient times (x - b).
    b = baseline()
    one = integrated(tiny, x, t, 1, [])
    mid = input_grad(tiny, b + 0.5 * (x - b), t) * (x - b)
    d1 = float((one - mid).abs().max())
    check(d1 == 0, f"self-check: integrated N=1 differs from the midpoint rule by {d1:g}")
    stats.append("integrated N=1 == gradient(b + 0.5 (x - b)) * (x - b), bit for bit")

    # SmoothGrad with one noiseless copy is the method itself.
    guided = swap_relus(tiny, "guided", mf.GUIDES["features"])
    plain, _ = rule_grad(tiny, guided, x, "guided", "features", t)
    same, _ = smooth(tiny, guided, x, "guided", t, 1, 0.0, 3, [], [])
    check(torch.equal(same, plain), "self-check: SmoothGrad K=1 F=0 differs from the method")
    stats.append("smooth K=1 F=0 == the method itself, bit for bit")

    # Deconv and guided agree when every in-scope ReLU is active: on a model
    # whose conv biases are made huge (each layer's 1000 times the last's,
    # so every activation is positive), both zero the negative gradients at
    # the feature ReLUs and nothing else.
    pos = copy.deepcopy(tiny)
    with torch.no_grad():
        for i, conv in enumerate((0, 3, 6, 8, 10)):
            pos.features[conv].bias.add_(1e3 ** (i + 1))
        check(all(bool((pos.features[:i](x) > 0).all()) for i in (2, 5, 8, 10, 12)),
              "self-check: the biased model still has inactive ReLUs")
    dec = input_grad(swap_relus(pos, "deconv", mf.GUIDES["features"]), x, t)
    gui = input_grad(swap_relus(pos, "guided", mf.GUIDES["features"]), x, t)
    check(torch.equal(dec, gui), "self-check: deconv != guided with every feature ReLU active")
    stats.append("deconv == guided on a model whose feature ReLUs are all active, bit for bit")

    # Gauss-Legendre: NumPy's nodes against SciPy's.
    worst = 0.0
    for n in LEGENDRE_N + (7, 100):
        xs, ws = np.polynomial.legendre.leggauss(n)
        xs2, ws2 = scipy.special.roots_legendre(n)
        worst = max(worst, float(np.abs(xs - xs2).max()), float(np.abs(ws - ws2).max()))
    check(worst < 1e-13, f"self-check: leggauss and roots_legendre differ by {worst:g}")
    stats.append(f"leggauss vs scipy roots_legendre: {worst:.2g}")


def run_method(model, swapped_model, x, method, target, layer, channel, opt, stats, spots):
    """(result array, SmoothGrad sigma or None, note) of one case."""
    guide = opt.get("guide")
    sigma, note = None, ""
    if method == "integrated":
        out = hwc(integrated(model, x, target, opt["steps"], stats, opt.get("baseline", "black")))
    elif method in ("gradcam", "guided-gradcam"):
        cam = gradcam(model, x, target, opt["cam_layer"], stats)
        if method == "gradcam":
            out = cam.numpy()
        else:
            g, d = rule_grad(model, swapped_model("guided", guide), x, "guided", guide, target)
            out = hwc(g) * cam.numpy()[:, :, None]
            note = f"guided: two implementations differ by {d:.3g}"
    elif opt.get("smooth"):
        rule, _ = method_rule(method)
        acc, sigma = smooth(model, swapped_model(rule, guide), x, method, target,
                            opt["smooth"], opt["noise"], opt["seed"], spots, stats)
        out = hwc(acc)
    else:
        rule, _ = method_rule(method)
        g, d = rule_grad(model, swapped_model(rule, guide), x, rule, guide, target, layer, channel)
        out = hwc(x * g) if method == "grad-x-input" else hwc(g)
        note = f"{rule or 'plain'}: two implementations differ by {d:.3g}"
    return out, sigma, note


def write(fixture_dir):
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    fixture_dir = Path(fixture_dir)
    out_dir = fixture_dir / "methods"
    out_dir.mkdir(parents=True, exist_ok=True)
    images = fixture_dir / "images"
    stats, spots, written = [], [], set()

    def save(name, data):
        if isinstance(data, np.ndarray):
            mf.write_npy(out_dir / name, data)
        else:
            mf.write_png(out_dir / name, data)
        written.add(name)
        return rel(out_dir / name)

    models = load_models(fixture_dir)
    models64 = {key: copy.deepcopy(model).double() for key, (model, _) in models.items()}
    inputs = {}
    for name in ("cat224.png", "cat.png"):
        x = mf.preprocess(images / name).unsqueeze(0)
        golden = fixture_dir / "golden" / f"{mf.image_key(name)}_input.npy"
        check(golden.is_file(), f"{golden}: missing (run make_fixtures.py first)")
        check(np.array_equal(np.load(golden).view(np.uint32), x[0].numpy().view(np.uint32)),
              f"self-check: {name} preprocesses differently from {golden}")
        inputs[name] = x

    swapped = {}

    def swapped_model(key, rule, scope):
        if rule is None:
            return models64[key[:-2]] if key.endswith("64") else models[key][0]
        if (key, rule, scope) not in swapped:
            model = models64[key[:-2]] if key.endswith("64") else models[key][0]
            swapped[(key, rule, scope)] = swap_relus(model, rule, mf.GUIDES[scope])
        return swapped[(key, rule, scope)]

    results, cases, derived = {}, [], []
    for case, key, image, method, cls, layer, channel, opt in CASES:
        model, weights = models[key]
        x = inputs[image]
        with torch.no_grad():
            logits = model(x)[0]
        target = int(torch.argmax(logits)) if cls is None else cls
        margin = float(logits[target]) - float(torch.cat([logits[:target], logits[target + 1:]]).max())
        out, sigma, note = run_method(model, lambda rule, scope: swapped_model(key, rule, scope), x,
                                      method, target, layer, channel, opt, stats, spots)
        # The same recipe in float64 (model, input and arithmetic): how far
        # rounding alone moves this result.
        out64, _, _ = run_method(models64[key], lambda rule, scope: swapped_model(key + "64", rule, scope),
                                 x.double(), method, target, layer, channel, opt, [], [])
        diff64 = np.abs(out64 - out.astype(np.float64))
        scale = float(np.abs(out64).max())
        vs64 = {"max_rel": float(diff64.max()) / scale,
                "count_over_1e-3": int((diff64 > 1e-3 * scale).sum())}
        guide = opt.get("guide")
        with torch.no_grad():
            score = float(score_of(model, x, target, layer, channel))
        if layer is not None:
            target, margin = None, None
        check(out.dtype == np.float32, f"{case}: result is {out.dtype}, not float32")
        results[case] = out
        max_abs = float(np.abs(out.astype(np.float64)).max())
        check(np.isfinite(out).all() and max_abs > 0, f"{case}: the map is not finite or is all zeros")
        entry = {
            "case": case, "weights": weights, "image": rel(images / image), "method": method,
            "guide": guide, "class": cls, "target": target, "score": score, "margin": margin,
            "layer": layer, "channel": channel, "cam_layer": opt.get("cam_layer"),
            "smooth": opt.get("smooth"), "noise": opt.get("noise"), "seed": opt.get("seed"),
            "sigma": sigma, "steps": opt.get("steps"), "map": None, "max_abs": max_abs,
            "vs_float64": vs64}
        if case in DERIVED:
            entry["product"] = [{"path": rel(fixture_dir / p), "layout": layout}
                                for p, layout in DERIVED[case]]
            derived.append(entry)
        else:
            entry["map"] = save(f"{case}_map.npy", out)
            cases.append(entry)
        print(f"{case:34s} target {str(target):>4s} score {score:<11.6g} max|map| {max_abs:<11.6g} "
              f"float64: {vs64['max_rel']:.2g}, {vs64['count_over_1e-3']} over 1e-3; {note}")

    # The derived results, recomputed from the files as a reader would.
    for entry in derived:
        a, b = (as_hwc(np.load(ROOT / f["path"] if not Path(f["path"]).is_absolute() else f["path"]),
                       f["layout"]) for f in entry["product"])
        check(np.array_equal(a * b, results[entry["case"]]),
              f"self-check: {entry['case']} is not the product of its factors bit for bit")
    stats.append(f"derived: {', '.join(e['case'] for e in derived)} == products of stored files, bit for bit")

    extra_checks(models, inputs, stats)

    legendre_table = {}
    for n in LEGENDRE_N:
        alphas, steps = legendre(n)
        legendre_table[str(n)] = {"alphas": alphas, "step_sizes": steps,
                                  "step_sizes_float32": [float(np.float32(w)) for w in steps]}
    manifest = {
        "written_by": "test/gen/fixtures_methods.py",
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
        "cases": cases,
        "derived": derived,
        "legendre": legendre_table,
        "noise": spots,
    }
    mf.write_json(out_dir / "manifest.json", manifest)
    written.add("manifest.json")
    for stale in sorted(os.listdir(out_dir)):
        if stale.endswith((".npy", ".png")) and stale not in written:
            os.remove(out_dir / stale)
    print("\n".join(stats))
    print(f"fixtures_methods: {len(cases)} stored cases, {len(derived)} derived, "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} FIXTURE_DIR")
    try:
        write(sys.argv[1])
    except mf.Failure as failure:
        sys.exit(f"fixtures_methods: {failure}")
