"""The search's finite grid: every candidate of the space, as ordered numeric positions, priced
analytically before sampling, with the points no trial may train taken out (and why).

Split point, sparsity and compression ratio are sampled as positions in their sorted lists
(`split_pos`: depth order; `sparsity_pos`: ascending sparsity; `ratio_pos`: ascending ratio, so
one step is one step of log2 ratio on the usual power-of-two grids), so that samplers which
model distances (TPE, GP) can use them; method and channel stay categorical. A trial's
user-facing choice {split, sparsity, compression_ratio, method, channel} is what
`candidate_key` hashes (the join key of trials and tabular benchmark rows).

The pre-filter sizes every point's encoder as its method would build it (netmodels.candidate.size:
the FC or conv geometry, or a generic learned encoder at the point's ratio and channel bits for
a method that does not size one), drops the points the method cannot build, prices the rest
with the analytic cost model (explorer.cost.price_points; the encoder's weights count in the
device's memory) and drops the points that break an analytic constraint
(explorer.search.feasibility); a trial still prices its candidate as built before training,
and prunes it if the built candidate breaks one.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from explorer.cost.codecs import CodecChoice
from explorer.cost.points import DesignPoints
from explorer.cost.price import price_points
from explorer.search.feasibility import analytic_violation
from explorer.studies.search import ResolvedSearch, candidate_spec, space_choices
from netmodels.candidate.size import size_encoder
from netmodels.zoo import UnitModel, build_model
from splitbase import ModelError


NAMES = ("split", "sparsity", "compression_ratio", "method", "channel")
# the Optuna parameter of each user-facing one: positions for the ordered ones
PARAMS = {"split": "split_pos", "sparsity": "sparsity_pos", "compression_ratio": "ratio_pos",
          "method": "method", "channel": "channel"}
ORDERED = ("split", "sparsity", "compression_ratio")


def candidate_key(choice: dict[str, Any]) -> str:
    """The 16-hex-digit hash of a user-facing choice {split, sparsity, compression_ratio, method,
    channel (its index in the space)}: one key per distinct candidate."""
    return hashlib.sha1(json.dumps(choice, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SearchGrid:
    """Every point of a study's space. values: name -> the sorted choices; positions: (N, 5)
    int array, a point's position in each list (NAMES order); keys: each point's candidate key;
    reasons: why a point is out of the space ("" when allowed)."""

    values: dict[str, list]
    positions: np.ndarray
    keys: tuple[str, ...]
    reasons: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def allowed(self) -> np.ndarray:
        return np.array([not r for r in self.reasons], dtype=bool)

    def excluded(self) -> Counter:
        """How many points each kind of reason took out (not buildable, memory, latency, energy,
        throughput)."""
        return Counter(_reason_kind(r) for r in self.reasons if r)

    def choice(self, row: int) -> dict[str, Any]:
        """The user-facing choice of point `row`."""
        return {name: self.values[name][int(p)] for name, p in zip(NAMES, self.positions[row])}

    def params(self, row: int) -> dict[str, Any]:
        """The Optuna parameters of point `row`."""
        return {PARAMS[name]: (int(p) if name in ORDERED else self.values[name][int(p)])
                for name, p in zip(NAMES, self.positions[row])}

    def row(self, params: dict[str, Any]) -> int:
        """The point of a trial's Optuna parameters."""
        position = [int(params[PARAMS[n]]) if n in ORDERED else self.values[n].index(params[PARAMS[n]]) for n in NAMES]
        return int(np.flatnonzero((self.positions == position).all(axis=1))[0])

    def suggest(self, trial: optuna.Trial) -> int:
        """Suggest every parameter on `trial` (the sampler has chosen them); the point's row."""
        params = {PARAMS[n]: trial.suggest_int(PARAMS[n], 0, len(self.values[n]) - 1) if n in ORDERED
                  else trial.suggest_categorical(PARAMS[n], self.values[n]) for n in NAMES}
        return self.row(params)

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {PARAMS[name]: (optuna.distributions.IntDistribution(0, len(self.values[name]) - 1)
                               if name in ORDERED else optuna.distributions.CategoricalDistribution(self.values[name]))
                for name in NAMES}

    def grid_choices(self) -> dict[str, list]:
        """The Optuna parameters' values, as GridSampler takes them."""
        return {PARAMS[n]: list(range(len(self.values[n]))) if n in ORDERED else list(self.values[n]) for n in NAMES}

    def nearest(self, row: int, taken: set[str], rng: np.random.Generator) -> int | None:
        """The allowed point not in `taken` nearest to `row` (L1 over positions, a categorical
        mismatch counting one step), ties broken by `rng`; None when every allowed point is taken."""
        free = np.flatnonzero(self.allowed & np.array([k not in taken for k in self.keys]))
        if not len(free):
            return None
        diff = np.abs(self.positions[free] - self.positions[row])
        ordered = np.array([n in ORDERED for n in NAMES])
        distance = diff[:, ordered].sum(axis=1) + (diff[:, ~ordered] > 0).sum(axis=1)
        best = free[distance == distance.min()]
        return int(best[0] if len(best) == 1 else rng.choice(best))


