#!/usr/bin/env python3
"""make_hostile.py: writes the hostile-input corpus test/test_hostile.sh runs.

    python3 test/gen/make_hostile.py [DIR]            # default DIR: test/hostile
    python3 test/gen/make_hostile.py --large DIR      # also the large cases, into DIR
    python3 test/gen/make_hostile.py --seeds          # the fuzz seeds, test/fuzz/corpus/*

Standard library only, deterministic (same bytes on every run). Every file is
a few hundred bytes to a few KB: images are built by hand (a PNG writer on
zlib, a JPEG writer for flat grey/colour blocks), weights are a width-1
AlexNet-shaped safetensors file and mutations of it. The large cases (an
IDAT that inflates to 1 GiB from a 1 MB file) are written only with --large,
never committed.

DIR/cases.txt is the manifest, one case a line:

    FILE  ARG  STATUS  REGEX

ARG is `image` (the file is the IMAGE, with the small fixture model) or
`weights` (the file is --weights, the image a good one); STATUS the exit
status guidedbp must return; REGEX (the rest of the line) an extended
regular expression its stderr must match. FILE is relative to DIR.
"""
import json
import os
import struct
import sys
import zlib

# --------------------------------------------------------------------- PNG


def chunk(kind, data, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def ihdr(w, h, depth=8, colour=2, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace))


PNG_SIG = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def pixel(x, y, c):
    """A smooth deterministic pattern, so a decoded image is not flat."""
    return (x * 7 + y * 13 + c * 50) & 0xFF


def scanlines(w, h, depth, colour):
    """Raw filtered rows (filter 0) of a w x h image."""
    n = CHANNELS[colour]
    rows = []
    for y in range(h):
        row = bytearray([0])
        if depth == 16:
            for x in range(w):
                for c in range(n):
                    v = pixel(x, y, c)
                    row += bytes([v, 255 - v])
        elif depth == 8:
            for x in range(w):
                for c in range(n):
                    row.append(pixel(x, y, c) if colour != 3 else (x + y) % 4)
        else:  # sub-byte depths, packed high bits first
            bits = []
            for x in range(w):
                bits.append(((x + y) % (1 << depth)))
            acc, nbits = 0, 0
            for b in bits:
                acc = (acc << depth) | b
                nbits += depth
                if nbits == 8:
                    row.append(acc)
                    acc, nbits = 0, 0
            if nbits:
                row.append(acc << (8 - nbits))
        rows.append(bytes(row))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def interlaced_raw(w, h, depth, colour):
    n = CHANNELS[colour]
    out = bytearray()
    for x0, y0, dx, dy in ADAM7:
        pw = (w - x0 + dx - 1) // dx if w > x0 else 0
        ph = (h - y0 + dy - 1) // dy if h > y0 else 0
        if pw == 0 or ph == 0:
            continue
        for py in range(ph):
            y = y0 + py * dy
            out.append(0)
            for px in range(pw):
                x = x0 + px * dx
                for c in range(n):
                    v = pixel(x, y, c)
                    out += bytes([v, 255 - v]) if depth == 16 else bytes([v])
    return bytes(out)


def png(w, h, depth=8, colour=2, interlace=0, extra=b"", raw=None):
    if raw is None:
        raw = (interlaced_raw(w, h, depth, colour) if interlace
               else b"".join(scanlines(w, h, depth, colour)))
    return (PNG_SIG + ihdr(w, h, depth, colour, interlace) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def png_palette_trns():
    plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0]))
    trns = chunk(b"tRNS", bytes([0, 128, 255]))  # entries 0 and 1 (partly) transparent
    return png(16, 12, 8, 3, extra=plte + trns)


def pack(values, depth):
    """Samples of `depth` bits packed high bits first into bytes."""
    out, acc, nbits = bytearray(), 0, 0
    for v in values:
        acc, nbits = (acc << depth) | v, nbits + depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(rows):
    """Rows of bytes, each filtered with type y % 5 (one byte a pixel)."""
    out, prev = bytearray(), bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        kind = y % 5
        out.append(kind)
        for i, v in enumerate(row):
            a = row[i - 1] if i else 0
            b, c = prev[i], prev[i - 1] if i else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            out.append((v - pred) & 0xFF)
        prev = row
    return bytes(out)


def png_palette(w, h, depth, entries, index, interlace=0):
    """A palette PNG of `entries` colours whose pixel (x, y) is index(x, y),
    its rows filtered with every filter type, interlaced or not."""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs, ys = range(x0, w, dx), range(y0, h, dy)
        if len(xs) and len(ys):
            raw += filtered([pack([index(x, y) for x in xs], depth) for y in ys])
    plte = chunk(b"PLTE", bytes((37 * i + k * 80) & 0xFF for i in range(entries) for k in range(3)))
    return png(w, h, depth, 3, interlace, extra=plte, raw=raw)


def sof_changed(data, code):
    """The JPEG with its SOF0 marker turned into SOF<code> (0xC3: lossless)."""
    at = data.index(b"\xff\xc0")
    return data[:at + 1] + bytes([code]) + data[at + 2:]


