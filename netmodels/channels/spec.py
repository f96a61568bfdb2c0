"""A channel layer as data: its registry kind and its settings, checked against the channel itself.

    ChannelSpec("bec", p=0.01, bits=8, train_range=(0.0, 0.05))
    ChannelSpec.from_mapping({"kind": "awgn", "psnr_db": 15})      # a study file's form

A channel's settings and their defaults are its constructor's keyword parameters
(netmodels.channels.base): the spec reads them from the signature, fills the defaults, and
builds the layer once to check the values, so no list of kinds or fields is kept here.
"""
from __future__ import annotations

import inspect
from typing import Any, Mapping

from netmodels.channels.base import Channel
from netmodels.channels.registry import CHANNELS
from splitbase import ModelError


def channel_settings(cls: type[Channel]) -> dict[str, Any]:
    """The settings a channel class takes, with their defaults (its constructor's parameters)."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return {p.name: p.default for p in parameters}


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class ChannelSpec:
    """A channel: `kind` (a CHANNELS name) and its settings, defaults filled in (immutable,
    hashable, equal when they build the same layer). A setting reads as an attribute
    (`spec.psnr_db`); `state` is the value of the channel's state setting (0 for the ideal one).
    """

    __slots__ = ("kind", "settings")

    def __init__(self, kind: str = "none", **settings: Any) -> None:
        cls = CHANNELS.get(kind)
        known = channel_settings(cls)
        given = {name: _plain(value) for name, value in settings.items() if value is not None}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ModelError(f"channel {kind!r} takes no {', '.join(unknown)} "
                             f"(settings: {', '.join(known) or 'none'})")
        resolved = {**known, **given}
        try:
            cls(**resolved)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"channel {kind!r}: {exc}") from None
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "settings", tuple(resolved.items()))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "ChannelSpec":
        """From a study file's or a record's mapping {kind, setting: value...}; null means the default."""
        values = dict(mapping)
        return cls(values.pop("kind", "none"), **values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ChannelSpec is immutable")

    def __reduce__(self):
        """Copied and pickled through its record (it is immutable, so no state is set after)."""
        return (ChannelSpec.from_mapping, (self.record(),))

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "settings"):
            if key == name:
                return value
        raise AttributeError(f"channel {self.kind!r} has no setting {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChannelSpec) and (self.kind, self.settings) == (other.kind, other.settings)

    def __hash__(self) -> int:
        return hash((self.kind, self.settings))

    def __repr__(self) -> str:
        return f"ChannelSpec({self.kind!r}{''.join(f', {k}={v!r}' for k, v in self.settings)})"

    @property
    def channel_class(self) -> type[Channel]:
        return CHANNELS.get(self.kind)

    @property
    def state(self) -> float:
        name = self.channel_class.state_setting
        return 0.0 if name is None else float(getattr(self, name))

    def build(self) -> Channel:
        """A fresh channel layer."""
        return self.channel_class(**dict(self.settings))

    def record(self) -> dict[str, Any]:
        """JSON-ready {kind, settings...} (tuples as lists), read back by `from_mapping`."""
        return {"kind": self.kind, **{k: list(v) if isinstance(v, tuple) else v for k, v in self.settings}}
