"""Timing chains of units where they run: every unit, every split point's head and tail.

Self-contained on purpose: this module imports nothing of split-explorer, only the standard
library and, inside the functions that need them, numpy, torch or onnxruntime. A user copies it
to a board (a Raspberry Pi, a Jetson) that has only torch, or only onnxruntime + numpy, times
there, and calibrates elsewhere (`split-explorer measure` wraps it on a machine with the package).

For a chain of units u_0 .. u_last and split point k = -1..last:

- unit_s[k]: u_k alone on its own input (0 for k = -1);
- head_s[k]: u_0 .. u_k run one after the other on the input (0 for k = -1);
- tail_s[k]: u_{k+1} .. u_last on the feature at k (0 for k = last).

A *part* is one distinct span of units (`spans`: head 0..0 is unit 0, the tail at k = -1 is the
head at last), timed once and written wherever the table names it. Several chains (models,
batch sizes) are timed in one process, round-robin (`time_parts`): each round takes a short
sample of every part of every chain, round 1 in table order and every later one in a shuffled
order (random.Random(ORDER_SEED)), so slow drift of the machine (clock, heat, other load) falls
on all parts alike instead of on the ones timed while it lasted. A part's time is the median of
all its samples over all rounds (or their `quantile`: on a machine shared with other processes,
which only ever add time, a low quantile such as 0.1 estimates the uncontended time), with their
interquartile range (`*_iqr_s`), in seconds per call of one batch. A sample times `inner` calls
and divides, `inner` chosen once per part at its first visit so that a sample lasts at least
`min_sample_s` (a 20 us kernel is not timed alone by a millisecond clock), after `warmup`
untimed calls; every later visit starts with one untimed call. One chain and one round is the
plain sequential measurement: each part warmed up, then its `repeats` samples. Torch runs under
`torch.inference_mode()` with a fixed thread count, and CUDA is synchronised before every clock
read. Onnxruntime runs one session per part (all kept open: about units + 1 copies of a model's
weights), intra-op threads fixed, sequential execution.

`consistency` says how far a table agrees with itself: an additive predictor gives head + tail
= whole model and head = sum of its units exactly, so the shares of split points where the
measurement does so within +-10 % bound what any such predictor can reach on it.

On a board: `split-explorer measure MODEL --export-onnx DIR` writes every part as ONNX, their
manifest DIR/parts.json and a copy of this file; on the board `python DIR/standalone.py DIR
[DIR2 ...] --threads 4 --repeats 10 --rounds 5` times the parts of every folder round-robin with
onnxruntime and writes each DIR/timings.json (times, settings, provenance); back on a machine with
the package, `split-explorer measure MODEL [MODEL2 ...] --timings DIR/timings.json [...]` turns
them into measured tables.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence, Tuple

TIMINGS = ("unit_s", "head_s", "tail_s")
ORDER_SEED = 0  # the shuffles of rounds 2.. : the same order on every run with the same parts
CONSISTENT_WITHIN = 0.10  # relative tolerance of `consistency`

Span = Tuple[int, int]  # (first, last) unit of a part, inclusive


def time_parts(parts: Sequence[Callable[[], object]], *, rounds: int = 1, repeats: int = 30, warmup: int = 10,
               min_sample_s: float = 1e-3, sync: Callable[[], None] = lambda: None, quantile: float = 0.5,
               seed: int = ORDER_SEED) -> list[tuple[float, float]]:
    """Round-robin timing (module doc): per part, (`quantile` of its samples, 0.5 the median;
    interquartile range) in seconds of one call, over `rounds` x `repeats` samples."""
    inner = [0] * len(parts)  # calls per sample, fixed at each part's first visit
    samples: list[list[float]] = [[] for _ in parts]
    order = list(range(len(parts)))
    shuffle = random.Random(seed).shuffle
    for round_ in range(rounds):
        if round_:
            shuffle(order)
        for i in order:
            run = parts[i]
            if inner[i]:
                run()
                sync()
            else:
                inner[i] = _calls_per_sample(run, warmup, min_sample_s, sync)
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(inner[i]):
                    run()
                sync()
                samples[i].append((time.perf_counter() - start) / inner[i])
    return [quantile_iqr(s, quantile) for s in samples]


def _calls_per_sample(run: Callable[[], object], warmup: int, min_sample_s: float,
                      sync: Callable[[], None]) -> int:
    """`warmup` untimed calls, then the calls per sample: doubled until one lasts min_sample_s."""
    for _ in range(warmup):
        run()
    sync()
    inner = 1
    while True:
        start = time.perf_counter()
        for _ in range(inner):
            run()
        sync()
        if time.perf_counter() - start >= min_sample_s or inner >= 1 << 16:
            return inner
        inner *= 2


def quantile_iqr(samples: Sequence[float], quantile: float = 0.5) -> tuple[float, float]:
    """The `quantile` (0..1, linear between order statistics; 0.5 the median) and interquartile
    range (75th - 25th percentile, inclusive method) of samples."""
    if len(samples) < 2:
        return float(samples[0]), 0.0
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    ordered = sorted(samples)
    position = quantile * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return float(value), float(q3 - q1)


def _row_spans(n_units: int, k: int) -> dict[str, Span | None]:
    """The span each timing of split point k names (None: nothing runs, time 0)."""
    return {"unit_s": (k, k) if k >= 0 else None, "head_s": (0, k) if k >= 0 else None,
            "tail_s": (k + 1, n_units - 1) if k < n_units - 1 else None}


def spans(n_units: int) -> list[Span]:
    """The distinct parts of a chain of n_units, in table order (k = -1..last: unit, head, tail)."""
    named = (span for k in range(-1, n_units) for span in _row_spans(n_units, k).values())
    return list(dict.fromkeys(span for span in named if span is not None))


def table_of(n_units: int, timed: dict[Span, tuple[float, float]]) -> dict[str, list[float]]:
    """unit/head/tail times and IQRs over k = -1..n_units-1 from each part's (time, IQR)."""
    out: dict[str, list[float]] = {name: [] for t in TIMINGS for name in (t, t.replace("_s", "_iqr_s"))}
    for k in range(-1, n_units):
        for name, span in _row_spans(n_units, k).items():
            value, iqr = timed[span] if span is not None else (0.0, 0.0)
            out[name].append(value)
            out[name.replace("_s", "_iqr_s")].append(iqr)
    return out


