"""Where split-explorer keeps what it can recompute: the cache folder.

Trained base models (`<cache>/baselines/`) and trained search candidates (`<cache>/trials/`)
live in one folder that does not depend on the current directory:

1. `--cache-dir DIR` on the command line (`cache_dir(DIR)`), else
2. the environment variable SPLIT_EXPLORER_CACHE, else
3. `$XDG_CACHE_HOME/split-explorer`, else `~/.cache/split-explorer`.

Results a user keeps go to `results/<study>/` instead (explorer.studies.common.output_folder).
"""
from __future__ import annotations

import os
from pathlib import Path

from splitbase.files import check_folder

ENVIRONMENT = "SPLIT_EXPLORER_CACHE"


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache folder (module docstring), absolute; created by whoever writes into it.
    StudyError naming where it came from if it (or its nearest existing parent) is a file."""
    if override is not None:
        return check_folder(Path(override).expanduser().resolve(), "--cache-dir")
    if os.environ.get(ENVIRONMENT):
        return check_folder(Path(os.environ[ENVIRONMENT]).expanduser().resolve(), ENVIRONMENT)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return check_folder((Path(base) / "split-explorer").expanduser().resolve(), "the cache folder")
