#!/usr/bin/env python3
"""fixtures_faithfulness.py: references for --eval's faithfulness metrics.

    /usr/bin/python3 test/gen/fixtures_faithfulness.py test/fixtures

Needs torch 1.13, numpy and SciPy, and make_fixtures.py's and
fixtures_methods.py's outputs (golden/ inputs, tiny.safetensors, the guided
maps, methods/ cams). Writes FIXTURE_DIR/faithfulness/ (stale *.bin there
are removed): raw little-endian arrays (*.bin, C order, no header) and
reference.json:

  "kernel"   RISE's blur kernel gkern(11, 5) in float64 (scipy's
             gaussian_filter of a delta);
  "blur"     a (3, 9, 13) float32 image and its blur by F.conv2d with
             RISE's float32 kernel, padding 5;
  "rank"     scores with ties and their ranking;
  "impute"   images, removed-pixel masks and the imputation without noise,
             solved by scipy.sparse.linalg.spsolve on the system ROAD's
             reference code (NoisyLinearImputer.setup_sparse_system,
             github.com/tleemann/road_evaluation) builds, copied below;
  "cases"    the metrics of whole images on the tiny and the full-size
             random:0 AlexNet: the deletion and insertion curves, their
             AUCs, ROAD's MoRF and LeRF scores and avg-drop's numbers.

The definitions are src/explain/faithfulness.h's, written out here
straightforwardly in torch and numpy (RISE's evaluation.py: CausalMetric,
gkern and auc; ROAD's imputations.py; pytorch-grad-cam's
metrics/cam_mult_image.py), not translated from the C:

  saliency   |m_r| + |m_g| + |m_b| in float32 (a cam: the cam)
  ranking    np.argsort(-saliency, kind="stable"): decreasing, ties by index
  k_i        i * h * w // N pixels at point i, i = 0..N
  score      softmax(logits)[target] in float64 of the float32 logits; every
             value also with the logit as the score (key suffix "_logit")
  AUC        np.trapz(curve, k / (h w)); RISE's auc() when the steps are equal
  ROAD noise float32(0.01 z), z of stream seed ^ 0x524F4144, copy 100 o + p
             (fixtures_methods.gaussian: the C library's log, cos, sqrt)

Every output is a pure function of the scripts and the fixtures they read.
"""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.ndimage
import torch
import torch.nn.functional as F
from scipy.sparse import csc_matrix, lil_matrix
from scipy.sparse.linalg import spsolve

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402
import fixtures_methods as fmeth  # noqa: E402

check = mf.check
rel = mf.rel
ROAD_STREAM = 0x524F4144
ROAD_NOISE = 0.01
RISE_STEP = 224
BATCH = 32


# ------------------------------------------------------------------- RISE

def gkern(klen, nsig):
    """RISE's evaluation.py: the Gaussian kernel, (3, 3, klen, klen) float32."""
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = scipy.ndimage.gaussian_filter(inp, nsig)
    kern = np.zeros((3, 3, klen, klen))
    kern[0, 0] = k
    kern[1, 1] = k
    kern[2, 2] = k
    return k, torch.from_numpy(kern.astype("float32"))


KERNEL64, KERN = gkern(11, 5)


