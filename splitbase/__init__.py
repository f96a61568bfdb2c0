"""The base layer every split-explorer package stands on: the exception root and the registry.

It imports neither torch nor any other package of the project, so `hwmodels` (no torch),
`netmodels` (torch) and `explorer` can all depend on it without breaking the one-way flow
explorer -> netmodels, hwmodels -> splitbase.
"""
from splitbase.errors import (
    DataError,
    HardwareModelError,
    ModelError,
    SplitExplorerError,
    StudyError,
    UnsupportedOpError,
)
from splitbase.registry import Registry

__all__ = [
    "DataError",
    "HardwareModelError",
    "ModelError",
    "Registry",
    "SplitExplorerError",
    "StudyError",
    "UnsupportedOpError",
]
