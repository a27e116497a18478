#!/usr/bin/python3
"""fixtures_pth.py: the .pth fixtures of test/test_convert.sh (needs PyTorch).

Usage: /usr/bin/python3 test/gen/fixtures_pth.py FIXTURE_DIR   (writes FIXTURE_DIR/pth/)
or, from test/gen/make_fixtures.py: fixtures_pth.write(FIXTURE_DIR).

Valid files are written by torch.save itself, in both formats; each comes with
NAME.json (tensor names and shapes, in state_dict order) and NAME.bin (their
values, torch's .contiguous() bytes as little-endian float32, concatenated),
which a stdlib-only test can compare with the converter's output. The hostile
and broken files are built here from torch's own globals and layouts, so that
each breaks exactly one thing. Every valid file is read back with torch.load
and must match its .bin bit for bit before anything is written.
"""
import collections
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import zipfile

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_SYS_INFO = {"protocol_version": 1001, "little_endian": True,
                   "type_sizes": {"short": 2, "int": 4, "long": 4}}
# The command the hostile pickles would run; the test checks the file it
# would create never appears.
EVIL_COMMAND = "touch guidedbp-pwned"

ALEXNET_NAMES = [
    "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
    "features.6.weight", "features.6.bias", "features.8.weight", "features.8.bias",
    "features.10.weight", "features.10.bias", "classifier.1.weight", "classifier.1.bias",
    "classifier.4.weight", "classifier.4.bias", "classifier.6.weight", "classifier.6.bias",
]


def _le_bytes(torch, t):
    """A float32 tensor's values, row-major, as raw little-endian bytes. Going
    through an int32 view keeps NaN payloads exactly."""
    ints = t.contiguous().view(torch.int32).flatten().tolist()
    return struct.pack("<%di" % len(ints), *ints)


def _toy_state_dict(torch):
    """A module's state_dict (with torchvision-like _metadata) plus every kind
    of view torch.save keeps as a view: an offset into a larger storage, two
    tensors sharing one storage, transposed, expanded (stride 0), sliced with
    steps, 0-d and empty tensors, and special float values."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 2), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    sd = m.state_dict()
    bits = sd["0.weight"].view(-1).view(torch.int32)
    special = [0x80000000,  # -0.0
               0x7F800000,  # +inf
               0xFF800000,  # -inf
               0x7FC12345,  # quiet NaN with a payload
               0x7F800001,  # signalling NaN
               0xFFC00001,  # negative NaN
               0x00000001,  # smallest denormal
               0x007FFFFF]  # largest denormal
    for i, u in enumerate(special):
        bits[i] = u - (1 << 32) if u >= 1 << 31 else u
    big = torch.randn(10, generator=gen)
    sd["2.bias"] = big[3:5]
    shared = torch.randn(14, generator=gen)
    sd["shared.weight"] = shared[:12].view(2, 6)
    sd["shared.bias"] = shared[12:]
    sd["transposed"] = torch.randn(5, 3, generator=gen).t()
    sd["expanded"] = torch.randn(3, 1, generator=gen).expand(3, 4)
    sd["strided"] = torch.randn(4, 6, generator=gen)[::2, 1::2]
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    assert sd._metadata and sd["2.bias"].storage_offset() == 3
    assert not sd["transposed"].is_contiguous() and sd["expanded"].stride() == (1, 0)
    return sd


class _Ref:
    """Pickled as a persistent id, the way torch.save refers to a storage."""

    def __init__(self, pid):
        self.pid = pid


class _Call:
    """Pickled as a call of `fn` (a real torch global) with any arguments."""

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args

    def __reduce__(self):
        return self.fn, self.args


class _Evil:
    def __reduce__(self):
        return os.system, (EVIL_COMMAND,)


class _CraftPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Ref) else None


def _craft(obj):
    buf = io.BytesIO()
    _CraftPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _tensor_v2(torch, storage_ref, offset, size, stride):
    return _Call(torch._utils._rebuild_tensor_v2, storage_ref, offset, size, stride, False,
                 collections.OrderedDict())


def _zip_bytes(pkl, records, prefix="archive"):
    """torch's zip layout: PREFIX/data.pkl, PREFIX/data/KEY, PREFIX/version."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        def add(name, data):
            z.writestr(zipfile.ZipInfo(prefix + "/" + name, date_time=(1980, 1, 1, 0, 0, 0)), data)
        add("data.pkl", pkl)
        for key, data in records:
            add("data/" + key, data)
        add("version", b"3\n")
    return buf.getvalue()


