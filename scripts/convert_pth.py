#!/usr/bin/env python3
"""convert_pth.py: convert a PyTorch state_dict (.pth) to safetensors.

Usage: convert_pth.py [--expect ARCH|any] IN.pth OUT.safetensors

Standard library only, and safe on hostile files: no PyTorch, and nothing
in the file is ever imported or run. Every pickle goes through
_RestrictedUnpickler, whose find_class hands out inert stand-ins for the few
globals a state_dict needs (collections.OrderedDict,
torch._utils._rebuild_tensor_v2 and its pre-0.4 form _rebuild_tensor, the
torch.*Storage types) and refuses every other name before it can be called.

Both formats torch.save writes are read:
  zip (torch >= 1.6): PREFIX/data.pkl holds the state_dict; a tensor names its
      storage by the persistent id ('storage', torch.FloatStorage, KEY,
      LOCATION, NUMEL) and the storage's raw little-endian bytes are the
      record PREFIX/data/KEY.
  legacy stream (torch < 1.6, or _use_new_zipfile_serialization=False): five
      pickles in a row -- magic number, protocol version 1001, sys info, the
      state_dict (persistent ids carry a sixth field, view metadata), the list
      of storage keys -- then for each key an int64 element count and the raw
      bytes.

Only float32 tensors are accepted, plus one int64 kind: the 0-d
num_batches_tracked counter of a BatchNorm layer, which is dropped (see
below). A tensor that is a view into a larger or shared storage
(storage_offset, any non-negative strides, including 0 for expanded tensors)
is written as its own contiguous row-major copy, the values torch's
.contiguous() gives, bit for bit.

Architectures. A state_dict whose names are torchvision's features.N.* /
classifier.N.* must be one of VGG_ARCHS: alexnet, vgg11, vgg13, vgg16, vgg19
(torchvision's cfgs A, B, D, E) or vgg11_bn ... vgg19_bn. It is recognised by
its tensor names, which fix the layer sequence (a max pool has no tensors but
takes a module index), then its shapes are checked against that sequence
with the widths free: reduced-width models convert. Anything else under those
names is refused, saying what the names describe and which architecture is
nearest.

A state_dict with none of those names but a bn1.* or layer1.* ... layer4.*
tensor must be one of RESNET_ARCHS, torchvision's ResNets: resnet18 and
resnet34 (BasicBlock: conv1, conv2 per block), resnet50, resnet101 and
resnet152 (Bottleneck: conv1, conv2, conv3). The blocks per stage, counted
from the layerS.B.* names, and the block kind (conv3 present or not) give the
depth; any other count is refused, naming the counts found. The names must
then be exactly that model's: conv1 and bn1, layerS.B.convK and bnK, a
layerS.B.downsample (a 1x1 convolution, .0, and its BatchNorm, .1) where
torchvision puts one, fc. Where that is depends on the widths: torchvision's
_make_layer gives a stage's first block a downsample when it strides
(layer2 ... layer4) or when its input channels differ from planes x
expansion, which at full size is layer1.0 of a Bottleneck model only, but at
reduced widths can be any model's layer1.0 or none. Widths are free as for
VGG (stem, planes of each stage, classes), but each shape must chain as
torchvision builds it: 7x7 stem, 3x3 or 1x1 kernels as the block kind has
them, a Bottleneck's width = planes and output planes x 4, every block of a
stage of the same planes.

The architecture is recorded as __metadata__ "arch" (resnet50, vgg16, ...).
Tensors are written in torchvision's state_dict order. A state_dict that
uses none of those names (any other module) converts as it is, without
"arch"; so do conv1.* and fc.* alone, names too common to claim.

BatchNorm folding (the vgg*_bn models and every ResNet). A BatchNorm2d is
folded into the convolution before it (features.N+1 into features.N;
bn1 into conv1, layerS.B.bnK into layerS.B.convK, layerS.B.downsample.1 into
layerS.B.downsample.0), as eval mode computes it: per output channel c,
s = gamma[c] / sqrt(running_var[c] + eps), W'[c] = W[c] * s,
b'[c] = (b[c] - running_mean[c]) * s + beta[c], in float64 from the float32
values, rounded once to float32. A ResNet convolution has no bias: b is 0
and the bias written, CONV.bias, is new. eps is 1e-5, BatchNorm2d's default,
which torchvision's VGG and ResNet use: a state_dict does not record eps (a
constructor argument, not a tensor), so a model built with another eps would
convert wrongly. The folded tensors keep the convolution's names; the
BatchNorm's five tensors (weight, bias, running_mean, running_var,
num_batches_tracked) are not written, so a _bn file's convolutions are at
their original module indices (features.0, 3, 7, ... for vgg16_bn), each ReLU
at convolution + 2, and a ResNet file holds CONV.weight and CONV.bias for
every convolution, in state_dict order, then fc.weight and fc.bias.

--expect ARCH also requires exactly torchvision's full-size ARCH: its tensor
names and shapes (1000 classes; a ResNet's stem 64 and planes 64, 128, 256,
512), what `make weights` uses. --expect any requires one of ARCHS (VGG_ARCHS
and RESNET_ARCHS) at any widths.

The output is written atomically (temp file in the same directory, fsync,
rename): a failed conversion leaves no OUT behind. Expected failures print one
line on stderr and exit 1.

write_safetensors() is also used by other scripts: importing this module has
no side effects.
"""
import argparse
import array
import collections
import hashlib
import io
import itertools
import json
import math
import os
import pickle
import pickletools
import struct
import sys
import tempfile
import time
import zipfile
import zlib

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
# A state_dict's pickle is a few KB per hundred tensors; anything near this
# is not one, and reading it whole would only invite a memory bomb.
MAX_PICKLE_BYTES = 64 << 20
MAX_DIMS = 32
MAX_DIM_SIZE = 1 << 62  # keeps every shape within safetensors' (u64) range
MAX_KEY_LEN = 64

# torch.<Name>Storage -> dtype name; only float32 converts, the rest are named
# so that refusing them can say what they are.
STORAGE_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "untyped bytes",
}

# Bytes per element of the dtypes a state_dict may hold here: float32
# tensors, and the int64 num_batches_tracked counter of a BatchNorm layer,
# which is checked and dropped (see _is_bn_counter).
ITEMSIZE = {"float32": 4, "int64": 8}

# BatchNorm2d's eps. torchvision's VGG and ResNet use the default, 1e-5; the
# state_dict does not record it (it is a constructor argument, not a tensor),
# so the converter assumes it.
BN_EPS = 1e-5
BN_PARAMS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
LINEAR_PARAMS = ("weight", "bias")


