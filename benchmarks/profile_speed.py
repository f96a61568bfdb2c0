"""Profiling a whole model vs one fvcore FlopCountAnalysis of it, side by side in one run.

Goal (issue 2): profiling resnet152 at 3x224x224 takes at most twice the time of fvcore's
count of the whole model. Both are warmed up, then timed alternately; medians are compared.

    python benchmarks/profile_speed.py [--model resnet152] [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
from fvcore.nn import FlopCountAnalysis

from explorer.profile.table import profile_model
from netmodels.zoo import build_model


def fvcore_total(model: torch.nn.Module, x: torch.Tensor) -> int:
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.total()


def alternate(ours: Callable[[], object], theirs: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of `ours` and of `theirs`, timed alternately `repeats` times each."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for run, into in ((ours, times[0]), (theirs, times[1])):
            start = time.perf_counter()
            run()
            into.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet152")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model = build_model(args.model).eval()
    x = torch.zeros(1, *model.input_shape)
    profile_model(model, name=args.model)
    fvcore_total(model, x)
    ours_s, theirs_s = alternate(lambda: profile_model(model, name=args.model), lambda: fvcore_total(model, x),
                                 args.repeats)
    ratio = ours_s / theirs_s
    print(f"{args.model} {'x'.join(map(str, model.input_shape))}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats}")
    print(f"  split-explorer profile (every split point): {ours_s * 1e3:8.1f} ms")
    print(f"  fvcore FlopCountAnalysis (whole model):      {theirs_s * 1e3:8.1f} ms")
    print(f"  ratio profile / fvcore: {ratio:.2f} (goal <= 2.00: {'met' if ratio <= 2 else 'MISSED'})")


if __name__ == "__main__":
    main()