def _tables(n_units: Sequence[int], runs: Callable[[int, Span], Callable[[], object]],
            **options) -> list[dict[str, list[float]]]:
    """Time every part of every chain (chain c has n_units[c] units; runs(c, span) gives the
    callable of a part) round-robin, and assemble one table per chain."""
    keys = [(c, span) for c, n in enumerate(n_units) for span in spans(n)]
    timed = dict(zip(keys, time_parts([runs(c, span) for c, span in keys], **options)))
    return [table_of(n, {span: timed[(c, span)] for span in spans(n)}) for c, n in enumerate(n_units)]


def measure_torch(chains: Sequence[tuple[Sequence, object]], *, device: str = "cpu", threads: int | None = None,
                  rounds: int = 1, repeats: int = 30, warmup: int = 10, min_sample_s: float = 1e-3,
                  quantile: float = 0.5) -> list[dict[str, list[float]]]:
    """Time chains of torch modules, each (units, example batch on any device), round-robin in
    this process: per chain the module doc's unit_s, head_s, tail_s and their IQRs, lists over
    k = -1..last."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        moved, inputs = [], []
        for units, example in chains:
            moved.append([u.to(device).eval() for u in units])
            inputs.append([example.to(device)])
            for unit in moved[-1]:  # the feature entering each unit, computed once
                inputs[-1].append(unit(inputs[-1][-1]))

        def runs(c: int, span: Span) -> Callable[[], object]:
            first, last = span

            def run():
                x = inputs[c][first]
                for unit in moved[c][first:last + 1]:
                    x = unit(x)
                return x
            return run

        return _tables([len(u) for u in moved], runs, rounds=rounds, repeats=repeats, warmup=warmup,
                       min_sample_s=min_sample_s, sync=sync, quantile=quantile)


def measure_onnx(folders: Sequence[str | Path], *, threads: int | None = None, rounds: int = 1, repeats: int = 30,
                 warmup: int = 10, min_sample_s: float = 1e-3, quantile: float = 0.5) -> list[dict[str, list[float]]]:
    """Time the ONNX parts of every folder (parts.json: n_units, input shapes and files of every
    part `first-last`, see `export_onnx`) with onnxruntime on the CPU, round-robin over all
    folders; per folder, lists over k = -1..last."""
    import numpy as np
    import onnxruntime as ort

    manifests = [json.loads((Path(folder) / "parts.json").read_text()) for folder in folders]
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

    def runs(c: int, span: Span) -> Callable[[], object]:
        manifest = manifests[c]
        session = ort.InferenceSession(str(Path(folders[c]) / manifest["parts"][f"{span[0]}-{span[1]}"]), options,
                                       providers=["CPUExecutionProvider"])
        # input_shapes[i]: the shape of the batch entering unit i
        feed = {session.get_inputs()[0].name: np.zeros(manifest["input_shapes"][span[0]], dtype=np.float32)}
        return lambda: session.run(None, feed)

    return _tables([int(m["n_units"]) for m in manifests], runs, rounds=rounds, repeats=repeats, warmup=warmup,
                   min_sample_s=min_sample_s, quantile=quantile)


def order_record(rounds: int, tables: Sequence[str], n_units: Sequence[int], seed: int = ORDER_SEED) -> dict:
    """How the parts were interleaved (for the provenance): rounds, the tables timed together in
    one process, the parts per round and the shuffles' seed."""
    return {"rounds": rounds, "tables": list(tables), "parts_per_round": sum(len(spans(n)) for n in n_units),
            "order": "round 1 in table order, each later round shuffled (random.Random(seed))", "seed": seed}