def _legacy_bytes(pkl, storages, magic=LEGACY_MAGIC, sys_info=None):
    """torch's legacy stream: magic, protocol, sys info, the pickle, the key
    list, then each storage as an int64 element count and its bytes."""
    out = [pickle.dumps(magic, protocol=2), pickle.dumps(1001, protocol=2),
           pickle.dumps(LEGACY_SYS_INFO, protocol=2) if sys_info is None else sys_info, pkl,
           pickle.dumps([key for key, _ in storages], protocol=2)]
    for _, data in storages:
        out.append(struct.pack("<q", len(data) // 4) + data)
    return b"".join(out)


LEGACY_ITEMSIZE = {"FloatStorage": 4, "LongStorage": 8}


class _KeyLister(pickle.Unpickler):
    """Lists the storages a legacy state_dict pickle (our own torch.save
    output) names, in order of first use; builds nothing else."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = collections.OrderedDict()  # key -> storage type name

    def persistent_load(self, pid):
        self.storages.setdefault(pid[2], pid[1])
        return None

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in LEGACY_ITEMSIZE:
            return name
        return lambda *args: None


def canonical_legacy_keys(data):
    """torch's legacy torch.save names each storage after its memory address
    (str(storage._cdata)) and writes them sorted by that name, so two runs
    write different bytes. This renames the storages "0", "1", ... in order of
    first use in the state_dict and writes them in that order: the bytes then
    depend only on the state_dict, and the file loads exactly as before.
    Protocol 2 pickles hold no byte offsets, so a key's string can change
    length."""
    f = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, sys info
        for _op in pickletools.genops(f):
            pass
    start = f.tell()
    lister = _KeyLister(f)
    lister.load()
    state = data[start:f.tell()]
    old_keys = pickle.load(f)
    assert sorted(old_keys) == sorted(lister.storages), (old_keys, lister.storages)
    records = {}
    for key in old_keys:
        (count,) = struct.unpack("<q", f.read(8))
        records[key] = struct.pack("<q", count) + f.read(count * LEGACY_ITEMSIZE[lister.storages[key]])
    assert not f.read(1)
    new_keys = [str(i) for i in range(len(lister.storages))]
    for old, new in zip(lister.storages, new_keys):
        pattern = b"X" + struct.pack("<I", len(old)) + old.encode()
        assert state.count(pattern) >= 1 and old.isdigit() and len(old) > 6, old
        state = state.replace(pattern, b"X" + struct.pack("<I", len(new)) + new.encode())
    return (data[:start] + state + pickle.dumps(new_keys, protocol=2)
            + b"".join(records[old] for old in lister.storages))


def _floats(*values):
    return struct.pack("<%df" % len(values), *values)


def _put(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def _expect(torch, out, name, sd):
    """Write NAME.json and NAME.bin for state_dict `sd`."""
    manifest = {"tensors": [{"name": k, "shape": list(v.shape)} for k, v in sd.items()]}
    _put(out, name + ".json", (json.dumps(manifest, indent=1) + "\n").encode())
    _put(out, name + ".bin", b"".join(_le_bytes(torch, v) for v in sd.values()))


def _check_loads(torch, path, sd):
    """torch.load(path) must give `sd`'s names and bits."""
    got = torch.load(path)
    assert list(got) == list(sd), path
    for k in sd:
        assert got[k].dtype == torch.float32 and got[k].shape == sd[k].shape, (path, k)
        assert _le_bytes(torch, got[k]) == _le_bytes(torch, sd[k]), (path, k)


def write(fixture_dir):
    import torch

    out = os.path.join(fixture_dir, "pth")
    os.makedirs(out, exist_ok=True)

    # Valid files, written by torch.save.
    toy = _toy_state_dict(torch)
    _expect(torch, out, "toy", toy)
    torch.save(toy, os.path.join(out, "toy_zip.pth"))
    buf = io.BytesIO()
    torch.save(toy, buf, _use_new_zipfile_serialization=False)
    _put(out, "toy_legacy.pth", canonical_legacy_keys(buf.getvalue()))
    plain = {"w": torch.arange(12, dtype=torch.float32).view(3, 4) / 7}
    _expect(torch, out, "plain", plain)
    torch.save(plain, os.path.join(out, "plain_zip.pth"))
    for name in ("toy_zip", "toy_legacy"):
        _check_loads(torch, os.path.join(out, name + ".pth"), toy)
    _check_loads(torch, os.path.join(out, "plain_zip.pth"), plain)

    # AlexNet's names with tiny shapes: valid, but not AlexNet.
    tiny = collections.OrderedDict(
        (n, torch.ones(2, 3, 1, 1) if n.endswith("weight") and n.startswith("features")
         else torch.ones(2, 3) if n.endswith("weight") else torch.ones(2))
        for n in ALEXNET_NAMES)
    torch.save(tiny, os.path.join(out, "alexnet_tiny.pth"))

    # The pre-0.4 form: torch._utils._rebuild_tensor, legacy stream.
    vals = [1.5, -2.0, 0.25, 3.0, -0.0, 1e-3, 7.0, 8.0]
    ref = _Ref(("storage", torch.FloatStorage, "140", "cpu", len(vals), None))
    v1 = collections.OrderedDict([
        ("w", _Call(torch._utils._rebuild_tensor, ref, 0, (2, 3), (3, 1))),
        ("wt", _Call(torch._utils._rebuild_tensor, ref, 0, (3, 2), (1, 3))),
        ("b", _Call(torch._utils._rebuild_tensor, ref, 6, (2,), (1,))),
    ])
    _put(out, "v1_legacy.pth", _legacy_bytes(_craft(v1), [("140", _floats(*vals))]))
    base = torch.tensor(vals)
    v1_sd = collections.OrderedDict([("w", base[:6].view(2, 3)), ("wt", base[:6].view(2, 3).t()),
                                     ("b", base[6:])])
    _check_loads(torch, os.path.join(out, "v1_legacy.pth"), v1_sd)
    _expect(torch, out, "v1", v1_sd)

    # Refused dtypes and globals, written by torch.save.
    torch.save({"w": torch.ones(2, dtype=torch.float64)}, os.path.join(out, "float64.pth"))
    torch.save({"w": torch.nn.Parameter(torch.ones(2))}, os.path.join(out, "parameter.pth"))

    # Hostile pickles: each would run EVIL_COMMAND under a plain pickle.load.
    evil = pickle.dumps(_Evil(), protocol=2)
    _put(out, "evil_raw.pth", evil)
    _put(out, "evil_zip.pth", _zip_bytes(evil, []))
    _put(out, "evil_legacy.pth", _legacy_bytes(_craft({}), [], sys_info=evil))

    # Broken containers.
    with open(os.path.join(out, "toy_zip.pth"), "rb") as f:
        toy_zip = f.read()
    with open(os.path.join(out, "toy_legacy.pth"), "rb") as f:
        toy_legacy = f.read()
    _put(out, "truncated_zip.pth", toy_zip[: len(toy_zip) // 2])
    _put(out, "truncated_legacy.pth", toy_legacy[:-10])
    magic = pickle.dumps(LEGACY_MAGIC, protocol=2)
    assert toy_legacy.startswith(magic)
    _put(out, "wrong_magic.pth", pickle.dumps(LEGACY_MAGIC + 1, protocol=2)
         + toy_legacy[len(magic):])

    # Inconsistent tensors: each breaks one check.
    ref6 = _Ref(("storage", torch.FloatStorage, "0", "cpu", 6))
    _put(out, "short_record_zip.pth",
         _zip_bytes(_craft({"w": _tensor_v2(torch, ref6, 0, (2, 3), (3, 1))}),
                    [("0", _floats(1, 2, 3, 4))]))
    ref10 = _Ref(("storage", torch.FloatStorage, "0", "cpu", 10, None))
    _put(out, "short_storage_legacy.pth",
         _legacy_bytes(_craft({"w": _tensor_v2(torch, ref10, 0, (4, 4), (4, 1))}),
                       [("0", _floats(*range(10)))]))
    _put(out, "stride_mismatch_zip.pth",
         _zip_bytes(_craft({"w": _tensor_v2(torch, ref6, 0, (2, 3), (3,))}),
                    [("0", _floats(*range(6)))]))
    _put(out, "negative_size_zip.pth",
         _zip_bytes(_craft({"w": _tensor_v2(torch, ref6, 0, (2, -3), (3, 1))}),
                    [("0", _floats(*range(6)))]))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fixtures_pth.py FIXTURE_DIR")
    print("fixtures_pth: wrote %s" % write(sys.argv[1]))
