"""`split-explorer calibrate STUDY.yaml ...`: fit preset parameters to what was published or measured.

Two kinds of study file share the verb. A sweep study with `calibrate:` fits those parameters to
its paper ratios (one study at a time). Study files of `kind: device-calibration` fit a roofline's
per-layer-class parameters to `split-explorer measure` tables and write a calibrated preset; several
may be given, and the report (`--report DIR`, default results/calibration) covers them all. With
`--reprice SEARCH.yaml` the report also re-prices that finished search's trials on each base and
calibrated device (explorer.calibration.reprice): do its front and its `--pick` change?
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "calibrate", help="fit preset parameters to a paper's ratios or to measured latency",
        description="A sweep study: least-squares fit (on log ratios) of the parameters it lists "
                    "under `calibrate:` to its `paper:` ratios; prints the fitted values and writes "
                    "calibration.json (with provenance) to the study's results folder. Studies of "
                    "`kind: device-calibration`: fit a roofline's per-layer-class efficiencies and "
                    "kernel overheads to measured tables (robust least squares on log(predicted / "
                    "measured), bounded, per-class values shrunk together), write the calibrated "
                    "preset (marked `calibrated:`), predictions.csv and fit.json per study, and "
                    "REPORT.md over all given.")
    parser.add_argument("study", metavar="STUDY.yaml", nargs="+")
    parser.add_argument("--starts", type=int, default=None,
                        help="random starts (default 8 for paper ratios, 3 for device calibration)")
    parser.add_argument("--output", metavar="DIR", help="folder for calibration.json (a sweep study)")
    parser.add_argument("--report", metavar="DIR", default="results/calibration",
                        help="folder of REPORT.md for device calibrations (default results/calibration)")
    parser.add_argument("--reprice", metavar="SEARCH.yaml",
                        help="device calibrations: re-price this finished search's trials on each base and "
                             "calibrated device and report whether the front and the --pick change")
    parser.add_argument("--pick", metavar="EXPR", default="accuracy>=0.94; minimize latency",
                        help="with --reprice: the export's pick expression (default %(default)r)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.calibration.study import is_device_calibration
    from explorer.studies.common import read_study
    from splitbase import StudyError

    studies = [(path, read_study(path)) for path in args.study]
    device = [is_device_calibration(data) for _, data in studies]
    if all(device):
        return _run_devices(studies, args)
    if len(studies) > 1 or any(device):
        raise StudyError("calibrate: give one sweep study, or only device-calibration studies")
    return _run_paper(args)


def _run_devices(studies: list[tuple[str, dict]], args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import Provenance
    from explorer.calibration.report import write_report
    from explorer.calibration.run import run_calibration
    from explorer.calibration.study import resolve_calibration

    provenance = Provenance(seed=0)
    resolved = [resolve_calibration(path, data) for path, data in studies]  # all checked before any fit
    runs = []
    for item in resolved:
        run = run_calibration(item, starts=args.starts or 3)
        provenance.write(item.output)
        runs.append(run)
        for which in ("held_out", "fit"):
            for when in ("before", "after"):
                s = run.summary[which][when]
                print(f"{item.study.name} {which} {when}: median |error| {100 * s.median_abs:.1f} %, "
                      f"within 10 % {100 * s.within_10:.0f} %, within 5 % {100 * s.within_5:.0f} %, "
                      f"Spearman {s.spearman:.3f}")
        print(f"wrote {run.preset_path}")
    repricing = _reprice(args, runs) if args.reprice else None
    report = write_report(runs, Path(args.report), repricing)
    provenance.write(Path(args.report))
    print(f"wrote {report}")
    return 0


def _reprice(args: argparse.Namespace, runs: list):
    from explorer.calibration.fit import with_values
    from explorer.calibration.reprice import reprice_search
    from hwmodels.catalog import load_preset_file

    devices, compared = {}, {}
    for run in runs:
        study = run.resolved.study
        before = f"{study.base}-b{study.batch}"
        devices[before] = with_values(run.resolved.base, study.batch, {}, per_class=False)
        devices[study.preset] = load_preset_file(run.preset_path)
        compared[study.preset] = before
    repricing = reprice_search(args.reprice, devices, args.pick, compared_with=compared)
    for name, trial in repricing.picks.items():
        print(f"{repricing.study} on {name}: front {repricing.fronts[name]}, pick trial {trial}")
    return repricing


def _run_paper(args: argparse.Namespace) -> int:
    from explorer.analysis.markdown import fmt
    from explorer.analysis.provenance import Provenance
    from explorer.studies.sweep import resolve_sweep
    from explorer.sweep.calibrate import calibrate
    from splitbase import StudyError
    from splitbase.files import write_text

    provenance = Provenance(seed=0)
    resolved = resolve_sweep(args.study[0], output=args.output)
    if not resolved.study.calibrate:
        raise StudyError("calibrate: the study lists no parameters to fit")
    bounds = {p.param: (p.low, p.high) for p in resolved.study.calibrate}
    result = calibrate(resolved, bounds, starts=args.starts or 8)
    out = Path(resolved.output)
    write_text(out / "calibration.json", json.dumps({
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
