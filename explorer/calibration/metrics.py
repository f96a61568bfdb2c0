"""Predicted against measured: the error measures a latency predictor is judged by.

Relative error e = predicted / measured - 1 of each split point's head latency (k = 0..last; the
empty head k = -1 is left out). Reported: median |e|, 90th percentile of |e|, the share of points
within +-10 % and within +-5 % (nn-Meter's and LitePred's measure), and Spearman's rank
correlation of the units by latency within each model, averaged over models (does the predictor
rank the units, hence the head increments, as measured; on the heads themselves it is about 1 by
construction, heads being cumulative).

Consistency of a measured table (no model involved): head_s[k] + tail_s[k] against the whole
model head_s[last], and head_s[k] against the sum of unit_s[0..k]: an additive predictor (every
one here) satisfies both exactly, so the share of points where the measurement does so within
+-10 % bounds what any of them can reach on that table. The spread of a table's samples
(`relative_spread`: median over its heads of interquartile range / time) says how far one
measurement scatters: a spread near the target's 10 % leaves no room for the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from explorer.measure.standalone import TIMINGS, consistency as standalone_consistency


@dataclass(frozen=True)
class ErrorSummary:
    points: int
    median_abs: float      # fraction (0.05 = 5 %)
    p90_abs: float
    within_10: float       # share of points, 0..1
    within_5: float
    spearman: float        # mean over models of the rank correlation of head latencies

    def row(self) -> list[str]:
        return [str(self.points), f"{100 * self.median_abs:.1f} %", f"{100 * self.p90_abs:.1f} %",
                f"{100 * self.within_10:.1f} %", f"{100 * self.within_5:.1f} %", f"{self.spearman:.3f}"]


HEADERS = ["points", "median abs error", "90th pct abs error", "within 10 %", "within 5 %", "Spearman (units)"]


def relative_error(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    return np.asarray(predicted, dtype=float) / np.asarray(measured, dtype=float) - 1.0


@dataclass(frozen=True)
class ModelPoints:
    """One model's predicted and measured seconds: heads over k = 0..last, units 0..last."""

    predicted_head: np.ndarray
    measured_head: np.ndarray
    predicted_unit: np.ndarray
    measured_unit: np.ndarray


def summarise(per_model: list[ModelPoints]) -> ErrorSummary:
    """Error measures over the heads of every model, Spearman over each model's units (module doc)."""
    errors = np.abs(np.concatenate([relative_error(m.predicted_head, m.measured_head) for m in per_model]))
    ranks = [spearmanr(m.predicted_unit, m.measured_unit).statistic for m in per_model
             if len(m.measured_unit) > 1 and np.ptp(m.measured_unit) > 0 and np.ptp(m.predicted_unit) > 0]
    return ErrorSummary(len(errors), float(np.median(errors)), float(np.percentile(errors, 90)),
                        float(np.mean(errors <= 0.10)), float(np.mean(errors <= 0.05)),
                        float(np.mean(ranks)) if ranks else float("nan"))


@dataclass(frozen=True)
class Consistency:
    """Shares (0..1) of a table's split points k = 0..last-1 whose head + tail is within +-10 % of
    the whole model, and k = 0..last whose head is within +-10 % of the sum of its units."""

    head_plus_tail: float
    head_vs_units: float


def consistency(unit_s: np.ndarray, head_s: np.ndarray, tail_s: np.ndarray) -> Consistency:
    """Consistency of measured times over k = -1..last (the table's rows): the shares that
    `measure` records (explorer.measure.standalone.consistency, the one definition)."""
    times = {name: [float(v) for v in values] for name, values in zip(TIMINGS, (unit_s, head_s, tail_s))}
    shares = standalone_consistency(times)
    return Consistency(shares["head_plus_tail"], shares["head_vs_units"])


def relative_spread(times_s, iqr_s) -> float:
    """Median over points of interquartile range / time (0.05 = 5 %), points with a time > 0."""
    times_s, iqr_s = np.asarray(times_s, dtype=float), np.asarray(iqr_s, dtype=float)
    timed = times_s > 0
    return float(np.median(iqr_s[timed] / times_s[timed])) if timed.any() else 0.0
