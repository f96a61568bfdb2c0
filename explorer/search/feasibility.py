"""The analytic constraints of a search study checked on a priced candidate, before any training."""
from __future__ import annotations

from typing import Any, Mapping

from explorer.studies.search import Constraints


def analytic_violation(cost: Mapping[str, Any], limits: Constraints) -> str:
    """The analytic constraint a priced candidate breaks ("" when none): the device's memory
    (`fits_device`), latency (s), energy (J) or throughput (frames/s). `cost` is
    explorer.cost.candidate.price_candidate's record."""
    if limits.fits_device and not cost["feasible"]:
        return str(cost["infeasible_reason"])
    checks = ((limits.max_latency_s, cost["latency_s"], "latency", "s", 1),
              (limits.max_energy_j, cost["energy_j"], "energy", "J", 1),
              (limits.min_throughput_fps, cost["throughput_fps"], "throughput", "frames/s", -1))
    for limit, value, what, unit, sign in checks:
        if limit is not None and sign * value > sign * limit:
            return f"{what} {value:.3g} {unit} breaks the limit {limit:g} {unit}"
    return ""
