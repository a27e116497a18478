"""Goldens for test/test_resize.c: Pillow's bilinear resize of RGB images.

Run with Debian's interpreter, which has Pillow 9.4 (the one torchvision
uses here) and numpy:

    /usr/bin/python3 test/gen/fixtures_resize.py test/fixtures

writes FIXTURE_DIR/resize/: input PNGs, one expected PNG per case, and
cases.txt with one line per case, "input.png W H expected.png" (paths
relative to that directory; lines starting with # are comments). Inputs are
seeded, PNG is lossless and Pillow writes no timestamps, so re-running
writes identical files. Stale PNGs in resize/ are removed.
"""

import os
import sys

import numpy as np
from PIL import Image

CAT = "/work/shared/images/cat.png"
# A 100x75 region around the cat's left eye. A region whose shorter side
# exceeds 224 would cost ~200 KB of photo PNGs; this one is enlarged by
# Resize(224) and also shrunk, for a photo in both directions.
CAT_BOX = (120, 65, 220, 140)


def noise(seed, w, h):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def structured(seed, w, h):
    """Gradients, a hard-edged checkerboard and a cross of noise: every row
    and every column crosses noise, yet the PNG stays small."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + 2 * y) % 256], -1).astype(np.uint8)
    a[20:60, 20:80] = ((x[20:60, 20:80] // 3 + y[20:60, 20:80] // 2) % 2 * 255)[..., None]
    a[h // 2 : h // 2 + 10, :] = rng.integers(0, 256, (10, w, 3), dtype=np.uint8)
    a[:, w // 2 : w // 2 + 10] = rng.integers(0, 256, (h, 10, 3), dtype=np.uint8)
    return Image.fromarray(a, "RGB")


def torchvision_size(w, h, size=224):
    """Resize(size) on a PIL image: the shorter side becomes size, the
    longer int(size * long / short)."""
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size


def inputs():
    cat = Image.open(CAT).convert("RGB").crop(CAT_BOX)
    return {
        "noise_7x5.png": noise(1, 7, 5),
        "noise_97x61.png": noise(2, 97, 61),
        "noise_1x40.png": noise(3, 1, 40),
        "noise_40x1.png": noise(4, 40, 1),
        "noise_1x1.png": noise(5, 1, 1),
        "noise_225x9.png": noise(6, 225, 9),
        "noise_8x225.png": noise(7, 8, 225),
        "structured_451x300.png": structured(8, 451, 300),
        "cat_100x75.png": cat,
    }


CASES = [
    # Non-integer downscales, including torchvision's Resize(224) of the
    # 451x300 cat photo and a factor so large every output sums many taps.
    ("structured_451x300.png", 336, 224),
    ("structured_451x300.png", 5, 3),
    ("noise_97x61.png", 13, 9),
    ("noise_97x61.png", 50, 40),
    ("noise_97x61.png", 1, 1),
    ("noise_97x61.png", 2, 60),
    # Upscales and mixed directions.
    ("noise_7x5.png", 30, 17),
    ("noise_7x5.png", 8, 6),
    ("noise_7x5.png", 3, 11),
    ("noise_7x5.png", 1, 1),
    ("noise_97x61.png", 150, 20),
    ("noise_1x1.png", 5, 4),
    # One dimension unchanged (that pass is skipped), and no change at all.
    ("noise_97x61.png", 97, 30),
    ("noise_97x61.png", 40, 61),
    ("noise_97x61.png", 97, 80),
    ("noise_7x5.png", 7, 5),
    ("noise_40x1.png", 40, 1),
    # Extreme aspect ratios.
    ("noise_1x40.png", 1, 13),
    ("noise_1x40.png", 5, 100),
    ("noise_1x40.png", 3, 7),
    ("noise_40x1.png", 13, 1),
    ("noise_40x1.png", 100, 3),
    # Scale close to 1.
    ("noise_225x9.png", 224, 9),
    ("noise_225x9.png", 224, 8),
    ("noise_8x225.png", 8, 224),
    ("noise_97x61.png", 96, 62),
    # A photo, resized like torchvision's Resize(224), and shrunk.
    ("cat_100x75.png",) + torchvision_size(100, 75),
    ("cat_100x75.png", 37, 28),
]


def save(img, path):
    img.save(path, "PNG", compress_level=9)


def write(fixture_dir):
    out_dir = os.path.join(fixture_dir, "resize")
    os.makedirs(out_dir, exist_ok=True)
    srcs = inputs()
    written = set()
    for name, img in srcs.items():
        save(img, os.path.join(out_dir, name))
        written.add(name)
    lines = [
        "# Pillow %s Image.resize((W, H), Image.BILINEAR) of RGB images." % Image.__version__,
        "# Written by test/gen/fixtures_resize.py; input.png W H expected.png",
        "# cat_100x75.png: a region of cat.png, 'Chelsea the cat' by Stefan van der Walt, CC0",
        "# (scikit-image sample data).",
    ]
    for name, w, h in CASES:
        expected = "%s_to_%dx%d.png" % (name[: -len(".png")], w, h)
        save(srcs[name].resize((w, h), Image.BILINEAR), os.path.join(out_dir, expected))
        written.add(expected)
        lines.append("%s %d %d %s" % (name, w, h, expected))
    with open(os.path.join(out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for stale in sorted(os.listdir(out_dir)):
        if stale.endswith(".png") and stale not in written:
            os.remove(os.path.join(out_dir, stale))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: %s FIXTURE_DIR" % sys.argv[0])
    write(sys.argv[1])
