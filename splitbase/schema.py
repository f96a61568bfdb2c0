"""Plain data (YAML, JSON, keyword options) into dataclasses: unknown keys, wrong types and values
out of range are errors naming the field.

`parse(cls, data, path, error=StudyError)` walks a dataclass's type hints. It understands nested
dataclasses, int/float/bool/str, Literal, Optional, unions, dict[str, X] (or Mapping), list of X,
tuple[X, ...] and fixed tuples, Any, and `Annotated[X, Bounds(...)]` for numeric limits. A list of
numbers may also be written as a scalar (one value) or as a range mapping `{start, stop, step}`
(arithmetic, stop included) or `{start, stop, factor}` (geometric). After a dataclass is built its
`check(path)` method runs, if it has one, for rules across fields.

The one mechanism for every family's settings: study files (explorer.studies), method options
(netmodels.methods), channel settings (netmodels.channels). `error` is the exception class raised,
so each caller reports in its own kind (a study field is a StudyError, a method option a ModelError).
"""
from __future__ import annotations

import collections.abc
import dataclasses
import math
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from splitbase.errors import SplitExplorerError, StudyError

_RANGE_KEYS = ({"start", "stop", "step"}, {"start", "stop", "factor"})
_MAX_RANGE = 100_000


@dataclass(frozen=True)
class Bounds:
    """Numeric limits of a field, written `Annotated[float, Bounds(low=0, low_open=True)]`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def admits(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def __str__(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open or self.low is None else '['}{low}, {high}" \
               f"{')' if self.high_open or self.high is None else ']'}"


Positive = Annotated[float, Bounds(low=0.0, low_open=True)]
PositiveInt = Annotated[int, Bounds(low=1)]
Fraction = Annotated[float, Bounds(low=0.0, high=1.0)]
Sparsity = Annotated[float, Bounds(low=0.0, high=1.0, high_open=True)]


def parse(cls: type, data: Any, path: str, *, error: type[SplitExplorerError] = StudyError) -> Any:
    """Build `cls` from plain data; errors (of class `error`) name the dotted field `path`."""
    return _Parser(error).parse(cls, data, path)


def check_bounds(obj: Any, *, error: type[SplitExplorerError] = StudyError) -> None:
    """The Bounds of a dataclass instance's Annotated fields, checked where a value is given (for
    `__post_init__`, so an instance made in code obeys the limits a parsed one does)."""
    hints = get_type_hints(type(obj), include_extras=True)
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        for bounds in _bounds_of(hints[f.name]):
            if value is not None and not bounds.admits(value):
                raise error(f"{f.name} must be in {bounds}, got {value!r}")


def _bounds_of(hint: Any) -> list[Bounds]:
    """The Bounds annotating `hint`, also inside an Optional."""
    if get_origin(hint) in (Union, types.UnionType):
        return [b for option in get_args(hint) for b in _bounds_of(option)]
    if get_origin(hint) is Annotated:
        return [e for e in get_args(hint)[1:] if isinstance(e, Bounds)]
    return []


class _Parser:
    def __init__(self, error: type[SplitExplorerError]) -> None:
        self.error = error

    def fail(self, path: str, message: str) -> SplitExplorerError:
        return self.error(f"{path}: {message}" if path else message)

    def parse(self, hint: Any, value: Any, path: str, *, may_be_empty: bool = False) -> Any:
        origin = get_origin(hint)
        if origin is Annotated:
            inner, *extras = get_args(hint)
            parsed = self.parse(inner, value, path, may_be_empty=may_be_empty)
            for bounds in (e for e in extras if isinstance(e, Bounds)):
                if not bounds.admits(parsed):
                    raise self.fail(path, f"must be in {bounds}, got {parsed!r}")
            return parsed
        if dataclasses.is_dataclass(hint):
            return self._dataclass(hint, value, path)
        if origin is Literal:
            choices = get_args(hint)
            if value not in choices or isinstance(value, bool) != any(isinstance(c, bool) for c in choices):
                raise self.fail(path, f"expected one of {', '.join(map(str, choices))}, got {value!r}")
            return value
        if origin in (Union, types.UnionType):
            return self._union(hint, value, path)
        if origin is list or (origin is tuple and get_args(hint)[-1:] == (Ellipsis,)):
            values = self._as_list(value, get_args(hint)[0], path, may_be_empty)
            parsed = [self.parse(get_args(hint)[0], v, f"{path}[{i}]") for i, v in enumerate(values)]
            return tuple(parsed) if origin is tuple else parsed
        if origin is tuple:
            return self._fixed_tuple(get_args(hint), value, path)
        if origin in (dict, collections.abc.Mapping):
            key_hint, item = get_args(hint)
            if not isinstance(value, dict):
                raise self.fail(path, f"expected a mapping, got {value!r}")
            return {self.parse(key_hint, k, path): self.parse(item, v, _join(path, str(k))) for k, v in value.items()}
        if hint is Any:
            return value
        return self._scalar(hint, value, path)

    def _union(self, hint: Any, value: Any, path: str) -> Any:
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = {}
        for option in options:
            if option is type(None):
                continue
            try:
                return self.parse(option, value, path)
            except self.error as exc:
                errors[option] = str(exc)
        # a mapping was meant as the structured form: its error is the one that explains
        structured = [e for o, e in errors.items() if dataclasses.is_dataclass(o) or get_origin(o) is dict]
        if isinstance(value, dict) and structured:
            raise self.error(structured[0])
        if len(errors) == 1:
            raise self.error(next(iter(errors.values())))
        raise self.fail(path, f"{value!r} is none of the accepted forms")

    def _fixed_tuple(self, items: tuple, value: Any, path: str) -> tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(items):
            raise self.fail(path, f"expected a list of {len(items)} values, got {value!r}")
        return tuple(self.parse(h, v, f"{path}[{i}]") for i, (h, v) in enumerate(zip(items, value)))

    def _scalar(self, hint: type, value: Any, path: str) -> Any:
        if hint is bool:
            if isinstance(value, bool):
                return value
            raise self.fail(path, f"expected true or false, got {value!r}")
        if hint is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise self.fail(path, f"expected an integer, got {value!r}")
        if hint is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
            raise self.fail(path, f"expected a number, got {value!r}")
        if hint is str:
            if isinstance(value, str) and value:
                return value
            raise self.fail(path, f"expected a non-empty string, got {value!r}")
        raise TypeError(f"schema cannot parse {hint!r}")  # a programming error, not user input

    def _as_list(self, value: Any, item: Any, path: str, may_be_empty: bool) -> list:
        if isinstance(value, (list, tuple)):
            if not value and not may_be_empty:
                raise self.fail(path, "is empty")
            return list(value)
        base = get_args(item)[0] if get_origin(item) is Annotated else item
        if isinstance(value, dict) and base in (int, float):
            if set(value) not in _RANGE_KEYS:
                raise self.fail(path, f"a range needs keys start, stop and step (or factor), "
                                      f"got {', '.join(map(str, value))}")
            return self._range(value, path)
        return [value]  # one item written without a list

    def _range(self, spec: dict, path: str) -> list[float]:
        for key, number in spec.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise self.fail(_join(path, key), f"expected a number, got {number!r}")
        start, stop = spec["start"], spec["stop"]
        if stop < start:
            raise self.fail(path, f"stop {stop} is below start {start}")
        if "step" in spec:
            if spec["step"] <= 0:
                raise self.fail(_join(path, "step"), f"must be positive, got {spec['step']}")
            count = math.floor((stop - start) / spec["step"] + 1e-9) + 1
            value = lambda i: start + spec["step"] * i  # noqa: E731
        else:
            if spec["factor"] <= 1 or start <= 0:
                raise self.fail(path, "a geometric range needs start > 0 and factor > 1")
            count = math.floor(math.log(stop / start) / math.log(spec["factor"]) + 1e-9) + 1
            value = lambda i: start * spec["factor"] ** i  # noqa: E731
        if count > _MAX_RANGE:
            raise self.fail(path, f"range has more than {_MAX_RANGE} values")
        ints = all(isinstance(spec[k], int) for k in spec)
        return [int(round(value(i))) if ints else round(float(value(i)), 12) for i in range(count)]

    def _dataclass(self, cls: type, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {value!r}")
        hints = get_type_hints(cls, include_extras=True)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = [k for k in value if k not in fields]
        if unknown:
            raise self.fail(_join(path, str(unknown[0])), f"unknown key (known: {', '.join(fields) or 'none'})")
        kwargs = {}
        for name, field in fields.items():
            if name in value:
                # a list whose default is empty may be written empty; any other list may not
                empty_default = field.default_factory is not dataclasses.MISSING and \
                    field.default_factory() in ([], {}, ())
                kwargs[name] = self.parse(hints[name], value[name], _join(path, name), may_be_empty=empty_default)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise self.fail(_join(path, name), "missing")
        try:
            obj = cls(**kwargs)
        except self.error as exc:  # the class's own invariant: say where it was written
            raise self.fail(path, str(exc)) from None
        check = getattr(obj, "check", None)
        if callable(check):
            check(path)
        return obj


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


__all__ = ["Bounds", "Fraction", "Positive", "PositiveInt", "Sparsity", "check_bounds", "parse"]
