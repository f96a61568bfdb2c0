"""Pareto analysis on plain arrays, shared by `sweep` and `search`.

Objectives are columns of an (n_points, n_objectives) array, every one to be minimised (negate a
column to maximise it). NaN or infinite rows are never on the front.
"""
from __future__ import annotations

import numpy as np


def non_dominated(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (<= in every column, < in one).

    Two objectives: one sort and a running minimum, O(n log n). More: a sweep in sorted order
    against the front found so far, O(n * front). Duplicate rows are all kept.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError("values must be (n_points, n_objectives)")
    n = len(values)
    finite = np.all(np.isfinite(values), axis=1)
    mask = np.zeros(n, dtype=bool)
    if not finite.any():
        return mask
    index = np.flatnonzero(finite)
    order = index[np.lexsort(values[index].T[::-1])]
    if values.shape[1] == 2:
        y = values[order, 1]
        best_before = np.concatenate([[np.inf], np.minimum.accumulate(y)[:-1]])
        kept = y < best_before
        # a row equal to the row kept just before it is a duplicate of a front point
        same = np.all(values[order][1:] == values[order][:-1], axis=1)
        for i in np.flatnonzero(same) + 1:
            kept[i] = kept[i - 1]
        mask[order[kept]] = True
        return mask
    front: list[int] = []
    for i in order:
        row = values[i]
        dominated = False
        for j in front:
            other = values[j]
            if np.all(other <= row) and np.any(other < row):
                dominated = True
                break
        if not dominated:
            front.append(i)
    mask[front] = True
    return mask


def hypervolume_2d(values: np.ndarray, reference: np.ndarray) -> float:
    """Area dominated by the rows of a 2-objective minimisation problem, bounded by `reference`."""
    values = np.asarray(values, dtype=float)
    reference = np.asarray(reference, dtype=float)
    points = values[non_dominated(values)]
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    points = points[np.argsort(points[:, 0])]
    widths = np.diff(np.append(points[:, 0], reference[0]))
    heights = reference[1] - points[:, 1]
    return float(np.sum(widths * heights))


def hypervolume(values: np.ndarray, reference: np.ndarray) -> float:
    """Volume dominated by the rows (all objectives minimised) and bounded by `reference`.

    Exact, by slicing along the last objective down to the 2-D case: fine for the fronts of a
    search (tens of points), not for thousands in many dimensions.
    """
    values = np.asarray(values, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(reference):
        raise ValueError("values must be (n_points, len(reference))")
    points = values[non_dominated(values)]
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    if values.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    if values.shape[1] == 2:
        return hypervolume_2d(points, reference)
    order = np.argsort(points[:, -1])
    points = points[order]
    total = 0.0
    for i in range(len(points)):
        upper = points[i + 1, -1] if i + 1 < len(points) else reference[-1]
        depth = upper - points[i, -1]
        if depth > 0:
            total += depth * hypervolume(points[: i + 1, :-1], reference[:-1])
    return total
