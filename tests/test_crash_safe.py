"""Crash-safe files: a writer killed at any moment leaves the previous version of every file it
was writing (CSVs, figures, reports, cached weights), never a torn one, and a later step reads only
finished files (a `.tmp` left by the killed writer is overwritten by the next write, never read).

Each writer runs in a subprocess that rewrites its files through the project's writers in a loop;
after its first full round it reports how long a round takes, and the test kills it (SIGKILL) at a
random moment after that.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from explorer.cli import main
from netmodels.candidate.store import load_candidate
from splitbase.files import write_atomic, write_text
from tests.explorer.search.search_cases import python_path
from tests.test_bad_input import SWEEP

ROWS = 20_000  # a CSV of ~1.5 MB: its write takes many system calls

WRITERS = r'''
import sys, time
from pathlib import Path

what, target = sys.argv[1], Path(sys.argv[2])
if what == "sweep":
    from explorer.analysis.provenance import Provenance
    from explorer.studies.sweep import resolve_sweep
    from explorer.sweep.results import write_results
    from explorer.sweep.run import run_sweep

    resolved = resolve_sweep(sys.argv[3], output=target)
    sweep = run_sweep(resolved)
    write = lambda version: write_results(resolved, sweep, Provenance())
elif what == "csv":
    from splitbase.files import write_text

    write = lambda version: write_text(target, "".join(f"{version},{i},{'x' * 60}\n" for i in range(ROWS)))
else:
    import torch
    from netmodels.candidate import CandidateSpec, build_candidate
    from netmodels.candidate.store import save_candidate

    candidate = build_candidate(CandidateSpec("resnet18-cifar", "synthetic", "layer2.0", compression_ratio=4,
                                              method="bottlenetpp"), input_shape=(3, 32, 32), num_classes=10)

    def write(version):
        with torch.no_grad():
            for tensor in candidate.module.state_dict().values():
                tensor.fill_(version)
        save_candidate(target, candidate)
start = time.perf_counter()
write(0)
print(time.perf_counter() - start, flush=True)
version = 1
while True:
    write(version)
    version += 1
'''.replace("ROWS", str(ROWS))


def start(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": python_path()}
    return subprocess.Popen([sys.executable, "-c", WRITERS, *map(str, argv)], stdout=subprocess.PIPE, text=True,
                            env=env)


def kill_mid_round(writers: list[subprocess.Popen], seed: int) -> None:
    """SIGKILL each writer at a random moment after its first round (within a round's length)."""
    rng = random.Random(seed)
    for writer in writers:
        line = writer.stdout.readline()
        assert line, "the writer died before its first round"
        time.sleep(rng.uniform(0.0, float(line)))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
        assert writer.returncode == -signal.SIGKILL, "the writer ended before it was killed"


def without_run_lines(report: bytes) -> list[bytes]:
    """REPORT.md without its lines from provenance.json (machine, wall time, date)."""
    return [line for line in report.splitlines() if not line.startswith((b"- Machine", b"- Wall time"))]


def test_killed_writers_leave_the_previous_version_of_every_file(tmp_path, capsys):
    study = tmp_path / "sweep.yaml"
    study.write_text(yaml.safe_dump(SWEEP))
    out = tmp_path / "sweep"
    assert main(["sweep", str(study), "--output", str(out)]) == 0
    reference = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"profile.csv", "sweep.csv", "REPORT.md", "profile.png", "provenance.json"} <= set(reference)
    seed = random.randrange(1 << 30)
    writers = [start("sweep", out, study), start("csv", tmp_path / "big.csv"),
               start("weights", tmp_path / "candidate.pt")]
    try:
        kill_mid_round(writers, seed)
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    note = f"(kill seed {seed})"

    for name, before in reference.items():
        now = (out / name).read_bytes()
        if name == "REPORT.md":
            assert without_run_lines(now) == without_run_lines(before), note
        elif name == "provenance.json":
            assert json.loads(now)["command"], note
        else:
            assert now == before, f"{name} torn {note}"
    rows = (tmp_path / "big.csv").read_text().splitlines()
    assert len(rows) == ROWS and len({row.split(",")[0] for row in rows}) == 1, note
    weights = {float(t.flatten()[0]) for t in load_candidate(tmp_path / "candidate.pt").module.state_dict().values()
               if t.numel() and t.dtype.is_floating_point}
    assert len(weights) == 1, f"weights of two versions in one file {note}"

    # A later step writes through the same temporary names and leaves none behind.
    capsys.readouterr()
    assert main(["sweep", str(study), "--output", str(out)]) == 0
    assert not list(out.glob("*.tmp")) and (out / "sweep.csv").read_bytes() == reference["sweep.csv"]


def test_a_writer_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text(tmp_path / "a.csv", "old\n")

    def fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, fail)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["a.csv"]
