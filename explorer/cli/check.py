"""`split-explorer check CONFIG.json`: reload an export and confirm its recorded accuracy."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from explorer.analysis.provenance import machine
from explorer.deploy.check import check_config


def add_parser(verbs: argparse._SubParsersAction) -> None:
    check = verbs.add_parser(
        "check", help="reload an exported config and confirm its recorded accuracy",
        description="Run the config's test set through device program -> codec or channel -> "
                    "server program and compare the accuracy with the recorded one. Exit 0 if "
                    "they agree within the tolerance, 1 if not.")
    check.add_argument("config", metavar="CONFIG.json")
    check.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
