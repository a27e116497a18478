#!/usr/bin/env python3
"""readme_figure.py: the strip of method pictures in README.md, from the
files `make demo` writes into build/demo/ (needs PIL: Debian's python3-pil).

    make demo && /usr/bin/python3 test/gen/readme_figure.py
"""
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent.parent
NAMES = ["gradient", "deconv", "grad-x-input", "gradcam", "guided-gradcam", "integrated",
         "smooth", "gray", "channel"]
TILE = 160

tiles = [Image.open(ROOT / "build/demo" / f"cat_{n}.png").convert("RGB").resize(
    (TILE, TILE), Image.BILINEAR) for n in NAMES]
strip = Image.new("RGB", (TILE * len(tiles), TILE))
for i, tile in enumerate(tiles):
    strip.paste(tile, (i * TILE, 0))
out = ROOT / "test/fixtures/images/readme_methods.png"
strip.save(out, optimize=True)
print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")
