"""Writing files so that a crash leaves the old file or the new one, never a torn one.

A write goes to a temporary file of its own in the target's folder, hidden and named
`.<name>.<host>.<pid>.<random>.tmp`, which is flushed to disk and renamed over the target: two
writers of one file (two search workers saving one checkpoint) never share a temporary, and the
last rename wins whole. A writer killed mid-write leaves its temporary behind; the next write of
the same file on the same host removes those whose writer process has ended.
"""
from __future__ import annotations

import csv
import glob
import io
import os
import secrets
import socket
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Mapping, Sequence

from splitbase.errors import StudyError


def check_folder(path: str | Path, where: str) -> Path:
    """`path` as a folder to write into: it, or the nearest of its parents that exists, must be a
    folder; StudyError naming `where` (the option or field that gave it) otherwise."""
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise StudyError(f"{where}: {existing} is a file, not a folder")
    return path


def _prefix(path: Path) -> str:
    """The start of the names of this host's temporaries of `path` (the writer's pid follows)."""
    return f".{path.name}.{socket.gethostname()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def _clear_dead_temporaries(path: Path) -> None:
    """Remove the temporaries of `path` left by writers of this host that have ended (killed
    mid-write); a live writer's, or another host's, are left alone."""
    prefix = _prefix(path)
    for tmp in path.parent.glob(glob.escape(prefix) + "*.tmp"):
        pid = tmp.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _open_temporary(path: Path) -> tuple[Path, BinaryIO]:
    """A new temporary of `path` in its folder, created exclusively, and its file opened for writing."""
    while True:
        tmp = path.with_name(f"{_prefix(path)}{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb")
        except FileExistsError:
            continue


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call write(f) on a temporary of this call's own beside `path`, flush it to disk, then
    rename it over `path` (its folder made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_dead_temporaries(path)
    tmp, f = _open_temporary(path)
    try:
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a writer that failed leaves the old file and nothing beside it
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """`text` (UTF-8) written to `path` atomically (write_atomic)."""
    return write_atomic(path, lambda f: f.write(text.encode()))


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """`rows` (mappings of column -> value) written to `path` atomically as a CSV of `columns`,
    header first, one line per row ("\\n" line ends)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, text.getvalue())


def update_text(path: str | Path, text: str) -> Path:
    """`text` written to `path` as write_text does, unless the file already holds exactly that
    (left untouched, its modification time too, so files derived from it stay current)."""
    path = Path(path)
    if path.is_file() and path.read_bytes() == text.encode():
        return path
    return write_text(path, text)
