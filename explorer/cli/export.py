"""`split-explorer export STUDY.yaml --trial N | --pick EXPR` and `split-explorer check CONFIG`."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import optuna

from splitbase import StudyError
from explorer.deploy.export import check_config, export_trial, pick_trial
from explorer.analysis.provenance import Provenance, machine
from explorer.studies.search import resolve_search
from explorer.search.trials import load_trials


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "export", help="a trial's deployment config (JSON) with device and server programs",
        description="Write config.json, device.pt2 and server.pt2 (torch.export programs, "
                    "loadable without this package) of one trial of a search study, chosen by "
                    "number or by a pick expression such as \"accuracy>=0.93; minimize latency\".")
    parser.add_argument("study", metavar="STUDY.yaml")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--trial", type=int, metavar="N", help="trial number")
    choice.add_argument("--pick", metavar="EXPR",
                        help="conditions and one objective, e.g. 'accuracy>=0.93; minimize latency'")
    parser.add_argument("--storage", metavar="URL")
    parser.add_argument("--output", metavar="DIR",
                        help="folder (default results/<study>/export/trial<N>)")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.set_defaults(run=run_export)

    check = verbs.add_parser(
        "check", help="reload an exported config and confirm its recorded accuracy",
        description="Run the config's test set through device program -> codec or channel -> "
                    "server program and compare the accuracy with the recorded one. Exit 0 if "
                    "they agree within the tolerance, 1 if not.")
    check.add_argument("config", metavar="CONFIG.json")
    check.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    check.set_defaults(run=run_check)


def run_export(args: argparse.Namespace) -> int:
    provenance = Provenance(seed=None)
    resolved = resolve_search(args.study, storage=args.storage)
    number = args.trial if args.trial is not None else pick_trial(load_trials(resolved), args.pick)
    study = optuna.load_study(study_name=resolved.study.name, storage=resolved.storage)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise StudyError(f"--trial: no trial {number} in {resolved.storage}")
    trial = trials[number]
    if trial.state != optuna.trial.TrialState.COMPLETE:
        raise StudyError(f"--trial: trial {number} is {trial.state.name.lower()}, not complete")
    if "reused_from" in trial.user_attrs:
        trial = trials[trial.user_attrs["reused_from"]]
    out = Path(args.output) if args.output else resolved.output / "export" / f"trial{number}"
    path = export_trial(resolved, trial, out, data_root=args.data_root)
    provenance.extra["trial"] = number
    provenance.write(out)
    print(f"trial {number} -> {path}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    result = check_config(args.config, data_root=args.data_root)
    (Path(args.config).parent / "check.json").write_text(json.dumps({
        "accuracy": result.accuracy, "recorded": result.recorded, "agrees": result.agrees,
        "tolerance_points": result.tolerance_points, "command": "split-explorer check " + args.config,
        "machine": machine(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        indent=2) + "\n")
    verdict = "agrees" if result.agrees else "DISAGREES"
    print(f"test accuracy {result.accuracy:.4f}, recorded {result.recorded:.4f}: {verdict} "
          f"(tolerance {result.tolerance_points:g} points)")
    return 0 if result.agrees else 1
