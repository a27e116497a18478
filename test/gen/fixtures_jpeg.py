"""Fixtures for the JPEG decoder: what Pillow 9.4 makes of many kinds of JPEG.

    /usr/bin/python3 test/gen/fixtures_jpeg.py test/fixtures

Run with Debian 12's interpreter: it needs python3-pil (Pillow 9.4, linked
with libjpeg62-turbo 2.1.5), python3-numpy, and libjpeg-turbo-progs (cjpeg,
djpeg and jpegtran 2.1.5) for the variants Pillow cannot write.

Writes FIXTURE_DIR/jpeg/:
  <case>.jpg      the files, all cut from FIXTURE_DIR/images/cat.png
                  ("Chelsea the cat", CC0; see images/README.md)
  <case>.rgb      Pillow's Image.open(p).convert('RGB').tobytes() when that
                  succeeds: height*width*3 bytes, row-major
  <case>.cmyk     for 4-component files, Image.open(p).tobytes() before the
                  conversion (Pillow's CMYK, height*width*4 bytes)
  manifest.json   per case: how it was made, size, SOF, components and
                  sampling, markers, Pillow's result; see README.md

Pillow's result is exactly what the C decoder must reproduce: "ok" with the
pixels, or "ok": false with Pillow's exception (and the stage, open or load,
where it was raised). djpeg's messages for each file are recorded beside it,
because they name the libjpeg warnings Pillow hides. Every input is a pure
function of cat.png and fixed options (no timestamps: the one ICC profile's
date is pinned), so re-running writes identical bytes. Stale .jpg, .rgb and
.cmyk files in jpeg/ are removed.
"""

import io
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageCms, features

# Most variants use this 80x53 region of the cat's face: small files, and
# neither side a multiple of 16, so every file has partial MCUs on the right
# and bottom edges.
FACE_BOX = (150, 70, 230, 123)
# (name, left, top, width, height): 4:2:0 files whose sizes leave the last
# MCU row and column partial in every way, down to a single pixel.
ODD_CROPS = [
    ("odd_1x1", 200, 100, 1, 1),
    ("odd_7x5", 190, 95, 7, 5),
    ("odd_17x13", 185, 90, 17, 13),
    ("odd_33x1", 170, 100, 33, 1),
    ("odd_1x33", 200, 80, 1, 33),
    ("odd_225x97", 113, 60, 225, 97),
]
JUNK = b"junk between markers "  # no 0xFF byte, so it cannot look like a marker
GARBAGE = b"garbage after EOI \x00\x01\xfe\xff\xd8\xff\xe0"
ICC_DATE = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)  # replaces lcms's "now"

SOF_NAMES = {
    0xC0: "SOF0 baseline DCT, Huffman",
    0xC1: "SOF1 extended sequential DCT, Huffman",
    0xC2: "SOF2 progressive DCT, Huffman",
    0xC3: "SOF3 lossless, Huffman",
    0xC9: "SOF9 extended sequential DCT, arithmetic",
    0xCA: "SOF10 progressive DCT, arithmetic",
    0xCB: "SOF11 lossless, arithmetic",
}


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)