class Layout:
    """Where a torchvision architecture keeps its parameters.

    convs: [(features index, kernel, full width)], in order; bn: each
    convolution at features.N is followed by a BatchNorm2d at features.N+1;
    linears: the classifier indices of the three Linear layers; pooled: the
    AdaptiveAvgPool2d side, so the first Linear takes channels * pooled**2
    inputs; hidden, classes: torchvision's full widths."""

    def __init__(self, name, convs, bn, linears, pooled, hidden=(4096, 4096), classes=1000):
        self.name = name
        self.convs = tuple(convs)
        self.bn = bn
        self.linears = tuple(linears)
        self.pooled = pooled
        self.hidden = hidden
        self.classes = classes

    def modules(self):
        """[(module name, params)] in state_dict order."""
        out = []
        for index, _, _ in self.convs:
            out.append(("features.%d" % index, LINEAR_PARAMS))
            if self.bn:
                out.append(("features.%d" % (index + 1), BN_PARAMS))
        out += [("classifier.%d" % index, LINEAR_PARAMS) for index in self.linears]
        return out

    def names(self):
        return ["%s.%s" % (m, p) for m, params in self.modules() for p in params]

    def bn_pairs(self):
        """[(convolution, the BatchNorm2d folded into it)], in order."""
        if not self.bn:
            return []
        return [("features.%d" % i, "features.%d" % (i + 1)) for i, _, _ in self.convs]

    def output_names(self):
        """The names written, in order: every layer's weight and bias."""
        return ["%s.%s" % (m, p) for m, params in self.modules() if params == LINEAR_PARAMS
                for p in LINEAR_PARAMS]

    def full_shapes(self):
        """[(name, shape)] of torchvision's full-size model, state_dict order."""
        shapes = {}
        c_in = 3
        for index, k, width in self.convs:
            shapes["features.%d.weight" % index] = (width, c_in, k, k)
            shapes["features.%d.bias" % index] = (width,)
            if self.bn:
                for p in BN_PARAMS:
                    shapes["features.%d.%s" % (index + 1, p)] = (
                        () if p == "num_batches_tracked" else (width,))
            c_in = width
        f_in = c_in * self.pooled * self.pooled
        for index, f_out in zip(self.linears, self.hidden + (self.classes,)):
            shapes["classifier.%d.weight" % index] = (f_out, f_in)
            shapes["classifier.%d.bias" % index] = (f_out,)
            f_in = f_out
        return [(n, shapes[n]) for n in self.names()]

    def describe(self):
        """The layer positions, for messages."""
        return "convolutions at features.{%s}%s, Linear layers at classifier.{%s}" % (
            ",".join(str(i) for i, _, _ in self.convs),
            ", each followed by a BatchNorm2d" if self.bn else "",
            ",".join(str(i) for i in self.linears))


# torchvision.models.vgg's cfgs A, B, D, E: 3x3 convolutions of these
# widths, "M" a 2x2 max pool (which has no parameters but takes a module
# index).
VGG_CFGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}


def _vgg_layout(name, cfg, bn):
    """torchvision.models.vgg.make_layers: Conv2d(3x3, padding 1), [BatchNorm2d],
    ReLU per width, MaxPool2d(2, 2) per "M"; classifier Linear, ReLU, Dropout,
    Linear, ReLU, Dropout, Linear; AdaptiveAvgPool2d((7, 7))."""
    convs = []
    index = 0
    for v in cfg:
        if v == "M":
            index += 1
        else:
            convs.append((index, 3, v))
            index += 3 if bn else 2
    return Layout(name, convs, bn, (0, 3, 6), 7)


class ResNetLayout:
    """Where torchvision's ResNet keeps its parameters.

    bottleneck: Bottleneck blocks (conv1 1x1, conv2 3x3, conv3 1x1, output
    planes x 4) rather than BasicBlock (conv1, conv2, both 3x3, output planes);
    blocks: the blocks of layer1 ... layer4; stem_downsample: whether layer1.0
    has a downsample (layer2.0 ... layer4.0 always have one: they stride), which
    torchvision decides from the widths, None for its full-size choice; stem,
    planes, classes: torchvision's full widths. Every convolution is followed
    by its BatchNorm2d, so bn is always True."""

    bn = True

    def __init__(self, name, bottleneck, blocks, stem_downsample=None, stem=64,
                 planes=(64, 128, 256, 512), classes=1000):
        self.name = name
        self.bottleneck = bottleneck
        self.blocks = tuple(blocks)
        self.expansion = 4 if bottleneck else 1
        self.kernels = (1, 3, 1) if bottleneck else (3, 3)
        # At full size layer1.0 needs one exactly when its input, the stem's
        # 64 channels, is not 64 x expansion.
        self.stem_downsample = bottleneck if stem_downsample is None else stem_downsample
        self.stem = stem
        self.planes = tuple(planes)
        self.classes = classes

    def has_downsample(self, stage, block):
        return block == 0 and (stage > 1 or self.stem_downsample)

    def block_names(self):
        """[(stage 1..4, block index, 'layerS.B')], in order."""
        return [(s, b, "layer%d.%d" % (s, b))
                for s, n in enumerate(self.blocks, 1) for b in range(n)]

    def bn_pairs(self):
        """[(convolution, the BatchNorm2d folded into it)], in state_dict order."""
        pairs = [("conv1", "bn1")]
        for s, b, block in self.block_names():
            pairs += [("%s.conv%d" % (block, k), "%s.bn%d" % (block, k))
                      for k in range(1, len(self.kernels) + 1)]
            if self.has_downsample(s, b):
                pairs.append((block + ".downsample.0", block + ".downsample.1"))
        return pairs

    def names(self):
        out = []
        for conv, bn in self.bn_pairs():
            out.append(conv + ".weight")
            out += ["%s.%s" % (bn, p) for p in BN_PARAMS]
        return out + ["fc.%s" % p for p in LINEAR_PARAMS]

    def output_names(self):
        """The names written, in order: each convolution's weight and (new) bias, fc's."""
        return ["%s.%s" % (conv, p) for conv, _ in self.bn_pairs() for p in LINEAR_PARAMS] + \
            ["fc.%s" % p for p in LINEAR_PARAMS]

    def full_shapes(self):
        """[(name, shape)] of torchvision's full-size model, state_dict order."""
        shapes = {"conv1.weight": (self.stem, 3, 7, 7)}
        widths = {"conv1": self.stem}
        c_in = self.stem
        for s, b, block in self.block_names():
            planes = self.planes[s - 1]
            c_out = planes * self.expansion
            ins = (c_in,) + (planes,) * (len(self.kernels) - 1)
            outs = (planes,) * (len(self.kernels) - 1) + (c_out,)
            for k, (o, i, kernel) in enumerate(zip(outs, ins, self.kernels), 1):
                shapes["%s.conv%d.weight" % (block, k)] = (o, i, kernel, kernel)
                widths["%s.conv%d" % (block, k)] = o
            if self.has_downsample(s, b):
                shapes[block + ".downsample.0.weight"] = (c_out, c_in, 1, 1)
                widths[block + ".downsample.0"] = c_out
            c_in = c_out
        for conv, bn in self.bn_pairs():
            for p in BN_PARAMS:
                shapes["%s.%s" % (bn, p)] = () if p == "num_batches_tracked" else (widths[conv],)
        shapes["fc.weight"] = (self.classes, c_in)
        shapes["fc.bias"] = (self.classes,)
        return [(n, shapes[n]) for n in self.names()]

    def describe(self):
        """The block kind and counts, for messages."""
        return "%s stages of %s blocks" % ("Bottleneck" if self.bottleneck else "BasicBlock",
                                           ", ".join(str(n) for n in self.blocks))


