"""Goldens for test/test_similarity.c: the sanity-check similarity metrics.

Run with Debian's interpreter, which has numpy, SciPy and scikit-image
(apt-get install python3-skimage):

    /usr/bin/python3 test/gen/fixtures_similarity.py test/fixtures

writes FIXTURE_DIR/similarity/: raw little-endian arrays (*.bin, C order,
no header) and reference.json, which lists every case with its files,
dtype, shape and the values SciPy and scikit-image compute:

  "maps"      pairs of (h, w, 3) float32 saliency maps, with spearman_abs,
              spearman and ssim as src/explain/similarity.h defines them;
  "ssim"      pairs of 2-D float64 images, with structural_similarity(a, b,
              data_range=1);
  "spearman"  pairs of 1-D float64 vectors, with spearmanr(x, y).

A reference SciPy leaves undefined (nan, for a constant input) is null.
Inputs are seeded, so re-running writes identical files; stale *.bin files
in similarity/ are removed.
"""

import json
import os
import sys
import warnings

import numpy as np
import scipy
import scipy.stats
import skimage
from skimage.metrics import structural_similarity


# The metrics, spelled out exactly as the C library computes them.
def channel_sums(m):
    """Per-pixel sums over the channels of an (h, w, 3) map, in float64."""
    g = m.astype(np.float64)
    return np.abs(g).sum(axis=2), g.sum(axis=2)


def minmax(s):
    """Scaled to [0, 1] by its own min and max; a constant map becomes all
    zeros (our convention: the plain formula would divide 0 by 0)."""
    lo, hi = s.min(), s.max()
    if hi == lo:
        return np.zeros_like(s)
    return (s - lo) / (hi - lo)


def spearman(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.stats.ConstantInputWarning)
        r = float(scipy.stats.spearmanr(x, y)[0])
    return None if np.isnan(r) else r


def ssim(a, b):
    return float(structural_similarity(a, b, data_range=1))


def map_metrics(a, b):
    abs_a, sgn_a = channel_sums(a)
    abs_b, sgn_b = channel_sums(b)
    return {
        "spearman_abs": spearman(abs_a.ravel(), abs_b.ravel()),
        "spearman": spearman(sgn_a.ravel(), sgn_b.ravel()),
        "ssim": ssim(minmax(abs_a), minmax(abs_b)),
    }


# Inputs.
def blobs(rng, h, w, k):
    """A smooth positive field: k Gaussian bumps of random place and width."""
    y, x = np.mgrid[0:h, 0:w]
    f = np.zeros((h, w))
    for _ in range(k):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(0.05, 0.2) * min(h, w)
        f += rng.uniform(0.5, 2.0) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s))
    return f


def saliency_like(rng, h, w, base=None):
    """Signed noise modulated by blobs, with a quarter of the pixels exactly
    zero in all channels (as where guided backprop passes nothing): the
    |g| sums and the signed sums both have a large tie at 0."""
    if base is None:
        base = blobs(rng, h, w, 6)
    m = base[..., None] * rng.standard_normal((h, w, 3))
    m[rng.random((h, w)) < 0.25] = 0.0
    return m


def map_pairs():
    rng = np.random.default_rng(20240611)
    h, w = 224, 224
    base = blobs(rng, h, w, 6)
    a = saliency_like(rng, h, w, base)
    # Correlated with a: the same blobs, partly the same noise.
    b = 0.7 * a + 0.5 * saliency_like(rng, h, w, 0.6 * base + 0.4 * blobs(rng, h, w, 4))

    rng = np.random.default_rng(7)
    # Small integers, a third of them zero: ties everywhere.
    ties_a = rng.integers(-2, 3, (40, 56, 3)) * (rng.random((40, 56, 3)) < 0.67)
    ties_b = np.clip(ties_a + rng.integers(-1, 2, (40, 56, 3)), -2, 2)

    # Positive, so |g| sums equal the signed ones, and b falls where a rises.
    anti_a = rng.uniform(0.0, 1.0, (33, 47, 3))
    anti_b = 1.5 - anti_a + 0.05 * rng.standard_normal((33, 47, 3))

    const_a = rng.standard_normal((16, 20, 3))
    const_b = np.zeros((16, 20, 3))
    f32 = lambda m: np.ascontiguousarray(m, dtype=np.float32)
    return {
        # name: (a, b) as (file, array); a file written once may serve twice.
        "saliency_224x224": (("saliency_a_224x224.bin", f32(a)), ("saliency_b_224x224.bin", f32(b))),
        "identical_224x224": (("saliency_a_224x224.bin", f32(a)), ("saliency_a_224x224.bin", f32(a))),
        "ties_40x56": (("ties_a_40x56.bin", f32(ties_a)), ("ties_b_40x56.bin", f32(ties_b))),
        "anti_33x47": (("anti_a_33x47.bin", f32(anti_a)), ("anti_b_33x47.bin", f32(anti_b))),
        "zero_b_16x20": (("const_a_16x20.bin", f32(const_a)), ("zero_16x20.bin", f32(const_b))),
    }


