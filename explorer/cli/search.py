"""`split-explorer search STUDY.yaml`: Optuna search with retraining, resumable, multi-worker."""
from __future__ import annotations

import argparse

from explorer.analysis.provenance import Provenance
from explorer.cli.arguments import positive_int
from explorer.search.run import run_search
from explorer.studies.search import resolve_search


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
    parser.add_argument("--trials", type=positive_int, metavar="N",
                        help="finished trials to reach (default: the study's search.trials)")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache of base models and trained candidates (default $SPLIT_EXPLORER_CACHE "
                             "or ~/.cache/split-explorer)")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    provenance = Provenance()
    resolved = resolve_search(args.study, storage=args.storage, trials=args.trials)
    study = run_search(resolved, workers=args.workers, data_root=args.data_root, cache_dir=args.cache_dir,
                       progress=not args.no_progress)
    provenance.seed = resolved.study.search.seed
    provenance.extra["storage"] = resolved.storage
    provenance.write(resolved.output)
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    print(f"{resolved.study.name}: {states.count('COMPLETE')} complete, {states.count('PRUNED')} "
          f"pruned, {states.count('FAIL')} failed trials in {resolved.storage}")
    return 0
