"""`split-explorer pareto STUDY.yaml`: the non-dominated trials, their figures and hypervolume."""
from __future__ import annotations

import argparse

from explorer.search.objectives import OBJECTIVES

SHOWN = ("number", "split", "sparsity", "compression_ratio", "method", "channel",
         *(OBJECTIVES.get(name).field for name in OBJECTIVES.names()), "sent_bits", "head_macs", "encoder_macs")


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "pareto", help="the Pareto front of a search study: table, CSV, figures, hypervolume",
        description="Load a search study from its storage and write pareto.csv, trials.csv, "
                    "front figures (colour = split point) and pareto.json (hypervolume).")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the study's storage")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.search.results import draw_fronts, write_front
    from explorer.studies.search import read_search

    file = read_search(args.study, storage=args.storage)
    trials, best, grid = write_front(file)
    print(best.trials[list(SHOWN)].to_string(index=False) if len(best.trials) else "no feasible trial yet")
    # flushed: a pipe would otherwise hold the table until the figures are drawn
    print(f"{len(best.trials)} of {int(trials['feasible'].sum())} feasible trials on the front; "
          f"hypervolume {best.hypervolume:.4g} (objectives {', '.join(file.study.objectives)}) "
          f"-> {file.output / 'pareto.csv'}", flush=True)
    draw_fronts(file, trials, best, grid)
    return 0