def tool(args, stdin=None):
    """stdout of cjpeg/jpegtran; any message from them is a failure here."""
    r = run(args, stdin)
    if r.returncode != 0 or r.stderr:
        sys.exit("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.decode()))
    return r.stdout


def pillow_jpeg(img, **options):
    buf = io.BytesIO()
    img.save(buf, "JPEG", **options)
    return buf.getvalue()


def pin_icc_date(icc):
    return icc[:24] + ICC_DATE + icc[36:]


def segments(data):
    """Walk the marker structure: [(offset, marker, payload)], entropy-coded
    data skipped, through datastreams that follow one another directly;
    also returns where the last EOI ends (None if absent) and the count of
    non-marker bytes found between segments. Tolerates truncation."""
    out, junk, eoi_end = [], 0, None
    pos = 2 if data[:2] == b"\xff\xd8" else 0
    if pos:
        out.append((0, 0xD8, b""))
    while pos < len(data):
        if data[pos] != 0xFF:
            junk += 1
            pos += 1
            continue
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 1 >= len(data):
            break
        start, marker = pos, data[pos + 1]
        pos += 2
        if marker == 0x00:
            continue
        if marker == 0xD9:
            out.append((start, marker, b""))
            eoi_end = pos
            if data[pos:pos + 2] != b"\xff\xd8":  # another datastream follows
                break
            out.append((pos, 0xD8, b""))
            pos += 2
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append((start, marker, b""))
            continue
        if pos + 2 > len(data):
            break
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        out.append((start, marker, data[pos + 2:pos + length]))
        pos += length
        if marker == 0xDA:
            pos = skip_scan(data, pos, out)
    return out, eoi_end, junk


def skip_scan(data, pos, out):
    """Offset of the first marker after entropy-coded data at pos, other
    than RSTn (appended to out) and stuffed FF 00."""
    while pos + 1 < len(data):
        if data[pos] != 0xFF or data[pos + 1] in (0x00, 0xFF):
            pos += 1 if data[pos] != 0xFF or data[pos + 1] == 0xFF else 2
        elif 0xD0 <= data[pos + 1] <= 0xD7:
            out.append((pos, data[pos + 1], b""))
            pos += 2
        else:
            return pos
    return len(data)


def describe(data):
    """SOF type, components and sampling, scans, restart interval and the
    APPn markers of a file (as far as it goes)."""
    segs, eoi_end, junk = segments(data)
    d = {"sof": None, "markers": []}
    scans = restarts = 0
    for _, marker, payload in segs:
        if 0xE0 <= marker <= 0xEF:
            tag = payload[:payload.find(b"\0")] if b"\0" in payload[:16] else payload[:5]
            d["markers"].append("APP%d %s" % (marker - 0xE0, tag.decode("latin-1")))
            if marker == 0xEE and payload[:5] == b"Adobe" and len(payload) >= 12:
                d["adobe_transform"] = payload[11]
        elif marker == 0xFE:
            d["markers"].append("COM")
        elif marker == 0xDD and len(payload) >= 2:
            d["restart_interval"] = struct.unpack(">H", payload[:2])[0]
        elif marker == 0xDA:
            scans += 1
        elif 0xD0 <= marker <= 0xD7:
            restarts += 1
        elif marker in SOF_NAMES and d["sof"] is None and len(payload) >= 6:
            p, h, w, n = struct.unpack(">BHHB", payload[:6])
            comps = [{"id": payload[6 + 3 * i], "h": payload[7 + 3 * i] >> 4,
                      "v": payload[7 + 3 * i] & 15, "tq": payload[8 + 3 * i]}
                     for i in range(n) if 8 + 3 * i < len(payload)]
            d.update(sof=SOF_NAMES[marker], precision=p, width=w, height=h,
                     components=comps,
                     sampling=",".join("%dx%d" % (c["h"], c["v"]) for c in comps))
            d["subsampling"] = subsampling_name(comps)
    d["scans"] = scans
    streams = sum(1 for _, m, _ in segs if m == 0xD8)
    if streams > 1:
        d["datastreams"] = streams
    if restarts:
        d["rst_markers"] = restarts
    d["eoi"] = eoi_end is not None
    if eoi_end is not None and eoi_end < len(data):
        d["bytes_after_eoi"] = len(data) - eoi_end
    if junk:
        d["junk_bytes_outside_scans"] = junk
    return d


def subsampling_name(comps):
    if len(comps) == 1:
        return "grayscale"
    if len(comps) == 4:
        return "4:4:4" if all((c["h"], c["v"]) == (1, 1) for c in comps) else "other"
    if len(comps) == 3 and all((c["h"], c["v"]) == (1, 1) for c in comps[1:]):
        name = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (4, 1): "4:1:1",
                (1, 2): "4:4:0"}.get((comps[0]["h"], comps[0]["v"]))
        if name:
            return name
    return "other"