NOT_BUILDABLE = "not buildable"


def _reason_kind(reason: str) -> str:
    """A reason's kind: "not buildable", the broken limit (latency, energy, throughput) or "memory"."""
    if reason.startswith(NOT_BUILDABLE):
        return NOT_BUILDABLE
    first = reason.split()[0]
    return first if first in ("latency", "energy", "throughput") else "memory"


def _codec(resolved: ResolvedSearch, model: UnitModel, choice: dict[str, Any]) -> tuple[CodecChoice, str]:
    """The analytic model's encoder at a point, and why its method cannot build it ("" when it
    can). A method that sizes its encoder (netmodels.candidate.size) is priced as sized; any
    other is a generic learned encoder at the ratio, sending the channel's bits per value (real
    values on an analog channel)."""
    if choice["method"] == "none":
        return CodecChoice("none"), ""
    channel = resolved.channels[choice["channel"]]
    analog = channel.channel_class.unit == "real"
    k = resolved.split_index(choice["split"])
    try:
        size = size_encoder(candidate_spec(resolved, choice), model, resolved.profile.feature_shapes[k + 1])
    except ModelError as exc:
        size, reason = None, f"{NOT_BUILDABLE}: {exc}"
    else:
        reason = ""
    bits = None if analog else size.bits_per_element if size else getattr(channel, "bits", 32)
    return CodecChoice("learned", ratio=float(choice["compression_ratio"]), bits=bits, size=size), reason


def search_grid(resolved: ResolvedSearch) -> SearchGrid:
    """The study's grid, every point priced analytically (milliseconds) and checked against the
    analytic constraints; the points its method cannot build or that break a constraint are
    kept with their reason."""
    values = space_choices(resolved)
    values.update(split=sorted(values["split"], key=resolved.split_index), sparsity=sorted(values["sparsity"]),
                  compression_ratio=sorted(values["compression_ratio"]))
    positions = np.array(list(itertools.product(*(range(len(values[n])) for n in NAMES))), dtype=np.int64)
    choices = [{n: values[n][p] for n, p in zip(NAMES, row)} for row in positions]
    # the model's structure only (split names, where methods apply), as the profile was built
    model = build_model(resolved.study.model)
    codecs = [_codec(resolved, model, c) for c in choices]
    distinct = {codec: i for i, codec in enumerate(dict.fromkeys(codec for codec, _ in codecs))}
    points = DesignPoints(split=np.array([resolved.split_index(c["split"]) for c in choices], dtype=np.int64),
                          sparsity=np.array([float(c["sparsity"]) for c in choices]),
                          codec=np.array([distinct[codec] for codec, _ in codecs], dtype=np.int64),
                          codecs=tuple(distinct))
    priced = price_points(resolved.profile, points, resolved.hardware)
    limits = resolved.study.constraints
    reasons = tuple(unbuildable or analytic_violation({name: priced[name][i] for name in priced}, limits)
                    for i, (_, unbuildable) in enumerate(codecs))
    return SearchGrid(values, positions, tuple(candidate_key(c) for c in choices), reasons)
