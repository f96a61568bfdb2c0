"""Timing a chain of units where it runs: every unit, every split point's head and tail.

Self-contained on purpose: this module imports nothing of split-explorer, only the standard
library and, inside the functions that need them, numpy, torch or onnxruntime. A user copies it
to a board (a Raspberry Pi, a Jetson) that has only torch, or only onnxruntime + numpy, times
there, and calibrates elsewhere (`split-explorer measure` wraps it on a machine with the package).

For a chain of units u_0 .. u_last and split point k = -1..last:

- unit_s[k]: u_k alone on its own input (0 for k = -1);
- head_s[k]: u_0 .. u_k run one after the other on the input (0 for k = -1);
- tail_s[k]: u_{k+1} .. u_last on the feature at k (0 for k = last).

Every time is the median of `repeats` samples (or their `quantile`: on a machine shared with other
processes, which only ever add time, a low quantile such as 0.1 estimates the uncontended time),
with their interquartile range (`*_iqr_s`), in seconds per call of one batch. A sample times `inner` calls and divides, `inner` chosen once per
callable so that a sample lasts at least `min_sample_s` (a 20 us kernel is not timed alone by a
millisecond clock); before sampling, `warmup` calls run untimed. Torch runs under
`torch.inference_mode()` with a fixed thread count, and CUDA is synchronised before every clock
read. Onnxruntime runs one session per part, intra-op threads fixed, sequential execution.

On a board: `split-explorer measure MODEL --export-onnx DIR` writes every part as ONNX, their
manifest DIR/parts.json and a copy of this file; on the board `python DIR/standalone.py DIR
--threads 4 --repeats 30` times the parts with onnxruntime and writes DIR/timings.json (times,
settings, provenance); back on a machine with the package, `split-explorer measure MODEL
--timings DIR/timings.json` turns it into a measured table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

TIMINGS = ("unit_s", "head_s", "tail_s")


def time_call(run: Callable[[], object], *, repeats: int, warmup: int, min_sample_s: float = 1e-3,
              sync: Callable[[], None] = lambda: None, quantile: float = 0.5) -> tuple[float, float]:
    """(`quantile` of the samples, 0.5 the median; interquartile range) in seconds of one call of
    `run`, over `repeats` samples."""
    for _ in range(warmup):
        run()
    sync()
    inner, elapsed = 1, 0.0
    while True:  # calls per sample: double until one sample lasts min_sample_s
        start = time.perf_counter()
        for _ in range(inner):
            run()
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_sample_s or inner >= 1 << 16:
            break
        inner *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            run()
        sync()
        samples.append((time.perf_counter() - start) / inner)
    return quantile_iqr(samples, quantile)


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


def _table(n_units: int, time_part: Callable[[int, int], tuple[float, float]]) -> dict[str, list[float]]:
    """unit/head/tail medians and IQRs for split points k = -1..n_units-1; time_part(first, last)
    times units first..last (inclusive) run in a chain."""
    out: dict[str, list[float]] = {name: [] for t in TIMINGS for name in (t, t.replace("_s", "_iqr_s"))}
    for k in range(-1, n_units):
        parts = {"unit_s": (k, k) if k >= 0 else None, "head_s": (0, k) if k >= 0 else None,
                 "tail_s": (k + 1, n_units - 1) if k < n_units - 1 else None}
        for name, span in parts.items():
            median, iqr = time_part(*span) if span is not None else (0.0, 0.0)
            out[name].append(median)
            out[name.replace("_s", "_iqr_s")].append(iqr)
    return out


def measure_torch(units: Sequence, example, *, device: str = "cpu", threads: int | None = None,
                  repeats: int = 30, warmup: int = 10, min_sample_s: float = 1e-3,
                  quantile: float = 0.5) -> dict[str, list[float]]:
    """Time a chain of torch modules (eval mode) on `example` (a batch, on any device): the
    module doc's unit_s, head_s, tail_s and their IQRs, lists over k = -1..last."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    units = [u.to(device).eval() for u in units]
    with torch.inference_mode():
        inputs = [example.to(device)]
        for unit in units:  # the feature entering each unit, computed once
            inputs.append(unit(inputs[-1]))

        def time_part(first: int, last: int) -> tuple[float, float]:
            def run():
                x = inputs[first]
                for unit in units[first:last + 1]:
                    x = unit(x)
                return x
            return time_call(run, repeats=repeats, warmup=warmup, min_sample_s=min_sample_s, sync=sync,
                             quantile=quantile)

        return _table(len(units), time_part)


def measure_onnx(folder: str | Path, *, threads: int | None = None, repeats: int = 30, warmup: int = 10,
                 min_sample_s: float = 1e-3, quantile: float = 0.5) -> dict[str, list[float]]:
    """Time the ONNX parts of `folder` (parts.json: n_units, input shapes and files of every part
    `first-last`, see `export_onnx`) with onnxruntime on the CPU; lists over k = -1..last."""
    import numpy as np
    import onnxruntime as ort

    folder = Path(folder)
    manifest = json.loads((folder / "parts.json").read_text())
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    shapes = manifest["input_shapes"]  # shape of the batch entering unit i, i = 0..n_units-1

    def time_part(first: int, last: int) -> tuple[float, float]:
        session = ort.InferenceSession(str(folder / manifest["parts"][f"{first}-{last}"]), options,
                                       providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: np.zeros(shapes[first], dtype=np.float32)}
        return time_call(lambda: session.run(None, feed), repeats=repeats, warmup=warmup,
                         min_sample_s=min_sample_s, quantile=quantile)

    return _table(int(manifest["n_units"]), time_part)


def export_onnx(units: Sequence, example, folder: str | Path, *, model: str | None = None) -> Path:
    """Export every part the table times (each unit, each head 0..k, each tail k+1..last) of a
    chain of torch modules to `folder` as ONNX (the TorchScript exporter, opset 17), with
    parts.json listing them (and `model`, the batch, the input shapes); returns the manifest's path."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    units = [u.eval() for u in units]
    n = len(units)
    spans = sorted({(k, k) for k in range(n)} | {(0, k) for k in range(n)} | {(k, n - 1) for k in range(n)})
    with torch.no_grad():
        inputs = [example]
        for unit in units:
            inputs.append(unit(inputs[-1]))
        parts = {}
        for first, last in spans:
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
    parser = argparse.ArgumentParser(description="Time the ONNX parts of a folder written by "
                                                 "`split-explorer measure --export-onnx` with onnxruntime.")
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quantile", type=float, default=0.5, help="of the samples (default 0.5, the median)")
    args = parser.parse_args(argv)
    manifest = json.loads((Path(args.folder) / "parts.json").read_text())
    before = load_average()
    times = measure_onnx(args.folder, threads=args.threads, repeats=args.repeats, warmup=args.warmup,
                         quantile=args.quantile)
    settings = {"model": manifest.get("model"), "batch": manifest.get("batch"), "device": "cpu",
                "runtime": "onnxruntime", "threads": args.threads, "repeats": args.repeats,
                "warmup": args.warmup, "quantile": args.quantile}
    record = {"timings": times, "settings": settings,
              "provenance": provenance(runtime="onnxruntime", threads=args.threads, load_before=before)}
    out = Path(args.folder) / "timings.json"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