# torchvision.models.resnet: name -> (Bottleneck, blocks of layer1 ... layer4).
RESNET_BLOCKS = collections.OrderedDict([
    ("resnet18", (False, (2, 2, 2, 2))),
    ("resnet34", (False, (3, 4, 6, 3))),
    ("resnet50", (True, (3, 4, 6, 3))),
    ("resnet101", (True, (3, 4, 23, 3))),
    ("resnet152", (True, (3, 8, 36, 3))),
])

LAYOUTS = collections.OrderedDict()
LAYOUTS["alexnet"] = Layout(
    "alexnet", [(0, 11, 64), (3, 5, 192), (6, 3, 384), (8, 3, 256), (10, 3, 256)], False,
    (1, 4, 6), 6)
for _bn in (False, True):
    for _name, _cfg in VGG_CFGS.items():
        _full = _name + ("_bn" if _bn else "")
        LAYOUTS[_full] = _vgg_layout(_full, _cfg, _bn)
VGG_ARCHS = tuple(LAYOUTS)
for _name, (_bottleneck, _blocks) in RESNET_BLOCKS.items():
    LAYOUTS[_name] = ResNetLayout(_name, _bottleneck, _blocks)
RESNET_ARCHS = tuple(RESNET_BLOCKS)
ARCHS = VGG_ARCHS + RESNET_ARCHS

# torchvision.models.alexnet(): names in state_dict order, with shapes.
ALEXNET = LAYOUTS["alexnet"].full_shapes()
# --expect NAME: exactly torchvision's full-size model NAME.
EXPECTED_MODELS = {name: layout.full_shapes() for name, layout in LAYOUTS.items()}


class PthError(Exception):
    """An expected failure: the input is not, or not only, a float32 state_dict."""


class RefusedError(PthError):
    """The pickle asks for something we never build (a global, a persistent id kind)."""


def _fmt_shape(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


# ---------------------------------------------------------------------------
# The restricted unpickler and its stand-ins.


class _Inert:
    """Base of every object the unpickler can get from us. It refuses BUILD,
    so a pickle cannot set attributes on our stand-ins."""

    __slots__ = ()

    def __setstate__(self, state):
        raise PthError("pickle sets state on %r, which a state_dict never does" % (self,))


class _Global(_Inert):
    """A callable stand-in for an admitted global: calling it runs our `fn`."""

    __slots__ = ("name", "fn")

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return self.name


class _StorageType(_Inert):
    """Stand-in for torch.<Name>Storage: only ever named in a persistent id."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name


class _StateDict(collections.OrderedDict):
    """collections.OrderedDict as unpickled. Module.state_dict() attaches a
    `_metadata` attribute (per-module versions), restored through BUILD;
    it is kept and otherwise ignored."""

    def __setstate__(self, state):
        if not isinstance(state, dict) or any(k != "_metadata" for k in state):
            raise PthError("pickle sets unexpected attributes on an OrderedDict")
        self.metadata = state.get("_metadata")


class _Storage(_Inert):
    """A storage named by a persistent id; `data` is filled in after the pickle."""

    __slots__ = ("key", "type_name", "dtype", "numel", "data")

    def __init__(self, key, type_name, numel):
        self.key = key
        self.type_name = type_name
        self.dtype = STORAGE_DTYPES[type_name]
        self.numel = numel
        self.data = None

    def __repr__(self):
        return "storage %r" % self.key


class _Tensor(_Inert):
    __slots__ = ("storage", "offset", "shape", "stride", "problem")

    def __init__(self, storage, offset, shape, stride, problem):
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.stride = stride
        self.problem = problem  # first thing wrong with it, reported with its name

    def __repr__(self):
        return "tensor"


def _make_ordered_dict(*args):
    if len(args) > 1:
        raise PthError("pickle calls OrderedDict with %d arguments" % len(args))
    return _StateDict(*args)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _rebuild_tensor(storage, storage_offset, size, stride):
    """torch._utils._rebuild_tensor (torch < 0.4). Arguments are only recorded
    and type-checked here; _check_tensor validates them once the tensor's
    name is known."""
    if not isinstance(storage, _Storage):
        raise PthError("a tensor's storage is %s, not a storage" % type(storage).__name__)
    problem = None
    if not _is_int(storage_offset):
        problem = "has a storage offset that is not an integer"
    elif not (isinstance(size, tuple) and all(_is_int(d) for d in size)):
        problem = "has a size that is not a tuple of integers"
    elif not (isinstance(stride, tuple) and all(_is_int(s) for s in stride)):
        problem = "has a stride that is not a tuple of integers"
    return _Tensor(storage, storage_offset, size, stride, problem)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                       backward_hooks, metadata=None):
    """torch._utils._rebuild_tensor_v2 (torch >= 0.4)."""
    t = _rebuild_tensor(storage, storage_offset, size, stride)
    if t.problem is None:
        if not isinstance(requires_grad, bool):
            t.problem = "has a requires_grad that is not a bool"
        elif not isinstance(backward_hooks, dict) or backward_hooks:
            t.problem = "carries backward hooks"
        elif metadata is not None and (not isinstance(metadata, dict) or metadata):
            t.problem = "carries tensor metadata (%r)" % (metadata,)
    return t


ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): _Global("collections.OrderedDict", _make_ordered_dict),
    ("torch._utils", "_rebuild_tensor_v2"): _Global("torch._utils._rebuild_tensor_v2",
                                                    _rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor"): _Global("torch._utils._rebuild_tensor", _rebuild_tensor),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that can build only plain data and our stand-ins.

    Every opcode that could reach a callable (GLOBAL, STACK_GLOBAL, INST, OBJ,
    the EXT codes) goes through find_class, which returns nothing but
    _Inert objects; REDUCE and BUILD therefore only ever reach our code."""

    def __init__(self, f, what, storages):
        super().__init__(f, encoding="utf-8")
        self.what = what
        self.storages = storages  # key -> _Storage, shared across the file's pickles

    def find_class(self, module, name):
        found = ALLOWED_GLOBALS.get((module, name))
        if found is not None:
            return found
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise RefusedError("refusing pickle global %s.%s in the %s: a state_dict holds "
                       "only tensors" % (module, name, self.what))

    def persistent_load(self, pid):
        if self.storages is None:
            raise PthError("unexpected persistent id in the %s" % self.what)
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            kind = pid[0] if isinstance(pid, tuple) and pid else pid
            raise RefusedError("refusing persistent id %.40r in the %s: only storages are "
                           "allowed" % (kind, self.what))
        if len(pid) == 6:
            view_metadata = pid[5]
            if view_metadata is not None:
                raise PthError("storage views (view metadata %.60r, written by torch < 1.0) "
                               "are not supported" % (view_metadata,))
            pid = pid[:5]
        if len(pid) != 5:
            raise PthError("malformed storage persistent id %.80r" % (pid,))
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType):
            raise PthError("malformed storage persistent id: %.40r is not a storage type" % (stype,))
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LEN or not all(
                c.isascii() and (c.isalnum() or c in "_.-") for c in key):
            raise PthError("malformed storage key %.80r" % (key,))
        if not isinstance(location, str) or len(location) > MAX_KEY_LEN:
            raise PthError("malformed location for storage %r" % key)
        if not _is_int(numel) or numel < 0:
            raise PthError("storage %r has an invalid element count %.40r" % (key, numel))
        s = self.storages.get(key)
        if s is None:
            s = self.storages[key] = _Storage(key, stype.name, numel)
        elif s.type_name != stype.name or s.numel != numel:
            raise PthError("storage %r is described two ways (%s x %d, %s x %d)"
                           % (key, s.type_name, s.numel, stype.name, numel))
        return s


