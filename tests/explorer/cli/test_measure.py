"""`split-explorer measure` with several models round-robin in one process (CPU, few samples;
timings never asserted), and its refusals: one line, exit 2, nothing written."""
import json

import pytest

from explorer.measure.table import MeasureSettings, measure, read_table
from splitbase import DataError
from tests.cli_run import run

FEW = ("--threads", "1", "--repeats", "1", "--warmup", "1")


def test_two_models_in_one_call_give_two_tables_measured_together(tmp_path, capsys):
    code, out, _ = run(capsys, "measure", "small-cnn", "resnet18-cifar", *FEW, "--rounds", "2",
                       "--output", str(tmp_path))
    assert code == 0
    stems = ["small-cnn_cpu_b1", "resnet18-cifar_cpu_b1"]
    for stem, rows in zip(stems, (8, 12)):
        table = read_table(tmp_path / f"{stem}.csv")
        assert len(table.rows) == rows and all(t > 0 for t in table.times["head_s"][1:])
        assert table.settings.rounds == 2 and table.settings.repeats == 1
        order = table.provenance["order"]
        assert order["rounds"] == 2 and order["tables"] == stems and order["seed"] == 0
        assert order["parts_per_round"] == (3 * 7 - 3) + (3 * 11 - 3)  # units, heads, tails; each span once
        shares = json.loads((tmp_path / f"{stem}.json").read_text())["consistency"]
        assert set(shares) == {"head_plus_tail", "head_vs_units", "within"}
        assert all(0.0 <= shares[k] <= 1.0 for k in ("head_plus_tail", "head_vs_units"))
    assert out.count("consistency: head + tail within 10 %") == 2 and "load average (1 min)" in out
    assert json.loads((tmp_path / "provenance.json").read_text())["seed"] == 0


def test_one_model_one_round_is_the_plain_measurement(tmp_path, capsys):
    code, _, _ = run(capsys, "measure", "small-cnn", *FEW, "--output", str(tmp_path))
    assert code == 0
    table = read_table(tmp_path / "small-cnn_cpu_b1.csv")
    assert table.settings.rounds == 1 and table.provenance["order"]["tables"] == ["small-cnn_cpu_b1"]


@pytest.mark.parametrize("argv, message", [
    (("small-cnn", "no-such-net", "resnet18-cifar"), "model: unknown model 'no-such-net'"),
    (("small-cnn", "resnet18-cifar", "--rounds", "0"), "argument --rounds: expected a positive integer, got 0"),
    (("small-cnn", "small-cnn"), "model: small-cnn given twice"),
    (("small-cnn", "--batch", "2", "2"), "--batch: 2 given twice"),
    (("small-cnn", "resnet18-cifar", "--export-onnx", "board"), "--export-onnx: give one MODEL"),
    (("small-cnn", "resnet18-cifar", "--timings", "t.json"), "--timings: one timings.json per MODEL (2), not 1"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "measure", *argv, *FEW, "--output", str(tmp_path / "tables"))
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [] and out == ""


def test_an_output_under_a_file_is_refused_before_timing(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    code, _, err = run(capsys, "measure", "small-cnn", *FEW, "--output", str(tmp_path / "file" / "tables"))
    assert code == 2 and "--output:" in err and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_tables_of_one_call_share_their_timing_settings():
    with pytest.raises(DataError, match="share device"):
        measure([MeasureSettings(model="small-cnn", batch=1), MeasureSettings(model="small-cnn", batch=2, repeats=3)])
    with pytest.raises(DataError, match="rounds: at least 1"):
        measure([MeasureSettings(model="small-cnn", batch=1, rounds=0)])


def test_onnxruntime_here_times_every_batch_round_robin(tmp_path, capsys):
    code, _, _ = run(capsys, "measure", "small-cnn", "--batch", "1", "2", "--runtime", "onnxruntime", *FEW,
                     "--rounds", "2", "--output", str(tmp_path))
    assert code == 0
    for batch in (1, 2):
        table = read_table(tmp_path / f"small-cnn_cpu_b{batch}.csv")
        assert table.settings.runtime == "onnxruntime" and all(t > 0 for t in table.times["head_s"][1:])
        assert table.provenance["order"]["tables"] == ["small-cnn_cpu_b1", "small-cnn_cpu_b2"]
