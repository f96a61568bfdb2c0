import pandas as pd
import pytest

from explorer.calibration.reprice import reprice_search
from explorer.cost.candidate import price_candidate
from explorer.studies.search import candidate_spec, resolve_search
from hwmodels import load_preset
from netmodels.candidate import build_candidate
from netmodels.zoo import build_model
from splitbase import DataError
from tests.explorer.search.search_cases import STUDY, write

KNOBS = [("pool1", 4.0, 0.90), ("conv2", 16.0, 0.80), ("pool2", 16.0, 0.85), ("conv3", 4.0, 0.70)]


def _finished_search(tmp_path):
    """The tiny study with a hand-written trials.csv: four complete trials priced as the search would."""
    path = write(tmp_path, STUDY)
    resolved = resolve_search(path)
    base = build_model("small-cnn")
    rows = []
    for number, (split, ratio, accuracy) in enumerate(KNOBS):
        params = {"split": split, "sparsity": 0.0, "compression_ratio": ratio, "method": "bottlenetpp", "channel": 0}
        built = build_candidate(candidate_spec(resolved, params), input_shape=base.input_shape,
                                num_classes=base.num_classes, base_model=base)
        cost = price_candidate(built.profile, resolved.hardware, bits=resolved.bits)
        rows.append({"number": number, "state": "COMPLETE", **params, "channel": "bec", "accuracy": accuracy,
                     "latency_s": cost["latency_s"], "energy_j": cost["energy_j"],
                     "throughput_fps": cost["throughput_fps"], "feasible": True, "reused_from": None})
    resolved.output.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(resolved.output / "trials.csv", index=False)
    return path, resolved


def test_a_search_is_repriced_on_another_device(tmp_path):
    path, resolved = _finished_search(tmp_path)
    gpu = load_preset("h200")
    result = reprice_search(path, {"h200": gpu}, "accuracy>=0.8; minimize latency")
    assert result.rebuild_error == pytest.approx(0.0, abs=1e-9)
    on_gpu = result.frame.set_index("number")["latency_s@h200"]
    assert result.picks["h200"] == int(on_gpu[[0, 1, 2]].idxmin())
    assert result.picks["raspberry-pi-3"] == int(result.frame.set_index("number").loc[[0, 1, 2], "latency_s"].idxmin())
    assert set(result.fronts["h200"]) <= {0, 1, 2, 3} and result.compared_with == {"h200": "raspberry-pi-3"}


def test_a_search_whose_prices_moved_is_refused(tmp_path):
    path, resolved = _finished_search(tmp_path)
    csv = resolved.output / "trials.csv"
    trials = pd.read_csv(csv)
    trials.loc[1, "latency_s"] *= 1.1
    trials.to_csv(csv, index=False)
    with pytest.raises(DataError, match="9.09% away from trials.csv"):
        reprice_search(path, {}, "minimize latency")
