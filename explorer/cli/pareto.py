"""`split-explorer pareto STUDY.yaml`: the non-dominated trials, their figures and hypervolume."""
from __future__ import annotations

import argparse
import json

from explorer.analysis import plots
from explorer.studies.search import resolve_search
from explorer.search.trials import front, load_trials

SHOWN = ("number", "split", "sparsity", "compression_ratio", "method", "channel", "accuracy",
         "latency_s", "energy_j", "throughput_fps", "sent_bits", "head_macs")
PAIRS = (("latency_s", "accuracy", "latency (s)", "accuracy"),
         ("energy_j", "accuracy", "device energy per frame (J)", "accuracy"),
         ("latency_s", "energy_j", "latency (s)", "device energy per frame (J)"))


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "pareto", help="the Pareto front of a search study: table, CSV, figures, hypervolume",
        description="Load a search study from its storage and write pareto.csv, trials.csv, "
                    "front figures (colour = split point) and pareto.json (hypervolume).")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the study's storage")
    parser.set_defaults(run=run)


def write_front(resolved) -> tuple[object, object]:
    trials = load_trials(resolved)
    best = front(trials, resolved.study.objectives)
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    trials.to_csv(out / "trials.csv", index=False)
    best.trials.to_csv(out / "pareto.csv", index=False)
    (out / "pareto.json").write_text(json.dumps({
        "objectives": resolved.study.objectives, "hypervolume": best.hypervolume,
        "reference": best.reference, "front": [int(n) for n in best.trials["number"]]}, indent=2))
    complete = trials[trials["ok"]]
    if len(complete):
        split_index = complete["split"].map(lambda s: resolved.profile.names.index(s) - 1
                                            if isinstance(s, str) else s)
        complete = complete.assign(split_index=split_index, feasible=True)
        for x, y, x_label, y_label in PAIRS:
            maximise = tuple(c for c in (x, y) if c == "accuracy")
            info = plots.front_info(complete, x, y, "split_index", x_label=x_label,
                                    y_label=y_label, maximise=maximise)
            plots.draw_front(info, out / f"front_{y.split('_')[0]}_{x.split('_')[0]}.png",
                             f"{resolved.study.name}: {y_label} vs {x_label}",
                             colour_label="split point k")
    return trials, best


def run(args: argparse.Namespace) -> int:
    resolved = resolve_search(args.study, storage=args.storage)
    trials, best = write_front(resolved)
    print(best.trials[list(SHOWN)].to_string(index=False) if len(best.trials) else "no feasible trial yet")
    print(f"{len(best.trials)} of {int(trials['ok'].sum())} feasible trials on the front; "
          f"hypervolume {best.hypervolume:.4g} (objectives {', '.join(resolved.study.objectives)}) "
          f"-> {resolved.output / 'pareto.csv'}")
    return 0