# How deep a pickle may nest its objects. A state_dict nests a handful of
# levels (dict, tensor arguments, a shape tuple); a 200 KB pickle can nest a
# key in 200,000 tuples, and hashing or printing it then overflows the C
# stack (Python segfaults) before any check of ours could see it.
MAX_NESTING = 100
# Opcodes that add to a container below them on the stack: the container
# gets deeper by its new items, it is not a new level over itself.
_MUTATORS = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}


def _check_nesting(f, what):
    """Walks the pickle at f's position with pickletools.genops (which builds
    nothing) and follows each stack item's nesting depth; raises PthError past
    MAX_NESTING. Leaves f where it was. A malformed pickle is left for the
    unpickler to report."""
    start = f.tell()
    stack, marks, memo = [], [], {}
    try:
        for op, arg, _ in pickletools.genops(f):
            name = op.name
            if name == "STOP":
                break
            if name == "MARK":
                marks.append(len(stack))
                continue
            before = op.stack_before
            popped = []
            if pickletools.markobject in before:
                at = marks.pop() if marks else 0
                popped, stack[at:] = stack[at:], []
                below = before.index(pickletools.markobject)
            else:
                below = len(before)
            for _ in range(min(below, len(stack))):
                popped.insert(0, stack.pop())
            if name in _MUTATORS and popped:
                depth = max([popped[0]] + [1 + d for d in popped[1:]])
            else:
                depth = 1 + max(popped, default=0)
            if name in ("PUT", "BINPUT", "LONG_BINPUT") and stack:
                memo[arg] = stack[-1]
            elif name == "MEMOIZE" and stack:
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                depth = memo.get(arg, 1)
            stack.extend([depth] * len(op.stack_after))
            if depth > MAX_NESTING:
                raise PthError("the %s nests objects more than %d deep; a state_dict nests a few "
                               "levels" % (what, MAX_NESTING))
    except PthError:
        raise
    except Exception:
        pass  # malformed: the unpickler says how
    finally:
        f.seek(start)


def _unpickle(f, what, storages=None):
    _check_nesting(f, what)
    try:
        return _RestrictedUnpickler(f, what, storages).load()
    except PthError:
        raise
    except Exception as e:  # anything a malformed pickle makes the unpickler raise
        raise PthError("malformed or truncated pickle in the %s (%s: %s)"
                       % (what, type(e).__name__, e)) from None


# ---------------------------------------------------------------------------
# The two container formats.