def consistency(times: dict[str, Sequence[float]], within: float = CONSISTENT_WITHIN) -> dict[str, float]:
    """Shares (0..1) of a table's split points k = 0..last-1 whose head_s + tail_s is within
    +-`within` of the whole model (head_s[last]), and of k = 0..last whose head_s is within
    +-`within` of the sum of unit_s[0..k] (module doc); times are lists over k = -1..last."""
    unit, head, tail = (list(times[name]) for name in TIMINGS)

    def near(value: float, reference: float) -> bool:
        return reference > 0 and abs(value / reference - 1.0) <= within

    split = [near(h + t, head[-1]) for h, t in zip(head[1:-1], tail[1:-1])]
    summed = [near(h, s) for h, s in zip(head[1:], itertools.accumulate(unit[1:]))]
    return {"head_plus_tail": statistics.fmean(split) if split else 1.0, "head_vs_units": statistics.fmean(summed)}


def export_onnx(units: Sequence, example, folder: str | Path, *, model: str | None = None) -> Path:
    """Export every part the table times (each unit, each head 0..k, each tail k+1..last) of a
    chain of torch modules to `folder` as ONNX (the TorchScript exporter, opset 17), with
    parts.json listing them (and `model`, the batch, the input shapes); returns the manifest's path."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    units = [u.eval() for u in units]
    n = len(units)
    with torch.no_grad():
        inputs = [example]
        for unit in units:
            inputs.append(unit(inputs[-1]))
        parts = {}
        for first, last in spans(n):
            name = f"part_{first}_{last}.onnx"
            torch.onnx.export(torch.nn.Sequential(*units[first:last + 1]), (inputs[first],), str(folder / name),
                              input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
            parts[f"{first}-{last}"] = name
    manifest = folder / "parts.json"
    manifest.write_text(json.dumps({"model": model, "batch": int(example.shape[0]), "n_units": n,
                                    "input_shapes": [list(x.shape) for x in inputs[:-1]], "parts": parts},
                                   indent=2) + "\n")
    return manifest


def load_average() -> float | None:
    """The 1-minute load average of the machine (None where the platform has none): how many
    other processes competed for its cores while it timed."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def provenance(*, device: str = "cpu", runtime: str = "torch", threads: int | None = None,
               load_before: float | None = None) -> dict:
    """Where the times were taken: CPU model and cores, threads, GPU name, governor, versions, and
    the 1-minute load average before timing (`load_before`, read by the caller) and now, after."""
    info = {"runtime": runtime, "device": device, "threads": threads, "host": platform.node(),
            "load_average_1min": {"before": load_before, "after": load_average()},
            "platform": platform.platform(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
            "cpu_model": _cpu_model(), "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "versions": {}}
    for package in ("numpy", "torch", "onnx", "onnxruntime"):
        try:
            info["versions"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def _cpu_model() -> str | None:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware"):
            return value.strip()
    return platform.processor() or None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the ONNX parts of folders written by `split-explorer "
                                                 "measure --export-onnx` with onnxruntime, round-robin over all.")
    parser.add_argument("folders", nargs="+", metavar="folder")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=_positive, default=1, help="rounds over every part (default 1)")
    parser.add_argument("--repeats", type=_positive, default=30, help="samples per part and round (default 30)")
    parser.add_argument("--warmup", type=_positive, default=10)
    parser.add_argument("--quantile", type=float, default=0.5, help="of the samples (default 0.5, the median)")
    args = parser.parse_args(argv)
    folders = [Path(folder) for folder in args.folders]
    manifests = [json.loads((folder / "parts.json").read_text()) for folder in folders]
    before = load_average()
    tables = measure_onnx(folders, threads=args.threads, rounds=args.rounds, repeats=args.repeats,
                          warmup=args.warmup, quantile=args.quantile)
    machine = provenance(runtime="onnxruntime", threads=args.threads, load_before=before)
    machine["order"] = order_record(args.rounds, [f"{m.get('model')}_b{m.get('batch')}" for m in manifests],
                                    [int(m["n_units"]) for m in manifests])
    for folder, manifest, times in zip(folders, manifests, tables):
        settings = {"model": manifest.get("model"), "batch": manifest.get("batch"), "device": "cpu",
                    "runtime": "onnxruntime", "threads": args.threads, "repeats": args.repeats,
                    "warmup": args.warmup, "quantile": args.quantile, "rounds": args.rounds}
        out = folder / "timings.json"
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps({"timings": times, "settings": settings, "provenance": machine}, indent=2) + "\n")
        os.replace(tmp, out)
        shares = consistency(times)
        print(f"wrote {out}: head + tail within 10 % of the whole model at {100 * shares['head_plus_tail']:.0f} % "
              f"of split points, head within 10 % of its units' sum at {100 * shares['head_vs_units']:.0f} %")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