def pillow_result(path):
    """What Image.open(p).convert('RGB') gives, exactly as torchvision's
    recipe calls it; the path in Pillow's messages is cut to the name."""
    res = {}
    stage = "open"
    try:
        with Image.open(path) as im:
            res.update(mode=im.mode, tile_rawmode=im.tile[0][3][0])
            info = {k: im.info[k] for k in ("progressive", "adobe", "adobe_transform")
                    if k in im.info}
            if "icc_profile" in im.info:
                info["icc_profile_bytes"] = len(im.info["icc_profile"])
            orientation = im.getexif().get(0x0112)
            if orientation is not None:
                info["exif_orientation"] = orientation
            if info:
                res["info"] = info
            stage = "load"
            rgb = im.convert("RGB")
        native = None
        if res["mode"] == "CMYK":
            with Image.open(path) as im:
                native = im.tobytes()
        res.update(ok=True, width=rgb.width, height=rgb.height)
        return res, rgb.tobytes(), native
    except Exception as e:  # every failure is a result to record
        msg = str(e).replace(repr(str(path)), repr(os.path.basename(path)))
        res.update(ok=False, stage=stage, error="%s: %s" % (type(e).__name__, msg))
        return res, None, None


def djpeg_result(data, rgb):
    """djpeg -pnm on the same bytes: its exit status and messages (libjpeg's
    warnings, which Pillow silences), and whether its RGB equals Pillow's."""
    r = run(["djpeg", "-pnm"], data)
    res = {"exit": r.returncode,
           "messages": [l for l in r.stderr.decode("latin-1").splitlines() if l]}
    out = r.stdout
    if rgb is not None and r.returncode in (0, 2) and out[:2] in (b"P5", b"P6"):
        magic, w, h = out.split(maxsplit=3)[:3]
        # The binary body ends the file; splitting on whitespace could eat
        # its first bytes.
        pix = np.frombuffer(out[len(out) - int(w) * int(h) * (1 if magic == b"P5" else 3):],
                            np.uint8)
        if magic == b"P5":
            pix = np.repeat(pix, 3)
        res["rgb_equal_to_pillow"] = pix.tobytes() == rgb
    return res


def insert_before(data, marker, blob, nth=0):
    """Insert blob before the nth (0-based) segment with this marker."""
    offs = [o for o, m, _ in segments(data)[0] if m == marker]
    return data[:offs[nth]] + blob + data[offs[nth]:]


def strip_segment(data, marker):
    for off, m, payload in segments(data)[0]:
        if m == marker:
            return data[:off] + data[off + 4 + len(payload):]
    raise ValueError("no marker 0x%02X" % marker)


def scan_data_range(data, nth=0):
    """(start, end) of the entropy-coded data after the nth SOS."""
    segs = segments(data)[0]
    idx = [i for i, (_, m, _) in enumerate(segs) if m == 0xDA][nth]
    off, _, payload = segs[idx]
    start = off + 4 + len(payload)
    end = next(o for o, m, _ in segs[idx + 1:] if not 0xD0 <= m <= 0xD7)
    return start, end