def _read_zip(path):
    """Return [(name, _Tensor)] with storage bytes from a torch >= 1.6 zip archive."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
        raise PthError("truncated or corrupt zip archive (%s)" % e) from None
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise PthError("zip archive has duplicate record names")
        pkls = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pkls) != 1:
            raise PthError("zip archive is not a torch.save file (%d data.pkl records)" % len(pkls))
        prefix = pkls[0][: -len("data.pkl")]
        if prefix + "constants.pkl" in names or any(n.startswith(prefix + "code/") for n in names):
            raise PthError("this is a TorchScript archive (torch.jit.save), not a state_dict")
        try:
            byteorder = zf.read(prefix + "byteorder") if prefix + "byteorder" in names else b"little"
            if byteorder != b"little":
                raise PthError("storages are stored %.20r-endian; only little-endian is supported"
                               % byteorder)
            info = zf.getinfo(pkls[0])
            if info.file_size > MAX_PICKLE_BYTES:
                raise PthError("data.pkl is %d bytes, over the %d-byte limit for a state_dict"
                               % (info.file_size, MAX_PICKLE_BYTES))
            storages = {}
            obj = _unpickle(io.BytesIO(zf.read(info)), "data.pkl pickle", storages)
            state = _state_dict_items(obj)
            for s in _used_storages(state):
                rec = prefix + "data/" + s.key
                if rec not in names:
                    raise PthError("storage %r has no record %s in the archive" % (s.key, rec))
                rinfo = zf.getinfo(rec)
                size = rinfo.file_size
                if rinfo.compress_type != zipfile.ZIP_STORED:
                    # torch never compresses storages; refusing it keeps a
                    # record's size bounded by the file's.
                    raise PthError("storage %r record is compressed, which torch.save never "
                                   "does" % s.key)
                itemsize = ITEMSIZE[s.dtype]
                if size != s.numel * itemsize:
                    raise PthError("storage %r record is %d bytes, but its %d %s "
                                   "elements need %d" % (s.key, size, s.numel, s.dtype,
                                                         s.numel * itemsize))
                s.data = zf.read(rinfo)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
            raise PthError("truncated or corrupt zip archive (%s: %s)" % (type(e).__name__, e)) \
                from None
        except NotImplementedError as e:  # a compression method zipfile lacks
            raise PthError("zip archive uses an unsupported compression (%s)" % e) from None
        except RuntimeError as e:  # an encrypted member
            raise PthError("zip archive member is encrypted (%s); torch.save never "
                           "encrypts" % e) from None
    return state


def _read_legacy(path):
    """Return [(name, _Tensor)] with storage bytes from a legacy torch.save stream."""
    with open(path, "rb") as f:
        head = f.read(512)
        if len(head) >= 262 and head[257:262] == b"ustar":
            raise PthError("this is torch's pre-0.1.10 tar format, which is not supported")
        f.seek(0)
        try:
            magic = _unpickle(f, "magic number record")
        except RefusedError:
            raise
        except PthError:
            raise PthError("not a PyTorch file: neither a zip archive nor a torch.save "
                           "stream") from None
        if not _is_int(magic) or magic != LEGACY_MAGIC:
            raise PthError("not a PyTorch file: wrong magic number")
        protocol = _unpickle(f, "protocol version record")
        if not _is_int(protocol) or protocol != LEGACY_PROTOCOL:
            raise PthError("unsupported legacy protocol version %.40r (expected %d)"
                           % (protocol, LEGACY_PROTOCOL))
        sys_info = _unpickle(f, "sys info record")
        if not isinstance(sys_info, dict):
            raise PthError("malformed sys info record")
        if sys_info.get("little_endian", True) is not True:
            raise PthError("file was written on a big-endian machine; not supported")
        storages = {}
        obj = _unpickle(f, "state_dict pickle", storages)
        state = _state_dict_items(obj)
        keys = _unpickle(f, "storage key list")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise PthError("malformed storage key list")
        if len(set(keys)) != len(keys) or set(keys) != set(storages):
            raise PthError("storage key list does not match the storages the state_dict uses")
        used = set(id(s) for s in _used_storages(state))
        remaining = os.fstat(f.fileno()).st_size - f.tell()
        for key in keys:
            s = storages[key]
            head = f.read(8)
            if len(head) != 8:
                raise PthError("file is truncated: storage %r is missing" % key)
            (count,) = struct.unpack("<q", head)
            remaining -= 8
            if count != s.numel:
                raise PthError("storage %r holds %d elements, but its persistent id says %d"
                               % (key, count, s.numel))
            if id(s) not in used:
                raise PthError("storage %r is not used by any tensor of the state_dict" % key)
            nbytes = count * ITEMSIZE[s.dtype]
            if nbytes > remaining:
                raise PthError("file is truncated: storage %r needs %d bytes, %d are left"
                               % (key, nbytes, max(remaining, 0)))
            s.data = f.read(nbytes)
            if len(s.data) != nbytes:
                raise PthError("file is truncated in storage %r" % key)
            remaining -= nbytes
        if f.read(1):
            raise PthError("unexpected data after the last storage")
    return state


# ---------------------------------------------------------------------------
# State_dict validation and tensor materialisation.


def _state_dict_items(obj):
    """Return [(name, _Tensor)] after checking everything but the storage bytes."""
    if not isinstance(obj, dict):
        raise PthError("the file holds a %s, not a state_dict (a dict of tensors)"
                       % type(obj).__name__)
    if not obj:
        raise PthError("the state_dict is empty")
    items = []
    for name, t in obj.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise PthError("state_dict key %.60r is not a usable tensor name" % (name,))
        if not isinstance(t, _Tensor):
            raise PthError("state_dict entry %r is not a tensor but a %s"
                           % (name, "dict" if isinstance(t, dict) else type(t).__name__))
        _check_tensor(name, t)
        items.append((name, t))
    return items


def _check_tensor(name, t):
    where = "tensor %r" % name
    if t.problem is not None:
        raise PthError("%s %s" % (where, t.problem))
    s = t.storage
    if s.dtype != "float32" and not (s.dtype == "int64" and _is_bn_counter(name, t.shape)):
        raise PthError("%s has dtype %s (torch.%s); only float32 is supported"
                       % (where, s.dtype, s.type_name))
    if len(t.shape) != len(t.stride):
        raise PthError("%s has size %s but stride %s: their lengths differ"
                       % (where, _fmt_shape(t.shape), _fmt_shape(t.stride)))
    if len(t.shape) > MAX_DIMS:
        raise PthError("%s has %d dimensions, more than %d" % (where, len(t.shape), MAX_DIMS))
    if any(d < 0 or d > MAX_DIM_SIZE for d in t.shape):
        raise PthError("%s has an invalid shape %s" % (where, _fmt_shape(t.shape)))
    if any(st < 0 for st in t.stride):
        raise PthError("%s has a negative stride %s" % (where, _fmt_shape(t.stride)))
    if t.offset < 0 or t.offset > s.numel:
        raise PthError("%s starts at element %d of storage %r, which has %d"
                       % (where, t.offset, s.key, s.numel))
    if _numel(t.shape) > 0:
        end = t.offset + sum((d - 1) * st for d, st in zip(t.shape, t.stride)) + 1
        if end > s.numel:
            raise PthError("%s (shape %s, offset %d, stride %s) needs %d elements of "
                           "storage %r, which has only %d"
                           % (where, _fmt_shape(t.shape), t.offset, _fmt_shape(t.stride),
                              end, s.key, s.numel))


def _used_storages(state):
    seen = {}
    for _, t in state:
        seen.setdefault(id(t.storage), t.storage)
    return list(seen.values())


def _is_contiguous(shape, stride):
    expected = 1
    for d, st in zip(reversed(shape), reversed(stride)):
        if d != 1 and st != expected:
            return False
        expected *= d
    return True


def _tensor_bytes(t):
    """The tensor's values in row-major order as raw little-endian bytes
    (float32, or int64 for a BatchNorm's num_batches_tracked)."""
    n = _numel(t.shape)
    size = ITEMSIZE[t.storage.dtype]
    data = memoryview(t.storage.data)
    if n == 0:
        return b""
    if _is_contiguous(t.shape, t.stride):
        return data[t.offset * size:(t.offset + n) * size]
    # A strided view (transposed, expanded, sliced): gather it row by row.
    # Elements are moved as unsigned ints, never as floats, so NaN payloads
    # and signalling NaNs come through unchanged.
    words = data.cast("I" if size == 4 else "Q")
    out = bytearray()
    last, last_stride = t.shape[-1], t.stride[-1]
    for index in itertools.product(*(range(d) for d in t.shape[:-1])):
        base = t.offset + sum(i * st for i, st in zip(index, t.stride))
        if last_stride == 0:
            out += words[base:base + 1].tobytes() * last
        else:
            out += words[base:base + (last - 1) * last_stride + 1:last_stride].tobytes()
    return bytes(out)


# ---------------------------------------------------------------------------
# safetensors output.


def write_safetensors(path, tensors, metadata):
    """Write float32 `tensors` to `path` in safetensors format, atomically.

    tensors: list of (name, shape_tuple, raw) in file order, raw being
    bytes-like little-endian float32 of exactly prod(shape) elements.
    metadata: dict str -> str, stored as the header's __metadata__.

    The header is padded with spaces to a multiple of 8 bytes, so the data
    starts 8-aligned; data offsets are contiguous in list order. The file is
    written to a temp file in the same directory, fsynced and renamed over
    `path`; on any failure the temp file is removed and `path` is untouched.
    Raises ValueError for inconsistent arguments, OSError for I/O errors."""
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError("metadata must be a dict of str to str")
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    views = []
    offset = 0
    for name, shape, raw in tensors:
        if not isinstance(name, str) or not name or name == "__metadata__" or name in header:
            raise ValueError("bad or duplicate tensor name %r" % (name,))
        if not all(_is_int(d) and d >= 0 for d in shape):
            raise ValueError("tensor %r has an invalid shape %r" % (name, shape))
        view = memoryview(raw).cast("B")
        if view.nbytes != _numel(shape) * 4:
            raise ValueError("tensor %r: %d bytes of data for shape %s (%d float32)"
                             % (name, view.nbytes, _fmt_shape(shape), _numel(shape)))
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + view.nbytes]}
        offset += view.nbytes
        views.append(view)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)))
            f.write(head)
            for view in views:
                f.write(view)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not every filesystem allows this
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---------------------------------------------------------------------------
# The command.


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


Tensor = collections.namedtuple("Tensor", "name shape dtype raw")


