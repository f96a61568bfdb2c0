"""Start-up time of each verb: `split-explorer VERB --help` (and `hw list`, `hw show`), and the
whole of `pareto STUDY` and `report STUDY` on a finished search study, median of N runs.

Goal (issue 14): `--help`, `hw`, `profile`, `pareto` and `report` start in well under 2 s on 2 CPU
cores. Each command runs as `python -m explorer ...` in a fresh subprocess, so the time is the
interpreter's start plus every import the command makes before it prints (for pareto and report:
everything they do, the storage read, the figures and the report written).

    python benchmarks/startup.py [--runs 5] [--against REF] [--study STUDY.yaml]

The study is --study (a finished search study), or else TINY: small-cnn on synthetic data, 4
trials of 2 steps, searched once here (untimed, about 15 s on 2 cores) into a temporary folder with
its own cache. --against REF also times the tree of git commit REF (unpacked with `git archive`
into a temporary folder, the repository itself untouched) and prints both columns side by side.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRA = (("hw", "list"), ("hw", "show", "raspberry-pi-3"))
# a search that finishes in seconds on a CPU: what pareto and report read when no --study is given
TINY = {
    "name": "startup-tiny", "model": "small-cnn",
    "dataset": {"name": "synthetic", "options": {"num_classes": 4, "shape": [1, 32, 32], "num_train": 128,
                                                  "num_test": 64}},
    "device": "raspberry-pi-3", "link": "wifi-80211bgn-004:2mbps", "server": "rtx-2080ti",
    "space": {"split": ["pool1", "conv2", "pool2", "conv3"], "compression_ratio": [4, 16], "method": ["bottlenetpp"],
              "channel": [{"kind": "bec", "p": 0.01, "bits": 8}]},
    "objectives": ["accuracy", "latency"], "constraints": {"max_accuracy_drop": 50.0},
    "training": {"baseline": {"steps": 4, "batch_size": 32, "device": "cpu"},
                 "candidate": {"steps": 2, "batch_size": 32, "device": "cpu"}},
    "search": {"trials": 4, "seed": 0, "sampler": "random"},
}


def verb_names(tree: Path) -> list[str]:
    """The verbs of the command in `tree`, read from its own parser (a subprocess, so nothing leaks)."""
    code = ("import explorer.cli as c; p = c.build_parser(); "
            "print(' '.join(next(a for a in p._actions if a.dest == 'verb').choices))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


def commands(tree: Path, study: str) -> list[tuple[str, ...]]:
    """`--help`, each verb's --help, EXTRA, and the verbs that read the results of `study` (a
    finished search study)."""
    return [(), *((verb,) for verb in verb_names(tree)), *EXTRA, ("pareto", study), ("report", study)]


def median_seconds(tree: Path, command: tuple[str, ...], runs: int) -> float:
    """Median wall time (seconds) of `python -m explorer COMMAND` in `tree` (`--help` added to
    a bare verb or to nothing)."""
    argv = [sys.executable, "-m", "explorer", *command]
    if len(command) <= 1:
        argv.append("--help")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tiny_study(folder: Path) -> str:
    """TINY searched to the end in `folder` (its results and cache there too); the study file's path.
    JSON is YAML, so the study file is written as JSON."""
    path = folder / "study.yaml"
    path.write_text(json.dumps({**TINY, "output": str(folder / "results")}))
    subprocess.run([sys.executable, "-m", "explorer", "search", str(path), "--no-progress",
                    "--cache-dir", str(folder / "cache")], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return str(path)


def unpack(ref: str, into: Path) -> Path:
    """The tree of commit `ref` unpacked under `into` (read from the repository, nothing written to it)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def label(command: tuple[str, ...]) -> str:
    if not command:
        return "--help"
    return " ".join(Path(c).name for c in command) if len(command) > 1 else f"{command[0]} --help"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--against", metavar="REF", help="git commit to compare with, e.g. HEAD")
    parser.add_argument("--study", metavar="STUDY.yaml",
                        help="a finished search study to time `pareto` and `report` on (default: TINY, searched here)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        old = unpack(args.against, Path(tmp) / "tree") if args.against else None
        study = str(Path(args.study).resolve()) if args.study else tiny_study(Path(tmp))
        rows = commands(ROOT, study)
        old_verbs = set(verb_names(old)) if old else set()
        header = f"{'command':<26}{'now (s)':>9}" + (f"{args.against + ' (s)':>14}" if old else "")
        print(f"median of {args.runs} runs, {sys.executable}\n{header}")
        for command in rows:
            now = median_seconds(ROOT, command, args.runs)
            line = f"{label(command):<26}{now:>9.2f}"
            if old:
                there = not command or command[0] == "hw" or command[0] in old_verbs
                line += f"{median_seconds(old, command, args.runs):>14.2f}" if there else f"{'-':>14}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
