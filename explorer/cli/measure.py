"""`split-explorer measure MODEL [MODEL ...]`: time every unit and every split point's head and
tail where it runs, several models round-robin in one process, or export the parts for a board
(--export-onnx) and read its timings back (--timings)."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.arguments import positive_int


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "measure", help="measured latency of every unit, head and tail of zoo models",
        description="Time every unit and every split point's head and tail on this machine "
                    "(warm-up, fixed threads, CUDA synchronised; median and interquartile range of "
                    "--rounds x --repeats samples) and write the profile's rows plus unit_s, head_s, "
                    "tail_s and their *_iqr_s, one CSV + JSON per model and batch, with provenance "
                    "(the load average before and after, the round-robin order) and the table's "
                    "consistency (head + tail vs the whole model, head vs the sum of its units). "
                    "Several models and batches are timed in one process, round-robin: each round "
                    "samples every part of every table once, round 1 in table order, later rounds "
                    "shuffled (a fixed seed). Feed the tables to `split-explorer calibrate` (a "
                    "device-calibration study). A board with only onnxruntime: --export-onnx DIR "
                    "here, `python DIR/standalone.py DIR` there, --timings DIR/timings.json here.")
    parser.add_argument("models", metavar="MODEL", nargs="+", help="zoo models (see `profile`)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--runtime", choices=("torch", "onnxruntime"), default="torch",
                        help="torch eager (default) or onnxruntime on the CPU (parts exported to ONNX)")
    parser.add_argument("--batch", type=positive_int, nargs="+", default=[1], metavar="N",
                        help="frames per call; several give one table each (default 1)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="intra-op threads (default: the runtime's own)")
    parser.add_argument("--rounds", type=positive_int, default=1, metavar="R",
                        help="rounds over every part of every table (default 1: each part's samples "
                             "in one go, as a plain sequential measurement)")
    parser.add_argument("--repeats", type=positive_int, default=30, metavar="N",
                        help="timed samples per part and round (default 30)")
    parser.add_argument("--warmup", type=positive_int, default=10, metavar="N",
                        help="untimed calls before a part's first samples (default 10)")
    parser.add_argument("--quantile", type=_quantile, default=0.5, metavar="Q",
                        help="report this quantile of the samples (default 0.5, the median; on a shared "
                             "machine a low one such as 0.1 drops the samples other processes slowed)")
    parser.add_argument("--output", metavar="DIR", default="results/calibration/measured",
                        help="folder for the tables (default results/calibration/measured)")
    board = parser.add_mutually_exclusive_group()
    board.add_argument("--export-onnx", metavar="DIR", type=Path,
                       help="time nothing: write every part of one MODEL as ONNX (one --batch), parts.json "
                            "and standalone.py to DIR, to time on a board with `python DIR/standalone.py "
                            "DIR [DIR2 ...]` (several folders: round-robin)")
    board.add_argument("--timings", metavar="FILE", type=Path, nargs="+",
                       help="time nothing: turn a board's timings.json files (standalone.py's output), "
                            "one per MODEL in order, into tables")
    parser.set_defaults(run=run)


def _quantile(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a quantile is in [0, 1], not {text}")
    return value


def _check(args: argparse.Namespace) -> None:
    """Every model known and (when timed here) named once, each batch size once, the board options' counts."""
    from netmodels.zoo import MODELS
    from splitbase import StudyError

    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        raise StudyError(f"model: unknown model {unknown[0]!r} (known: {', '.join(MODELS.names())})")
    # with --timings a model may come twice (two boards, two batch sizes): each file names its own
    for name, values in (("model", args.models if args.timings is None else []), ("--batch", args.batch)):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise StudyError(f"{name}: {twice[0]} given twice")
    if args.export_onnx is not None and (len(args.models) != 1 or len(args.batch) != 1):
        raise StudyError("--export-onnx: give one MODEL and one --batch (a folder holds one model's parts at "
                         "one batch size)")
    if args.timings is not None and len(args.timings) != len(args.models):
        raise StudyError(f"--timings: one timings.json per MODEL ({len(args.models)}), not {len(args.timings)}")


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import Provenance
    from explorer.measure import standalone
    from explorer.measure.table import MeasureSettings, export_parts, measure, read_timings, write_table
    from splitbase.files import check_folder

    _check(args)
    if args.export_onnx is not None:
        model, folder = args.models[0], args.export_onnx
        manifest = export_parts(model, args.batch[0], folder)
        print(f"wrote {manifest}; on the board: python {folder / 'standalone.py'} {folder} --threads N, then "
              f"split-explorer measure {model} --timings {folder / 'timings.json'}")
        return 0
    folder = check_folder(args.output, "--output")
    record = Provenance(seed=standalone.ORDER_SEED if args.timings is None else None)
    if args.timings is not None:
        tables = [read_timings(path, model) for path, model in zip(args.timings, args.models)]
    else:
        tables = measure([MeasureSettings(model=model, batch=batch, device=args.device, runtime=args.runtime,
                                          threads=args.threads, repeats=args.repeats, warmup=args.warmup,
                                          quantile=args.quantile, rounds=args.rounds)
                          for model in args.models for batch in args.batch])
    for table in tables:
        times, shares = table.times, standalone.consistency(table.times)
        path = write_table(folder, table.settings, table.profile, times, table.provenance)
        print(f"{path}: batch {table.settings.batch}, whole model {times['head_s'][-1] * 1e3:.4g} ms "
              f"(IQR {times['head_iqr_s'][-1] * 1e3:.2g} ms), {len(table.profile.names)} split points\n"
              f"  consistency: head + tail within 10 % of the whole model at {100 * shares['head_plus_tail']:.0f} % "
              f"of split points, head within 10 % of its units' sum at {100 * shares['head_vs_units']:.0f} %")
    if args.timings is None:
        load = tables[0].provenance["load_average_1min"]
        print(f"load average (1 min): {load['before']} before timing, {load['after']} after")
    record.write(folder)
    return 0
