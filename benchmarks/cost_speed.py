"""Design points priced per second: the vectorised evaluator vs a per-point loop, one run.

Goal (issue 3): at least 1e6 design points per second on 2 CPU cores, and at least 100x a
straightforward loop that prices the same points one at a time through the same models.

    python benchmarks/cost_speed.py [--points 1000000] [--loop-points 2000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from explorer.cost.codecs import CodecChoice
from explorer.cost.hardware import Hardware
from explorer.cost.points import DesignPoints
from explorer.cost.price import price, price_points
from explorer.cost.workload import workload
from explorer.profile.bits import BitWidths
from explorer.profile.table import profile_zoo_model
from hwmodels import load_preset


def grid(profile, n_points: int) -> DesignPoints:
    """About n_points points: every split x sparsities x codecs with many ratios."""
    splits = np.arange(-1, len(profile.names) - 1)
    codecs = (CodecChoice("none"), CodecChoice("quant", bits=8),
              *(CodecChoice("jpeg", ratio=r) for r in np.geomspace(2, 64, 8)),
              *(CodecChoice("learned", ratio=r, bits=8) for r in np.geomspace(2, 256, 8)))
    sparsities = np.linspace(0, 0.9, max(1, n_points // (len(splits) * len(codecs))))
    return DesignPoints.product(splits=splits, sparsities=sparsities, codecs=codecs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--loop-points", type=int, default=2000)
    args = parser.parse_args()

    profile = profile_zoo_model("resnet18-cifar", bits=BitWidths(weight=16, activation=16))
    hardware = Hardware("engine", load_preset("engine-28nm-144mac"), "wifi",
                        load_preset("wifi-80211bgn-004"), "rtx", load_preset("rtx-2080ti"))
    points = grid(profile, args.points)
    price_points(profile, points.subset(np.arange(100)), hardware)  # warm-up

    start = time.perf_counter()
    vectorised = price_points(profile, points, hardware)
    vector_s = time.perf_counter() - start

    sample = np.random.default_rng(0).choice(len(points), args.loop_points, replace=False)
    start = time.perf_counter()
    looped = [price(workload(profile, points.subset([i])), hardware)["latency_s"][0]
              for i in sample]
    loop_s = time.perf_counter() - start
    assert np.allclose(looped, vectorised["latency_s"][sample])

    vector_rate = len(points) / vector_s
    loop_rate = len(sample) / loop_s
    print(f"{len(points):,} design points (resnet18-cifar, {len(profile.names)} split points), "
          "one hardware combination")
    print(f"  vectorised: {vector_rate:,.0f} points/s ({vector_s:.2f} s)")
    print(f"  per-point loop: {loop_rate:,.0f} points/s ({len(sample):,} points, {loop_s:.2f} s)")
    print(f"  ratio: {vector_rate / loop_rate:,.0f}x (goal >= 100x; rate goal >= 1e6/s: "
          f"{'met' if vector_rate >= 1e6 else 'MISSED'})")


if __name__ == "__main__":
    main()
