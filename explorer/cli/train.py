"""`split-explorer train STUDY.yaml`: train base models and candidates, record accuracy and bits."""
from __future__ import annotations

import argparse

from explorer.cli.arguments import seconds


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "train", help="retrain base models and listed candidates (accuracy, bits sent)",
        description="Train (or load from the cache) each base model of a retraining study, then "
                    "build and retrain each candidate with its method's stages, resuming where an earlier call "
                    "stopped. Writes "
                    "baselines.csv, candidates.csv, channel_accuracy.csv and provenance.json.")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("--output", metavar="DIR", help="folder for the results")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache of base models (default $SPLIT_EXPLORER_CACHE or ~/.cache/split-explorer)")
    parser.add_argument("--time-limit", metavar="SECONDS", type=seconds,
                        help="start no candidate that would not end within SECONDS of this call; "
                             "re-run the same command to go on (finished candidates are kept)")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: write REPORT.md and the figures again from the finished CSV files "
                             "(after editing the study's claims or figures)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.studies.train import resolve_train_study
    from explorer.train.run import rewrite_report, run_train_study
    from splitbase.paths import cache_dir

    resolved = resolve_train_study(args.study, output=args.output)
    if args.report_only:
        print(f"report written again from the CSV files -> {rewrite_report(resolved, data_root=args.data_root)}")
        return 0
    done = run_train_study(resolved, data_root=args.data_root, cache_dir=cache_dir(args.cache_dir),
                           progress=not args.no_progress, time_limit_s=args.time_limit)
    left = f"; {done.remaining} left: re-run the same command to go on" if done.remaining else ""
    if done.rebased:
        print(f"{done.rebased} finished candidates had been trained from another base model (another "
              "cache or machine): trained again from this one")
    print(f"{len(resolved.study.models)} baselines, {len(resolved.specs)} candidates "
          f"({done.trained} trained now{left}) -> {done.output}")
    return 0
