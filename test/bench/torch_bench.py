#!/usr/bin/env python3
"""bench_torch.py: guidedbp's job done the PyTorch way, for `make bench-compare`.

Usage:
  bench_torch.py single IMAGE -w WEIGHTS -o OUT.png [--class N] [--threads N]
      The tutorial recipe as a script, start to finish: import torch and
      torchvision, build AlexNet, load the weights (parameters requiring grad,
      as a freshly loaded model has them), forward hooks on model.features'
      ReLUs caching their outputs, backward hooks clamping, one image, the
      map normalized and saved as a PNG. Time the whole process from outside.
  bench_torch.py folder DIR -w WEIGHTS [--batch B] [--no-weight-grad]
                 [--passes P] [--threads N]
      Steady state over DIR's images: one warm-up pass, then P timed passes
      (load, preprocess, forward, backward, PNG per image, written to a
      temporary directory); prints the median ms per image. Without
      --no-weight-grad every pass also computes the weight gradients the
      recipe's autograd computes (zeroed per batch, as the tutorial does).
  bench_torch.py folder DIR -w random --arch resnet50 [--batch B] ...
      The same for another torchvision model (resnet18, resnet50, ...) at
      torchvision's random initialisation (the same work as trained
      weights), the guided rule at every ReLU call (each ReLU module swapped
      for a guided one: torchvision's ResNets call one module 2-3 times a
      block, where module hooks would see only its last call).
  bench_torch.py make-weights OUT.pth OUT.safetensors
      Full-size torchvision AlexNet with random weights (seed 0), as a .pth
      and as the same tensors in safetensors, for a machine without
      weights/alexnet.safetensors.

WEIGHTS is a .pth state_dict (torch.load) or a .safetensors file.
--threads defaults to one per CPU (torch.set_num_threads): Debian's torch
otherwise starts with a single thread on some machines.
Exit status: 0 ok, 1 error, 3 PyTorch or torchvision is not installed.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

FEATURE_RELUS = ("features.1", "features.4", "features.7", "features.9", "features.11")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def import_torch():
    try:
        import torch
        import torchvision
    except ImportError as exc:
        print(f"bench_torch: PyTorch is not installed ({exc})", file=sys.stderr)
        sys.exit(3)
    return torch, torchvision


def read_safetensors(torch, path):
    """{name: tensor} from a safetensors file of float32 tensors."""
    import numpy as np
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = bytearray(os.path.getsize(path) - 8 - n)
        f.readinto(data)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=begin)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]))
    return out


def load_model(torch, torchvision, weights, arch="alexnet"):
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)()
    if weights != "random":
        if str(weights).endswith(".safetensors"):
            state = read_safetensors(torch, weights)
        else:
            state = torch.load(weights, map_location="cpu")
        model.load_state_dict(state)
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False  # full backward hooks need out-of-place ReLUs
    return model.eval()


class GuidedHooks:
    """The tutorial's recipe: cache each guided ReLU's output on the way
    forward, clamp the gradient and mask it by that output on the way back."""

    def __init__(self, torch, model):
        self.torch = torch
        self.outputs = {}
        modules = dict(model.named_modules())
        for name in FEATURE_RELUS:
            modules[name].register_forward_hook(self.save)
            modules[name].register_full_backward_hook(self.guide)

    def save(self, module, inputs, output):
        self.outputs[module] = output.detach()

    def guide(self, module, grad_input, grad_output):
        return (self.torch.clamp(grad_output[0], min=0) * (self.outputs[module] > 0),)


def guide_every_relu(torch, model):
    """Every ReLU call guided: each nn.ReLU replaced by a module applying
    relu forward and clamp(grad, 0) * (out > 0) backward."""
    class Guided(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.clamp(min=0)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad.clamp(min=0) * (y > 0)

    class GuidedReLU(torch.nn.Module):
        def forward(self, x):
            return Guided.apply(x)

    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.ReLU):
                setattr(parent, name, GuidedReLU())


def transform(torchvision):
    t = torchvision.transforms
    return t.Compose([t.Resize(224), t.CenterCrop(224), t.ToTensor(),
                      t.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])


def save_map(grad, path):
    """grad (3, 224, 224) -> the PNG guidedbp writes."""
    import numpy as np
    from PIL import Image
    g = grad.permute(1, 2, 0).numpy().astype(np.float64)
    std = g.std()
    v = np.clip((g - g.mean()) / std * 0.1 + 0.5, 0, 1) if std > 0 else np.full(g.shape, 0.5)
    Image.fromarray(np.rint(v * 255).astype(np.uint8), "RGB").save(path)


def guided_batch(torch, model, x, target):
    """Input gradients of the batch x (B, 3, 224, 224), each from a one-hot at
    its target (the predicted class when target is None)."""
    x = x.clone().requires_grad_(True)
    model.zero_grad()
    logits = model(x)
    targets = logits.argmax(1) if target is None else torch.full((len(x),), target)
    one_hot = torch.zeros_like(logits)
    one_hot[torch.arange(len(x)), targets] = 1.0
    logits.backward(one_hot)
    return x.grad.detach()


def run_single(args):
    torch, torchvision = import_torch()
    torch.set_num_threads(args.threads or os.cpu_count())
    from PIL import Image
    model = load_model(torch, torchvision, args.weights)
    GuidedHooks(torch, model)
    with Image.open(args.image) as img:
        x = transform(torchvision)(img.convert("RGB")).unsqueeze(0)
    grad = guided_batch(torch, model, x, args.target)
    save_map(grad[0], args.output)


def run_folder(args):
    torch, torchvision = import_torch()
    torch.set_num_threads(args.threads or os.cpu_count())
    from PIL import Image
    model = load_model(torch, torchvision, args.weights, args.arch)
    if args.no_weight_grad:
        for p in model.parameters():
            p.requires_grad_(False)
    if args.arch == "alexnet":
        GuidedHooks(torch, model)
    else:
        guide_every_relu(torch, model)
    tf = transform(torchvision)
    paths = sorted(p for p in Path(args.dir).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        sys.exit(f"bench_torch: no images in {args.dir}")
    per_image = []
    with tempfile.TemporaryDirectory() as out:
        for rep in range(args.passes + 1):
            start = time.perf_counter()
            for first in range(0, len(paths), args.batch):
                group = paths[first:first + args.batch]
                xs = []
                for p in group:
                    with Image.open(p) as img:
                        xs.append(tf(img.convert("RGB")))
                grads = guided_batch(torch, model, torch.stack(xs), args.target)
                for p, g in zip(group, grads):
                    save_map(g, os.path.join(out, p.stem + ".png"))
            if rep > 0:  # pass 0 warms up
                per_image.append((time.perf_counter() - start) * 1e3 / len(paths))
    print(f"{statistics.median(per_image):.2f} ms/image (median of {args.passes} passes over "
          f"{len(paths)} images, batch {args.batch}, weight gradients "
          f"{'off' if args.no_weight_grad else 'on'}, {torch.get_num_threads()} threads)")


def run_make_weights(args):
    torch, torchvision = import_torch()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "scripts"))
    from convert_pth import write_safetensors
    torch.manual_seed(0)
    state = torchvision.models.alexnet().state_dict()
    torch.save(state, args.pth)
    write_safetensors(args.safetensors,
                      [(k, tuple(v.shape), v.contiguous().numpy().tobytes()) for k, v in state.items()],
                      {"source": "torchvision.models.alexnet(), torch.manual_seed(0)"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("single", "folder"):
        p = sub.add_parser(name)
        p.add_argument("-w", "--weights", required=True)
        p.add_argument("-c", "--class", dest="target", type=int, default=None)
        p.add_argument("-t", "--threads", type=int, default=0)
    single = sub.choices["single"]
    single.add_argument("image")
    single.add_argument("-o", "--output", required=True)
    folder = sub.choices["folder"]
    folder.add_argument("dir")
    folder.add_argument("--batch", type=int, default=1)
    folder.add_argument("--passes", type=int, default=3)
    folder.add_argument("--no-weight-grad", action="store_true")
    folder.add_argument("--arch", default="alexnet")
    mw = sub.add_parser("make-weights")
    mw.add_argument("pth")
    mw.add_argument("safetensors")
    args = ap.parse_args()
    {"single": run_single, "folder": run_folder, "make-weights": run_make_weights}[args.mode](args)


if __name__ == "__main__":
    main()
