import numpy as np
import pandas as pd

from explorer.analysis import plots
from explorer.profile.table import profile_zoo_model


def test_profile_info_is_cumulative():
    table = profile_zoo_model("small-cnn").to_frame()
    info = plots.profile_info(table)
    assert info.names[0] == "input" and np.all(np.diff(info.cumulative_gmacs) >= 0)
    assert info.cumulative_traffic_mb[-1] == (table["unit_weight_bytes"].sum()
                                              + table["activation_bytes"].sum()) / 1e6


def test_front_info_marks_the_non_dominated_feasible_points(tmp_path):
    frame = pd.DataFrame({"latency_s": [1.0, 2.0, 3.0, 0.5], "energy_j": [3.0, 1.0, 2.0, 0.1],
                          "split": [0, 1, 2, 3], "feasible": [True, True, True, False]})
    info = plots.front_info(frame, "latency_s", "energy_j", "split", x_label="s", y_label="J")
    assert list(info.x) == [1.0, 2.0, 3.0] and list(info.on_front) == [True, True, False]
    plots.draw_front(info, tmp_path / "front.png", "t", colour_label="k")
    assert (tmp_path / "front.png").stat().st_size > 0
