"""`split-explorer check CONFIG.json [--runtime onnxruntime]`: reload an export and confirm its recorded accuracy."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path


def add_parser(verbs: argparse._SubParsersAction) -> None:
    check = verbs.add_parser(
        "check", help="reload an exported config and confirm its recorded accuracy",
        description="Run the config's test set through device part -> codec or channel -> server part "
                    "and compare the accuracy with the recorded one. --runtime onnxruntime runs the ONNX "
                    "parts with the export's numpy wire coding and also compares them with the torch "
                    "programs. Exit 0 if they agree within the config's tolerance, 1 if not.")
    check.add_argument("config", metavar="CONFIG.json")
    check.add_argument("--runtime", choices=("torch", "onnxruntime"), default="torch")
    check.add_argument("--data-root", metavar="DIR", help="where the data set's files are")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.analysis.provenance import machine
    from explorer.deploy.check import check_config
    from splitbase.files import write_text

    result = check_config(args.config, data_root=args.data_root, runtime=args.runtime)
    name = "check.json" if args.runtime == "torch" else f"check-{args.runtime}.json"
    write_text(Path(args.config).parent / name, json.dumps({
        "accuracy": result.accuracy, "recorded": result.recorded, "agrees": result.agrees,
        "tolerance_points": result.tolerance_points, "runtime": result.runtime,
        "onnx_max_abs": result.onnx_max_abs, "onnx_tolerance": result.onnx_tolerance,
        "command": f"split-explorer check {args.config} --runtime {args.runtime}",
        "machine": machine(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        indent=2) + "\n")
    verdict = "agrees" if result.agrees else "DISAGREES"
    onnx = "" if result.onnx_max_abs is None else f"; ONNX vs torch max |diff| {result.onnx_max_abs:.3g} " \
                                                  f"(tolerance {result.onnx_tolerance:g})"
    print(f"{result.runtime}: test accuracy {result.accuracy:.4f}, recorded {result.recorded:.4f}: {verdict} "
          f"(tolerance {result.tolerance_points:g} points){onnx}")
    return 0 if result.agrees else 1
