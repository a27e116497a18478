#!/usr/bin/env python3
"""fixtures_overlay.py: goldens for the pictures (render.h), from numpy and matplotlib.

    /usr/bin/python3 test/gen/fixtures_overlay.py test/fixtures

Needs numpy, matplotlib (3.6.3), PIL and torchvision (for the recipe's
Resize(224) + CenterCrop(224) of the photo), and maps already stored by
make_fixtures.py and fixtures_methods.py. No network is run: every picture is
computed here from a stored map, as render.h defines it, independently of
guidedbp's C. Writes FIXTURE_DIR/overlay/ (stale *.png there are removed):

  <case>.png       heatmaps over the photo: the map's heat (or the cam) in a
                   matplotlib colormap, blended with the photo, in the 224x224
                   crop or (full_size) over the whole photo
  style_<map>_<style>.png   the gray (mode L), pos and neg (RGB) styles
  manifest.json
    "photo"      the photo and its crop box (torchvision's Resize + CenterCrop)
    "overlays"   case, map (or cam), sign, colormap, alpha, full_size, png,
                 and the heat's scalars (lo, p99)
    "styles"     map, style, png and the style's scalars (gray: lo, p99;
                 pos/neg: p99 of the part's nonzero values)
    "colormaps"  for each colormap, matplotlib's cmap(v, bytes=True)[:3] of
                 every row, v = (i + 0.5) / 256 ("rows_hex": 768 bytes in hex,
                 row by row), and at the edges of its rule
                 ("edges": v as repr, NaN as "nan", and the bytes with alpha)

The definitions (render.h):
  heat     s = sum over the colours of |g| (abs), max(0, sum g) (pos) or
           max(0, -sum g) (neg), in float64; clip((s - min) / (p99 - min),
           0, 1) with p99 = np.percentile(s, 99); stored as float32. A cam
           is its own heat.
  blend    c = cmap(heat, bytes=True)[..., :3], out = rint(alpha * c +
           (1 - alpha) * photo) in float64.
  full     the heat upsampled to the crop's region of the photo as
           F.interpolate(mode="bilinear", align_corners=False) in float32,
           written out below as guidedbp's resize.c computes it, the region
           (x0, y0, x1, y1) = lround(crop corner * photo size / resized size);
           outside it the photo.
  gray     clip((s - min) / (p99 - min), 0, 1), s the abs sum, rint(255 v)
  pos/neg  clip(max(0, +-g) / p99, 0, 1), p99 of the part's nonzero values
Every output is a pure function of the stored maps and this script.
"""

import math
import os
import sys
from pathlib import Path

import matplotlib
from matplotlib import colormaps
import numpy as np
from PIL import Image
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (file writing, paths)

check = mf.check
PHOTO = "images/cat.png"
MAPS = {
    "guided": "golden/tiny_cat224_png_features_map.npy",
    "gradient": "methods/tiny_cat224_gradient_map.npy",
}
CAM = "methods/tiny_cat224_gradcam_map.npy"
COLORMAPS = ("jet", "viridis", "inferno", "turbo", "gray")  # colormaps.h's order

# (case, source: a MAPS key or "gradcam", sign, colormap, alpha, full_size)
OVERLAYS = (
    ("guided_abs_jet", "guided", "abs", "jet", 0.5, False),
    ("guided_abs_viridis_a03", "guided", "abs", "viridis", 0.3, False),
    ("guided_abs_gray_a1", "guided", "abs", "gray", 1.0, False),
    ("gradient_pos_inferno", "gradient", "pos", "inferno", 0.5, False),
    ("gradient_neg_turbo_a07", "gradient", "neg", "turbo", 0.7, False),
    ("gradcam_jet", "gradcam", None, "jet", 0.5, False),
    ("gradcam_viridis_a08", "gradcam", None, "viridis", 0.8, False),
    ("guided_abs_inferno_full", "guided", "abs", "inferno", 0.5, True),
    ("gradcam_jet_full", "gradcam", None, "jet", 0.5, True),
)
STYLES = ("gray", "pos", "neg")
EDGES = (0.0, 1.0, -0.0, -1e-9, -0.5, 1.0 + 1e-9, 7.5, 1 / 256, 1 / 256 - 1e-12, 0.5,
         255 / 256, 255 / 256 - 1e-12, math.nan, math.inf, -math.inf)


def percentile99(x):
    """np.percentile(x, 99), checked against the rule written out (render.c's)."""
    p = float(np.percentile(x, 99))
    srt = np.sort(x, axis=None)
    rank = 0.99 * (srt.size - 1)
    i = int(math.floor(rank))
    j = min(i + 1, srt.size - 1)
    t = rank - i
    d = srt[j] - srt[i]
    manual = srt[j] - d * (1 - t) if t >= 0.5 else srt[i] + d * t
    check(manual == p, f"self-check: percentile {p!r} vs written-out {manual!r}")
    return p


def heat_of(g, sign):
    g = g.astype(np.float64)
    s = {"abs": lambda: np.abs(g).sum(axis=2),
         "pos": lambda: np.maximum(0, g.sum(axis=2)),
         "neg": lambda: np.maximum(0, -g.sum(axis=2))}[sign]()
    lo, p99 = float(s.min()), percentile99(s)
    check(p99 > lo, f"{sign}: no contrast")
    return np.clip((s - lo) / (p99 - lo), 0, 1), {"lo": lo, "p99": p99}


def blend(heat, photo, name, alpha):
    c = colormaps[name](heat, bytes=True)[..., :3].astype(np.float64)
    return np.rint(alpha * c + (1 - alpha) * photo.astype(np.float64)).astype(np.uint8)