def read_state_dict(path):
    """Return (format, [Tensor(name, shape, dtype, raw_bytes)]) for the .pth at
    `path`, in state_dict order; dtype is "float32", or "int64" for a
    BatchNorm's num_batches_tracked. Raises PthError for anything else,
    OSError for I/O."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if not magic:
        raise PthError("file is empty")
    if magic == b"PK\x03\x04":
        fmt, state = "zip", _read_zip(path)
    else:
        fmt, state = "legacy", _read_legacy(path)
    return fmt, [Tensor(name, tuple(t.shape), t.storage.dtype, _tensor_bytes(t))
                 for name, t in state]


def _is_bn_counter(name, shape):
    """A BatchNorm2d's num_batches_tracked: the one int64 tensor admitted, and
    only ever dropped (it plays no part in eval mode)."""
    return name.endswith(".num_batches_tracked") and tuple(shape) == ()


# ---------------------------------------------------------------------------
# Architecture detection.


# torchvision ResNet's top-level modules with tensors. conv1 and fc are
# names many other models use too, so only the others mark a state_dict as a
# ResNet to be checked (see _looks_like_model).
RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")
RESNET_MODULES = ("conv1", "bn1") + RESNET_STAGES + ("fc",)
RESNET_MARKERS = ("bn1",) + RESNET_STAGES


def _looks_like_vgg(tensors):
    return any(t.name.startswith(("features.", "classifier.", "avgpool.")) for t in tensors)


def _top_module(name):
    return name.split(".", 1)[0]


def _is_resnet_family(tensors):
    """Named like a ResNet and not like AlexNet/VGG (whose detection, and
    messages, take precedence over a mixture)."""
    return not _looks_like_vgg(tensors) and any(_top_module(t.name) in RESNET_MODULES
                                                for t in tensors)


def _looks_like_model(tensors):
    """Whether the state_dict uses torchvision's AlexNet/VGG or ResNet module
    names at all; only such a state_dict is required to be one of LAYOUTS."""
    return _looks_like_vgg(tensors) or any(_top_module(t.name) in RESNET_MARKERS
                                           for t in tensors)


def _index(text):
    """A module index as torch writes it ('12'), or None: no sign, no leading
    zero, at most 6 digits."""
    if not text.isdigit() or not text.isascii() or (len(text) > 1 and text[0] == "0") \
            or len(text) > 6:
        return None
    return int(text)


def _module_of(name):
    """'features.12.weight' -> ('features', 12, 'weight'); None for other names."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] not in ("features", "classifier"):
        return None
    index = _index(parts[1])
    if index is None:
        return None
    return parts[0], index, parts[2]


def _layer_positions(tensors):
    """(conv indices, bn indices, linear indices) the names describe, or a
    PthError naming the first tensor that fits no layer."""
    params = collections.OrderedDict()
    for t in tensors:
        m = _module_of(t.name)
        if m is None:
            raise PthError("tensor %r is not part of a torchvision AlexNet or VGG, whose "
                           "tensors are features.N.* and classifier.N.*, nor of a ResNet, "
                           "whose are conv1.*, bn1.*, layer1.* ... layer4.* and fc.*" % t.name)
        params.setdefault(m[:2], []).append(m[2])
    convs, bns, linears = [], [], []
    for (part, index), got in params.items():
        module = "%s.%d" % (part, index)
        if sorted(got) == sorted(LINEAR_PARAMS):
            (convs if part == "features" else linears).append(index)
        elif part == "features" and sorted(got) == sorted(BN_PARAMS):
            bns.append(index)
        else:
            raise PthError("%s has tensors {%s}: neither a layer with weight and bias nor a "
                           "BatchNorm2d (%s)" % (module, ", ".join(got), ", ".join(BN_PARAMS)))
    return sorted(convs), sorted(bns), sorted(linears)


def _fmt_indices(prefix, indices):
    return "%s.{%s}" % (prefix, ",".join(str(i) for i in indices))


def detect_layout(tensors):
    """The Layout (or ResNetLayout) whose tensor names `tensors` has exactly
    (in any order), or PthError saying what the names describe and which
    architecture is nearest."""
    if _is_resnet_family(tensors):
        return detect_resnet(tensors)
    convs, bns, linears = _layer_positions(tensors)
    got = set(t.name for t in tensors)
    vggs = [LAYOUTS[a] for a in VGG_ARCHS]
    for layout in vggs:
        if got == set(layout.names()):
            return layout
    nearest = min(vggs, key=lambda l: (len(got ^ set(l.names())), VGG_ARCHS.index(l.name)))
    found = "convolutions at %s" % _fmt_indices("features", convs) if convs else \
        "no convolutions"
    lone = [c for c in convs if c + 1 not in bns]
    if bns and lone:
        found = "convolution features.%d has no BatchNorm2d at features.%d though others " \
                "have one; %s" % (lone[0], lone[0] + 1, found)
    orphans = [b for b in bns if b - 1 not in convs]
    if orphans:
        found = "BatchNorm2d features.%d follows no convolution; %s" % (orphans[0], found)
    if bns:
        found += ", BatchNorm2d at %s" % _fmt_indices("features", bns)
    found += ", Linear layers at %s" % (_fmt_indices("classifier", linears) if linears
                                         else "none")
    raise PthError("not a torchvision AlexNet or VGG layer sequence: %s; that is none of %s "
                   "(nearest: %s, %s)" % (found, ", ".join(VGG_ARCHS), nearest.name,
                                           nearest.describe()))


def _resnet_kinds():
    """torchvision's depths, for messages: 'resnet18 (2, 2, 2, 2) and ...'."""
    def kind(bottleneck):
        archs = ["%s (%s)" % (a, ", ".join(str(n) for n in blocks))
                 for a, (bn, blocks) in RESNET_BLOCKS.items() if bn == bottleneck]
        return ", ".join(archs[:-1]) + " and " + archs[-1]
    return "%s with BasicBlock, %s with Bottleneck" % (kind(False), kind(True))


def detect_resnet(tensors):
    """The ResNetLayout `tensors` names: its depth from the blocks per stage
    (one more than the highest block index of each layerS) and the block kind
    (Bottleneck if any block has a conv3 or bn3), whether layer1.0 has a
    downsample from its names (check_resnet then checks that the widths call
    for one); then the names must be exactly that layout's. PthError naming
    the counts, or the first tensor missing or left over, otherwise."""
    blocks = [0, 0, 0, 0]
    bottleneck = False
    for t in tensors:
        parts = t.name.split(".")
        if len(parts) < 3 or parts[0] not in RESNET_STAGES:
            continue
        b = _index(parts[1])
        if b is None:
            continue  # refused below, as a name no layout has
        stage = RESNET_STAGES.index(parts[0])
        blocks[stage] = max(blocks[stage], b + 1)
        bottleneck = bottleneck or parts[2] in ("conv3", "bn3")
    arch = None
    for name, (bn, counts) in RESNET_BLOCKS.items():
        if bn == bottleneck and tuple(blocks) == counts:
            arch = name
    if arch is None:
        raise PthError("not a torchvision ResNet: blocks per stage (%s) with %s; torchvision's "
                       "are %s" % (", ".join(str(n) for n in blocks),
                                   "Bottleneck (conv3 present)" if bottleneck else
                                   "BasicBlock (no conv3)", _resnet_kinds()))
    layout = ResNetLayout(arch, bottleneck, blocks, stem_downsample=any(
        t.name.startswith("layer1.0.downsample.") for t in tensors))
    got = set(t.name for t in tensors)
    want = layout.names()
    for name in want:
        if name not in got:
            raise PthError("tensor %r is missing (expected for %s: %s)"
                           % (name, arch, layout.describe()))
    want = set(want)
    for t in tensors:
        if t.name not in want:
            conv = t.name[:-len(".bias")] if t.name.endswith(".bias") else None
            if conv is not None and conv + ".weight" in want:
                raise PthError("tensor %r is not part of %s: torchvision's ResNet convolutions "
                               "have no bias" % (t.name, arch))
            raise PthError("tensor %r is not part of %s (%s)" % (t.name, arch, layout.describe()))
    return layout


