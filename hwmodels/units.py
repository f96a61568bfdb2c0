"""Units a preset may write its numbers in, and their factor to SI.

A preset keeps a number as its source prints it (`640 pJ`, `99 mW`, `12.8 GB/s`) and says the unit;
loading multiplies by the factor here, so every model field holds SI (J, W, s, Hz, bit/s, byte/s,
byte, FLOP/s) and no model ever scales by mega or giga. Each dimension lists the spellings it
accepts; anything else is an unknown unit (never guessed: a bare `1e12` turning J into pJ is the
mistake this table exists to prevent). Decimal prefixes are powers of 10; binary ones (KiB, MiB, GiB)
powers of 2, as JEDEC and the IEC write them.
"""
from __future__ import annotations

_SI = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _prefixed(base: str, prefixes: str) -> dict[str, float]:
    return {f"{p}{base}": _SI[p] for p in ["", *prefixes]}


#: dimension name -> {unit spelling: factor to the SI unit of that dimension}
DIMENSIONS: dict[str, dict[str, float]] = {
    "J": _prefixed("J", "fpnum"),
    "J/bit": {f"{p}J/bit": _SI[p] for p in ["", "f", "p", "n", "u"]},
    "J/byte": {f"{p}J/byte": _SI[p] for p in ["", "f", "p", "n", "u"]},
    "J/pixel": {f"{p}J/pixel": _SI[p] for p in ["", "f", "p", "n", "u"]},
    "W": _prefixed("W", "umk"),
    "Hz": _prefixed("Hz", "kMG"),
    "s": _prefixed("s", "num"),
    "bit/s": {f"{p}bit/s": _SI[p] for p in ["", "k", "M", "G"]},
    "byte/s": {"byte/s": 1.0, "kB/s": 1e3, "MB/s": 1e6, "GB/s": 1e9, "TB/s": 1e12},
    "FLOP/s": {f"{p}FLOP/s": _SI[p] for p in ["", "M", "G", "T"]},
    "byte": {"byte": 1.0, "kB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30},
    "bit": {"bit": 1.0},
    "MAC": {"MAC": 1.0},
    "op/pixel": {"op/pixel": 1.0},
    "pixel/cycle": {"pixel/cycle": 1.0},
    "dB": {"dB": 1.0},
    "1": {"1": 1.0, "%": 0.01},
}

#: the unit an SI value of each dimension is shown in (overrides are given in it)
SI_UNIT: dict[str, str] = {
    dim: next(u for u, f in units.items() if f == 1.0) for dim, units in DIMENSIONS.items()
}


def factor_to_si(unit: str, dimension: str) -> float | None:
    """Factor that turns a value in `unit` into SI for `dimension`; None when the unit does not fit."""
    return DIMENSIONS[dimension].get(unit)


def dimension_of(unit: str) -> str | None:
    """The dimension a unit spelling belongs to, or None for an unknown unit."""
    for dim, units in DIMENSIONS.items():
        if unit in units:
            return dim
    return None


def known_units() -> list[str]:
    return sorted(u for units in DIMENSIONS.values() for u in units)
