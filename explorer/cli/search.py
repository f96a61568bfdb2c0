"""`split-explorer search STUDY.yaml`: Optuna search with retraining, resumable, multi-worker."""
from __future__ import annotations

import argparse

from explorer.cli.arguments import positive_int, seconds


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


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import Provenance
    from explorer.search.run import evaluated, exhausted, run_search, target
    from explorer.search.space import search_grid
    from explorer.studies.search import resolve_search
    from splitbase.paths import cache_dir

    provenance = Provenance()
    resolved = resolve_search(args.study, storage=args.storage, trials=args.trials)
    study = run_search(resolved, workers=args.workers, gpus=args.gpus, data_root=args.data_root,
                       cache_dir=cache_dir(args.cache_dir), progress=not args.no_progress, time_limit_s=args.time_limit)
    provenance.seed = resolved.study.search.seed
    provenance.extra["storage"] = resolved.storage
    provenance.extra["gpus"] = args.gpus or "all"
    provenance.write(resolved.output)
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    print(f"{resolved.study.name}: {evaluated(study)} distinct candidates evaluated; {states.count('COMPLETE')} "
          f"complete, {states.count('PRUNED')} pruned, {states.count('FAIL')} failed trials in {resolved.storage}")
    grid = search_grid(resolved)
    if args.time_limit is not None and evaluated(study) < target(resolved, grid) and not exhausted(study, grid):
        print(f"stopped at the time limit: {target(resolved, grid) - evaluated(study)} candidates remain; "
              "re-run the same command to continue")
    return 0
