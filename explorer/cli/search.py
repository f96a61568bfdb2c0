"""`split-explorer search STUDY.yaml`: Optuna search with retraining, resumable, multi-worker."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from explorer.cli.arguments import positive_int, seconds

if TYPE_CHECKING:  # annotations only: the verb starts without optuna
    import optuna

    from explorer.analysis.provenance import Provenance
    from explorer.studies.search import ResolvedSearch


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "search", help="search split x sparsity x compression with retraining (Optuna)",
        description="Run or resume a search study: each trial builds a candidate, prices it on "
                    "the study's hardware, prunes it if an analytic constraint fails, otherwise "
                    "retrains it and records accuracy, latency, energy, throughput and bits sent. "
                    "Re-running the same command resumes the study up to search.trials.")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("--storage", metavar="URL",
                        help="SQLAlchemy URL (default sqlite:///results/<study>/study.db)")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="worker processes sharing the storage (default 1)")
    parser.add_argument("--gpus", metavar="LIST",
                        help="GPUs for the workers, worker i on the (i mod G)-th: 'all' (default) or indices "
                             "like 0,1 as this process numbers them (after CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--trials", type=positive_int, metavar="N",
                        help="distinct candidates to evaluate (default: the study's search.trials)")
    parser.add_argument("--time-limit", type=seconds, metavar="SECONDS",
                        help="start no trial that would not end within SECONDS of the start (the same "
                             "command continues)")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache of base models and trained candidates (default $SPLIT_EXPLORER_CACHE "
                             "or ~/.cache/split-explorer)")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def _write_provenance(resolved: ResolvedSearch, study: optuna.Study, provenance: Provenance, *, gpus: str,
                      evaluated: int) -> None:
    """provenance.json over the calls that made this study (one storage, the same first trial):
    each call's command, machine and wall time, the wall time summed; a study started afresh in
    the same folder starts the record afresh."""
    from explorer.analysis.provenance import earlier_calls, write_calls

    trials = study.get_trials(deepcopy=False)
    first = trials[0].datetime_start.isoformat() if trials and trials[0].datetime_start else None
    path = resolved.output / "provenance.json"
    document, before = earlier_calls(path)
    same = first is not None and (document.get("storage"), document.get("first_trial")) == (resolved.storage, first)
    write_calls(path, provenance, before if same else [], this_call={"evaluated": evaluated},
                fields={"storage": resolved.storage, "gpus": gpus, "first_trial": first})


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import Provenance
    from explorer.search.run import evaluated, exhausted, run_search, target
    from explorer.search.space import search_grid
    from explorer.search.summary import write_summary
    from explorer.studies.search import resolve_search
    from splitbase.paths import cache_dir

    provenance = Provenance()
    resolved = resolve_search(args.study, storage=args.storage, trials=args.trials)
    study = run_search(resolved, workers=args.workers, gpus=args.gpus, data_root=args.data_root,
                       cache_dir=cache_dir(args.cache_dir), progress=not args.no_progress, time_limit_s=args.time_limit)
    provenance.seed = resolved.study.search.seed
    done = evaluated(study)
    _write_provenance(resolved, study, provenance, gpus=args.gpus or "all", evaluated=done)
    grid = search_grid(resolved)
    write_summary(resolved, grid)  # what pareto and report read without the model
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    print(f"{resolved.study.name}: {done} distinct candidates evaluated; {states.count('COMPLETE')} "
          f"complete, {states.count('PRUNED')} pruned, {states.count('FAIL')} failed trials in {resolved.storage}")
    remaining = target(resolved, grid) - done
    if args.time_limit is not None and remaining > 0 and not exhausted(study, grid):
        print(f"stopped at the time limit: {remaining} candidates remain; re-run the same command to continue")
    return 0
