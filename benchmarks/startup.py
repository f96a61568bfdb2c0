"""Start-up time of each verb: `split-explorer VERB --help` (and `hw list`, `hw show`), and the
whole of `pareto STUDY` and `report STUDY` on a finished search study, median of N runs.

Goal (issue 14): `--help`, `hw`, `profile`, `pareto` and `report` start in well under 2 s on 2 CPU
cores. Each command runs as `python -m explorer ...` in a fresh subprocess, its stdout a pipe read
here. Two times per command: until its first line of output arrives (what a user waits for before
seeing anything: for pareto, the front table, printed before the figures are drawn) and until it
has exited (everything it does: the storage read, the figures and the report written, and the
interpreter's exit). pareto and report are timed twice: with the front figures current (a second
call; they are not drawn again) and, "(figures drawn)", with the study's trials.csv touched before
each run, as right after a search.

    python benchmarks/startup.py [--runs 5] [--against REF] [--study STUDY.yaml]

The study is --study (a finished search study), or else TINY: small-cnn on synthetic data, 4
trials of 2 steps, searched once here (untimed, about 15 s on 2 cores) into a temporary folder with
its own cache. --against REF also times the tree of git commit REF (unpacked with `git archive`
into a temporary folder, the repository itself untouched) and prints both trees' times side by side.
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


# pareto and report draw the front figures only when trials.csv is newer than them (a trial
# finished since): timed both ways, the second as right after a search
REDRAWN = "(figures drawn)"


def commands(tree: Path, study: str) -> list[tuple[str, ...]]:
    """`--help`, each verb's --help, EXTRA, and the verbs that read the results of `study` (a
    finished search study), with their figures current and to be drawn again."""
    reading = [(verb, study) for verb in ("pareto", "report")]
    return [(), *((verb,) for verb in verb_names(tree)), *EXTRA, *reading,
            *((*command, REDRAWN) for command in reading)]


def median_seconds(tree: Path, command: tuple[str, ...], runs: int) -> tuple[float, float]:
    """Median wall times (seconds) of `python -m explorer COMMAND` in `tree` (`--help` added to a
    bare verb or to nothing): until its first line on stdout (its exit if it prints none), and
    until it has exited. A command ending in REDRAWN runs with its study's trials.csv touched
    first, so that its figures are out of date."""
    redraw = command[-1:] == (REDRAWN,)
    command = command[:-1] if redraw else command
    argv = [sys.executable, "-m", "explorer", *command]
    if len(command) <= 1:
        argv.append("--help")
    first, whole = [], []
    for _ in range(runs):
        if redraw:
            (study_output(command[1]) / "trials.csv").touch()
        start = time.perf_counter()
        with subprocess.Popen(argv, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as done:
            done.stdout.readline()
            first.append(time.perf_counter() - start)
            done.stdout.read()  # the rest, so that the command never waits on a full pipe
        whole.append(time.perf_counter() - start)
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, argv)
    return statistics.median(first), statistics.median(whole)


def study_output(study: str) -> Path:
    """The results folder of search study file `study`."""
    from explorer.studies.search import read_search

    return read_search(study).output


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
    return " ".join(c if c == REDRAWN else Path(c).name for c in command) if len(command) > 1 \
        else f"{command[0]} --help"


def _cells(times: tuple[float, float] | None) -> str:
    """(first line, whole) in two columns; None: a verb the tree does not have."""
    return "".join(f"{t:>16.2f}" for t in times) if times else f"{'-':>16}" * 2


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
        columns = ["now"] + ([args.against] if old else [])
        width = max(len(label(command)) for command in rows) + 2
        header = f"{'command':<{width}}" + "".join(f"{f'{c} first':>16}{f'{c} whole':>16}" for c in columns)
        print(f"median of {args.runs} runs, {sys.executable}; seconds to the first output line and to the "
              f"exit\n{header}")
        for command in rows:
            line = f"{label(command):<{width}}" + _cells(median_seconds(ROOT, command, args.runs))
            if old:
                there = not command or command[0] == "hw" or command[0] in old_verbs
                line += _cells(median_seconds(old, command, args.runs) if there else None)
            print(line, flush=True)


if __name__ == "__main__":
    main()
