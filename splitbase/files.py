"""Writing files so that a crash leaves the old file or the new one, never a torn one."""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable

from splitbase.errors import StudyError


def check_folder(path: str | Path, where: str) -> Path:
    """`path` as a folder to write into: it, or the nearest of its parents that exists, must be a
    folder; StudyError naming `where` (the option or field that gave it) otherwise."""
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise StudyError(f"{where}: {existing} is a file, not a folder")
    return path


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call write(f) on `<path>.tmp`, flush it to disk, then rename it over `path` (its folder made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)  # a writer that failed leaves the old file and nothing beside it
        raise
    os.replace(tmp, path)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """`text` (UTF-8) written to `path` atomically (write_atomic)."""
    return write_atomic(path, lambda f: f.write(text.encode()))
