"""Profiling a model from its graph (issue 18) vs one fvcore FlopCountAnalysis, side by side.

Goal: profiling resnet152 at 3x224x224 from its torch.fx graph (trace, shapes, every valid cut
with its crossing tensors and the head's peak memory, the units, and the costs of the one MAC
counter) takes at most twice the time of fvcore's count of the whole model. Both are warmed
up, then timed alternately; medians are compared; the graph's time is also split by step.

    python benchmarks/graph_profile_speed.py [--model resnet152] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import torch
from profile_speed import alternate, fvcore_total  # this folder's: the fvcore pass and the timing both share

from explorer.profile.table import profile_model
from netmodels.graph import find_cuts, graph_unit_model
from netmodels.graph.trace import propagate_shapes, symbolic_graph
from netmodels.zoo import build_model


def graph_profile(model: torch.nn.Module, name: str):
    return profile_model(graph_unit_model(model, model.input_shape), name=name)


def steps(model: torch.nn.Module) -> dict[str, float]:
    """Seconds of each step of one graph profile."""
    times, start = {}, time.perf_counter()
    gm = symbolic_graph(model)
    times["fx trace"], start = time.perf_counter() - start, time.perf_counter()
    propagate_shapes(gm, model.input_shape)
    times["shapes"], start = time.perf_counter() - start, time.perf_counter()
    find_cuts(gm)
    times["cuts + liveness"] = time.perf_counter() - start
    graph = graph_unit_model(model, model.input_shape)
    start = time.perf_counter()
    profile_model(graph, name="graph")
    times["MAC counter over the units"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet152")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = build_model(args.model).eval()
    x = torch.zeros(1, *model.input_shape)
    profile = graph_profile(model, args.model)
    fvcore_total(model, x)
    ours_s, theirs_s = alternate(lambda: graph_profile(model, args.model), lambda: fvcore_total(model, x),
                                 args.repeats)
    ratio = ours_s / theirs_s
    print(f"{args.model} {'x'.join(map(str, model.input_shape))}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats}, {len(profile.names) - 1} graph cuts")
    print(f"  graph profile (every valid cut):        {ours_s * 1e3:8.1f} ms")
    for step, seconds in steps(model).items():
        print(f"    {step:34s} {seconds * 1e3:8.1f} ms")
    print(f"  fvcore FlopCountAnalysis (whole model): {theirs_s * 1e3:8.1f} ms")
    print(f"  ratio graph profile / fvcore: {ratio:.2f} (goal <= 2.00: {'met' if ratio <= 2 else 'MISSED'})")


if __name__ == "__main__":
    main()
