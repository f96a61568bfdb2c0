from explorer.cli import main
from explorer.measure.table import read_table, TIME_FIELDS


def test_measure_small_cnn_on_the_cpu_writes_a_measured_table(tmp_path, capsys):
    # timings are not asserted: only that every part was timed and the table reads back
    assert main(["measure", "small-cnn", "--threads", "1", "--repeats", "2", "--warmup", "1",
                 "--output", str(tmp_path)]) == 0
    table = read_table(tmp_path / "small-cnn_cpu_b1.csv")
    assert set(TIME_FIELDS) <= set(table.times) and len(table.rows) == 8
    assert all(t > 0 for t in table.times["head_s"][1:]) and table.times["head_s"][0] == 0
    assert table.settings.threads == 1 and (tmp_path / "provenance.json").is_file()


def test_a_low_quantile_drops_the_slow_samples():
    from explorer.measure.standalone import quantile_iqr

    samples = [1.0, 2.0, 3.0, 4.0, 100.0]  # one sample slowed by another process
    assert quantile_iqr(samples) == (3.0, 2.0)
    assert quantile_iqr(samples, 0.0)[0] == 1.0 and quantile_iqr(samples, 0.1)[0] == 1.4


def test_board_round_trip_through_onnx_and_timings_json(tmp_path, capsys):
    # export on this machine, time as a board would (standalone.py alone), read the timings back
    import json
    import subprocess
    import sys

    folder = tmp_path / "board"
    assert main(["measure", "small-cnn", "--export-onnx", str(folder)]) == 0
    assert (folder / "standalone.py").is_file() and json.loads((folder / "parts.json").read_text())["batch"] == 1
    subprocess.run([sys.executable, str(folder / "standalone.py"), str(folder), "--threads", "1", "--repeats", "2",
                    "--warmup", "1"], check=True, cwd=tmp_path, capture_output=True)
    assert main(["measure", "small-cnn", "--timings", str(folder / "timings.json"), "--output",
                 str(tmp_path / "tables")]) == 0
    table = read_table(tmp_path / "tables" / "small-cnn_cpu_b1.csv")
    assert table.settings.runtime == "onnxruntime" and table.settings.repeats == 2
    assert all(t > 0 for t in table.times["head_s"][1:])
    assert "load_average_1min" in table.provenance
    capsys.readouterr()
    assert main(["measure", "resnet18-cifar", "--timings", str(folder / "timings.json")]) == 2
    assert "timed model 'small-cnn'" in capsys.readouterr().err
