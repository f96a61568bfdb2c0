"""`split-explorer measure MODEL`: time every unit and every split point's head and tail where it
runs, or export the parts for a board (--export-onnx) and read its timings back (--timings)."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.arguments import positive_int


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "measure", help="measured latency of every unit, head and tail of a zoo model",
        description="Time every unit and every split point's head and tail on this machine "
                    "(warm-up, fixed threads, CUDA synchronised; median and interquartile range of "
                    "--repeats samples) and write the profile's rows plus unit_s, head_s, tail_s and "
                    "their *_iqr_s, one CSV + JSON per batch, with provenance (the load average "
                    "before and after among it). Feed the tables to `split-explorer calibrate` (a "
                    "device-calibration study). A board with only onnxruntime: --export-onnx DIR "
                    "here, `python DIR/standalone.py DIR` there, --timings DIR/timings.json here.")
    parser.add_argument("model", metavar="MODEL", help="zoo model (see `profile`)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--runtime", choices=("torch", "onnxruntime"), default="torch",
                        help="torch eager (default) or onnxruntime on the CPU (parts exported to ONNX)")
    parser.add_argument("--batch", type=positive_int, nargs="+", default=[1], metavar="N",
                        help="frames per call; several give one table each (default 1)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="intra-op threads (default: the runtime's own)")
    parser.add_argument("--repeats", type=positive_int, default=30, metavar="N",
                        help="timed samples per part (default 30)")
    parser.add_argument("--warmup", type=positive_int, default=10, metavar="N",
                        help="untimed calls before timing each part (default 10)")
    parser.add_argument("--quantile", type=_quantile, default=0.5, metavar="Q",
                        help="report this quantile of the samples (default 0.5, the median; on a shared "
                             "machine a low one such as 0.1 drops the samples other processes slowed)")
    parser.add_argument("--output", metavar="DIR", default="results/calibration/measured",
                        help="folder for the tables (default results/calibration/measured)")
    board = parser.add_mutually_exclusive_group()
    board.add_argument("--export-onnx", metavar="DIR", type=Path,
                       help="time nothing: write every part as ONNX (one --batch), parts.json and "
                            "standalone.py to DIR, to time on a board with `python DIR/standalone.py DIR`")
    board.add_argument("--timings", metavar="FILE", type=Path,
                       help="time nothing: turn a board's timings.json (standalone.py's output) into a table")
    parser.set_defaults(run=run)


def _quantile(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a quantile is in [0, 1], not {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import Provenance
    from explorer.measure.table import MeasureSettings, export_parts, measure, read_timings, write_table
    from netmodels.zoo import MODELS
    from splitbase import StudyError

    if args.model not in MODELS:
        raise StudyError(f"model: unknown model {args.model!r} (known: {', '.join(MODELS.names())})")
    if args.export_onnx is not None:
        if len(args.batch) != 1:
            raise StudyError("--export-onnx: give one --batch (the parts are exported at one batch size)")
        manifest = export_parts(args.model, args.batch[0], args.export_onnx)
        print(f"wrote {manifest}; on the board: python {args.export_onnx / 'standalone.py'} {args.export_onnx} "
              f"--threads N, then split-explorer measure {args.model} --timings "
              f"{args.export_onnx / 'timings.json'}")
        return 0
    record = Provenance()
    folder = Path(args.output)
    if args.timings is not None:
        tables = [read_timings(args.timings, args.model)]
    else:
        tables = []
        for batch in args.batch:
            settings = MeasureSettings(model=args.model, batch=batch, device=args.device, runtime=args.runtime,
                                       threads=args.threads, repeats=args.repeats, warmup=args.warmup,
                                       quantile=args.quantile)
            tables.append((settings, *measure(settings)))
    for settings, profile, times, machine in tables:
        path = write_table(folder, settings, profile, times, machine)
        print(f"{path}: batch {settings.batch}, whole model {times['head_s'][-1] * 1e3:.4g} ms "
              f"(IQR {times['head_iqr_s'][-1] * 1e3:.2g} ms), {len(profile.names)} split points")
    record.write(folder)
    return 0
