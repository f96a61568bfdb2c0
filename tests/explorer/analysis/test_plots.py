"""The figures' info records and the labels, legends and colour scale of the drawn figures (not pixels)."""
import numpy as np
import pandas as pd
import pytest

from explorer.analysis import plots
from explorer.profile.table import profile_zoo_model
from explorer.search.objectives import OBJECTIVES

SPLITS = ("input", "conv1", "pool1", "conv2", "pool2")
LATENCY, ENERGY, ACCURACY = (plots.Axis.of(OBJECTIVES.get(n)) for n in ("latency", "energy", "accuracy"))


def test_profile_info_is_cumulative_and_in_kbit():
    table = profile_zoo_model("small-cnn").to_frame()
    info = plots.profile_info(table)
    assert info.names[0] == "input" and np.all(np.diff(info.cumulative_gmacs) >= 0)
    assert info.cumulative_traffic_mb[-1] == (table["unit_weight_bytes"].sum()
                                              + table["activation_bytes"].sum()) / 1e6
    assert info.feature_kbit[0] == 8 * table["feature_bytes"].iloc[0] / 1e3


def test_axes_show_the_reports_units():
    assert (LATENCY.label, LATENCY.scale) == ("latency per frame (ms)", 1e3)
    assert (ENERGY.label, ENERGY.scale) == ("device energy per frame (mJ)", 1e3)
    assert ACCURACY.maximise and ACCURACY.label == "test accuracy"


@pytest.fixture
def trials():
    """Five trials: two feasible on the 2-D front, one feasible behind it, one infeasible, one
    pruned before training (no accuracy)."""
    return pd.DataFrame({
        "number": [0, 1, 2, 3, 4],
        "split": ["conv2", "conv1", "conv2", "pool2", "conv1"],
        "latency_s": [0.001, 0.002, 0.003, 0.0005, 0.004],
        "energy_j": [0.003, 0.001, 0.002, 0.0001, 0.002],
        "accuracy": [0.9, 0.95, 0.85, 0.5, np.nan],
        "feasible": [True, True, True, False, False],
    })


def test_front_info_scales_names_splits_and_marks_both_fronts(trials):
    info = plots.front_info(trials, LATENCY, ACCURACY, split_order=SPLITS, split_column="split",
                            study_front=[True, True, True, False, False])
    assert list(info.x) == pytest.approx([1.0, 2.0, 3.0, 0.5])  # ms; trial 4 has no accuracy
    assert info.split_names == ["conv1", "conv2", "pool2"]  # those present, in model order
    assert [info.split_names[c] for c in info.colour] == ["conv2", "conv1", "conv2", "pool2"]
    assert list(info.feasible) == [True, True, True, False]
    assert list(info.on_front) == [True, True, False, False]  # trial 3 dominates, but is infeasible
    assert list(info.on_study_front) == [True, True, True, False]  # e.g. best on a third objective


def test_front_info_draws_infeasible_and_pruned_points_where_both_values_exist(trials):
    info = plots.front_info(trials, LATENCY, ENERGY, split_order=SPLITS, split_column="split")
    assert len(info.x) == 5 and list(info.feasible) == [True, True, True, False, False]
    assert list(info.on_front) == [True, True, False, False, False]
    assert not info.on_study_front.any() and info.series_names == [""]


def test_series_get_one_marker_each_and_collapse_when_too_many(trials):
    two = plots.front_info(trials.assign(link=["a", "b", "a", "b", "a"]), LATENCY, ENERGY,
                           split_order=SPLITS, split_column="split", series_column="link")
    assert two.series_names == ["a", "b"] and list(two.series) == [0, 1, 0, 1, 0] and two.series_label == "link"
    many = pd.concat([trials] * 3, ignore_index=True).assign(link=[f"mode{i}" for i in range(15)])
    one = plots.front_info(many, LATENCY, ENERGY, split_order=SPLITS, split_column="split", series_column="link")
    assert one.series_names == ["any of 15 (see the CSV)"] and set(one.series) == {0}


def test_drawn_front_has_unit_labels_a_named_split_scale_and_a_legend_for_every_series(trials, tmp_path):
    info = plots.front_info(trials.assign(link=["a", "b", "a", "b", "a"]), LATENCY, ACCURACY,
                            split_order=SPLITS, split_column="split", series_column="link",
                            study_front=[True, True, False, False, False])
    fig = plots.draw_front(info, tmp_path / "front.png", "t")
    assert (tmp_path / "front.png").stat().st_size > 0
    axis, bar = fig.axes
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("latency per frame (ms)", "test accuracy")
    assert [t.get_text() for t in bar.get_yticklabels()] == ["conv1", "conv2", "pool2"]
    assert bar.get_ylabel() == "split point (last unit on the device)"
    assert [t.get_text() for t in axis.get_legend().get_texts()] == [
        "link: a", "link: b", "infeasible, b (hollow: a constraint fails)",
        "on the study's Pareto front (all objectives)", "Pareto front of these two objectives"]
    (step,) = axis.get_lines()
    assert list(step.get_xdata()) == pytest.approx([1.0, 2.0])  # the staircase through the 2-D front