def png_cgbi():
    """Apple's CgBI chunk after IHDR: stb would inflate IDAT as raw deflate."""
    good = png(8, 8)
    at = len(PNG_SIG) + 25  # after IHDR
    return good[:at] + chunk(b"CgBI", b"\x50\x00\x20\x06") + good[at:]


def png_bad_crc():
    data = bytearray(png(16, 16))
    # The IDAT's CRC is the 4 bytes before IEND's 12.
    data[-13] ^= 0x55
    return bytes(data)


def png_bad_zlib():
    # A zlib header then a final block of the reserved type 3.
    idat = b"\x78\x9c" + bytes([0b00000111]) + b"\x00" * 8
    return PNG_SIG + ihdr(16, 16) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_bad_adler():
    """A good PNG but for its zlib stream's Adler-32: stb never checks it;
    zlib, and so Pillow ("broken data stream"), refuse it."""
    raw = b"".join(b"\x00" + bytes(range(48)) for _ in range(16))
    z = bytearray(zlib.compress(raw, 9))
    z[-1] ^= 0xFF
    return PNG_SIG + ihdr(16, 16) + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b"")


def png_claims(w, h):
    """A valid header claiming w x h, then a tiny IDAT: a decompression bomb."""
    return (PNG_SIG + ihdr(w, h) + chunk(b"IDAT", zlib.compress(b"\x00" * 64, 9)) +
            chunk(b"IEND", b""))


def png_inflate_bomb(size):
    """A 1x1 RGB PNG whose IDAT inflates to `size` bytes (the image needs 4)."""
    comp = zlib.compressobj(9)
    block = b"\x00" * (1 << 20)
    parts = []
    for _ in range(size >> 20):
        parts.append(comp.compress(block))
    parts.append(comp.flush())
    return PNG_SIG + ihdr(1, 1) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


# -------------------------------------------------------------------- JPEG
#
# Flat blocks only: every DC difference is 0 and every AC band is empty, so
# one Huffman code ('0') per table suffices. The result is a valid JPEG of
# mid-grey (level 128) in every component, whatever the colour space.


def marker(code, payload=b""):
    return b"\xff" + bytes([code]) + (struct.pack(">H", len(payload) + 2) + payload
                                      if payload is not None else b"")


def dht(cls, ident, symbols, counts=None):
    if counts is None:
        counts = [0] * 16
        counts[0] = len(symbols)  # every symbol a 1-bit code: only works for 1
    return marker(0xC4, bytes([cls << 4 | ident]) + bytes(counts) + bytes(symbols))


def dht_overflow():
    """An AC table of 301 codes (one of 1 bit, 100 of 15, 200 of 16: a valid
    prefix code) where a JPEG table holds at most 256: stb_image 2.27 writes
    past its 257-entry arrays and then decodes the image (fixed in 2.28)."""
    counts = [1] + [0] * 13 + [100, 200]
    return dht(1, 0, [0] + [i % 251 for i in range(300)], counts)


