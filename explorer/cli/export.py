"""`split-explorer export STUDY.yaml --trial N | --pick EXPR`: a trial's deployment config and programs."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.analysis.provenance import Provenance
from explorer.deploy.export import export_trial
from explorer.deploy.pick import pick_trial
from explorer.search.trials import load_records, trials_frame
from explorer.studies.search import resolve_search
from splitbase import StudyError


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
    parser.add_argument("--output", metavar="DIR", help="folder (default results/<study>/export/trial<N>)")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    provenance = Provenance(seed=None)
    resolved = resolve_search(args.study, storage=args.storage)
    records = {r.number: r for r in load_records(resolved)}
    number = args.trial if args.trial is not None else pick_trial(trials_frame(list(records.values())), args.pick)
    if number not in records:
        raise StudyError(f"--trial: no trial {number} in {resolved.storage}")
    trial = records[number]
    if trial.state != "COMPLETE":
        raise StudyError(f"--trial: trial {number} is {trial.state.lower()}, not complete")
    if trial.reused_from is not None:
        trial = records[trial.reused_from]
    out = Path(args.output) if args.output else resolved.output / "export" / f"trial{number}"
    path = export_trial(resolved, trial, out, data_root=args.data_root)
    provenance.extra["trial"] = number
    provenance.write(out)
    print(f"trial {number} -> {path}")
    return 0
