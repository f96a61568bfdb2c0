"""`split-explorer tabulate STUDY.yaml`: retrain every candidate of a search study's grid into one table."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.arguments import positive_int
from splitbase import StudyError


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "tabulate", help="retrain every candidate of a search grid into a table (resumable)",
        description="Build, price and retrain every candidate of a search study's grid (split x "
                    "sparsity x compression ratio x method x channel) at the study's candidate "
                    "budget, then a seeded subset at a longer budget, into "
                    "results/tabular/<study>.csv with provenance beside it. Re-running the same "
                    "command continues where the last call stopped. With --fidelity TABLE.csv: "
                    "the rank fidelity of the short budget, written to TABLE.md.")
    parser.add_argument("study", metavar="STUDY.yaml", nargs="?")
    parser.add_argument("--output", metavar="FILE.csv", help="the table (inside results/; default "
                                                              "results/tabular/<study>.csv)")
    parser.add_argument("--long-factor", type=positive_int, default=5, metavar="N",
                        help="the long budget: N x the candidate budget's epochs or steps (default 5)")
    parser.add_argument("--long-count", type=int, default=64, metavar="N",
                        help="trained candidates retrained at the long budget (default 64)")
    parser.add_argument("--time-limit", type=float, metavar="SECONDS",
                        help="stop before a candidate that would not end within SECONDS of the start")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="train N candidates at once, each in its own process; worker i on GPU i mod G "
                             "(default 1: in this process)")
    parser.add_argument("--gpus", metavar="LIST", help="the GPUs workers use: 'all' (default) or indices like 0,1")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the grid size and how many candidates are not buildable or "
                             "infeasible analytically; train nothing")
    parser.add_argument("--fidelity", metavar="TABLE.csv",
                        help="report the rank fidelity of a table's short budget (no STUDY.yaml)")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache of base models (default $SPLIT_EXPLORER_CACHE or ~/.cache/split-explorer)")
    parser.add_argument("--no-progress", action="store_true", help="no training progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if (args.study is None) == (args.fidelity is None):
        raise StudyError("tabulate: give STUDY.yaml or --fidelity TABLE.csv (one of them)")
    if args.fidelity is not None:
        return _fidelity(args.fidelity)
    from explorer.studies.search import resolve_search
    from explorer.tabular.run import TabularRunner, TabularSettings
    from explorer.tabular.table import table_path

    resolved = resolve_search(args.study)
    settings = TabularSettings(table_path(resolved.study.name, args.output), long_factor=args.long_factor,
                               long_count=args.long_count, time_limit_s=args.time_limit, workers=args.workers,
                               gpus=args.gpus)
    if args.dry_run:
        return _dry_run(resolved, settings, args.data_root)
    outcome = TabularRunner(resolved, settings, data_root=args.data_root, cache_dir=args.cache_dir,
                            progress=not args.no_progress).run()
    trained = outcome.trained
    print(f"{resolved.study.name}: trained {trained['short']} candidates and {trained['long']} at the "
          f"long budget in this call -> {settings.output}")
    if outcome.remaining_short or outcome.remaining_long:
        long = "the long subset" if outcome.remaining_long is None else f"{outcome.remaining_long} long"
        print(f"{'stopped at the time limit: ' if outcome.stopped else ''}{outcome.remaining_short} "
              f"candidates and {long} remain; re-run the same command to continue")
    else:
        print("complete: every candidate has its row and the long subset its long accuracy")
    return 0


def _dry_run(resolved, settings, data_root: str | None) -> int:
    from explorer.tabular.grid import grid_points
    from explorer.tabular.run import survey
    from explorer.tabular.table import INFEASIBLE, NOT_BUILDABLE, Table

    space = resolved.study.space
    counts = survey(resolved, resolved.study.dataset.load(data_root))
    sizes = " x ".join(f"{len(getattr(space, name))} {name}" for name in
                       ("split", "sparsity", "compression_ratio", "method", "channel"))
    done = Table(settings.output, [p.key for p in grid_points(resolved)]).rows
    print(f"{resolved.study.name}: {sum(counts.values())} candidates ({sizes}): {counts['to train']} to train, "
          f"{counts[NOT_BUILDABLE]} not buildable, {counts[INFEASIBLE]} infeasible analytically; "
          f"{len(done)} already in {settings.output}; long subset {settings.long_count} at "
          f"{settings.long_factor} x the candidate budget; nothing trained")
    return 0


def _fidelity(text: str) -> int:
    from explorer.tabular.fidelity import fidelity_markdown, rank_fidelity, read_table
    from explorer.tabular.table import inside_results
    from splitbase.files import write_atomic

    path = inside_results(Path(text), "--fidelity")
    markdown = fidelity_markdown(rank_fidelity(read_table(path)), path)
    out = write_atomic(path.with_suffix(".md"), lambda f: f.write(markdown.encode()))
    print(markdown, end="")
    print(f"-> {out}")
    return 0
