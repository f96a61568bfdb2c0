"""Search workers: distinct candidates trained per hour with 1, 2, 4 and G workers (issue 19).

    .venv/bin/python benchmarks/search_workers.py [STUDY.yaml] [--trials 16] [--workers 1,2,4]
        [--data-root DIR] [--cache-dir DIR] [--output results/search_workers/h200]

The same search study (default studies/search_resnet18_fmnist.yaml) runs once per worker count,
each from an empty SQLite storage of its own in a temporary folder, with `--trials` distinct
candidates as its budget (the study's own trials, sampler and seed otherwise). The base model is
trained (or read) once first into one cache shared by every run; each run's trained candidates
go to a folder of that cache keyed by its storage (explorer.search.trial.weights_path), so no run
reuses another's training. Worker counts: `--workers` plus G when this machine has G > 1 GPUs
(explorer.search.placement: all of them, or those CUDA_VISIBLE_DEVICES names; the search places
worker i on GPU i mod G). A run's time is run_search's wall time (data loading, grid, spawning the
workers and their imports included: what a user waits for). Prints, per worker count, the
distinct candidates trained, seconds, candidates per hour, the ratio to 1 worker and the GPUs its
trials recorded; with --output, writes workers.csv and provenance.json there.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.search import placement  # noqa: E402
from splitbase import SplitExplorerError  # noqa: E402

STUDY = ROOT / "studies" / "search_resnet18_fmnist.yaml"
COLUMNS = ("workers", "candidates", "wall_s", "candidates_per_hour", "ratio_to_1", "gpus")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", nargs="?", default=str(STUDY), metavar="STUDY.yaml")
    parser.add_argument("--trials", type=int, default=16, help="distinct candidates per run (default 16)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (1 always runs)")
    parser.add_argument("--data-root", help="where the data set's files are")
    parser.add_argument("--cache-dir", help="base-model and candidate cache (default: a temporary folder)")
    parser.add_argument("--output", help="folder for workers.csv and provenance.json, e.g. results/search_workers/h200")
    return parser.parse_args(argv)


def worker_counts(given: str, gpus: int) -> list[int]:
    """1, the counts asked for, and `gpus` when more than one, each once, ascending."""
    try:
        counts = {int(part) for part in given.split(",")}
    except ValueError:
        raise SplitExplorerError(f"--workers must be counts like 1,2,4, got {given!r}") from None
    if min(counts) < 1:
        raise SplitExplorerError(f"--workers counts must be at least 1, got {given!r}")
    return sorted(counts | {1} | ({gpus} if gpus > 1 else set()))


def run_once(study: str, workers: int, *, trials: int, folder: Path, data_root: str | None,
             cache_dir: str) -> dict:
    """One search from an empty storage with `workers` workers: its distinct candidates trained,
    wall seconds and the GPUs its trials recorded ("" on the CPU)."""
    from explorer.search.run import evaluated, run_search
    from explorer.studies.search import resolve_search

    resolved = resolve_search(study, storage=f"sqlite:///{folder / f'workers-{workers}.db'}", trials=trials)
    started = time.perf_counter()
    result = run_search(resolved, workers=workers, data_root=data_root, cache_dir=cache_dir, progress=False)
    wall_s = time.perf_counter() - started
    gpus = sorted({f"{t.user_attrs['gpu']} ({t.user_attrs.get('gpu_name', '')})"
                   for t in result.get_trials(deepcopy=False) if "gpu" in t.user_attrs})
    return {"workers": workers, "candidates": evaluated(result), "wall_s": round(wall_s, 2), "gpus": " ".join(gpus)}


def train_base(study: str, data_root: str | None, cache_dir: str) -> float:
    """Train (or read) the study's base model into the shared cache; its seconds."""
    from explorer.studies.search import resolve_search
    from netmodels.baseline import get_baseline

    resolved = resolve_search(study)
    started = time.perf_counter()
    data = resolved.study.dataset.load(data_root)
    get_baseline(resolved.study.model, data, resolved.baseline, cache_dir=cache_dir, progress=False)
    return time.perf_counter() - started


def measure(args: argparse.Namespace, folder: Path) -> list[dict]:
    cache_dir = args.cache_dir or str(folder / "cache")
    visible = placement.discover()
    counts = worker_counts(args.workers, len(visible.gpus))
    print(f"GPUs: {', '.join(g.label() for g in visible.gpus) or 'none'}; worker counts {counts}; "
          f"{args.trials} distinct candidates per run")
    print(f"base model: {train_base(args.study, args.data_root, cache_dir):.1f} s (trained once, shared)")
    rows = []
    for workers in counts:
        row = run_once(args.study, workers, trials=args.trials, folder=folder, data_root=args.data_root,
                       cache_dir=cache_dir)
        row["candidates_per_hour"] = round(3600 * row["candidates"] / row["wall_s"], 2)
        row["ratio_to_1"] = round(row["candidates_per_hour"] / rows[0]["candidates_per_hour"], 3) if rows else 1.0
        rows.append(row)
        print(f"{workers} worker(s): {row['candidates']} candidates in {row['wall_s']:.1f} s = "
              f"{row['candidates_per_hour']:.1f} candidates/h, x{row['ratio_to_1']:.2f} vs 1 worker"
              + (f"; trials on GPU {row['gpus']}" if row["gpus"] else ""))
    return rows


def write(rows: list[dict], output: Path, provenance) -> None:
    from splitbase.files import write_csv

    output.mkdir(parents=True, exist_ok=True)
    write_csv(output / "workers.csv", COLUMNS, rows)
    provenance.write(output)
    print(f"wrote {output / 'workers.csv'} and provenance.json")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from explorer.analysis.provenance import Provenance

    provenance = Provenance(extra={"study": args.study, "trials": args.trials})
    try:
        with tempfile.TemporaryDirectory(prefix="search-workers-") as folder:
            rows = measure(args, Path(folder))
    except SplitExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output:
        provenance.extra["runs"] = rows
        write(rows, Path(args.output), provenance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
