"""A retraining study's claims of its paper computed from candidates.csv: the report's "Beside the
paper" table (the claims' kinds: explorer.studies.train.PaperClaim).

Accuracies are fractions in candidates.csv and points (x 100) here. A claim whose rows are not
all in the CSV yet (a study still running over several device calls) is "not measured yet".
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from explorer.analysis.pareto import non_dominated
from explorer.cost.price import transmit
from explorer.studies.train import PaperClaim, RowFilter
from hwmodels import Link, load_preset


@dataclass(frozen=True)
class ClaimResult:
    """One claim beside ours: `ours` as shown (per split), `agrees` (None: not measured yet),
    `differs` the study's account of how its set-up differs from the paper's for this claim."""

    what: str
    paper: str
    ours: str
    agrees: bool | None
    differs: str = ""


def options_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's options as a dict (candidates.csv holds them as JSON)."""
    return frame["options"].map(lambda text: json.loads(text) if isinstance(text, str) and text else {})


def matching(frame: pd.DataFrame, filters: list[RowFilter]) -> pd.Series:
    """Rows matching any of `filters`."""
    options = options_of(frame)
    hit = pd.Series(False, index=frame.index)
    for f in filters:
        one = pd.Series(True, index=frame.index)
        if f.method is not None:
            one &= frame["method"] == f.method
        if f.split is not None:
            one &= frame["split"].astype(str) == str(f.split)
        if f.sparsity is not None:
            one &= frame["sparsity"].astype(float) == float(f.sparsity)
        if f.channel is not None:
            one &= frame["channel"] == f.channel
        if f.requested_ratio is not None:
            one &= frame["requested_ratio"].astype(float) == float(f.requested_ratio)
        if f.options is not None:
            one &= options.map(lambda o, wanted=dict(f.options): o == wanted)
        if f.with_options:
            one &= options.map(lambda o, wanted=dict(f.with_options): all(k in o and o[k] == v
                                                                          for k, v in wanted.items()))
        hit |= one
    return hit


# Totals of what runs on the device, per frame: the head's and its encoder's.
DEVICE_TOTALS = {"device_macs": ("head_macs", "encoder_macs"), "device_params": ("head_params", "encoder_params")}


def with_device_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the columns of DEVICE_TOTALS (device_macs = head_macs + encoder_macs, MACs;
    device_params = head_params + encoder_params, weights) where both parts are there."""
    totals = {name: frame[head] + frame[encoder] for name, (head, encoder) in DEVICE_TOTALS.items()
              if {head, encoder} <= set(frame.columns)}
    return frame.assign(**totals)


def with_link_time(frame: pd.DataFrame, link: str | Link | None) -> pd.DataFrame:
    """`frame` with link_s: each row's payload airtime (s) on the link (a preset name), priced as a
    candidate's payload is (explorer.cost.price.transmit: coded bits, uncoded bits, or its sent
    values on the analog channel), empty where the link cannot carry it (analog values over a link
    of bits); `frame` itself without a link."""
    if link is None:
        return frame
    preset: Link = load_preset(link) if isinstance(link, str) else link  # a preset name: checked when read
    analog = frame["channel_uses"].to_numpy(dtype=float) > 0
    values = frame["sent_shape"].map(lambda shape: math.prod(int(v) for v in str(shape).split("x")))
    uncoded = frame["uncoded"].to_numpy(dtype=bool) if "uncoded" in frame else np.zeros(len(frame), dtype=bool)
    uncarried = analog & (not preset.carries_analog)
    cost = transmit(preset, bits=frame["payload_bits"].to_numpy(dtype=float),
                    real_values=values.to_numpy(dtype=float), analog=analog & ~uncarried, uncoded=uncoded)
    return frame.assign(link_s=np.where(uncarried, np.nan, cost.time_s))


def _number(value: float) -> str:
    """Two decimals; three significant digits from 1e5 on (FLOPs, bits)."""
    return f"{value:.2f}" if abs(value) < 1e5 else f"{value:.3g}"


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return _number(low) if abs(high - low) < 5e-3 else f"{_number(low)} to {_number(high)}"


def _paper(claim: PaperClaim) -> str:
    return _range(list(claim.bounds))


def _drop(claim: PaperClaim, rows: pd.DataFrame) -> tuple[str, bool]:
    by_split = rows.groupby("split", sort=False)["accuracy_drop_points"].min()
    shown = "; ".join(f"{split}: {drop:.2f}" for split, drop in by_split.items())
    return shown, bool(by_split.min() <= claim.bounds[1] + claim.tolerance)


def _paired(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame,
            value: Callable[[pd.Series, pd.Series], float]) -> dict[str, list[float]]:
    """split -> value(row, partner) for each of its rows and that row's partner in `than`: at the
    same split (any split with `across_splits`) with the same `same_options`, the one whose
    `nearest` column is closest, or the most accurate without `nearest` (rows without a partner
    are left out)."""
    values: dict[str, list[float]] = {}
    than_options, row_options = options_of(than), options_of(rows)
    for index, row in rows.iterrows():
        same = than_options.map(lambda o: all(o.get(k) == row_options[index].get(k) for k in claim.same_options))
        if not claim.across_splits:
            same &= than["split"].astype(str) == str(row["split"])
        partners = than[same]
        if partners.empty:
            continue
        if claim.nearest is not None:
            partner = partners.loc[(partners[claim.nearest] - row[claim.nearest]).abs().idxmin()]
        else:
            partner = partners.loc[partners["accuracy"].idxmax()]
        values.setdefault(str(row["split"]), []).append(value(row, partner))
    return values


def _gap(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame) -> tuple[str, bool | None]:
    gaps = _paired(claim, rows, than, lambda row, partner: 100.0 * (row["accuracy"] - partner["accuracy"]))
    if not gaps:
        return "no pair of rows at one split", None
    low, high = claim.accepted
    every = [g for split in gaps.values() for g in split]
    return "; ".join(f"{split}: {_range(values)}" for split, values in gaps.items()), \
        all(low <= g <= high for g in every)


def _best_ratios(claim: PaperClaim, rows: pd.DataFrame) -> pd.Series:
    """split -> the highest compression ratio of `rows` within the claim's max_drop points,
    against raw features of the claim's feature_bits."""
    within = rows[rows["accuracy_drop_points"] <= claim.max_drop]
    return within.groupby("split", sort=False)["compression_ratio"].max() * claim.feature_bits / 32.0


