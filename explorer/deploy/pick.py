"""Choosing the trial to export by an expression: conditions, then one quantity to optimise."""
from __future__ import annotations

import re

import pandas as pd

from explorer.search.objectives import OBJECTIVES
from splitbase import StudyError

# What a pick expression may name beside the objectives: trials.csv columns of the trial record
MEASURES = ("sent_bits", "head_macs", "encoder_macs", "accuracy_drop_points")


def _column(name: str, frame: pd.DataFrame) -> str:
    column = OBJECTIVES.get(name).field if name in OBJECTIVES else name
    if column not in frame.columns or name not in (*OBJECTIVES.names(), *MEASURES):
        raise StudyError(f"--pick: unknown quantity {name!r} ({', '.join([*OBJECTIVES.names(), *MEASURES])})")
    return column


def pick_trial(frame: pd.DataFrame, expression: str) -> int:
    """The trial chosen by `expression`, e.g. "accuracy>=0.93; minimize latency": conditions
    (`name OP value`, OP one of >=, <=, >, <) keep feasible trials, then one `minimize NAME` or
    `maximize NAME` picks. Names: the objectives (accuracy, latency, energy, throughput) and MEASURES."""
    rows = frame[frame["feasible"].astype(bool) & frame["reused_from"].isna()]
    goal = None
    for clause in filter(None, (c.strip() for c in expression.split(";"))):
        match = re.fullmatch(r"(\w+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)", clause)
        order = re.fullmatch(r"(minimize|maximize)\s+(\w+)", clause)
        if match:
            name, op, value = _column(match.group(1), frame), match.group(2), float(match.group(3))
            rows = rows[{">=": rows[name] >= value, "<=": rows[name] <= value,
                         ">": rows[name] > value, "<": rows[name] < value}[op]]
        elif order and goal is None:
            goal = (order.group(1), _column(order.group(2), frame))
        else:
            raise StudyError(f"--pick: cannot read {clause!r} (expected e.g. 'accuracy>=0.9' "
                             "or 'minimize latency', one minimize/maximize)")
    if goal is None:
        raise StudyError("--pick: name what to optimise, e.g. 'minimize latency'")
    if rows.empty:
        raise StudyError(f"--pick: no feasible trial meets {expression!r}")
    best = rows[goal[1]].idxmin() if goal[0] == "minimize" else rows[goal[1]].idxmax()
    return int(rows.loc[best, "number"])
