"""`split-explorer report STUDY.yaml`: the Markdown report of a search study."""
from __future__ import annotations

import argparse


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "report", help="a Markdown report of a search study (front, figures, exported configs)",
        description="Write results/<study>/REPORT.md with the study's setup, trial counts and "
                    "pruning reasons, the Pareto front table and figures, and the exported "
                    "configs with their check results. Refreshes pareto.csv and the figures.")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("--storage", metavar="URL")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.search.report import report
    from explorer.search.results import draw_fronts, write_front
    from explorer.studies.search import read_search
    from splitbase.files import write_text

    file = read_search(args.study, storage=args.storage)
    trials, best, grid = write_front(file)
    draw_fronts(file, trials, best, grid)
    print(write_text(file.output / "REPORT.md", report(file, trials, best, grid)))
    return 0