def _ratio(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame) -> tuple[str, bool | None]:
    best = _best_ratios(claim, rows)
    if claim.than:
        base = _best_ratios(claim, than)
        best = (100.0 * (best / base - 1.0)).dropna()
    if best.empty:
        return f"no split with a row within {claim.max_drop:g} points", None
    low, high = claim.accepted
    unit = " %" if claim.than else "x"
    return "; ".join(f"{split}: {value:.1f}{unit}" for split, value in best.items()), \
        bool(((best >= low) & (best <= high)).all())


def _dominance(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame) -> tuple[str, bool | None]:
    """The rows' own front within max_drop, and the share of it no row of `than` within max_drop dominates."""
    ours, theirs = (frame[frame["accuracy_drop_points"] <= claim.max_drop] for frame in (rows, than))
    if ours.empty:
        return f"no row within {claim.max_drop:g} points", None
    front = ours[non_dominated(ours[claim.objectives].to_numpy(dtype=float))]
    # the front's points do not dominate one another: a point is beaten only by a row of `than`
    together = np.concatenate([front[claim.objectives].to_numpy(dtype=float),
                               theirs[claim.objectives].to_numpy(dtype=float)])
    beaten = list(~non_dominated(together)[: len(front)])
    share = 100.0 * (1.0 - sum(beaten) / len(beaten))
    named = ", ".join(str(split) for split, lost in zip(front["split"], beaten) if lost)
    shown = f"{len(beaten) - sum(beaten)} of {len(beaten)} front points not dominated ({share:.0f} %)"
    low, high = claim.accepted
    return shown + (f"; dominated at {named}" if named else ""), bool(low <= share <= high)


def _times(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame) -> tuple[str, bool | None]:
    """How many times each row's partner's `column` is the row's, per split; judged by the
    smallest ("in the worst case") or the largest ("up to") as the claim's `judged` says."""
    factors = _paired(claim, rows, than, lambda row, partner: float(partner[claim.column] / row[claim.column]))
    if not factors:
        return "no pair of rows", None
    low, high = claim.accepted
    every = [f for split in factors.values() for f in split]
    judged = min(every) if claim.judged == "smallest" else max(every)
    shown = "; ".join(f"{split}: {_range(values)}x" for split, values in factors.items())
    return f"{shown} ({claim.judged} {judged:.2f}x)", bool(low <= judged <= high)


def _below(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame) -> tuple[str, bool | None]:
    """The percentage of rows whose `column` is below their partner's (001: features smaller than
    the input image), naming the splits of those that are not."""
    below = _paired(claim, rows, than, lambda row, partner: float(row[claim.column] < partner[claim.column]))
    if not below:
        return "no pair of rows", None
    every = [b for split in below.values() for b in split]
    share = 100.0 * sum(every) / len(every)
    above = ", ".join(split for split, values in below.items() if not all(values))
    low, high = claim.accepted
    shown = f"{int(sum(every))} of {len(every)} below ({share:.0f} %)"
    return shown + (f"; not below at {above}" if above else ""), bool(low <= share <= high)


