"""`split-explorer calibrate STUDY.yaml`: fit a study's `calibrate:` parameters to its paper ratios."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from splitbase import StudyError
from explorer.sweep.calibrate import calibrate
from explorer.analysis.provenance import Provenance
from explorer.studies.sweep import resolve_sweep
from explorer.analysis.markdown import fmt


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "calibrate", help="fit unknown preset parameters to a paper's published ratios",
        description="Least-squares fit (on log ratios) of the parameters a study lists under "
                    "`calibrate:` to its `paper:` ratios. Prints the fitted values and writes "
                    "calibration.json (with provenance) to the study's results folder; copy the "
                    "values into a preset marked `calibrated:` to use them as predictions.")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("--starts", type=int, default=8, help="random starts (default 8)")
    parser.add_argument("--output", metavar="DIR", help="folder for calibration.json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    provenance = Provenance(seed=0)
    resolved = resolve_sweep(args.study, output=args.output)
    if not resolved.study.calibrate:
        raise StudyError("calibrate: the study lists no parameters to fit")
    bounds = {p.param: (p.low, p.high) for p in resolved.study.calibrate}
    result = calibrate(resolved, bounds, starts=args.starts)
    out = Path(resolved.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps({
        "study": str(resolved.path), "parameters": result.parameters,
        "bounds": {k: list(v) for k, v in bounds.items()},
        "ours_over_paper": result.residuals, "cost": result.cost}, indent=2) + "\n")
    provenance.write(out / "calibration")
    for name, value in result.parameters.items():
        low, high = bounds[name]
        edge = "  (at a bound)" if value <= low * 1.001 or value >= high * 0.999 else ""
        print(f"{name} = {value:.4g}{edge}")
    for what, ratio in result.residuals.items():
        print(f"  {what}: ours/paper {fmt(ratio)}")
    return 0
