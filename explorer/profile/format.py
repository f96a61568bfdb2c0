"""Printing a SplitProfile: an aligned table for people, CSV and JSON for programs."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the table module imports torch: `split-explorer profile --help` reads FORMATS only
    from explorer.profile.table import SplitProfile

FORMATS = ("table", "csv", "json")


def format_profile(profile: SplitProfile, fmt: str) -> str:
    if fmt == "json":
        return "[\n" + ",\n".join(json.dumps(row) for row in profile.rows()) + "\n]"
    if fmt == "csv":
        frame = profile.to_frame()
        frame["feature_shape"] = ["x".join(map(str, s)) for s in profile.feature_shapes]
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "table":
        return _table(profile)
    raise ValueError(f"unknown format {fmt!r}")


def _number(value) -> str:
    if isinstance(value, list):
        return "x".join(map(str, value))
    if isinstance(value, str):
        return value
    if isinstance(value, int) and abs(value) < 100_000:
        return str(value)
    return f"{value:.3e}"


def _table(profile: SplitProfile) -> str:
    bits = profile.bits
    title = (f"{profile.model}  input {'x'.join(map(str, profile.input_shape))}  "
             f"weights {bits.weight} bit  activations {bits.feature_bits} bit  "
             f"input image {bits.input_bits} bit  total {profile.total_macs:.3e} MACs")
    fields = profile.fields
    cells = [list(fields)] + [[_number(row[f]) for f in fields] for row in profile.rows()]
    widths = [max(len(row[i]) for row in cells) for i in range(len(fields))]
    lines = ["  ".join(c.rjust(w) if fields[i] not in ("name", "sent_tensors") else c.ljust(w)
                       for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    return "\n".join([title, *lines])