def _earliest(claim: PaperClaim, rows: pd.DataFrame, than: pd.DataFrame) -> tuple[str, bool | None]:
    """000 Table I: the least on-device FLOPs (2 x device_macs) among the rows within max_drop
    whose `column` is below the smallest of `than` (the input image as PNG), and its split."""
    limit = float(than[claim.column].min())
    below = rows[(rows["accuracy_drop_points"] <= claim.max_drop) & (rows[claim.column] < limit)]
    if below.empty:
        return f"no row within {claim.max_drop:g} points below {limit:.4g}", False
    first = below.loc[below["device_macs"].idxmin()]
    flops = 2.0 * float(first["device_macs"])
    low, high = claim.accepted
    return f"{flops:.2e} FLOPs at {first['split']}", bool(low <= flops <= high)


def told_rows(states: pd.DataFrame) -> pd.Series:
    """Which rows of channel_accuracy.csv were evaluated with the encoder told a fixed state (a
    file written before the told_state column has none)."""
    return states["told_state"].notna() if "told_state" in states else pd.Series(False, index=states.index)


def _state_spread(claim: PaperClaim, rows: pd.DataFrame, states: pd.DataFrame | None) -> tuple[str, bool | None]:
    spreads = {}
    if states is not None:
        evaluated = states[told_rows(states) == claim.told]
        for _, row in rows.iterrows():
            accuracy = evaluated.loc[evaluated["candidate_key"] == row["candidate_key"], "accuracy"]
            if len(accuracy) > 1:
                spreads[f"{row['split']} {row['channel']}"] = 100 * (accuracy.max() - accuracy.min())
    if not spreads:
        return "no candidate evaluated at two channel states", None
    shown = "; ".join(f"{name}: {spread:.2f}" for name, spread in spreads.items())
    return shown, bool(max(spreads.values()) <= claim.bounds[1] + claim.tolerance)


MEASURES = {"drop": lambda claim, rows, than: _drop(claim, rows), "gap": _gap, "ratio": _ratio,
            "dominance": _dominance, "times": _times, "below": _below, "earliest": _earliest}


def compare_claims(claims: list[PaperClaim], candidates: pd.DataFrame, *, complete: bool,
                   latency: Callable[[PaperClaim, pd.DataFrame], tuple[str, bool | None]] | None = None,
                   states: pd.DataFrame | None = None,
                   state_times: Callable[[PaperClaim, pd.DataFrame], tuple[str, bool | None]] | None = None,
                   ) -> list[ClaimResult]:
    """Each claim beside ours, from candidates.csv (`complete`: every candidate has its row);
    `latency` measures the claims of kind latency (explorer.train.latency.latency_claim: they need
    the hardware and the candidates' units), which are not measured without it; `states`
    (channel_accuracy.csv) those of kind state_spread; `state_times` those of kind state_times
    (explorer.train.channel_figures.state_times_claim, given the claim's rows and than together)."""
    candidates = with_device_totals(candidates)
    measures = {**MEASURES, "latency": (lambda claim, rows, than: latency(claim, rows)) if latency else
                (lambda claim, rows, than: ("not measured here (no candidate units)", None)),
                "state_spread": lambda claim, rows, than: _state_spread(claim, rows, states),
                "state_times": (lambda claim, rows, than: state_times(claim, pd.concat([rows, than]))) if state_times
                else (lambda claim, rows, than: ("not measured here (no channel figure)", None))}
    results = []
    for claim in claims:
        priced = with_link_time(candidates, claim.link)
        rows = priced[matching(priced, claim.rows)]
        than = priced[matching(priced, claim.than)] if claim.than else rows.iloc[:0]
        if rows.empty or (claim.than and than.empty):
            results.append(ClaimResult(claim.what, _paper(claim), "not measured yet" if not complete
                                       else "no candidate of the study matches", None, claim.differs))
            continue
        ours, agrees = measures[claim.kind](claim, rows, than)
        if not complete:
            ours += " (partial: the study has not finished)"
        results.append(ClaimResult(claim.what, _paper(claim), ours, agrees, claim.differs))
    return results


def claims_table(results: list[ClaimResult]) -> list[list[str]]:
    """Rows of the report's table: what, paper, ours, agrees."""
    verdict = {True: "yes", False: "**no**", None: "not yet"}
    return [[r.what, r.paper, r.ours, verdict[r.agrees]] for r in results]


def disagreements(results: list[ClaimResult]) -> list[str]:
    """A line per claim ours does not agree with: what, and how the set-ups differ (or that the
    study gives no account)."""
    return [f"- {r.what}: {r.differs or 'the study gives no account of the difference.'}"
            for r in results if r.agrees is False]