def cmyk_image(rgb):
    """A CMYK picture with real black: K = 255 - max(R,G,B), C, M, Y the
    remaining ink (Pillow's own RGB->CMYK sets K = 0)."""
    a = np.asarray(rgb, np.int32)
    mx = a.max(axis=2)
    k = 255 - mx
    cmy = np.where(mx[..., None] > 0, (mx[..., None] - a) * 255 // np.maximum(mx, 1)[..., None], 0)
    return Image.fromarray(np.dstack([cmy, k]).astype(np.uint8), "CMYK")


def ycck_jpeg(cmyk):
    """An Adobe YCCK file (APP14 transform 2) that decodes to the CMYK
    picture cmyk. Pillow cannot write YCCK and cjpeg reads no CMYK, so:
    compute the stored components as libjpeg's YCCK encoder would
    (Y, Cb, Cr of 255 - stored C, M, Y; K as stored), have Pillow write them
    as a plain CMYK file (it stores 255 - pixel, "CMYK;I"), then flip the
    transform byte 0 -> 2. Pillow's subsampling applies to components 0..2,
    so Y is 2x2 and Cb, Cr, K 1x1."""
    a = 255 - np.asarray(cmyk, np.float64)  # the values libjpeg stores for CMYK
    r, g, b = 255 - a[..., 0], 255 - a[..., 1], 255 - a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    stored = np.clip(np.rint(np.dstack([y, cb, cr, a[..., 3]])), 0, 255).astype(np.uint8)
    data = pillow_jpeg(Image.fromarray(255 - stored, "CMYK"), quality=75, subsampling=2)
    adobe = data.index(b"\xff\xee")
    assert data[adobe + 4:adobe + 9] == b"Adobe" and data[adobe + 15] == 0
    return data[:adobe + 15] + b"\x02" + data[adobe + 16:]


def tiny_jpeg(sof, precision, ncomp, w, h):
    """A hand-made JPEG of a flat picture, for SOF kinds no tool here writes.
    Each Huffman table holds one 1-bit code (category 0; for DCT also EOB),
    so every DCT block is '00' and every lossless sample '0': the scan is
    zero bits padded with ones, and the header is the only thing tested."""
    def seg(marker, body):
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    def one_code(tc_th, symbol):
        return seg(0xC4, bytes([tc_th, 1] + [0] * 15 + [symbol]))

    lossless = sof == 0xC3
    out = b"\xff\xd8"
    if not lossless:
        out += seg(0xDB, bytes([0]) + bytes([1] * 64))
    out += seg(sof, struct.pack(">BHHB", precision, h, w, ncomp)
               + b"".join(bytes([i + 1, 0x11, 0]) for i in range(ncomp)))
    out += one_code(0x00, 0)
    if not lossless:
        out += one_code(0x10, 0)
    ss_se_a = bytes([1, 0, 0]) if lossless else bytes([0, 63, 0])
    out += seg(0xDA, bytes([ncomp]) + b"".join(bytes([i + 1, 0]) for i in range(ncomp)) + ss_se_a)
    nbits = w * h * ncomp if lossless else ((w + 7) // 8) * ((h + 7) // 8) * ncomp * 2
    nbytes = (nbits + 7) // 8
    scan = bytearray(nbytes)
    if nbits % 8:
        scan[-1] = (1 << (8 - nbits % 8)) - 1
    return out + bytes(scan) + b"\xff\xd9"


def build_cases(cat, tmp):
    """[(name, how, bytes)] in manifest order."""
    face = cat.crop(FACE_BOX)
    ppm = os.path.join(tmp, "face.ppm")
    face.save(ppm)
    cases = []

    def add(name, how, data):
        cases.append((name, how, data))
        return data

    def cjpeg(*opts):
        return tool(["cjpeg", "-quality", "75"] + list(opts) + [ppm])

    def jpegtran(src, *opts):
        return tool(["jpegtran"] + list(opts), src)

    pil = "Pillow save of the 80x53 face crop, "
    base = add("baseline_420_q75", pil + "quality 75 (4:2:0, Pillow's default)",
               pillow_jpeg(face, quality=75))
    add("baseline_420_q95", pil + "quality 95, subsampling 4:2:0",
        pillow_jpeg(face, quality=95, subsampling=2))
    add("baseline_422", pil + "quality 75, subsampling 4:2:2",
        pillow_jpeg(face, quality=75, subsampling=1))
    base444 = add("baseline_444", pil + "quality 75, subsampling 4:4:4",
        pillow_jpeg(face, quality=75, subsampling=0))
    add("sample_411", "cjpeg -quality 75 -sample 4x1 face.ppm (luma 4x1, chroma 1x1)",
        cjpeg("-sample", "4x1"))
    add("sample_440", "cjpeg -quality 75 -sample 1x2 face.ppm (luma 1x2, chroma 1x1)",
        cjpeg("-sample", "1x2"))
    add("sample_odd", "cjpeg -quality 75 -sample 2x1,1x2,1x1 face.ppm: Cb and Cr sampled "
        "differently, so no merged or fancy upsampler covers every component",
        cjpeg("-sample", "2x1,1x2,1x1"))
    prog = add("progressive", pil + "quality 75, progressive=True",
               pillow_jpeg(face, quality=75, progressive=True))
    add("optimized", pil + "quality 75, optimize=True (Huffman tables computed for the image)",
        pillow_jpeg(face, quality=75, optimize=True))
    add("progressive_optimized", pil + "quality 75, progressive=True, optimize=True; the same "
        "bytes as progressive.jpg, since libjpeg always optimizes progressive Huffman tables",
        pillow_jpeg(face, quality=75, progressive=True, optimize=True))
    add("progressive_cjpeg_444", "cjpeg -quality 75 -progressive -sample 1x1 face.ppm",
        cjpeg("-progressive", "-sample", "1x1"))
    add("sequential_multiscan", "jpegtran -scans (one sequential scan per component) of "
        "baseline_420_q75.jpg: sequential, but not interleaved",
        jpegtran(base, "-scans", os.path.join(tmp, "scans.txt")))
    add("restart_1row", "cjpeg -quality 75 -restart 1 face.ppm (an RST marker every MCU row)",
        cjpeg("-restart", "1"))
    rst_block = add("restart_1block", "cjpeg -quality 75 -restart 1B face.ppm "
                    "(an RST marker after every MCU)", cjpeg("-restart", "1B"))
    # Hostile corpus round 2: stb_image stopped after one MCU of these and
    # returned success, its buffer otherwise uninitialised; libjpeg-turbo,
    # as Pillow, decodes them whole (with a warning), so they must match.
    s0, e0 = scan_data_range(rst_block)
    scan = rst_block[s0:e0]
    no_rst = bytearray()
    i = 0
    while i < len(scan):
        if scan[i] == 0xFF and i + 1 < len(scan) and 0xD0 <= scan[i + 1] <= 0xD7:
            i += 2
            continue
        no_rst.append(scan[i])
        i += 1
    add("restart_without_rst", "restart_1block.jpg with its RST markers taken out of the scan "
        "data (DRI still says one every MCU)", rst_block[:s0] + bytes(no_rst) + rst_block[e0:])
    segs = segments(base444)[0]
    sof, _, sof_payload = next(g for g in segs if g[1] in SOF_NAMES)
    same_ids = bytearray(base444)
    for c in range(3):  # component specs: id, sampling, table, after 6 bytes of header
        same_ids[sof + 4 + 6 + 3 * c] = 1
    add("duplicate_component_ids", "baseline_444.jpg with all three SOF component ids set to "
        "1 (its SOS still names 1, 2, 3)", bytes(same_ids))
    add("restart_1block_jpegtran", "jpegtran -restart 1B of baseline_420_q75.jpg",
        jpegtran(base, "-restart", "1B"))
    add("progressive_restart_1block", "jpegtran -progressive -restart 1B of progressive.jpg",
        jpegtran(prog, "-progressive", "-restart", "1B"))
    add("arithmetic", "jpegtran -arithmetic of baseline_420_q75.jpg", jpegtran(base, "-arithmetic"))
    add("arithmetic_progressive", "jpegtran -arithmetic -progressive of baseline_420_q75.jpg",
        jpegtran(base, "-arithmetic", "-progressive"))
    add("rgb_colorspace", "cjpeg -quality 75 -rgb face.ppm: components R, G, B stored without "
        "the YCbCr transform (Adobe transform 0)", cjpeg("-rgb"))
    gray = face.convert("L")
    add("gray", pil + "converted to mode L, quality 75", pillow_jpeg(gray, quality=75))
    add("gray_progressive", pil + "converted to mode L, quality 75, progressive=True",
        pillow_jpeg(gray, quality=75, progressive=True))
    add("gray_restart_1block", "cjpeg -quality 75 -grayscale -restart 1B face.ppm",
        cjpeg("-grayscale", "-restart", "1B"))
    cmyk = cmyk_image(face)
    cmyk_data = add("cmyk", "Pillow save of the face crop as mode CMYK (K = 255 - max(R,G,B)), "
                    "quality 75; Pillow writes Adobe APP14 with transform 0 and inverted "
                    "samples", pillow_jpeg(cmyk, quality=75))
    add("cmyk_no_adobe", "cmyk.jpg with its Adobe APP14 segment removed",
        strip_segment(cmyk_data, 0xEE))
    add("cmyk_progressive", "Pillow save of the CMYK face, quality 75, progressive=True",
        pillow_jpeg(cmyk, quality=75, progressive=True))
    add("ycck", "Adobe YCCK (APP14 transform 2) of the CMYK face: the components libjpeg's "
        "YCCK encoder would store, written by Pillow as CMYK, transform byte set to 2; "
        "Y 2x2, Cb, Cr, K 1x1", ycck_jpeg(cmyk))
    exif = Image.Exif()
    exif[0x0112] = 6
    add("exif_orientation6", pil + "quality 75, EXIF Orientation = 6 (Pillow's open() "
        "and convert() ignore it: the stored 80x53 pixels, not rotated)",
        pillow_jpeg(face, quality=75, exif=exif.tobytes()))
    icc = pin_icc_date(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    add("icc_profile", pil + "quality 75, with littlecms's sRGB profile in APP2 "
        "(its date pinned to 2000-01-01); Pillow does not apply it",
        pillow_jpeg(face, quality=75, icc_profile=icc))
    for name, x, y, w, h in ODD_CROPS:
        add(name, "Pillow save of the %dx%d crop at (%d,%d), quality 75, 4:2:0" % (w, h, x, y),
            pillow_jpeg(cat.crop((x, y, x + w, y + h)), quality=75))
    add("full_451x300", "Pillow save of the whole cat.png, quality 75, 4:2:0",
        pillow_jpeg(cat, quality=75))

    add("trailing_garbage", "baseline_420_q75.jpg followed by %d bytes of garbage after EOI "
        "(including FF D8 FF E0)" % len(GARBAGE), base + GARBAGE)
    add("junk_before_sof", "baseline_420_q75.jpg with %d non-FF bytes inserted before SOF0 "
        "(libjpeg warns: extraneous bytes before marker)" % len(JUNK),
        insert_before(base, 0xC0, JUNK))
    add("junk_before_eoi", "baseline_420_q75.jpg with %d non-FF bytes inserted before EOI"
        % len(JUNK), insert_before(base, 0xD9, JUNK))
    add("junk_between_scans", "progressive.jpg with %d non-FF bytes inserted before its "
        "third scan's DHT/SOS" % len(JUNK), insert_before(prog, 0xDA, JUNK, 2))
    add("fill_bytes", "baseline_420_q75.jpg with five extra FF fill bytes before SOF0 (legal)",
        insert_before(base, 0xC0, b"\xff" * 5))
    add("tem_marker", "baseline_420_q75.jpg with a TEM marker (FF 01, no length) before SOF0: "
        "libjpeg skips it, Pillow's own header parser knows no markers below FF C0",
        insert_before(base, 0xC0, b"\xff\x01"))
    add("reserved_marker", "baseline_420_q75.jpg with FF 02 00 04 00 00 (a reserved marker "
        "with a length) before SOF0", insert_before(base, 0xC0, b"\xff\x02\x00\x04\x00\x00"))
    s, e = scan_data_range(base)
    mid = (s + e) // 2
    assert b"\xff" not in base[mid - 1:mid + 13]
    add("corrupt_scan", "baseline_420_q75.jpg with 12 bytes in the middle of the scan "
        "replaced by 0x55 (libjpeg decodes garbage there, with or without a warning)",
        base[:mid] + b"\x55" * 12 + base[mid + 12:])
    add("corrupt_scan_bad_huffman", "baseline_420_q75.jpg with 12 bytes in the middle of the "
        "scan replaced by FF 00 x 6 (48 one-bits: no valid Huffman code)",
        base[:mid] + b"\xff\x00" * 6 + base[mid + 12:])
    # Pillow hands libjpeg the file in 64 KiB pieces (ImageFile.MAXBLOCK),
    # libjpeg suspends at the end of each, and its Huffman decoder takes a
    # slower path near the end of the buffer: a comment pushes the middle of
    # the scan to offset 65536, where the first piece ends.
    pad = 65536 - (s + e) // 2 - 4
    comment = struct.pack(">BBH", 0xFF, 0xFE, pad + 2) + (b"padding " * (pad // 8 + 1))[:pad]
    add("scan_across_64k", "baseline_420_q75.jpg with a %d-byte COM segment before SOF0, so "
        "that byte 65536, where Pillow's first 64 KiB read ends, is mid-scan"
        % (pad + 4), insert_before(base, 0xC0, comment))
    bad = base[:mid] + b"\xff\x00" * 6 + base[mid + 12:]
    add("scan_across_64k_bad_huffman", "corrupt_scan_bad_huffman.jpg with the same COM "
        "segment: the bad codes sit at byte 65536", insert_before(bad, 0xC0, comment))
    add("scan_hits_marker", "baseline_420_q75.jpg with its last 40 scan bytes removed, EOI "
        "kept (libjpeg warns 'premature end of data segment' and fills with zeros)",
        base[:e - 40] + base[e:])
    rst_off = [o for o, m, _ in segments(rst_block)[0] if 0xD0 <= m <= 0xD7]
    drop = rst_off[len(rst_off) // 2]
    add("restart_missing", "restart_1block.jpg with one RST marker (of %d) removed "
        "(libjpeg resyncs)" % len(rst_off), rst_block[:drop] + rst_block[drop + 2:])
    image_only = pillow_jpeg(face, quality=75, streamtype=2)
    tables = b"".join(base[o:o + 4 + len(body)] for o, m, body in segments(base)[0]
                      if m in (0xDB, 0xC4))
    add("abbreviated_tables_then_image", "two datastreams: SOI, the DQT and DHT segments of "
        "baseline_420_q75.jpg, EOI, then Pillow's streamtype=2 save of the face (the "
        "'abbreviated image' without tables). Pillow reads it: its jpeg_read_header(FALSE) "
        "loop takes the first as tables-only and goes on",
        b"\xff\xd8" + tables + b"\xff\xd9" + image_only)
    add("abbreviated_image_only", "Pillow's streamtype=2 save of the face alone: no DQT, "
        "no DHT", image_only)
    add("two_components", "hand-made: flat 8x8 baseline with 2 components",
        tiny_jpeg(0xC0, 8, 2, 8, 8))
    add("precision12", "hand-made: flat 8x8 SOF1 grayscale, 12-bit samples",
        tiny_jpeg(0xC1, 12, 1, 8, 8))
    add("lossless", "hand-made: flat 8x8 SOF3 lossless grayscale", tiny_jpeg(0xC3, 8, 1, 8, 8))
    add("not_jpeg", "the first 300 bytes of baseline_420_q75.jpg with SOI replaced by 'XX'",
        b"XX" + base[2:300])

    for src_name, src_file, src in (("baseline", "baseline_420_q75.jpg", base),
                                    ("progressive", "progressive.jpg", prog)):
        segs = segments(src)[0]
        sof, _, sof_payload = next(g for g in segs if g[1] in SOF_NAMES)
        sof_end = sof + 4 + len(sof_payload)
        sos = [o for o, m, _ in segs if m == 0xDA]
        s0, e0 = scan_data_range(src)
        cuts = [
            ("header", sof // 2, "inside the tables before SOF"),
            ("after_sof", sof_end + 4, "4 bytes into the segment after SOF"),
            ("after_sos", s0, "right after the first SOS header, no scan data"),
            ("first_scan", s0 + (e0 - s0) // 3, "a third of the way into the first scan"),
        ]
        if len(sos) > 1:
            s3, e3 = scan_data_range(src, len(sos) // 2)
            cuts.append(("mid_scans", (s3 + e3) // 2,
                         "inside scan %d of %d" % (len(sos) // 2 + 1, len(sos))))
        cuts += [
            ("before_eoi", len(src) - 2 - 8, "the last 8 bytes of scan data and EOI missing"),
            ("no_eoi", len(src) - 2, "only the EOI marker missing"),
            ("half_eoi", len(src) - 1, "ends in FF, the D9 of EOI missing"),
        ]
        for tag, n, why in cuts:
            add("truncated_%s_%s" % (src_name, tag),
                "%s cut to its first %d of %d bytes: %s" % (src_file, n, len(src), why), src[:n])
    add("truncated_baseline_444_no_eoi", "baseline_444.jpg without its EOI marker. Pillow "
        "accepts this one: libjpeg delivered the last scanline before it needed a byte past "
        "the end (it first does so in jpeg_finish_decompress, looking for EOI); compare "
        "truncated_baseline_no_eoi.jpg", base444[:-2])
    return cases


def write(fixture_dir):
    out_dir = os.path.join(fixture_dir, "jpeg")
    os.makedirs(out_dir, exist_ok=True)
    cat = Image.open(os.path.join(fixture_dir, "images", "cat.png")).convert("RGB")
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "scans.txt"), "w") as f:
            f.write("0: 0 63 0 0;\n1: 0 63 0 0;\n2: 0 63 0 0;\n")
        cases = build_cases(cat, tmp)
    names = [c[0] for c in cases]
    assert len(set(names)) == len(names), "duplicate case name"
    written, entries = set(), []
    for name, how, data in cases:
        jpg = name + ".jpg"
        path = os.path.join(out_dir, jpg)
        with open(path, "wb") as f:
            f.write(data)
        written.add(jpg)
        res, rgb, native = pillow_result(path)
        entry = {"file": jpg, "how": how, "size": len(data)}
        entry.update(describe(data))
        entry["pillow"] = res
        if rgb is not None:
            assert len(rgb) == res["width"] * res["height"] * 3
            res["rgb"] = name + ".rgb"
            with open(os.path.join(out_dir, res["rgb"]), "wb") as f:
                f.write(rgb)
            written.add(res["rgb"])
        if native is not None:
            res["cmyk"] = name + ".cmyk"
            with open(os.path.join(out_dir, res["cmyk"]), "wb") as f:
                f.write(native)
            written.add(res["cmyk"])
        entry["djpeg"] = djpeg_result(data, rgb)
        entries.append(entry)
    manifest = {
        "generator": "test/gen/fixtures_jpeg.py",
        "source": "../images/cat.png, 'Chelsea the cat' by Stefan van der Walt, CC0",
        "pillow": Image.__version__,
        "libjpeg_turbo": features.version_feature("libjpeg_turbo"),
        "recipe": "Image.open(p).convert('RGB'), ImageFile.LOAD_TRUNCATED_IMAGES = False",
        "cases": entries,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    for stale in sorted(os.listdir(out_dir)):
        if stale.endswith((".jpg", ".rgb", ".cmyk")) and stale not in written:
            os.remove(os.path.join(out_dir, stale))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: %s FIXTURE_DIR" % sys.argv[0])
    write(sys.argv[1])
