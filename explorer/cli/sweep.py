"""`split-explorer sweep STUDY.yaml`: analytic evaluation of a grid, no retraining."""
from __future__ import annotations

import argparse


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "sweep", help="price a grid of split points x sparsity x codecs on hardware presets",
        description="Evaluate every design point of a study file's grid on every combination of "
                    "its device, link and server presets. Writes profile.csv, sweep.csv, figures, "
                    "REPORT.md and provenance.json to results/<study name>/ (or --output).")
    parser.add_argument("study", metavar="STUDY.yaml", help="the study file")
    parser.add_argument("--output", metavar="DIR", help="folder for the results")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.markdown import fmt
    from explorer.analysis.provenance import Provenance
    from explorer.studies.sweep import resolve_sweep
    from explorer.sweep.results import write_results
    from explorer.sweep.run import compare, run_sweep

    provenance = Provenance()
    resolved = resolve_sweep(args.study, output=args.output)
    sweep = run_sweep(resolved)
    out = write_results(resolved, sweep, provenance)
    print(f"{len(sweep)} design points ({len(resolved.points)} x {len(resolved.hardware)} hardware "
          f"combinations) -> {out}")
    for c in compare(sweep, resolved, resolved.study.paper):
        print(f"  {c.what}: paper {fmt(c.paper)}, ours {fmt(c.ours)}"
              f"{'' if c.agrees else '  (outside tolerance)'}")
    return 0
