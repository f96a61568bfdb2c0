"""An export of a tiny search: ONNX parts, onnxruntime check, the runner over 127.0.0.1, the
lookup table, and bad input as one line with no half-written folder."""
import json
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from explorer.cli import main
from explorer.deploy.check import check_config
from explorer.deploy.runner import split_runner as runner
from explorer.studies.search import resolve_search
from tests.explorer.search.search_cases import STUDY, write

TINY = {**STUDY, "space": {**STUDY["space"], "split": ["pool1", "pool2"], "compression_ratio": [16],
                           "channel": [{"kind": "none"}]},
        "search": {**STUDY["search"], "trials": 2}}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """(study file, export folder of its best-latency trial); the search and export run once."""
    tmp = tmp_path_factory.mktemp("deploy")
    path = write(tmp, TINY)
    assert main(["search", str(path), "--no-progress"]) == 0
    assert main(["export", str(path), "--pick", "minimize latency", "--output", str(tmp / "chosen")]) == 0
    return path, tmp / "chosen"


def test_an_export_feeds_from_its_config_alone(study):
    """Preprocessing, call signatures and files from config.json; torch.export and onnxruntime only."""
    import onnxruntime as ort
    path, folder = study
    config = json.loads((folder / "config.json").read_text())
    assert {"device.onnx", "server.onnx", "split_runner.py", "README.md"} <= {p.name for p in folder.iterdir()}
    assert config["programs"]["device"]["call"].startswith("device(x)")
    assert all(runner.sha256(folder / name) == digest for name, digest in config["sha256"].items())
    data = resolve_search(path).study.dataset.load()
    x = runner.preprocess(data.test_images.numpy(), config["preprocessing"])
    device = torch.export.load(folder / config["files"]["device"]).module()
    server = torch.export.load(folder / config["files"]["server"]).module()
    with torch.no_grad():
        classes = server(device(torch.from_numpy(x))).argmax(1).numpy()
    accuracy = float((classes == data.test_labels.numpy()).mean())
    assert abs(accuracy - config["measured"]["accuracy"]) * 100 <= config["tolerance"]["accuracy_points"]
    session = ort.InferenceSession(str(folder / config["files"]["device_onnx"]))
    assert [i.shape for i in session.get_inputs()] == [config["programs"]["device"]["inputs"][0]["shape"]]


def test_check_in_onnxruntime_agrees_with_the_record_and_the_torch_parts(study):
    _, folder = study
    result = check_config(folder / "config.json", runtime="onnxruntime")
    assert result.agrees and result.onnx_max_abs <= result.onnx_tolerance


@pytest.fixture
def server(study):
    """The runner's server on an ephemeral port of 127.0.0.1, in a thread; its log lines."""
    _, folder = study
    port, stop, log = [], threading.Event(), []
    ready = threading.Event()
    thread = threading.Thread(target=runner.serve, args=(folder, "127.0.0.1", 0), daemon=True,
                              kwargs={"ready": lambda p: (port.append(p), ready.set()), "stop": stop,
                                      "log": log.append})
    thread.start()
    assert ready.wait(30)
    yield f"127.0.0.1:{port[0]}", log
    stop.set()
    thread.join(5)


def test_the_runner_halves_classify_as_check_does_over_a_socket(study, server):
    path, folder = study
    address, log = server
    config = json.loads((folder / "config.json").read_text())
    images = resolve_search(path).study.dataset.load().test_images.numpy()[:8]
    records = runner.run_device(folder, address, images, log=lambda line: None)
    export = runner.Export.load(folder)
    expected = export.run_server(export.run_device(runner.preprocess(images, config["preprocessing"]))).argmax(1)
    assert [r["class"] for r in records] == expected.tolist()
    assert {r["bytes"] for r in records} == {config["sent"]["payload_bits"] / 8 + runner.HEADER.size}
    with socket.create_connection(address.split(":"), timeout=10) as sock:  # a truncated frame
        sock.sendall(runner.frame(runner.DATA, 7, bytes(1000))[:500])
    with socket.create_connection(address.split(":"), timeout=10) as sock:  # a frame of another version
        sock.sendall(b"SPLT\x09" + bytes(11))
        kind, _, _, body = runner.read_frame(sock)
        assert kind == runner.ERROR and "version 9" in json.loads(body)["error"]
    assert [r["class"] for r in runner.run_device(folder, address, images[:2], log=lambda line: None)] \
        == expected[:2].tolist()
    assert any("truncated frame" in line for line in log) and any("version 9" in line for line in log)


def test_the_runner_imports_neither_torch_nor_split_explorer(study):
    _, folder = study
    code = ("import sys; sys.modules['torch'] = None; sys.modules['explorer'] = None; "
            f"sys.path.insert(0, {str(folder)!r}); import split_runner; "
            f"e = split_runner.Export.load({str(folder)!r}); "
            "x = split_runner.preprocess(__import__('numpy').zeros((2, 28, 28), 'uint8'), e.config['preprocessing']); "
            "print(e.run_server(e.uncode_frame(*e.code_frame(e.run_device(x[:1]), 0))).shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"(1, {TINY['dataset']['options']['num_classes']})"


def test_the_lookup_table_holds_each_environment_and_entry(study, capsys):
    path, _ = study
    out = path.parent / "table"
    assert main(["export", str(path), "--table", "--pick", "minimize latency", "--link-rates", "0.1,22Mbps",
                 "--output", str(out)]) == 0
    table = json.loads((out / "table.json").read_text())
    assert [e["link_rate_bit_per_s"] for e in table["environments"]] == [1e5, 2.2e7]
    assert all((out / e["entry"] / "config.json").is_file() for e in table["environments"])
    assert (out / "table.png").is_file() and (out / "split_runner.py").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--trial", "99"], "no trial 99"),
    (["--pick", "accuracy>=2; minimize latency"], "no feasible trial"),
    (["--table", "--pick", "minimize latency", "--links", "nosuch"], "unknown hardware preset 'nosuch'"),
    (["--table", "--trial", "0"], "--table: give the rule with --pick"),
])
def test_bad_input_is_one_line_and_no_folder(study, capsys, argv, message):
    path, _ = study
    out = path.parent / "bad"
    assert main(["export", str(path), *argv, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and message in err and not out.exists() and not list(path.parent.glob(".bad*"))


def test_a_study_never_run_is_one_line(tmp_path, capsys):
    path = write(tmp_path, {**TINY, "name": "never"})
    assert main(["export", str(path), "--trial", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1

