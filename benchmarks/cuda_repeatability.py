"""How far a candidate's accuracy moves when it is retrained with the same seed (issue 17, CUDA).

    .venv/bin/python benchmarks/cuda_repeatability.py SEARCH/trials.csv TABLE.csv [--output results/determinism/NAME]

Two trainings of the same candidates made with the same code, seed, training config and cached
base model: a search's trials.csv and a tabular benchmark of the same grid (tabulate), both run
on one GPU machine. Candidates are matched by split, sparsity, compression ratio and method; the
script prints, and with --output writes as repeat.csv (per candidate) and provenance.json, each
pair's accuracies and |difference| in points, with the median, 90th percentile and maximum. On
the CPU both trainings would be bit-identical (tests/test_determinism.py); on CUDA they are not.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.analysis.provenance import Provenance  # noqa: E402
from splitbase.files import write_csv  # noqa: E402

KNOBS = ("split", "sparsity", "compression_ratio", "method")


def _key(row: dict[str, str]) -> tuple:
    return row["split"], float(row["sparsity"]), float(row["compression_ratio"]), row["method"]


def pairs(trials_csv: Path, table_csv: Path) -> list[dict[str, object]]:
    """One row per candidate trained in both: its knobs, both accuracies, |difference| in points."""
    with open(table_csv, newline="") as f:
        table = {_key(r): r for r in csv.DictReader(f) if r["status"] == "trained"}
    with open(trials_csv, newline="") as f:
        trials = [r for r in csv.DictReader(f) if r["state"] == "COMPLETE" and r["accuracy"] and not r["reused_from"]]
    rows = []
    for trial in trials:
        twin = table.get(_key(trial))
        if twin is not None:
            a, b = float(trial["accuracy"]), float(twin["accuracy"])
            rows.append({**{k: trial[k] for k in KNOBS}, "accuracy_search": a, "accuracy_table": b,
                         "difference_points": round(100 * abs(a - b), 4)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trials", type=Path, metavar="SEARCH/trials.csv")
    parser.add_argument("table", type=Path, metavar="TABLE.csv")
    parser.add_argument("--output", type=Path, help="folder for repeat.csv and provenance.json")
    args = parser.parse_args(argv)
    provenance = Provenance()
    rows = pairs(args.trials, args.table)
    if not rows:
        print("error: no candidate was trained in both files", file=sys.stderr)
        return 2
    diffs = sorted(r["difference_points"] for r in rows)
    summary = {"candidates": len(rows), "median_points": statistics.median(diffs),
               "p90_points": diffs[min(len(diffs) - 1, int(0.9 * len(diffs)))], "max_points": diffs[-1],
               "identical": sum(d == 0 for d in diffs)}
    print(", ".join(f"{k} {v}" for k, v in summary.items()))
    if args.output:
        write_csv(args.output / "repeat.csv", list(rows[0]), rows)
        provenance.extra.update(summary=summary, inputs=[str(args.trials), str(args.table)])
        provenance.write(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
