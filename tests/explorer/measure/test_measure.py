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


def test_a_board_times_several_folders_round_robin(tmp_path, capsys):
    # two exports (two batch sizes), timed together by standalone.py alone, read back in one call
    import json
    import subprocess
    import sys

    folders = [tmp_path / "b1", tmp_path / "b2"]
    for folder, batch in zip(folders, ("1", "2")):
        assert main(["measure", "small-cnn", "--batch", batch, "--export-onnx", str(folder)]) == 0
    done = subprocess.run([sys.executable, str(folders[0] / "standalone.py"), *map(str, folders), "--threads", "1",
                           "--repeats", "1", "--warmup", "1", "--rounds", "2"],
                          check=True, cwd=tmp_path, capture_output=True, text=True)
    assert done.stdout.count("head + tail within 10 %") == 2
    assert main(["measure", "small-cnn", "small-cnn", "--timings", *(str(f / "timings.json") for f in folders),
                 "--output", str(tmp_path / "tables")]) == 0
    for batch in (1, 2):
        table = read_table(tmp_path / "tables" / f"small-cnn_cpu_b{batch}.csv")
        assert table.settings.rounds == 2 and table.settings.batch == batch
        assert table.provenance["order"]["tables"] == ["small-cnn_b1", "small-cnn_b2"]
        assert "consistency" in json.loads((tmp_path / "tables" / f"small-cnn_cpu_b{batch}.json").read_text())