def ssim_pairs():
    rng = np.random.default_rng(11)
    out = {}
    for h, w in [(9, 13), (31, 20), (7, 7), (7, 40), (40, 7)]:
        a = rng.random((h, w))
        b = np.clip(a + 0.2 * rng.standard_normal((h, w)), 0, 1)
        out["noise_%dx%d" % (h, w)] = (a, b)
    # Smooth images, and values far outside [0, 1] (data_range stays 1).
    y, x = np.mgrid[0:24, 0:18]
    out["smooth_24x18"] = (np.sin(x / 3.0) * np.cos(y / 5.0), np.sin(x / 3.1 + 0.2) * np.cos(y / 4.0))
    out["wide_range_12x15"] = (5 * rng.standard_normal((12, 15)), 3 * rng.standard_normal((12, 15)) - 2)
    out["zero_vs_noise_10x12"] = (np.zeros((10, 12)), rng.random((10, 12)))
    return out


def spearman_pairs():
    rng = np.random.default_rng(5)
    out = {}
    x = rng.integers(0, 10, 1000).astype(np.float64)
    out["ties_1000"] = (x, x + rng.integers(-3, 4, 1000))
    x = rng.standard_normal(17)
    out["distinct_17"] = (x, x ** 3 - x + 0.3 * rng.standard_normal(17))
    # -0.0 and 0.0 are one value, tied, as NumPy's sort compares them.
    out["signed_zeros_8"] = (
        np.array([0.0, -0.0, 1.0, -1.0, 0.0, 2.0, -0.0, 0.5]),
        np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]),
    )
    out["two_2"] = (np.array([1.0, 2.0]), np.array([2.0, 1.0]))
    out["constant_5"] = (np.full(5, 0.25), np.arange(5.0))
    return out


def write(fixture_dir):
    out_dir = os.path.join(fixture_dir, "similarity")
    os.makedirs(out_dir, exist_ok=True)
    written = {}

    def save(name, arr, dtype):
        arr = np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<"))
        if name in written:
            assert np.array_equal(written[name], arr), name
        else:
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(arr.tobytes())
            written[name] = arr
        # The references are computed from exactly what the test reads back.
        return np.frombuffer(arr.tobytes(), dtype=arr.dtype).reshape(arr.shape)

    ref = {
        "written_by": "test/gen/fixtures_similarity.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__},
        "format": "raw little-endian arrays, C order; maps are (h, w, 3) HWC",
        "maps": [],
        "ssim": [],
        "spearman": [],
    }
    for name, ((fa, a), (fb, b)) in map_pairs().items():
        a, b = save(fa, a, "<f4"), save(fb, b, "<f4")
        case = {"name": name, "a": fa, "b": fb, "dtype": "float32", "shape": list(a.shape)}
        case.update(map_metrics(a, b))
        ref["maps"].append(case)
    for name, (a, b) in ssim_pairs().items():
        fa, fb = name + "_a.bin", name + "_b.bin"
        a, b = save(fa, a, "<f8"), save(fb, b, "<f8")
        ref["ssim"].append({"name": name, "a": fa, "b": fb, "dtype": "float64", "shape": list(a.shape), "ssim": ssim(a, b)})
    for name, (x, y) in spearman_pairs().items():
        fx, fy = name + "_x.bin", name + "_y.bin"
        x, y = save(fx, x, "<f8"), save(fy, y, "<f8")
        ref["spearman"].append(
            {"name": name, "x": fx, "y": fy, "dtype": "float64", "shape": list(x.shape), "spearman": spearman(x, y)}
        )

    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, allow_nan=False)
        f.write("\n")
    for stale in sorted(os.listdir(out_dir)):
        if stale.endswith(".bin") and stale not in written:
            os.remove(os.path.join(out_dir, stale))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: %s FIXTURE_DIR" % sys.argv[0])
    write(sys.argv[1])
