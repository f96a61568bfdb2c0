"""The deployment config: a typed record that reads back what it wrote, and refuses anything else."""
import json

import pandas as pd
import pytest

from explorer.deploy import config as records
from explorer.deploy.config import DeployConfig, read_config
from explorer.deploy.pick import pick_trial
from explorer.studies.common import DatasetSpec
from splitbase import StudyError

CONFIG = DeployConfig(
    study="tiny", trial=3, commit="abc", date="2026-12-01T00:00:00+00:00", model="small-cnn",
    dataset=DatasetSpec("synthetic", None, {"num_classes": 4}), input_shape=[1, 32, 32], num_classes=4,
    preprocessing=records.Preprocessing([1, 32, 32], "uint8", 0, "centred", 1 / 255, [0.5], [0.25], "grey",
                                        "NCHW", "float32"),
    split=records.SplitRecord(3, "pool2"), sparsity=0.0,
    method="bottlenetpp", options={}, compression_ratio=16.0, requested_compression_ratio=16.0,
    sent=records.SentRecord([4, 4, 4], 8, 0, 512.0, False), codec=None, channel={"kind": "bec", "p": 0.01, "bits": 8},
    hardware=records.HardwareRecord("raspberry-pi-3", "wifi-80211bgn-004:2mbps", "rtx-2080ti"),
    predicted=records.Predicted(0.01, 0.02, 90.0, 1e6, 1e4), measured=records.Measured(0.9, 0.92, 2.0),
    files=records.Files("device.pt2", "server.pt2", "device.onnx", "server.onnx", "split_runner.py", "README.md"),
    programs=records.Programs(
        records.ProgramRecord("device(x) -> z", [records.TensorRecord("x", ["batch", 1, 32, 32], "float32")],
                              [records.TensorRecord("z", ["batch", 4, 4, 4], "float32")]),
        records.ProgramRecord("server(y) -> logits", [records.TensorRecord("y", ["batch", 4, 4, 4], "float32")],
                              [records.TensorRecord("logits", ["batch", 4], "float32")]), 18),
    wire={"codec": "quant", "shape": [4, 4, 4], "bits": 8, "scale": [0.0, 1.0]}, channel_state=0.01,
    tolerance=records.Tolerance(0.5, 1e-3), sha256={"device.onnx": "0" * 64})


def test_a_config_reads_back_as_written(tmp_path):
    path = CONFIG.write(tmp_path)
    assert read_config(path) == CONFIG
    data = json.loads(path.read_text())
    assert data["schema"] == "split-explorer/deploy-config" and data["version"] == 2
    assert data["predicted"]["encoder_macs"] == 1e4 and data["split"] == {"index": 3, "unit": "pool2"}


@pytest.mark.parametrize("change, message", [
    (lambda d: "not json {", "not JSON"),
    (lambda d: json.dumps({**d, "schema": "other"}), "not a split-explorer deployment config"),
    (lambda d: json.dumps({**d, "version": 1}), "config version 1, this tool reads 2"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "measured"}), "measured: missing"),
    (lambda d: json.dumps({**d, "trial": "three"}), "trial: expected an integer"),
    (lambda d: json.dumps({**d, "extra": 1}), "extra: unknown key"),
])
def test_anything_else_is_one_error_naming_it(tmp_path, change, message):
    path = tmp_path / "config.json"
    path.write_text(change(json.loads(CONFIG.to_json())))
    with pytest.raises(StudyError, match=message):
        read_config(path)


def test_pick_keeps_feasible_trained_trials_and_optimises_one_quantity():
    frame = pd.DataFrame({"number": [0, 1, 2, 3], "feasible": [True, True, True, False],
                          "reused_from": [None, None, 0, None], "accuracy": [0.9, 0.8, 0.9, 0.99],
                          "latency_s": [0.3, 0.1, 0.05, 0.01], "head_macs": [5, 4, 3, 2]})
    assert pick_trial(frame, "minimize latency") == 1          # 2 reuses 0, 3 is infeasible
    assert pick_trial(frame, "accuracy>=0.85; minimize latency") == 0
    assert pick_trial(frame, "maximize head_macs") == 0
    for expression, message in (("minimize beauty", "unknown quantity 'beauty'"), ("accuracy>=2; minimize latency",
                                "no feasible trial"), ("accuracy>=0.5", "name what to optimise"),
                                ("latency ~ 3", "cannot read")):
        with pytest.raises(StudyError, match=message):
            pick_trial(frame, expression)
