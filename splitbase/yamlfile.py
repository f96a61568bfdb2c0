"""Reading the project's YAML files (studies, hardware presets): safe, strict about keys.

`yaml.safe_load` constructs no objects (a `!!python/object` tag is an error), but it keeps the
last of two equal keys silently; a study or preset whose key is written twice is an error here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from splitbase.errors import SplitExplorerError


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that rejects a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, where: str, error: type[SplitExplorerError]) -> Any:
    """The data of YAML `text`; `error` naming `where` (and the line) if it is not valid or
    repeats a key."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        raise error(f"{where}:{line}: not valid YAML" + (f" ({problem})" if problem else "")) from None


def read_yaml(path: str | Path, what: str, error: type[SplitExplorerError]) -> Any:
    """The data of the YAML file at `path` (a `what`: "study file", "preset file"); a missing,
    unreadable or malformed file is one `error` naming it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {what} ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_yaml(text, str(path), error)
