"""The one registry used by every family (models, data sets, codecs, channels, methods, hardware
kinds, objectives, samplers)."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from splitbase.errors import SplitExplorerError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> entry table with a `register` decorator.

    A duplicate name is an error at import time; an unknown name's error lists the known ones.
    `error` is the exception class raised for an unknown name, so each family reports in its
    own words (a model name is a `ModelError`, a preset name a `HardwareModelError`).
    """

    def __init__(self, family: str, error: type[SplitExplorerError] = SplitExplorerError) -> None:
        self.family = family
        self._error = error
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator adding an entry under `name`, or under the entry's own `name` attribute
        (a class whose name is a class attribute states it once: `@METHODS.register()`)."""
        def add(entry: T) -> T:
            self.add(getattr(entry, "name") if name is None else name, entry)
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.family} {name!r} is registered twice")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise self._error(f"unknown {self.family} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