def blur(x):
    """RISE's substrate for insertion: x (1, 3, h, w)."""
    return F.conv2d(x, KERN, padding=11 // 2)


def rise_auc(arr):
    return (arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1)


# ------------------------------------------------------------------- ROAD

neighbors_weights = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
                     ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def add_offset_to_indices(indices, offset, mask_shape):
    """ROAD's NoisyLinearImputer.add_offset_to_indices, as published."""
    cord1 = indices % mask_shape[1]
    cord0 = indices // mask_shape[1]
    cord0 += offset[0]
    cord1 += offset[1]
    valid = ((cord0 < 0) | (cord1 < 0) | (cord0 >= mask_shape[0]) | (cord1 >= mask_shape[1]))
    return ~valid, indices + offset[0] * mask_shape[1] + offset[1]


def setup_sparse_system(mask, img, neighbors_weights):
    """ROAD's NoisyLinearImputer.setup_sparse_system, as published: mask
    (H, W) with 0 at the pixels to impute, img (C, H, W)."""
    maskflt = mask.flatten()
    imgflat = img.reshape((img.shape[0], -1))
    indices = np.argwhere(maskflt == 0).flatten()
    coords_to_vidx = np.zeros(len(maskflt), dtype=int)
    coords_to_vidx[indices] = np.arange(len(indices))
    numEquations = len(indices)
    A = lil_matrix((numEquations, numEquations))
    b = np.zeros((numEquations, img.shape[0]))
    sum_neighbors = np.ones(numEquations)
    for n in neighbors_weights:
        offset, weight = n[0], n[1]
        valid, new_coords = add_offset_to_indices(indices, offset, mask.shape)
        valid_coords = new_coords[valid]
        valid_ids = np.argwhere(valid == 1).flatten()
        has_values_coords = valid_coords[maskflt[valid_coords] > 0.5]
        has_values_ids = valid_ids[maskflt[valid_coords] > 0.5]
        b[has_values_ids, :] -= weight * imgflat[:, has_values_coords].T
        has_no_values = valid_coords[maskflt[valid_coords] < 0.5]
        variable_ids = coords_to_vidx[has_no_values]
        has_no_values_ids = valid_ids[maskflt[valid_coords] < 0.5]
        A[has_no_values_ids, variable_ids] = weight
        sum_neighbors[np.argwhere(valid == 0).flatten()] = \
            sum_neighbors[np.argwhere(valid == 0).flatten()] - weight
    A[np.arange(numEquations), np.arange(numEquations)] = -sum_neighbors
    return A, b


def impute(img, removed):
    """ROAD's linear imputation without the noise: img (C, H, W) float32,
    removed (H, W) bool; the solution cast to float32 as ROAD does."""
    mask = (~removed).astype(np.float64)
    out = img.reshape(img.shape[0], -1).copy()
    idx = np.argwhere(mask.reshape(-1) == 0).flatten()
    if len(idx) == 0:
        return img.copy()
    A, b = setup_sparse_system(mask, img.astype(np.float64), neighbors_weights)
    res = spsolve(csc_matrix(A), b)
    res = np.asarray(res).reshape(len(idx), -1)
    out[:, idx] = res.T.astype(np.float32)
    return out.reshape(img.shape)


def road_noise(seed, o, p, n):
    z = fmeth.gaussian(seed ^ ROAD_STREAM, 100 * o + p, n)
    return (ROAD_NOISE * z).astype(np.float32)


# --------------------------------------------------------------- metrics

def saliency_of(m):
    if m.ndim == 2:
        return m.astype(np.float32)
    a = np.abs(m.astype(np.float32))
    return (a[..., 0] + a[..., 1]) + a[..., 2]


def scores(model, batch, target):
    """The probabilities and the logits of the target."""
    prob, logit = [], []
    with torch.no_grad():
        for i in range(0, len(batch), BATCH):
            logits = model(torch.from_numpy(np.stack(batch[i:i + BATCH])))
            prob += torch.softmax(logits.double(), 1)[:, target].tolist()
            logit += logits[:, target].double().tolist()
    return prob, logit


def rank(sal):
    return np.argsort(-sal.reshape(-1), kind="stable")


def deletion_insertion(model, x, order, target, steps, keys=("deletion", "insertion")):
    """The curves and AUCs of keys (with the logit as the score too)."""
    c, h, w = x.shape
    hw = h * w
    n = steps if steps else -(-hw // RISE_STEP)
    ks = [i * hw // n for i in range(n + 1)]
    flat = x.reshape(c, hw)
    dele, ins = [], []
    blurred = blur(torch.from_numpy(x)[None])[0].numpy().reshape(c, hw) if "insertion" in keys else None
    for k in ks:
        if "deletion" in keys:
            d = flat.copy()
            d[:, order[:k]] = 0
            dele.append(d.reshape(c, h, w))
        if "insertion" in keys:
            s = blurred.copy()
            s[:, order[:k]] = flat[:, order[:k]]
            ins.append(s.reshape(c, h, w))
    frac = np.array(ks, dtype=np.float64) / hw
    out = {"steps": n}
    for key, images in (("deletion", dele), ("insertion", ins)):
        if key not in keys:
            continue
        for suffix, curve in zip(("", "_logit"), scores(model, images, target)):
            out[key + suffix] = curve
            out[key + suffix + "_auc"] = float(np.trapz(curve, frac))
            if hw % n == 0:
                check(abs(rise_auc(np.array(curve)) - out[key + suffix + "_auc"]) < 1e-9,
                      f"self-check: RISE's auc() and the trapezoid differ for {key}")
    return out


def road(model, x, order, target, percents, seed, noise=road_noise):
    """MoRF (o = 0) and LeRF (o = 1) at each percentage; noise(seed, o, p, n)
    the float32 noise added to all n values."""
    c, h, w = x.shape
    hw = h * w
    imputed = []
    for p in percents:
        k = p * hw // 100
        for o, chosen in ((0, order[:k]), (1, order[hw - k:])):
            removed = np.zeros(hw, dtype=bool)
            removed[chosen] = True
            im = impute(x, removed.reshape(h, w)).reshape(-1)
            imputed.append((im + noise(seed, o, p, c * hw)).reshape(c, h, w))
    out = {"percents": list(percents)}
    for suffix, values in zip(("", "_logit"), scores(model, imputed, target)):
        morf, lerf = values[0::2], values[1::2]
        out.update({"morf" + suffix: morf, "lerf" + suffix: lerf,
                    "road" + suffix: (float(np.mean(lerf)) - float(np.mean(morf))) / 2})
    return out


def avg_drop(model, x, sal, target):
    """pytorch-grad-cam's CamMultImageConfidenceChange on x * minmax(sal)."""
    lo, hi = sal.min(), sal.max()
    m = (sal - lo) / (hi - lo) if hi > lo else np.zeros_like(sal)
    out = {}
    for suffix, (y, o) in zip(("", "_logit"), scores(
            model, [x, (torch.from_numpy(x) * torch.from_numpy(m.astype(np.float32))).numpy()], target)):
        out.update({"original" + suffix: y, "masked" + suffix: o, "drop" + suffix: max(y - o, 0.0),
                    "increase" + suffix: int(o > y)})
    return out


def metrics(model, x, sal, target, steps, percents, seed):
    """x (3, h, w) float32, sal (h, w)."""
    order = rank(sal)
    out = deletion_insertion(model, x, order, target, steps)
    out.update(road(model, x, order, target, percents, seed))
    out.update(avg_drop(model, x, sal, target))
    return out


def write(fixture_dir):
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    fixture_dir = Path(fixture_dir)
    out_dir = fixture_dir / "faithfulness"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = set()

    def save(name, arr):
        mf.write_bytes(out_dir / name, np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
        written.add(name)
        return name

    ref = {"kernel": KERNEL64.reshape(-1).tolist()}
    rng = np.random.default_rng(2026)
    src = rng.standard_normal((3, 9, 13)).astype(np.float32)
    ref["blur"] = {"shape": [3, 9, 13], "src": save("blur_src.bin", src),
                   "dst": save("blur_dst.bin", blur(torch.from_numpy(src)[None])[0].numpy())}
    ties = rng.integers(0, 5, 300).astype(np.float32)
    ref["rank"] = {"n": 300, "scores": save("rank_scores.bin", ties),
                   "order": save("rank_order.bin", np.argsort(-ties, kind="stable").astype(np.int32))}

    ref["impute"] = []
    def impute_case(label, img, removed):
        ref["impute"].append({"name": label, "shape": list(img.shape),
                              "img": save(f"impute_{label}_img.bin", img),
                              "removed": save(f"impute_{label}_removed.bin", removed.astype(np.uint8)),
                              "want": save(f"impute_{label}_want.bin", impute(img, removed))})
    impute_case("random", rng.standard_normal((3, 12, 17)).astype(np.float32), rng.random((12, 17)) < 0.4)
    block = np.zeros((20, 24), dtype=bool)
    block[0:15, 3:24] = True  # touches three borders
    impute_case("block", rng.standard_normal((2, 20, 24)).astype(np.float32), block)
    one = np.ones((5, 6), dtype=bool)
    one[4, 0] = False  # a single known pixel, in a corner
    impute_case("one_known", rng.standard_normal((1, 5, 6)).astype(np.float32), one)

    models = fmeth.load_models(fixture_dir)
    x224 = np.load(fixture_dir / "golden" / "cat224_png_input.npy")
    cat = np.load(fixture_dir / "golden" / "cat_png_input.npy")
    guided_map = np.load(fixture_dir / "golden" / "tiny_cat224_png_features_map.npy")
    # The hard system: 90% of the image removed by the guided map's ranking.
    order = rank(saliency_of(guided_map))
    removed = np.zeros(224 * 224, dtype=bool)
    removed[order[:90 * 224 * 224 // 100]] = True
    impute_case("cat_morf90", x224, removed.reshape(224, 224))

    cases = [
        ("tiny_cat224_guided", "tiny", "golden/cat224_png_input.npy",
         "golden/tiny_cat224_png_features_map.npy", 0, list(range(10, 100, 10)), 1),
        ("tiny_cat224_gradcam", "tiny", "golden/cat224_png_input.npy",
         "methods/tiny_cat224_gradcam_map.npy", 0, list(range(10, 100, 10)), 1),
        ("tiny_cat_guided_steps37", "tiny", "golden/cat_png_input.npy",
         "golden/tiny_cat_png_features_map.npy", 37, [25, 50, 75], 9),
        ("random0_cat224_guided", "random0", "golden/cat224_png_input.npy",
         "golden/random0_cat224_png_features_map.npy", 16, [30, 70], 1),
    ]
    ref["cases"] = []
    for label, key, inp, mp, steps, percents, seed in cases:
        model, weights = models[key]
        x = {"golden/cat224_png_input.npy": x224, "golden/cat_png_input.npy": cat}[inp]
        with torch.no_grad():
            logits = model(torch.from_numpy(x)[None])[0]
        target = int(torch.argmax(logits))
        m = metrics(model, x, saliency_of(np.load(fixture_dir / mp)), target, steps, percents, seed)
        m.update({"name": label, "weights": weights, "input": inp, "map": mp, "target": target,
                  "eval_steps": steps, "seed": seed})
        ref["cases"].append(m)
        print(f"  {label}: target {target}, deletion AUC {m['deletion_auc']:.6g} (logit "
              f"{m['deletion_logit_auc']:.6g}), insertion AUC {m['insertion_auc']:.6g} (logit "
              f"{m['insertion_logit_auc']:.6g}), ROAD {m['road']:.6g} (logit {m['road_logit']:.6g}), "
              f"drop {m['drop']:.6g}", flush=True)
    ref["versions"] = {"torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__}
    for stale in out_dir.glob("*.bin"):
        if stale.name not in written:
            stale.unlink()
    mf.write_json(out_dir / "reference.json", ref)
    print(f"fixtures_faithfulness: {len(ref['cases'])} cases, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    try:
        write(sys.argv[1] if len(sys.argv) > 1 else str(mf.FIXTURES))
    except mf.Failure as failure:
        sys.exit(f"fixtures_faithfulness: {failure}")
