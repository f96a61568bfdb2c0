"""`split-explorer export STUDY.yaml --trial N | --pick EXPR [--table ...]`: deployable exports."""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from splitbase import StudyError
from splitbase.files import check_folder


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "export", help="a trial's deployment config with device and server programs (torch.export, ONNX)",
        description="Write config.json, device/server .pt2 (torch.export) and .onnx parts, split_runner.py "
                    "(runs the ONNX parts over TCP with numpy and onnxruntime) and README.md of one trial "
                    "of a search study, chosen by number or by a pick expression such as "
                    "\"accuracy>=0.93; minimize latency\". With --table: the trial --pick chooses in each "
                    "environment of a grid (links or link rates x devices), each chosen trial exported "
                    "once, with table.json, table.csv and table.png.")
    parser.add_argument("study", metavar="STUDY.yaml")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--trial", type=int, metavar="N", help="trial number")
    choice.add_argument("--pick", metavar="EXPR",
                        help="conditions and one objective, e.g. 'accuracy>=0.93; minimize latency'")
    parser.add_argument("--table", action="store_true", help="a lookup table over environments (needs --pick)")
    links = parser.add_mutually_exclusive_group()
    links.add_argument("--links", metavar="L1,L2,...", help="link presets of the table's environments")
    links.add_argument("--link-rates", metavar="R1,R2,...",
                       help="the study's link at these rates in Mbit/s, e.g. 0.1,0.5,2,10,22 (a trailing Mbps is allowed)")
    parser.add_argument("--devices", metavar="D1,D2,...", help="device presets of the table (default the study's)")
    parser.add_argument("--storage", metavar="URL")
    parser.add_argument("--output", metavar="DIR",
                        help="folder (default results/<study>/export/trial<N>, or .../export/table)")
    parser.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    parser.set_defaults(run=run)


def _names(text: str | None) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


def _rates(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        rates = [float(v.strip().lower().removesuffix("mbps").removesuffix("mbit/s")) * 1e6 for v in text.split(",")]
    except ValueError:
        raise StudyError(f"--link-rates: expected numbers in Mbit/s, e.g. 0.1,2,22, got {text!r}") from None
    if any(r <= 0 for r in rates):
        raise StudyError("--link-rates: every rate must be positive")
    return rates


def _trial(records: dict, number: int, storage: str):
    if number not in records:
        raise StudyError(f"--trial: no trial {number} in {storage}")
    trial = records[number]
    if trial.state != "COMPLETE":
        raise StudyError(f"--trial: trial {number} is {trial.state.lower()}, not complete")
    return records[trial.reused_from] if trial.reused_from is not None else trial


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import Provenance
    from explorer.deploy.export import atomic_folder, export_trial
    from explorer.deploy.pick import pick_trial
    from explorer.search.trials import load_records, trials_frame
    from explorer.studies.search import resolve_search

    if args.table and args.pick is None:
        raise StudyError("--table: give the rule with --pick, e.g. 'accuracy>=0.93; minimize latency'")
    if not args.table and (args.links or args.link_rates or args.devices):
        raise StudyError("--links, --link-rates and --devices belong to --table")
    rates = _rates(args.link_rates)  # every argument checked before the study's storage is read
    provenance = Provenance(seed=None)
    resolved = resolve_search(args.study, storage=args.storage)
    records = {r.number: r for r in load_records(resolved)}
    if not records:
        raise StudyError(f"{resolved.storage}: no trials (run `split-explorer search {args.study}` first)")
    if args.table:
        return _table(args, resolved, records, provenance, rates)
    number = args.trial if args.trial is not None else pick_trial(trials_frame(list(records.values())), args.pick)
    trial = _trial(records, number, resolved.storage)
    out = check_folder(args.output, "--output") if args.output else resolved.output / "export" / f"trial{number}"
    with atomic_folder(out) as tmp:
        export_trial(resolved, trial, tmp, data_root=args.data_root)
        provenance.extra["trial"] = number
        provenance.write(tmp)
    print(f"trial {number} -> {out / 'config.json'}")
    return 0


def _table(args, resolved, records, provenance, rates: list[float] | None) -> int:
    from explorer.deploy.export import RUNNER, atomic_folder, export_trial
    from explorer.deploy.table import choose, draw_table, environments

    grid = environments(resolved, links=_names(args.links), rates_bit_per_s=rates,
                        devices=_names(args.devices))
    table = choose(resolved, list(records.values()), args.pick, grid)
    out = check_folder(args.output, "--output") if args.output else resolved.output / "export" / "table"
    with atomic_folder(out) as tmp:
        for number in sorted(set(table["trial"])):
            (tmp / f"trial{number}").mkdir()
            export_trial(resolved, records[number], tmp / f"trial{number}", data_root=args.data_root)
        table.to_csv(tmp / "table.csv", index=False)
        (tmp / "table.json").write_text(json.dumps({
            "study": resolved.study.name, "pick": args.pick, "server": resolved.hardware.server_name,
            "environments": table.to_dict(orient="records")}, indent=2) + "\n")
        draw_table(table, tmp / "table.png", f"{resolved.study.name}: {args.pick}")
        shutil.copyfile(RUNNER, tmp / RUNNER.name)
        provenance.extra["pick"] = args.pick
        provenance.write(tmp)
    for row in table.itertuples():
        print(f"{row.device} / {row.link}: {row.entry} (split {row.split}, {1e3 * row.latency_s:.4g} ms)")
    print(f"{table['entry'].nunique()} entries -> {out / 'table.json'}")
    return 0