def bits_to_bytes(nbits):
    """nbits zero bits (each a '0' code), padded with ones."""
    out = bytearray(b"\x00" * (nbits // 8))
    rem = nbits % 8
    if rem:
        out.append((1 << (8 - rem)) - 1)
    return bytes(out)


def jpeg(w, h, ncomp=3, progressive=False, adobe=None, data_override=None, truncate=None,
         luma=(1, 1), tables=None, quant=True, se=63):
    """luma: the first component's sampling factors (2, 2) is 4:2:0, (2, 1) 4:2:2.
    quant=False leaves out the DQT; se is a baseline scan's Se (decoders
    ignore it: a baseline scan always codes all 64 coefficients)."""
    soi = b"\xff\xd8"
    app = b""
    if adobe is not None:
        app = marker(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, adobe))
    else:
        app = marker(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = marker(0xDB, b"\x00" + b"\x01" * 64) if quant else b""
    hs, vs = luma
    comps = b"".join(bytes([i + 1, (hs << 4 | vs) if i == 0 else 0x11, 0]) for i in range(ncomp))
    sof = marker(0xC2 if progressive else 0xC0,
                 struct.pack(">BHHB", 8, h, w, ncomp) + comps)
    tables = tables or dht(0, 0, [0]) + dht(1, 0, [0])
    mcus = ((w + 8 * hs - 1) // (8 * hs)) * ((h + 8 * vs - 1) // (8 * vs))
    per_mcu = hs * vs + (ncomp - 1)  # blocks of all components in one interleaved MCU
    blocks = ((w + 7) // 8) * ((h + 7) // 8)
    scans = b""
    if not progressive:
        sos = marker(0xDA, bytes([ncomp]) + b"".join(bytes([i + 1, 0x00]) for i in range(ncomp))
                     + bytes([0, se, 0]))
        data = bits_to_bytes(mcus * per_mcu * 2) if data_override is None else data_override
        scans = sos + data
    else:
        # DC first (all components interleaved), then one AC scan per component.
        sos = marker(0xDA, bytes([ncomp]) + b"".join(bytes([i + 1, 0x00]) for i in range(ncomp))
                     + bytes([0, 0, 0]))
        scans = sos + bits_to_bytes(mcus * per_mcu)
        for i in range(ncomp):
            sos = marker(0xDA, bytes([1, i + 1, 0x00, 1, 63, 0]))
            # A non-interleaved scan covers the component's own blocks.
            cw, ch = (w * (hs if i == 0 else 1) + hs - 1) // hs, (h * (vs if i == 0 else 1) + vs - 1) // vs
            scans += sos + bits_to_bytes(((cw + 7) // 8) * ((ch + 7) // 8))
    body = soi + app + dqt + sof + tables + scans
    if truncate is not None:
        return body[:truncate]
    return body + b"\xff\xd9"


def dht_behind_fill_bytes():
    """Found by fuzz_image: a progressive JPEG whose first scan's data goes on
    with "FF FF 00" (fill byte, then a stuffed 0xFF to a decoder) and then an
    overflowing DHT. Read as a marker 0x00 with a length, those bytes would
    hide the DHT from a checker; stb_image 2.27 reads on and trusts it."""
    full = jpeg(16, 16, 1, progressive=True)
    second = full.index(b"\xff\xda", full.index(b"\xff\xda") + 2)
    bad = dht_overflow()
    return (full[:second] + b"\xff\xff\x00" + struct.pack(">H", 2 + len(bad)) + bad
            + full[second:])


def progressive_refinement_first():
    """Found by fuzz_image_msan: a progressive JPEG whose first DC scan is a
    refinement one (Ah = 1): stb_image 2.27 zeroes a block's coefficients
    only in a first scan (Ah = 0), so it refines uninitialised memory."""
    full = bytearray(jpeg(16, 16, 1, progressive=True))
    first = full.index(b"\xff\xda")
    full[first + 9] = 0x10  # the first scan's Ah/Al: Ah = 1, Al = 0
    return bytes(full)


def progressive_without_dc():
    """A progressive JPEG whose only scan is an AC one: no scan starts the DC
    coefficients, which stb_image 2.27 then leaves uninitialised."""
    full = jpeg(16, 16, 1, progressive=True)
    first = full.index(b"\xff\xda")
    return full[:first] + full[full.index(b"\xff\xda", first + 2):]


def many_scans(n):
    """A progressive JPEG whose DC scan comes n times: libjpeg only warns
    about a repeated scan and goes on, so a small file can make it walk its
    coefficient buffer thousands of times (a known denial of service of
    progressive JPEG; guidedbp stops at JPEG_MAX_SCANS)."""
    full = jpeg(16, 16, 1, progressive=True)
    first = full.index(b"\xff\xda")
    second = full.index(b"\xff\xda", first + 2)
    return full[:first] + full[first:second] * n + full[second:]


def no_scan():
    """Tables and a frame header, then EOI: no scan at all, so stb_image 2.27
    returns its freshly allocated, uninitialised component buffers as pixels."""
    full = jpeg(16, 24, 3)
    return full[:full.index(b"\xff\xda")] + b"\xff\xd9"


# ------------------------------------------------------ other formats, .png


def gif_1x1():
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def bmp_2x2():
    row = b"\x00\x00\xff\xff\xff\xff" + b"\x00\x00"  # 2 BGR pixels + padding to 4
    pixels = row * 2
    header = struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(pixels), 0, 0, 54) + header + pixels


def psd_2x2():
    head = b"8BPS" + struct.pack(">H", 1) + b"\x00" * 6 + struct.pack(">HIIHH", 3, 2, 2, 8, 3)
    return head + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + bytes(range(12))


def hdr_2x2():
    text = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n"
    return text + bytes([128, 64, 32, 129]) * 4


# ------------------------------------------------------------- safetensors
#
# An AlexNet-shaped model of width 1 (one channel per conv, one unit per
# linear layer, one class): every tensor present, 2 KB in all.

def alexnet_tensors(width=1, classes=1):
    shapes = []
    in_c = 3
    for name, k in (("features.0", 11), ("features.3", 5), ("features.6", 3), ("features.8", 3),
                    ("features.10", 3)):
        shapes.append((name + ".weight", [width, in_c, k, k]))
        shapes.append((name + ".bias", [width]))
        in_c = width
    fan = in_c * 36
    for name, out in (("classifier.1", width), ("classifier.4", width), ("classifier.6", classes)):
        shapes.append((name + ".weight", [out, fan]))
        shapes.append((name + ".bias", [out]))
        fan = out
    return shapes


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def values(n, seed):
    return [((i * 37 + seed * 11) % 19 - 9) / 64.0 for i in range(n)]


def safetensors(entries, pad_to=8):
    """entries: (name, dtype, shape, floats or raw bytes, offsets or None).
    Returns the file; offsets default to tight packing in order."""
    header_items = []
    data = bytearray()
    for name, dtype, shape, payload, offsets in entries:
        raw = payload if isinstance(payload, (bytes, bytearray)) else struct.pack(
            "<%df" % len(payload), *payload)
        begin = len(data)
        data += raw
        offs = offsets if offsets is not None else [begin, len(data)]
        header_items.append('"%s":{"dtype":"%s","shape":%s,"data_offsets":%s}' % (
            name, dtype, json.dumps(shape, separators=(",", ":")),
            json.dumps(offs, separators=(",", ":"))))
    return raw_safetensors("{" + ",".join(header_items) + "}", bytes(data), pad_to)


def raw_safetensors(header, data, pad_to=8):
    h = header.encode()
    if pad_to:
        h += b" " * (-(8 + len(h)) % pad_to)
    return struct.pack("<Q", len(h)) + h + data


def model_entries(seed=0):
    return [[name, "F32", shape, values(count(shape), seed + i), None]
            for i, (name, shape) in enumerate(alexnet_tensors())]


def vgg11_file(first):
    """VGG-11 shaped, named by __metadata__ "arch" (src/nn/graph.c): width
    `first` in the first convolution, 1 everywhere else."""
    vgg, in_c = [], 3
    for m in (0, 3, 6, 8, 11, 13, 16, 18):
        width = first if m == 0 else 1
        vgg += [("features.%d.weight" % m, [width, in_c, 3, 3]), ("features.%d.bias" % m, [width])]
        in_c = width
    fan = 49
    for m, out in ((0, 1), (3, 1), (6, 2)):
        vgg += [("classifier.%d.weight" % m, [out, fan]), ("classifier.%d.bias" % m, [out])]
        fan = out
    entries = [[n, "F32", sh, values(count(sh), 5), None] for n, sh in vgg]
    body = safetensors(entries)
    hlen = struct.unpack("<Q", body[:8])[0]
    header = body[8:8 + hlen].decode().rstrip()
    return raw_safetensors('{"__metadata__":{"arch":"vgg11"},' + header[1:], body[8 + hlen:])


def weights_cases():
    out = {}
    out["w_valid.safetensors"] = safetensors(model_entries())

    good = out["w_valid.safetensors"]
    out["w_empty.safetensors"] = b""
    out["w_short.safetensors"] = good[:5]
    out["w_truncated.safetensors"] = good[:len(good) - 600]
    hlen = struct.unpack("<Q", good[:8])[0]
    out["w_header_past_end.safetensors"] = struct.pack("<Q", len(good)) + good[8:]
    out["w_header_huge.safetensors"] = struct.pack("<Q", 1 << 62) + good[8:]
    out["w_header_zero.safetensors"] = struct.pack("<Q", 0) + good[8:]
    header = good[8:8 + hlen].decode()
    data = good[8 + hlen:]
    out["w_bad_json.safetensors"] = raw_safetensors(header.rstrip()[:-1] + ",}", data)
    out["w_not_object.safetensors"] = raw_safetensors("[1,2,3]", b"")
    out["w_binary_header.safetensors"] = struct.pack("<Q", 16) + b"\xff\xfe\x00garbage\x01\x02\x03\x04\x05" + data

    e = model_entries()
    dup = e[:2] + [list(e[1])] + e[2:]
    dup[2][4] = None
    out["w_duplicate.safetensors"] = safetensors(dup)

    e = model_entries()
    e[0][1] = "Q7"
    out["w_unknown_dtype.safetensors"] = safetensors(e)
    e = model_entries()
    e[2][1] = "F16"
    out["w_f16.safetensors"] = safetensors(e)

    # Offsets: the second tensor starts 4 bytes early (overlap), the last
    # ends past the data, a 4-byte gap between two tensors.
    e = model_entries()
    sizes = [count(s) * 4 for _, _, s, _, _ in e]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    o = [list(x) for x in e]
    o[1][4] = [starts[1] - 4, starts[1] - 4 + sizes[1]]
    out["w_overlap.safetensors"] = safetensors(o)
    o = [list(x) for x in e]
    o[-1][4] = [starts[-1] + 64, starts[-1] + 64 + sizes[-1]]
    out["w_out_of_bounds.safetensors"] = safetensors(o)
    o = [list(x) for x in e]
    for i in range(3, len(o)):
        o[i][4] = [starts[i] + 4, starts[i] + 4 + sizes[i]]
    o[-1][3] = list(o[-1][3]) + [0.0]  # one more float so the data still ends with the last
    out["w_hole.safetensors"] = safetensors(o)
    o = [list(x) for x in e]
    o[0][4] = [0, sizes[0] + 4]
    out["w_span_mismatch.safetensors"] = safetensors(o)
    o = [list(x) for x in e]
    o[0][2] = [1, 3, 11, -11]
    out["w_negative_dim.safetensors"] = safetensors(o)
    o = [list(x) for x in e]
    o[0][2] = [1 << 40, 1 << 40, 1]
    out["w_huge_shape.safetensors"] = safetensors(o)

    # Well-formed files that are not our AlexNet.
    e = model_entries()
    e[0][2] = [1, 3, 7, 7]
    e[0][3] = values(1 * 3 * 7 * 7, 0)
    out["w_wrong_shape.safetensors"] = safetensors(e)
    e = model_entries()
    e[6][2] = [1, 2, 3, 3]
    e[6][3] = values(18, 0)
    out["w_inconsistent_shape.safetensors"] = safetensors(e)
    out["w_missing.safetensors"] = safetensors(model_entries()[:-1])
    e = model_entries()
    e.append(["features.1.weight", "F32", [1], [0.5], None])
    out["w_extra.safetensors"] = safetensors(e)
    # A name from the file ends up in the message: it must stay one line.
    body = safetensors(model_entries())
    hlen = struct.unpack("<Q", body[:8])[0]
    header = body[8:8 + hlen].decode().rstrip()
    out["w_arch_newline.safetensors"] = raw_safetensors(
        r'{"__metadata__":{"arch":"vgg\nguidedbp: weights ok\u001b[2J"},' + header[1:],
        body[8 + hlen:])
    # 300 KB asking for 2 GB: 2048 channels of 224x224 activations.
    out["w_wide_first_layer.safetensors"] = vgg11_file(2048)
    out["w_no_tensors.safetensors"] = raw_safetensors('{"__metadata__":{"format":"pt"}}', b"")

    e = model_entries()
    e[4][3] = list(e[4][3])
    e[4][3][5] = float("nan")
    out["w_nan.safetensors"] = safetensors(e)
    e = model_entries()
    e[12][3] = list(e[12][3])
    e[12][3][0] = float("-inf")
    out["w_inf.safetensors"] = safetensors(e)
    return out


# ------------------------------------------------------------------ corpus

def image_cases():
    good = png(32, 24)
    return {
        "i_empty.png": b"",
        "i_text.jpg": b"this is not a picture, just text named .jpg\n",
        "i_truncated.png": good[:len(good) // 2],
        "i_signature_only.png": PNG_SIG,
        "i_bad_crc.png": png_bad_crc(),
        "i_bad_zlib.png": png_bad_zlib(),
        "i_bad_adler.png": png_bad_adler(),
        "i_zero_width.png": png(0, 16, raw=b""),
        "i_bomb_60000x60000.png": png_claims(60000, 60000),
        "i_side_16385.png": png_claims(16385, 1),
        "i_over_64mp.png": png_claims(16384, 4097),
        "i_inflate_bomb.png": png_inflate_bomb(1 << 20),
        "i_aspect_1x4096.png": png(1, 4096, 8, 0),
        "i_aspect_1x16384.png": png(1, 16384, 8, 0),
        "i_16bit.png": png(20, 12, 16, 2),
        "i_16bit_gray_alpha.png": png(9, 7, 16, 4),
        "i_interlaced.png": png(19, 13, 8, 6, interlace=1),
        "i_palette_trns.png": png_palette_trns(),
        # Indices within PLTE, every filter type: decoded as usual.
        "i_palette_filters.png": png_palette(21, 11, 4, 12, lambda x, y: (x * 3 + y) % 12),
        "i_palette_interlaced.png": png_palette(19, 13, 8, 200,
                                                lambda x, y: (x * 11 + y * 7) % 200, 1),
        # An index past PLTE: stb reads its palette buffer where nothing was
        # written (MemorySanitizer), so one file gave different maps; Pillow
        # 9.4 gives the grey (i, i, i) there (checked when these were made),
        # and so must guidedbp (test_png.c checks the pixels).
        "i_palette_past_plte.png": png_palette(16, 9, 8, 3, lambda x, y: 5 if (x, y) == (9, 6) else x % 3),
        "i_palette_past_plte_interlaced.png": png_palette(16, 9, 2, 2, lambda x, y: 3 if (x, y) == (15, 8) else 1, 1),
        "i_cgbi.png": png_cgbi(),
        "i_lossless.jpg": sof_changed(jpeg(16, 16, 3), 0xC3),
        "i_width_4294967295.png": png_claims(4294967295, 1),
        "i_gray_1bit.png": png(13, 5, 1, 0),
        "i_truncated_scan.jpg": jpeg(64, 64, 3, truncate=300),
        "i_bad_huffman.jpg": jpeg(16, 16, 1, data_override=b"\xc0\x00\x00\x00"),
        "i_zero_height.jpg": jpeg(16, 0, 1),
        # No DHT at all: stb_image 2.27 decodes with uninitialised tables
        # (MemorySanitizer), which fuzz_image turned into an assert() abort.
        "i_no_dht.jpg": jpeg(16, 16, 1, tables=b"\xff\xfe\x00\x04no"),
        # Decoded from tables the file never defines: stb_image 2.27 leaves
        # them uninitialised and outputs heap memory (fuzz_image_msan), or
        # indexes far out of bounds (fuzz_image: index 16777229 of [257]).
        "i_undefined_ac_table.jpg": jpeg(16, 16, 1, tables=dht(0, 0, [0])),
        "i_no_dqt.jpg": jpeg(16, 16, 3, quant=False),
        "i_undefined_ac_se0.jpg": jpeg(16, 16, 1, tables=dht(0, 0, [0]), se=0),
        "i_progressive_no_dc.jpg": progressive_without_dc(),
        "i_no_scan.jpg": no_scan(),
        "i_dht_overflow.jpg": jpeg(16, 16, 1, tables=dht(0, 0, [0]) + dht_overflow()),
        # Found by fuzz_image: a DHT whose 16-byte length leaves 1 byte after
        # its only table, so stb reads a second table from the next segment's
        # bytes, with counts summing to 472.
        "i_dht_spill.jpg": jpeg(16, 16, 1, tables=marker(0xC4, bytes([0x10]) + bytes(16) + b"\x00")
                                + dht(0, 0, [0]) + dht(1, 0, [0])),
        "i_dht_behind_fill.jpg": dht_behind_fill_bytes(),
        "i_dc_refinement_first.jpg": progressive_refinement_first(),
        "i_scans_499.jpg": many_scans(498),
        "i_scans_5000.jpg": many_scans(5000),
        "i_bomb_65000x65000.jpg": jpeg(65000, 65000, 1, truncate=200) + b"\xff\xd9",
        "i_baseline.jpg": jpeg(24, 16, 3),
        "i_cmyk.jpg": jpeg(16, 16, 4, adobe=0),
        "i_ycck.jpg": jpeg(16, 16, 4, adobe=2),
        "i_progressive.jpg": jpeg(24, 16, 3, progressive=True),
        "i_gif_named.png": gif_1x1(),
        "i_bmp_named.png": bmp_2x2(),
        "i_psd_named.png": psd_2x2(),
        "i_hdr_named.png": hdr_2x2(),
    }


UNSUPPORTED = "unsupported image format"
CORRUPT_PNG = "(corrupt|truncated) PNG"
LIMITS = "outside the limits"

MANIFEST = [
    # file, arg, status, regex (stderr)
    ("i_empty.png", "image", 1, r"i_empty\.png: empty file"),
    ("i_text.jpg", "image", 1, r"i_text\.jpg: " + UNSUPPORTED),
    ("i_truncated.png", "image", 1, r"i_truncated\.png: " + CORRUPT_PNG),
    ("i_signature_only.png", "image", 1, r"i_signature_only\.png: " + CORRUPT_PNG),
    ("i_bad_crc.png", "image", 1, r"i_bad_crc\.png: .*CRC"),
    ("i_bad_zlib.png", "image", 1, r"i_bad_zlib\.png: " + CORRUPT_PNG),
    ("i_bad_adler.png", "image", 1, r"i_bad_adler\.png: corrupt PNG data \(incorrect data check\)"),
    ("i_zero_width.png", "image", 1, r"i_zero_width\.png: (corrupt PNG|PNG of 0x16 pixels)"),
    ("i_bomb_60000x60000.png", "image", 1, r"i_bomb_60000x60000\.png: PNG of 60000x60000 pixels is " + LIMITS),
    ("i_side_16385.png", "image", 1, r"i_side_16385\.png: PNG of 16385x1 pixels is " + LIMITS),
    ("i_over_64mp.png", "image", 1, r"i_over_64mp\.png: PNG of 16384x4097 pixels is " + LIMITS),
    ("i_inflate_bomb.png", "image", 1, r"i_inflate_bomb\.png: .*(inflate|more data|too much)"),
    # 1x4096: Resize(224) makes it 224x917504 (616 MB) to keep 224x224; test_hostile.sh
    # also bounds its peak memory. 1x16384 would resize to 224x3670016.
    ("i_aspect_1x4096.png", "image", 0, r"^$"),
    ("i_aspect_1x16384.png", "image", 0, r"^$"),
    ("i_16bit.png", "image", 0, r"^$"),
    ("i_16bit_gray_alpha.png", "image", 0, r"^$"),
    ("i_interlaced.png", "image", 0, r"^$"),
    ("i_palette_trns.png", "image", 0, r"^$"),
    ("i_palette_filters.png", "image", 0, r"^$"),
    ("i_palette_interlaced.png", "image", 0, r"^$"),
    ("i_palette_past_plte.png", "image", 0, r"^$"),
    ("i_palette_past_plte_interlaced.png", "image", 0, r"^$"),
    ("i_cgbi.png", "image", 1, r"i_cgbi\.png: Apple's CgBI PNG"),
    ("i_lossless.jpg", "image", 1, r"i_lossless\.jpg: unsupported kind of JPEG \(Unsupported JPEG process: SOF type 0xc3"),
    ("i_width_4294967295.png", "image", 1, r"i_width_4294967295\.png: PNG of 4294967295x1 pixels is outside the limits"),
    ("i_gray_1bit.png", "image", 0, r"^$"),
    # JPEG: what Pillow 9.4 (libjpeg-turbo 2.1.5) does with each, decoding
    # with warnings where it does (test_jpeg.c checks the pixels against
    # Pillow's) or refusing; and the scan limit, which is guidedbp's own.
    ("i_truncated_scan.jpg", "image", 1, r"i_truncated_scan\.jpg: truncated JPEG"),
    ("i_bad_huffman.jpg", "image", 0, r"^$"),
    ("i_no_dht.jpg", "image", 0, r"^$"),
    ("i_undefined_ac_table.jpg", "image", 0, r"^$"),
    ("i_no_dqt.jpg", "image", 1, r"i_no_dqt\.jpg: corrupt JPEG \(Quantization table 0x00 was not defined\)"),
    ("i_undefined_ac_se0.jpg", "image", 0, r"^$"),
    ("i_progressive_no_dc.jpg", "image", 0, r"^$"),
    ("i_no_scan.jpg", "image", 1, r"i_no_scan\.jpg: truncated JPEG \(the file ends before its first scan\)"),
    ("i_dht_overflow.jpg", "image", 1, r"i_dht_overflow\.jpg: corrupt JPEG \(Bogus Huffman table definition\)"),
    ("i_dht_spill.jpg", "image", 1, r"i_dht_spill\.jpg: corrupt JPEG \(Bogus marker length\)"),
    ("i_dht_behind_fill.jpg", "image", 1, r"i_dht_behind_fill\.jpg: corrupt JPEG \(Bogus Huffman table definition\)"),
    ("i_dc_refinement_first.jpg", "image", 0, r"^$"),
    ("i_scans_499.jpg", "image", 0, r"^$"),
    ("i_scans_5000.jpg", "image", 1, r"i_scans_5000\.jpg: JPEG with more than 500 scans"),
    ("i_zero_height.jpg", "image", 1, r"i_zero_height\.jpg: (corrupt JPEG|JPEG of 16x0 pixels)"),
    ("i_bomb_65000x65000.jpg", "image", 1, r"i_bomb_65000x65000\.jpg: JPEG of 65000x65000 pixels is " + LIMITS),
    ("i_baseline.jpg", "image", 0, r"^$"),
    ("i_cmyk.jpg", "image", 0, r"^$"),
    ("i_ycck.jpg", "image", 0, r"^$"),
    ("i_progressive.jpg", "image", 0, r"^$"),
    ("i_gif_named.png", "image", 1, r"i_gif_named\.png: " + UNSUPPORTED),
    ("i_bmp_named.png", "image", 1, r"i_bmp_named\.png: " + UNSUPPORTED),
    ("i_psd_named.png", "image", 1, r"i_psd_named\.png: " + UNSUPPORTED),
    ("i_hdr_named.png", "image", 1, r"i_hdr_named\.png: " + UNSUPPORTED),

    ("w_valid.safetensors", "weights", 0, r"^$"),
    ("w_empty.safetensors", "weights", 3, r"w_empty\.safetensors: file is 0 bytes"),
    ("w_short.safetensors", "weights", 3, r"w_short\.safetensors: file is 5 bytes"),
    ("w_truncated.safetensors", "weights", 3, r"w_truncated\.safetensors: tensor '[a-z0-9.]+': data_offsets .* run past the end"),
    ("w_header_past_end.safetensors", "weights", 3, r"w_header_past_end\.safetensors: header length [0-9]+ runs past the end"),
    ("w_header_huge.safetensors", "weights", 3, r"w_header_huge\.safetensors: header length 4611686018427387904 exceeds the limit"),
    ("w_header_zero.safetensors", "weights", 3, r"w_header_zero\.safetensors: header length is 0"),
    ("w_bad_json.safetensors", "weights", 3, r"w_bad_json\.safetensors: header is not valid JSON"),
    ("w_not_object.safetensors", "weights", 3, r"w_not_object\.safetensors: header is an array, not a JSON object"),
    ("w_binary_header.safetensors", "weights", 3, r"w_binary_header\.safetensors: header is not valid UTF-8"),
    ("w_duplicate.safetensors", "weights", 3, r"w_duplicate\.safetensors: tensor 'features\.0\.bias' appears twice"),
    ("w_unknown_dtype.safetensors", "weights", 3, r"w_unknown_dtype\.safetensors: tensor 'features\.0\.weight': unknown dtype 'Q7'"),
    ("w_f16.safetensors", "weights", 3, r"w_f16\.safetensors: tensor 'features\.3\.weight': unsupported dtype 'F16'"),
    ("w_overlap.safetensors", "weights", 3, r"w_overlap\.safetensors: tensors 'features\.0\.weight' .* and 'features\.0\.bias' .* overlap"),
    ("w_out_of_bounds.safetensors", "weights", 3, r"w_out_of_bounds\.safetensors: tensor 'classifier\.6\.bias': data_offsets .* run past the end"),
    ("w_hole.safetensors", "weights", 3, r"w_hole\.safetensors: hole in the data region: .*'features\.3\.weight'"),
    ("w_span_mismatch.safetensors", "weights", 3, r"w_span_mismatch\.safetensors: tensor 'features\.0\.weight': data_offsets span 1456 bytes, shape \[1,3,11,11\] of F32 needs 1452"),
    ("w_negative_dim.safetensors", "weights", 3, r"w_negative_dim\.safetensors: tensor 'features\.0\.weight': shape\[3\] is negative"),
    ("w_huge_shape.safetensors", "weights", 3, r"w_huge_shape\.safetensors: tensor 'features\.0\.weight': "),
    ("w_wrong_shape.safetensors", "weights", 3, r"w_wrong_shape\.safetensors: tensor 'features\.0\.weight' has shape \[1,3,7,7\], expected \[N,3,11,11\]"),
    ("w_inconsistent_shape.safetensors", "weights", 3, r"w_inconsistent_shape\.safetensors: tensor 'features\.8\.weight' has shape \[1,2,3,3\], expected \[N,1,3,3\]"),
    ("w_missing.safetensors", "weights", 3, r"w_missing\.safetensors: missing tensor 'classifier\.6\.bias'"),
    ("w_extra.safetensors", "weights", 3, r"w_extra\.safetensors: unexpected tensor 'features\.1\.weight'"),
    ("w_wide_first_layer.safetensors", "weights", 3, r"w_wide_first_layer\.safetensors: the model needs [0-9]+ MB for a batch of 1 224x224 input, more than the budget of 490 MB"),
    ("w_arch_newline.safetensors", "weights", 3, r"w_arch_newline\.safetensors: unknown architecture 'vgg"),
    ("w_no_tensors.safetensors", "weights", 3, r"w_no_tensors\.safetensors: missing tensor 'features\.0\.weight'"),
    ("w_nan.safetensors", "weights", 3, r"w_nan\.safetensors: tensor 'features\.6\.weight' holds NaN"),
    ("w_inf.safetensors", "weights", 3, r"w_inf\.safetensors: tensor 'classifier\.4\.weight' (holds an infinity|.*not finite)"),
]

LARGE = {
    # 1 MB of IDAT that inflates to 1 GiB for a 1x1 image.
    "large_inflate_bomb_1g.png": lambda: png_inflate_bomb(1 << 30),
}


def fuzz_seeds():
    """Seed corpora for test/fuzz/fuzz.sh: valid inputs of every kind the
    targets should explore from, each small."""
    seeds = {}
    img = image_cases()
    for name in ("i_16bit.png", "i_16bit_gray_alpha.png", "i_interlaced.png",
                 "i_palette_trns.png", "i_gray_1bit.png", "i_baseline.jpg", "i_cmyk.jpg",
                 "i_ycck.jpg", "i_progressive.jpg"):
        seeds["image/" + name[2:]] = img[name]
    seeds["image/rgba_interlaced_16bit.png"] = png(11, 9, 16, 6, interlace=1)
    seeds["image/gray_alpha_8bit.png"] = png(7, 5, 8, 4)
    seeds["image/gray_2bit.png"] = png(9, 3, 2, 0)
    seeds["image/progressive_gray.jpg"] = jpeg(40, 8, 1, progressive=True)
    seeds["image/baseline_gray.jpg"] = jpeg(8, 40, 1)
    seeds["image/baseline_420.jpg"] = jpeg(40, 24, 3, luma=(2, 2))
    seeds["image/baseline_422.jpg"] = jpeg(24, 17, 3, luma=(2, 1))
    seeds["image/progressive_420.jpg"] = jpeg(33, 20, 3, progressive=True, luma=(2, 2))

    w = weights_cases()
    valid = w["w_valid.safetensors"]
    for d in ("safetensors", "weights"):
        seeds[d + "/valid.safetensors"] = valid
        seeds[d + "/unaligned_header.safetensors"] = safetensors(model_entries(), pad_to=0)
    seeds["weights/width2.safetensors"] = safetensors(
        [[n, "F32", s, values(count(s), 3), None] for n, s in alexnet_tensors(2, 3)])
    seeds["weights/vgg11_width1.safetensors"] = vgg11_file(1)
    seeds["safetensors/metadata.safetensors"] = raw_safetensors(
        '{"__metadata__":{"format":"pt","a":"b"},"x":{"dtype":"F32","shape":[2,2],'
        '"data_offsets":[0,16]},"s":{"dtype":"F32","shape":[],"data_offsets":[16,20]},'
        '"z":{"dtype":"F32","shape":[0,5],"data_offsets":[20,20]}}',
        struct.pack("<5f", 1, 2, 3, 4, 5))
    seeds["safetensors/escapes.safetensors"] = raw_safetensors(
        r'{"n\u00e9\"q":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        struct.pack("<f", 1))
    for d, name in (("safetensors", "w_hole"), ("safetensors", "w_duplicate"),
                    ("safetensors", "w_f16"), ("weights", "w_wrong_shape"), ("weights", "w_nan")):
        seeds["%s/%s.safetensors" % (d, name[2:])] = w[name + ".safetensors"]

    argvs = [
        ["cat.png"],
        ["-w", "random:0", "-c", "281", "-o", "out.png", "--npy", "cat.png"],
        ["--weights=w.safetensors", "--class=tiger cat", "--guide", "all", "-k", "0", "a.jpg"],
        ["-q", "-t", "2", "--json", "--batch", "8", "--shard", "1/4", "-o", "out", "-r", "dir"],
        ["--files-from", "-", "--skip-existing", "--max-pixels", "1000000", "-o", "o"],
        ["-m", "guided", "--topk=3", "-t8", "-k5", "x.png", "--", "-y.png"],
        ["--help"], ["-V"], ["--threads"], ["-c"], ["--frob", "x"],
    ]
    for i, a in enumerate(argvs):
        seeds["cli/argv%02d" % i] = b"\0".join(x.encode() for x in a)
    return seeds


def main(argv):
    large = "--large" in argv
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if "--seeds" in argv:
        base = os.path.join(root, "test", "fuzz", "corpus")
        for name, data in sorted(fuzz_seeds().items()):
            os.makedirs(os.path.dirname(os.path.join(base, name)), exist_ok=True)
            with open(os.path.join(base, name), "wb") as f:
                f.write(data)
        return
    args = [a for a in argv if a != "--large"]
    out = args[0] if args else os.path.join(root, "test", "hostile")
    os.makedirs(out, exist_ok=True)
    files = {}
    files.update(image_cases())
    files.update(weights_cases())
    listed = {m[0] for m in MANIFEST}
    assert listed == set(files), sorted(listed ^ set(files))
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("# Written by test/gen/make_hostile.py; one case a line: FILE ARG STATUS REGEX\n"
                "# (ARG: image or weights; REGEX, the rest of the line, must match stderr).\n")
        for name, arg, status, regex in MANIFEST:
            f.write("%s %s %d %s\n" % (name, arg, status, regex))
    if large:
        for name, make in LARGE.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(make())


if __name__ == "__main__":
    main(sys.argv[1:])
