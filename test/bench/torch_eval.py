#!/usr/bin/env python3
"""torch_eval.py: --eval's metrics done the PyTorch way, timed, for
test/bench/compare_eval.sh.

    torch_eval.py IMAGE MAP.npy -w WEIGHTS --metric deletion|insertion|road|avg-drop
                  --class N [--runs R] [--threads N]

The metric of IMAGE's map (guidedbp's --npy: (224, 224, 3), or (224, 224) for
a cam) as test/gen/fixtures_faithfulness.py defines it, i.e. a straight
PyTorch/numpy/SciPy implementation, batched as guidedbp is: the perturbed
inputs go through the model 32 at a time under torch.no_grad(); ROAD's
systems are ROAD's own code (NoisyLinearImputer's sparse system, solved by
scipy.sparse.linalg.spsolve), its noise torch.randn * 0.01 as ROAD adds it
(guidedbp's seeded stream is not what is timed). The model is
torchvision's AlexNet with WEIGHTS (a .safetensors file), the input the
tutorial's transform of IMAGE. One untimed run, then R timed ones; prints
one JSON line: the metric, the median milliseconds of the metric alone
(not the model's loading or the preprocessing), and its value (the AUC,
ROAD's (LeRF - MoRF) / 2, or the drop).
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
sys.path.insert(0, str(here.parent / "gen"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("map")
    ap.add_argument("-w", "--weights", required=True)
    ap.add_argument("--metric", required=True, choices=["deletion", "insertion", "road", "avg-drop"])
    ap.add_argument("--class", dest="cls", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    import numpy as np
    import torch
    import torchvision
    import torch_bench
    import fixtures_faithfulness as ff
    torch.set_num_threads(args.threads)
    model = torch_bench.load_model(torch, torchvision, args.weights)
    x = ff.mf.preprocess(args.image).numpy()
    sal = ff.saliency_of(np.load(args.map))

    def torch_noise(seed, o, p, n):
        return (torch.randn(n) * ff.ROAD_NOISE).numpy()

    def run():
        order = ff.rank(sal)
        if args.metric in ("deletion", "insertion"):
            out = ff.deletion_insertion(model, x, order, args.cls, 0, keys=(args.metric,))
            return out[args.metric + "_auc"]
        if args.metric == "road":
            return ff.road(model, x, order, args.cls, list(range(10, 100, 10)), 1, noise=torch_noise)["road"]
        return ff.avg_drop(model, x, sal, args.cls)["drop"]

    run()
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        value = run()
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"metric": args.metric, "ms": statistics.median(times), "value": value}))


if __name__ == "__main__":
    main()
