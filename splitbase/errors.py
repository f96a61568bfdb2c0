"""One exception root for the whole project.

Library code raises these; only the CLI turns them into one line `error: ...` and exit 2.
A message names the field, argument or path that is wrong and what was expected.
"""
from __future__ import annotations


class SplitExplorerError(Exception):
    """Root of every error split-explorer raises on purpose (bad input, bad data, bad model)."""


class StudyError(SplitExplorerError):
    """A study file or a CLI argument is invalid (unknown key, out-of-range value...)."""


class ModelError(SplitExplorerError):
    """A model name, input shape, split point or method does not fit the model."""


class UnsupportedOpError(ModelError):
    """The profiler met operators it has no handler for; the message lists them."""


class HardwareModelError(SplitExplorerError):
    """A hardware preset or parameter is unknown or invalid."""


class DataError(SplitExplorerError):
    """A data set is missing or corrupt; the message names the path and what was expected."""