def _check_shape(t, shape, arch, why, dtype="float32"):
    """t.shape against `shape`, whose None entries are free widths (at least
    1); returns t.shape, or raises PthError naming t, both shapes and why."""
    ok = len(t.shape) == len(shape) and all(
        (d >= 1) if w is None else (d == w) for d, w in zip(t.shape, shape))
    if not ok:
        pattern = "[" + ",".join("C" if w is None else str(w) for w in shape) + "]"
        raise PthError("tensor %r has shape %s, expected %s for %s (%s)"
                       % (t.name, _fmt_shape(t.shape), pattern, arch, why))
    if t.dtype != dtype:
        raise PthError("tensor %r has dtype %s, expected %s" % (t.name, t.dtype, dtype))
    return t.shape


def check_layout(tensors, layout):
    """Check the shapes of `tensors` (whose names are layout's) against the
    layer sequence, the widths being free: each convolution is
    [C_out, C_in, k, k] with C_in the previous one's C_out (3 for the first),
    its bias and BatchNorm tensors [C_out], num_batches_tracked 0-d int64, the
    first Linear [H1, C_last * pooled^2], the others [H_next, H_prev]. Every
    width must be at least 1. Raises PthError naming the first misfit."""
    if isinstance(layout, ResNetLayout):
        check_resnet(tensors, layout)
        return
    got = {t.name: t for t in tensors}
    arch = layout.name

    def want(name, shape, why, dtype="float32"):
        return _check_shape(got[name], shape, arch, why, dtype)

    c_in, source = 3, "the 3 colour channels"
    for index, k, _ in layout.convs:
        w = "features.%d.weight" % index
        c_out = want(w, (None, c_in, k, k), "C output channels, %d inputs from %s, %dx%d "
                     "kernel" % (c_in, source, k, k))[0]
        want("features.%d.bias" % index, (c_out,), "one per output channel of %s" % w)
        if layout.bn:
            for p in BN_PARAMS:
                if p == "num_batches_tracked":
                    want("features.%d.%s" % (index + 1, p), (), "a 0-d counter", "int64")
                else:
                    want("features.%d.%s" % (index + 1, p), (c_out,),
                         "one per output channel of %s" % w)
        c_in, source = c_out, w
    f_in = c_in * layout.pooled * layout.pooled
    source = "%d channels of %s x %d x %d from the average pool" % (
        c_in, source, layout.pooled, layout.pooled)
    for index in layout.linears:
        w = "classifier.%d.weight" % index
        f_out = want(w, (None, f_in), "C outputs, %d inputs: %s" % (f_in, source))[0]
        want("classifier.%d.bias" % index, (f_out,), "one per output of %s" % w)
        f_in, source = f_out, "the outputs of " + w


def check_resnet(tensors, layout):
    """Check the shapes of `tensors` (whose names are layout's) as torchvision
    builds a ResNet, the widths being free: conv1 [W, 3, 7, 7]; in each stage
    the first block's conv1 fixes the planes P (a Bottleneck's width), every
    block of the stage has them, a block's convolutions are [P, C_in, 3, 3],
    [P, P, 3, 3] (BasicBlock, output P) or [P, C_in, 1, 1], [P, P, 3, 3],
    [4P, P, 1, 1] (Bottleneck, output 4P), C_in the block input's channels;
    a downsample [P x expansion, C_in, 1, 1], present in layer1.0 exactly
    when C_in != P x expansion (torchvision's _make_layer); each BatchNorm's
    tensors [its convolution's outputs], num_batches_tracked 0-d int64; fc
    [classes, the last block's outputs]. Raises PthError naming the first
    misfit, in state_dict order."""
    got = {t.name: t for t in tensors}
    arch = layout.name
    e = layout.expansion

    def want(name, shape, why, dtype="float32"):
        return _check_shape(got[name], shape, arch, why, dtype)

    def bn(conv_module, bn_module, c_out):
        for p in BN_PARAMS:
            if p == "num_batches_tracked":
                want("%s.%s" % (bn_module, p), (), "a 0-d counter", "int64")
            else:
                want("%s.%s" % (bn_module, p), (c_out,),
                     "one per output channel of %s.weight" % conv_module)

    c_in = want("conv1.weight", (None, 3, 7, 7), "C output channels, 3 inputs from the 3 "
                "colour channels, 7x7 kernel")[0]
    bn("conv1", "bn1", c_in)
    source = "conv1.weight"
    planes = None
    for s, b, block in layout.block_names():
        stage = "layer%d" % s
        if b == 0:
            planes = None
        x_in, x_source = c_in, source
        last = len(layout.kernels)
        for k, kernel in enumerate(layout.kernels, 1):
            module = "%s.conv%d" % (block, k)
            shape = (planes, c_in, kernel, kernel)
            if planes is None:
                why = "C output channels: %s's planes" % stage
            elif k == last and layout.bottleneck:
                shape = (planes * e, c_in, kernel, kernel)
                why = "%d outputs: %s's %d planes x expansion %d" % (planes * e, stage, planes, e)
            else:
                why = "%s's %d planes" % (stage, planes)
            c_out = want(module + ".weight", shape, "%s, %d inputs from %s, %dx%d kernel"
                         % (why, c_in, source, kernel, kernel))[0]
            if planes is None:
                planes = c_out
            bn(module, "%s.bn%d" % (block, k), c_out)
            c_in, source = c_out, module + ".weight"
        if s == 1 and b == 0:
            need = x_in != planes * e
            ds = "layer1.0.downsample.0.weight"
            widths = ("layer1.0's input has %d channels (from %s), its output %d (%d planes x "
                      "expansion %d)" % (x_in, x_source, planes * e, planes, e))
            if need and not layout.stem_downsample:
                raise PthError("tensor %r is missing (expected for %s: %s, and torchvision "
                               "gives a block that changes the channels a downsample)"
                               % (ds, arch, widths))
            if layout.stem_downsample and not need:
                raise PthError("tensor %r is not part of %s at these widths (%s, and "
                               "torchvision gives a downsample only to a block that strides or "
                               "changes the channels)" % (ds, arch, widths))
        if layout.has_downsample(s, b):
            module = block + ".downsample.0"
            want(module + ".weight", (planes * e, x_in, 1, 1), "the block's %d output channels "
                 "(%d planes x expansion %d), %d inputs from %s, 1x1 kernel"
                 % (planes * e, planes, e, x_in, x_source))
            bn(module, block + ".downsample.1", planes * e)
        source = "the output of " + block
    classes = want("fc.weight", (None, c_in), "C classes, %d inputs: the channels of %s, "
                   "average-pooled" % (c_in, source))[0]
    want("fc.bias", (classes,), "one per output of fc.weight")


def check_expected(tensors, model):
    """Raise PthError unless `tensors` has exactly `model`'s full-size names and shapes."""
    expected = EXPECTED_MODELS[model]
    got = {t.name: t.shape for t in tensors}
    for name, shape in expected:
        if name not in got:
            raise PthError("tensor %r is missing (expected for %s)" % (name, model))
        if got[name] != shape:
            raise PthError("tensor %r has shape %s, expected %s for %s (torchvision's full "
                           "size; --expect any accepts other widths)"
                           % (name, _fmt_shape(got[name]), _fmt_shape(shape), model))
    extra = [name for name in got if name not in dict(expected)]
    if extra:
        raise PthError("tensor %r is not part of %s" % (extra[0], model))


