"""A search study's whole grid in one fixed order, the subset retrained at the long budget, and that budget.

The grid is the search's own (explorer.search.space.search_grid): every combination of
space.split x space.sparsity x space.compression_ratio x space.method x space.channel, in that
order (the last varying fastest; splits in depth order, sparsities and ratios ascending). A
point's params are a search trial's user-facing choice (the channel by its index in the space),
so its key is the search's `candidate_key` and a table row joins a search trial on it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from explorer.search.space import search_grid
from explorer.studies.search import ResolvedSearch
from netmodels.training.config import TrainConfig


@dataclass(frozen=True)
class GridPoint:
    """One candidate of the grid: the search's sampled params, their key, the split's unit name
    and index (k: units 0..k run on the device) and the channel's kind."""

    params: dict[str, Any]
    key: str
    split_name: str
    split_index: int
    channel_kind: str


def grid_points(resolved: ResolvedSearch) -> list[GridPoint]:
    """Every candidate of the study's space, in the module docstring's order."""
    grid = search_grid(resolved)
    names = resolved.profile.names  # 'input' first: split k is names[k + 1]
    points = []
    for row, key in enumerate(grid.keys):
        params = grid.choice(row)
        k = resolved.split_index(params["split"])
        points.append(GridPoint(params, key, names[k + 1], k, resolved.channels[params["channel"]].kind))
    return points


def long_order(keys: Iterable[str], seed: int) -> list[str]:
    """The grid's keys in a seeded random order, the same for the same grid and seed whatever
    order the keys come in."""
    ordered = sorted(keys)
    return [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]


def long_subset(keys: Sequence[str], trained: set[str], count: int, seed: int) -> list[str]:
    """The keys retrained at the long budget: the first `count` trained ones in `long_order`.
    A larger count keeps the smaller count's subset."""
    return [key for key in long_order(keys, seed) if key in trained][:count]


def long_config(config: TrainConfig, factor: int) -> TrainConfig:
    """`config` with its budget (epochs or steps) times `factor`."""
    if config.steps is not None:
        return dataclasses.replace(config, steps=config.steps * factor)
    return dataclasses.replace(config, epochs=config.epochs * factor)


def budget(config: TrainConfig) -> dict[str, float | int | None]:
    """A config's budget as provenance records it: epochs, steps (one of them None), batch size."""
    return {"epochs": config.epochs, "steps": config.steps, "batch_size": config.batch_size}
