"""Study files into dataclasses: unknown keys, wrong types and bad values are errors naming the field.

`parse(cls, data, path)` walks a dataclass's type hints. It understands nested dataclasses,
int/float/bool/str, Literal, Optional, unions of scalars, dict[str, X] and list/tuple of X. A list
of numbers may also be written as a scalar (one value) or as a range mapping
`{start, stop, step}` (arithmetic, stop included) or `{start, stop, factor}` (geometric).
After a dataclass is built its `check(path)` method runs, if it has one, for cross-field rules.
"""
from __future__ import annotations

import dataclasses
import types

from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import numpy as np
import yaml

from splitbase import StudyError

_RANGE_KEYS = ({"start", "stop", "step"}, {"start", "stop", "factor"})
_MAX_RANGE = 100_000


def load_yaml(path: str | Path) -> dict:
    """A study file as a mapping; a missing or malformed file is a one-line StudyError."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{path}: no such study file") from None
    except OSError as exc:
        raise StudyError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise StudyError(f"{path}:{where} is not valid YAML") from None
    if not isinstance(data, dict):
        raise StudyError(f"{path}: a study file is a mapping of keys, got {type(data).__name__}")
    return data


def parse(cls: type, data: Any, path: str) -> Any:
    """Build `cls` from plain YAML data; errors name the dotted field `path`."""
    return _parse(cls, data, path)


def _parse(hint: Any, value: Any, path: str, *, may_be_empty: bool = False) -> Any:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _parse_dataclass(hint, value, path)
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            raise StudyError(f"{path}: expected one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = {}
        for option in options:
            if option is type(None):
                continue
            try:
                return _parse(option, value, path)
            except StudyError as exc:
                errors[option] = str(exc)
        # a mapping was meant as the structured form: its error is the one that explains
        structured = [e for o, e in errors.items()
                      if dataclasses.is_dataclass(o) or get_origin(o) is dict]
        if isinstance(value, dict) and structured:
            raise StudyError(structured[0])
        raise StudyError(next(iter(errors.values())) if len(errors) == 1 else
                         f"{path}: {value!r} is none of the accepted forms")
    if origin in (list, tuple):
        item = get_args(hint)[0]
        values = _as_list(value, item, path, may_be_empty)
        parsed = [_parse(item, v, f"{path}[{i}]") for i, v in enumerate(values)]
        return tuple(parsed) if origin is tuple else parsed
    if origin is dict:
        key_hint, item = get_args(hint)
        if not isinstance(value, dict):
            raise StudyError(f"{path}: expected a mapping, got {value!r}")
        return {_parse(key_hint, k, path): _parse(item, v, f"{path}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    return _scalar(hint, value, path)


def _scalar(hint: type, value: Any, path: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise StudyError(f"{path}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise StudyError(f"{path}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            return float(value)
        raise StudyError(f"{path}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str) and value:
            return value
        raise StudyError(f"{path}: expected a non-empty string, got {value!r}")
    raise TypeError(f"schema cannot parse {hint!r}")  # a programming error, not user input


def _as_list(value: Any, item: Any, path: str, may_be_empty: bool) -> list:
    if isinstance(value, (list, tuple)):
        if not value and not may_be_empty:
            raise StudyError(f"{path}: is empty")
        return list(value)
    numeric = item in (int, float)
    if isinstance(value, dict) and numeric:
        if set(value) not in _RANGE_KEYS:
            raise StudyError(f"{path}: a range needs keys start, stop and step (or factor), "
                             f"got {', '.join(map(str, value))}")
        return _range(value, path)
    return [value]  # one item written without a list


def _range(spec: dict, path: str) -> list[float]:
    for key, number in spec.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise StudyError(f"{path}.{key}: expected a number, got {number!r}")
    start, stop = spec["start"], spec["stop"]
    if stop < start:
        raise StudyError(f"{path}: stop {stop} is below start {start}")
    if "step" in spec:
        step = spec["step"]
        if step <= 0:
            raise StudyError(f"{path}.step: must be positive, got {step}")
        count = int(np.floor((stop - start) / step + 1e-9)) + 1
        values = start + step * np.arange(min(count, _MAX_RANGE + 1))
    else:
        factor = spec["factor"]
        if factor <= 1 or start <= 0:
            raise StudyError(f"{path}: a geometric range needs start > 0 and factor > 1")
        count = int(np.floor(np.log(stop / start) / np.log(factor) + 1e-9)) + 1
        values = start * factor ** np.arange(min(count, _MAX_RANGE + 1))
    if len(values) > _MAX_RANGE:
        raise StudyError(f"{path}: range has more than {_MAX_RANGE} values")
    ints = all(isinstance(spec[k], int) for k in spec)
    return [int(round(v)) if ints else float(np.round(v, 12)) for v in values]


def _parse_dataclass(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise StudyError(f"{path}: expected a mapping, got {value!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in value if k not in fields]
    if unknown:
        raise StudyError(f"{_join(path, unknown[0])}: unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, field in fields.items():
        if name in value:
            # a list whose default is empty may be written empty; any other list may not
            empty_default = field.default_factory is not dataclasses.MISSING and \
                field.default_factory() in ([], {})
            kwargs[name] = _parse(hints[name], value[name], _join(path, name),
                                  may_be_empty=empty_default)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise StudyError(f"{_join(path, name)}: missing")
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if callable(check):
        check(path)
    return obj


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


__all__ = ["load_yaml", "parse"]