def identify(tensors, expect=None):
    """The Layout of `tensors`, checked; None for a state_dict that is not
    shaped like a torchvision model at all (converted as it is).

    expect None: a state_dict using features.* / classifier.* names must be one
    of VGG_ARCHS, one using bn1.* or layer1.* ... layer4.* names (and none of
    those) one of RESNET_ARCHS, at any widths; any other converts as plain
    tensors.
    expect "any": it must be one of LAYOUTS, at any widths.
    expect NAME: it must be exactly torchvision's full-size NAME."""
    if expect is None and not _looks_like_model(tensors):
        return None
    if expect not in (None, "any"):
        try:
            layout = detect_layout(tensors)
        except PthError:
            layout = None  # check_expected names what is missing or extra
        if layout is not None and layout.name != expect:
            raise PthError("the state_dict is %s (%s), not %s (%s)"
                           % (layout.name, layout.describe(), expect,
                              LAYOUTS[expect].describe()))
        check_expected(tensors, expect)
        layout = LAYOUTS[expect]
    else:
        layout = detect_layout(tensors)
    check_layout(tensors, layout)
    return layout


# ---------------------------------------------------------------------------
# BatchNorm folding.


def _floats(raw):
    a = array.array("f")
    a.frombytes(bytes(raw))
    if sys.byteorder != "little":
        a.byteswap()
    return a


def _raw(values):
    a = array.array("f", values)  # each float64 rounded once to float32 (nearest even)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def _first_bad(values, ok):
    for i, v in enumerate(values):
        if not ok(v):
            return i, v
    return None


def fold_batchnorm(tensors, layout):
    """The tensors with each BatchNorm2d folded into its convolution (eval mode).

    For output channel c, with s = gamma[c] / sqrt(running_var[c] + BN_EPS):
    W'[c] = W[c] * s and b'[c] = (b[c] - running_mean[c]) * s + beta[c], in
    float64 from the float32 values, rounded once to float32. The folded
    tensors keep the convolution's names; the BatchNorm's five tensors are
    dropped. A convolution without a bias (every ResNet one) has b = 0, and
    gets CONV.bias. Raises PthError for statistics that cannot be folded
    (non-finite, running_var + eps <= 0) and for non-finite results."""
    byname = {t.name: t for t in tensors}
    folded = {}
    for conv, bn in layout.bn_pairs():
        w_t = byname[conv + ".weight"]
        b_t = byname.get(conv + ".bias")
        if b_t is None:
            b_t = Tensor(conv + ".bias", w_t.shape[:1], "float32", _raw([0.0] * w_t.shape[0]))
        stats = {}
        for p in ("weight", "bias", "running_mean", "running_var"):
            stats[p] = _floats(byname["%s.%s" % (bn, p)].raw)
            bad = _first_bad(stats[p], math.isfinite)
            if bad:
                raise PthError("tensor '%s.%s' has the non-finite value %r at element %d: "
                               "the BatchNorm cannot be folded" % (bn, p, bad[1], bad[0]))
        bad = _first_bad(stats["running_var"], lambda v: v + BN_EPS > 0)
        if bad:
            raise PthError("tensor '%s.running_var' has %r at element %d: running_var + eps "
                           "(%g) must be positive to fold the BatchNorm" % (bn, bad[1], bad[0],
                                                                            BN_EPS))
        scale = [g / math.sqrt(v + BN_EPS) for g, v in zip(stats["weight"], stats["running_var"])]
        w = _floats(w_t.raw)
        per = len(w) // len(scale)
        out_w = array.array("f")
        for c, s in enumerate(scale):
            out_w.extend(array.array("f", [v * s for v in w[c * per:(c + 1) * per]]))
        out_b = array.array("f", [(b - m) * s + beta for b, m, s, beta in zip(
            _floats(b_t.raw), stats["running_mean"], scale, stats["bias"])])
        for name, values in ((w_t.name, out_w), (b_t.name, out_b)):
            bad = _first_bad(values, math.isfinite)
            if bad:
                raise PthError("folding %s into %s gives the non-finite value %r at element %d "
                               "of %r" % (bn, conv, bad[1], bad[0], name))
        if sys.byteorder != "little":
            out_w.byteswap()
            out_b.byteswap()
        folded[w_t.name] = w_t._replace(raw=out_w.tobytes())
        folded[b_t.name] = b_t._replace(raw=out_b.tobytes())
    return folded


def model_tensors(tensors, layout):
    """What is written: a recognised model's tensors in torchvision's
    state_dict order, BatchNorm folded (and dropped); other state_dicts as
    they are. Every tensor written is float32."""
    if layout is None:
        for t in tensors:
            if t.dtype != "float32":
                raise PthError("tensor %r is a BatchNorm counter (int64): BatchNorm layers are "
                               "accepted, and folded, only in a torchvision vgg*_bn or ResNet "
                               "state_dict" % t.name)
        return list(tensors)
    byname = {t.name: t for t in tensors}
    if layout.bn:
        byname.update(fold_batchnorm(tensors, layout))
    return [byname[name] for name in layout.output_names()]


# ---------------------------------------------------------------------------
# The command.


def convert(src, dst, expect=None):
    """Convert `src` (.pth) to `dst` (.safetensors); return the summary line."""
    start = time.monotonic()
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise PthError("input and output are the same file")
    fmt, tensors = read_state_dict(src)
    layout = identify(tensors, expect)
    out = model_tensors(tensors, layout)
    digest = sha256_file(src)
    metadata = {
        "format": "pt",
        "source": os.path.basename(src),
        "source_sha256": digest,
        "source_format": "torch.save " + fmt,
    }
    what = ""
    if layout is not None:
        metadata["arch"] = layout.name
        what = layout.name
        if layout.bn:
            what += " (%d BatchNorm layers folded into their convolutions)" % len(
                layout.bn_pairs())
        what += ", "
    try:
        write_safetensors(dst, [(t.name, t.shape, t.raw) for t in out], metadata)
    except OSError as e:
        raise OSError("cannot write %s: %s" % (dst, e.strerror or e)) from None
    values = sum(_numel(t.shape) for t in out)
    return ("convert_pth: %s (%s format, sha256 %s): %s%d tensors, %d float32 values -> %s "
            "(%d bytes) in %.2f s" % (src, fmt, digest, what, len(out), values, dst,
                                      os.path.getsize(dst), time.monotonic() - start))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="convert_pth.py",
        description="Convert a PyTorch float32 state_dict (.pth, zip or legacy format) to "
                    "safetensors, without PyTorch and without running code from the file. "
                    "torchvision AlexNet, VGG and ResNet state_dicts are recognised (any "
                    "widths), recorded as __metadata__ arch, and their BatchNorm layers folded.")
    parser.add_argument("--expect", choices=("any",) + ARCHS, metavar="ARCH",
                        help="require torchvision's full-size ARCH exactly (names and shapes): "
                             "one of %s; or 'any': any of them, at any widths"
                             % ", ".join(ARCHS))
    parser.add_argument("input", metavar="IN.pth")
    parser.add_argument("output", metavar="OUT.safetensors")
    args = parser.parse_args(argv)
    try:
        print(convert(args.input, args.output, args.expect))
    except PthError as e:
        print("convert_pth: %s: %s" % (args.input, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("convert_pth: %s" % e, file=sys.stderr)
        return 1
    except MemoryError:
        print("convert_pth: %s: out of memory" % args.input, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