def upsample(a, oh, ow):
    """resize.c's upsample_bilinear (F.interpolate, align_corners=False) in float32."""
    f = np.float32
    h, w = a.shape

    def axis(n_out, n_in):
        scale = f(n_in) / f(n_out)
        pos = scale * (np.arange(n_out, dtype=f) + f(0.5)) - f(0.5)
        pos = np.maximum(pos, f(0))
        i0 = pos.astype(np.int64)
        i1 = i0 + (i0 < n_in - 1)
        l1 = (pos - i0.astype(f)).astype(f)
        return i0, i1, (f(1) - l1).astype(f), l1

    y0, y1, ly0, ly1 = axis(oh, h)
    x0, x1, lx0, lx1 = axis(ow, w)
    ly0, ly1 = ly0[:, None], ly1[:, None]
    top = lx0 * a[y0][:, x0] + lx1 * a[y0][:, x1]
    bottom = lx0 * a[y1][:, x0] + lx1 * a[y1][:, x1]
    out = ly0 * top + ly1 * bottom
    check(out.dtype == f, f"upsample: {out.dtype}")
    return out


def lround(x):
    return int(math.floor(x + 0.5))


def write(fixture_dir):
    fixture_dir = Path(fixture_dir).resolve()
    out_dir = fixture_dir / "overlay"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = set()

    def save(name, array, mode):
        mf.write_png(out_dir / name, Image.fromarray(array, mode))
        written.add(name)
        return mf.rel(out_dir / name)

    with Image.open(fixture_dir / PHOTO) as img:
        full = img.convert("RGB")
    W, H = full.size
    resized = transforms.Resize(224)(full)
    crop = np.asarray(transforms.CenterCrop(224)(resized))
    photo = np.asarray(full)
    rw, rh = resized.size
    crop_x, crop_y = int(round((rw - 224) / 2.0)), int(round((rh - 224) / 2.0))
    box = {"resized_w": rw, "resized_h": rh, "crop_x": crop_x, "crop_y": crop_y}
    check(np.array_equal(np.asarray(resized)[crop_y:crop_y + 224, crop_x:crop_x + 224], crop),
          "CenterCrop is not the box")
    x0, y0 = lround(crop_x * W / rw), lround(crop_y * H / rh)
    x1, y1 = min(lround((crop_x + 224) * W / rw), W), min(lround((crop_y + 224) * H / rh), H)

    maps = {k: np.load(fixture_dir / v) for k, v in MAPS.items()}
    cam = np.load(fixture_dir / CAM)
    check(cam.dtype == np.float32 and cam.shape == (224, 224), f"{CAM}: {cam.dtype} {cam.shape}")

    overlays = []
    for case, source, sign, cmap, alpha, full_size in OVERLAYS:
        if source == "gradcam":
            heat, scalars = cam, {}
        else:
            h64, scalars = heat_of(maps[source], sign)
            heat = h64.astype(np.float32)
        if full_size:
            out = photo.copy()
            up = upsample(heat, y1 - y0, x1 - x0)
            out[y0:y1, x0:x1] = blend(up, photo[y0:y1, x0:x1], cmap, alpha)
        else:
            out = blend(heat, crop, cmap, alpha)
        entry = {"case": case, "map": mf.rel(fixture_dir / (CAM if source == "gradcam" else MAPS[source])),
                 "cam": source == "gradcam", "sign": sign, "colormap": cmap, "alpha": alpha,
                 "full_size": full_size, "png": save(f"{case}.png", out, "RGB")}
        entry.update(scalars)
        overlays.append(entry)

    styles = []
    for source, path in MAPS.items():
        g = maps[source].astype(np.float64)
        for style in STYLES:
            if style == "gray":
                v, scalars = heat_of(g, "abs")
            else:
                part = np.maximum(0, g if style == "pos" else -g)
                p99 = percentile99(part[part > 0])
                v, scalars = np.clip(part / p99, 0, 1), {"p99": p99}
            q = np.rint(255.0 * v).astype(np.uint8)
            entry = {"map": mf.rel(fixture_dir / path), "style": style,
                     "png": save(f"style_{source}_{style}.png", q, "L" if style == "gray" else "RGB")}
            entry.update(scalars)
            styles.append(entry)

    tables = []
    for name in COLORMAPS:
        cm = colormaps[name]
        rows = cm((np.arange(256) + 0.5) / 256, bytes=True)[:, :3]
        edges = [{"v": "nan" if math.isnan(v) else repr(v),
                  "rgba": [int(b) for b in cm(np.array([v]), bytes=True)[0]]} for v in EDGES]
        tables.append({"name": name, "rows_hex": rows.astype(np.uint8).tobytes().hex(), "edges": edges})

    manifest = {
        "written_by": "test/gen/fixtures_overlay.py",
        "versions": {"numpy": np.__version__, "matplotlib": matplotlib.__version__},
        "photo": {"image": mf.rel(fixture_dir / PHOTO), "width": W, "height": H, "box": box,
                  "region": [x0, y0, x1, y1]},
        "overlays": overlays,
        "styles": styles,
        "colormaps": tables,
    }
    mf.write_json(out_dir / "manifest.json", manifest)
    for stale in sorted(os.listdir(out_dir)):
        if stale.endswith(".png") and stale not in written:
            os.remove(out_dir / stale)
    print(f"fixtures_overlay: {len(overlays)} overlays, {len(styles)} styles, "
          f"{len(tables)} colormaps; full-size region {x0},{y0}-{x1},{y1} of {W}x{H}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} FIXTURE_DIR")
    try:
        write(sys.argv[1])
    except mf.Failure as failure:
        sys.exit(f"fixtures_overlay: {failure}")
