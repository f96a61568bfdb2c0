"""provenance.json beside every result: command, commit, date, machine, seed, wall time, versions."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from splitbase import DataError
from splitbase.files import write_atomic, write_text

PACKAGES = ("numpy", "scipy", "pandas", "torch", "optuna", "fvcore", "matplotlib", "PyYAML",
            "Pillow", "tqdm")


def git_commit(root: Path | None = None) -> str:
    """The checkout's commit, with '+dirty' when tracked files outside results/ differ from it.

    SPLIT_EXPLORER_COMMIT, when set, is taken as it is: a copy of the checkout whose .git is not
    the source's (the GPU machine's copy of the working tree) would report a wrong commit.
    """
    if os.environ.get("SPLIT_EXPLORER_COMMIT"):
        return os.environ["SPLIT_EXPLORER_COMMIT"]
    root = root or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        # results/ is what runs write, their own output among it: only the code makes a tree dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
                               cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"host": platform.node(), "platform": platform.platform(),
                            "python": sys.version.split()[0], "cpu_count": os.cpu_count()}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_count"] = torch.cuda.device_count()
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


class Provenance:
    """Start it before the work, `write(folder)` after: records the wall time in between."""

    PROGRAMS = {"__main__.py": "python -m explorer", "split-explorer": "split-explorer"}

    def __init__(self, *, command: str | None = None, seed: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        program = Path(sys.argv[0]).name
        self.command = command or " ".join([self.PROGRAMS.get(program, program), *sys.argv[1:]])
        self.seed = seed
        self.extra = dict(extra or {})
        self.started = time.time()

    def record(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "commit": git_commit(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "seed": self.seed,
            "wall_time_s": round(time.time() - self.started, 3),
            "versions": versions(),
            **self.extra,
        }

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return write_text(folder / "provenance.json", json.dumps(self.record(), indent=2) + "\n")


CALL_FIELDS = ("command", "commit", "date", "machine", "wall_time_s")


def earlier_calls(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The provenance.json of a run made over several calls, as (the document, its `calls`);
    ({}, []) when there is none yet. DataError when it cannot be read."""
    if not path.exists():
        return {}, []
    try:
        document = json.loads(path.read_text())
        return document, list(document.get("calls", []))
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: unreadable provenance ({exc})") from None


def write_calls(path: Path, provenance: Provenance, before: list[dict[str, Any]], *, this_call: dict[str, Any],
                fields: dict[str, Any]) -> Path:
    """provenance.json of a run made over several calls: this call's record and `fields`, then
    `calls` (the earlier ones and this one, with `this_call`'s counts), `wall_time_s` summed over
    them and `machines`, each machine once. Written atomically."""
    record = provenance.record()
    calls = [*before, {**{name: record[name] for name in CALL_FIELDS}, **this_call}]
    machines = []
    for call in calls:
        if call["machine"] not in machines:
            machines.append(call["machine"])
    document = {**record, **fields, "wall_time_s": round(sum(c["wall_time_s"] for c in calls), 3),
                "calls": calls, "machines": machines}
    return write_atomic(path, lambda f: f.write((json.dumps(document, indent=2, default=str) + "\n").encode()))
