"""A user's worst day, as tested promises: every malformed input of a study file, the command line
or a study's results is exit status 2 and one line `error: ...` naming the field or argument, with
no traceback and nothing written (no file, folder or storage row).

Each case is a callable that writes its input into tmp_path (the working folder, so that a default
`results/<study>/` lands there too, with the cache beside it) and returns the argv.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import optuna
import pytest
import yaml

from explorer.cli import main
from tests.explorer.search.search_cases import STUDY, python_path

SWEEP = {"name": "tiny_sweep", "model": "small-cnn", "device": "raspberry-pi-3",
         "link": "wifi-80211bgn-004:2mbps", "server": "rtx-2080ti",
         "grid": {"split": ["conv1", "pool2"], "sparsity": [0.0], "codec": ["none"]}}
TRAIN = {"name": "tiny_train", "models": ["small-cnn"],
         "dataset": {"name": "synthetic", "options": {"num_classes": 4, "shape": [1, 32, 32],
                                                      "num_train": 32, "num_test": 16}},
         "baseline": {"steps": 1, "batch_size": 16, "device": "cpu"},
         "training": {"steps": 1, "batch_size": 16, "device": "cpu"},
         "candidates": [{"split": ["conv2"], "method": "bottlenetpp", "compression_ratio": [4]}]}


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], list[str]]
    named: str  # a substring of the one error line: the field or argument


def changed(base: dict, dotted: str, value) -> dict:
    """A deep copy of `base` with the key at `dotted` ("space.split") set to `value`
    (value `DROP` removes it)."""
    data = copy.deepcopy(base)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return data


DROP = object()


def study_file(tmp: Path, data, name: str = "study.yaml") -> str:
    path = tmp / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


def verb(name: str, base: dict, dotted: str | None = None, value=None, *extra: str) -> Callable[[Path], list[str]]:
    """A case running `split-explorer name STUDY.yaml *extra` on `base` changed at `dotted`."""
    def make(tmp: Path) -> list[str]:
        data = changed(base, dotted, value) if dotted else base
        return [name, study_file(tmp, data), *extra]
    return make


def search(dotted: str | None = None, value=None, *extra: str):
    return verb("search", STUDY, dotted, value, *extra)


def text(name: str, content: str, *extra: str):
    return lambda tmp: [name, study_file(tmp, content), *extra]


def search_verb(name: str, *extra: str):
    return lambda tmp: [name, study_file(tmp, STUDY), *extra]


def with_trials(*extra: str):
    """A search study whose storage holds trial 0, still running (never completed): the storage
    is input the case wrote, not something the verb created."""
    def make(tmp: Path) -> list[str]:
        path = study_file(tmp, STUDY)
        (tmp / "results" / STUDY["name"]).mkdir(parents=True)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(study_name=STUDY["name"], directions=["maximize", "minimize"],
                                    storage=f"sqlite:///{tmp / 'results' / STUDY['name'] / 'study.db'}")
        study.ask()
        return ["export", path, *extra]
    return make


def config(content: str):
    def make(tmp: Path) -> list[str]:
        (tmp / "config.json").write_text(content)
        return ["check", str(tmp / "config.json")]
    return make


def corrupt_data(tmp: Path) -> list[str]:
    """Fashion-MNIST idx files whose image file is cut short."""
    root = tmp / "fmnist"
    root.mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (root / stem).write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x10")
    data = {**TRAIN, "dataset": {"name": "fashion-mnist", "root": str(root)}}
    return ["train", study_file(tmp, data)]


STUDY_FILES = [
    Case("unknown-key", search("colour", "blue"), "colour"),
    Case("unknown-nested-key", search("space.colour", 1), "space.colour"),
    Case("wrong-type-trials", search("search.trials", "many"), "search.trials"),
    Case("wrong-type-fits-device", search("constraints.fits_device", "perhaps"), "constraints.fits_device"),
    Case("wrong-type-space", search("space", [1, 2]), "space"),
    Case("missing-field", search("model", DROP), "model"),
    Case("duplicate-key", text("search", "name: a\nname: b\n"), "'name' appears twice"),
    Case("sparsity-one", search("space.sparsity", [1.0]), "space.sparsity"),
    Case("sparsity-negative", search("space.sparsity", [-0.1]), "space.sparsity"),
    Case("sweep-sparsity", verb("sweep", SWEEP, "grid.sparsity", [1.5]), "grid.sparsity"),
    Case("train-sparsity", verb("train", TRAIN, "candidates", [{**TRAIN["candidates"][0], "sparsity": [2]}]),
         "candidates[0].sparsity"),
    Case("split-not-a-unit", search("space.split", ["conv9"]), "space.split[0]"),
    Case("split-out-of-range", search("space.split", [99]), "space.split[0]"),
    Case("sweep-split-not-a-unit", verb("sweep", SWEEP, "grid.split", ["fc9"]), "grid.split[0]"),
    Case("unknown-model", search("model", "lenet5"), "model"),
    Case("train-unknown-model", verb("train", TRAIN, "models", ["lenet5"]), "models[0]"),
    Case("unknown-dataset", search("dataset", {"name": "imagenet-1k"}), "dataset.name"),
    Case("train-unknown-dataset", verb("train", TRAIN, "dataset", {"name": "imagenet-1k"}), "dataset.name"),
    Case("unknown-dataset-option", search("dataset.options", {"colour": 1}), "dataset"),
    Case("unknown-preset", search("device", "abacus"), "device"),
    Case("unknown-mode", search("link", "wifi-80211bgn-004:9000mbps"), "link"),
    Case("unknown-codec", verb("sweep", SWEEP, "grid.codec", [{"kind": "zip"}]), "grid.codec[0].kind"),
    Case("unknown-method", search("space.method", ["telepathy"]), "space.method[0]"),
    Case("train-unknown-method", verb("train", TRAIN, "candidates", [{"split": ["conv2"], "method": "telepathy"}]),
         "candidates[0].method"),
    Case("unknown-channel", search("space.channel", [{"kind": "carrier-pigeon"}]), "space.channel[0]"),
    Case("channel-bad-setting", search("space.channel", [{"kind": "bec", "p": 2.0, "bits": 8}]), "space.channel[0]"),
    Case("unknown-sampler", search("search.sampler", "astrology"), "search.sampler"),
    Case("unknown-objective", search("objectives", ["accuracy", "beauty"]), "objectives[1]"),
    Case("objective-twice", search("objectives", ["latency", "latency"]), "objectives"),
    Case("unknown-search-mode", search("search.mode", "guess"), "search.mode"),
    Case("empty-split-space", search("space.split", []), "space.split"),
    Case("empty-ratio-space", search("space.compression_ratio", []), "space.compression_ratio"),
    Case("empty-method-space", search("space.method", []), "space.method"),
    Case("empty-objectives", search("objectives", []), "objectives"),
    Case("zero-trials", search("search.trials", 0), "search.trials"),
    Case("negative-trials", search("search.trials", -3), "search.trials"),
    Case("unreachable-latency", search("constraints.max_latency_s", 1e-9), "constraints.max_latency_s"),
    Case("unreachable-throughput", search("constraints.min_throughput_fps", 1e12), "constraints.min_throughput_fps"),
    Case("accuracy-drop-over-100", search("constraints.max_accuracy_drop", 250.0), "constraints.max_accuracy_drop"),
    Case("oracle-without-table", search("search.mode", "oracle"), "search.table"),
    Case("malformed-yaml", text("search", "name: [unclosed\n"), "not valid YAML"),
    Case("empty-file", text("search", ""), "empty file"),
    Case("not-a-mapping", text("sweep", "- 1\n- 2\n"), "a mapping of keys"),
    Case("yaml-object-tag", text("search", "name: !!python/object/apply:os.system [touch pwned]\n"),
         "could not determine a constructor"),
    Case("name-escapes-results", search("name", "../../outside"), "name"),
    Case("sweep-name-escapes", verb("sweep", SWEEP, "name", "../x"), "name"),
    Case("train-name-escapes", verb("train", TRAIN, "name", "/etc"), "name"),
    Case("data-root-missing", lambda tmp: ["train", study_file(tmp, {**TRAIN, "dataset": {"name": "fashion-mnist"}}),
                                           "--data-root", str(tmp / "nowhere")], "nowhere"),
    Case("corrupt-data-file", corrupt_data, "images-idx3-ubyte"),
]

COMMAND_LINE = [
    Case("unknown-verb", lambda tmp: ["frobnicate"], "frobnicate"),
    Case("no-verb", lambda tmp: [], "VERB"),
    Case("malformed-input", lambda tmp: ["profile", "alexnet", "--input", "3x224"], "--input"),
    Case("bits-out-of-range", lambda tmp: ["profile", "alexnet", "--act-bits", "33"], "--act-bits"),
    Case("bits-zero", lambda tmp: ["profile", "alexnet", "--weight-bits", "0"], "--weight-bits"),
    Case("unknown-format", lambda tmp: ["profile", "alexnet", "--format", "xml"], "--format"),
    Case("bad-storage-url", search(None, None, "--storage", "not a url"), "--storage"),
    Case("storage-driver-missing", search(None, None, "--storage", "oracle+cx_oracle://u@h/db"), "--storage"),
    Case("workers-zero", search(None, None, "--workers", "0"), "--workers"),
    Case("trials-zero", search(None, None, "--trials", "0"), "--trials"),
    Case("time-limit-negative", verb("train", TRAIN, None, None, "--time-limit", "-5"), "--time-limit"),
    Case("study-is-a-folder", lambda tmp: ["search", str(tmp)], "is a folder"),
    Case("study-missing", lambda tmp: ["sweep", str(tmp / "none.yaml")], "no such study file"),
    Case("output-is-a-file", lambda tmp: ["sweep", study_file(tmp, SWEEP), "--output", study_file(tmp, "x", "a.txt")],
         "output: "),
    Case("output-under-a-file", lambda tmp: ["sweep", study_file(tmp, SWEEP), "--output",
                                             study_file(tmp, "x", "a.txt") + "/sub"], "is a file, not a folder"),
    Case("study-output-is-a-file", lambda tmp: ["train", study_file(tmp, {**TRAIN, "output": study_file(tmp, "x", "a.txt")})],
         "output: "),
    Case("cache-dir-is-a-file", lambda tmp: ["train", study_file(tmp, TRAIN), "--cache-dir", study_file(tmp, "x", "a.txt")],
         "--cache-dir"),
    Case("search-cache-dir-is-a-file", search(None, None, "--cache-dir", "study.yaml"), "--cache-dir"),
    Case("search-data-root-missing", lambda tmp: ["search", study_file(tmp, {**STUDY, "dataset": {"name": "fashion-mnist"}}),
                                                  "--data-root", str(tmp / "nowhere")], "nowhere"),
    Case("unknown-preset-shown", lambda tmp: ["hw", "show", "abacus"], "abacus"),
    Case("link-rates-not-numbers", search_verb("export", "--pick", "minimize latency", "--table",
                                               "--link-rates", "fast"), "--link-rates"),
    Case("table-without-pick", search_verb("export", "--trial", "0", "--table"), "--table"),
    Case("export-trial-not-a-number", search_verb("export", "--trial", "first"), "--trial"),
]

RESULTS = [
    Case("pareto-never-run", search_verb("pareto"), "no study"),
    Case("export-never-run", search_verb("export", "--pick", "accuracy>=0.9; minimize latency"), "no study"),
    Case("report-never-run", search_verb("report"), "no study"),
    Case("export-trial-missing", with_trials("--trial", "7"), "--trial"),
    Case("export-trial-not-complete", with_trials("--trial", "0"), "--trial"),
    Case("export-bad-pick", with_trials("--pick", "accuracy>>0.9"), "accuracy>>0.9"),
    Case("check-missing-config", lambda tmp: ["check", str(tmp / "config.json")], "no such config"),
    Case("check-config-not-json", config("{not json"), "not JSON"),
    Case("check-config-not-ours", config(json.dumps({"model": "resnet"})), "not a split-explorer deployment config"),
    Case("check-config-old-version", config(json.dumps({"schema": "split-explorer/deploy-config", "version": 1})),
         "version"),
    Case("check-config-is-a-folder", lambda tmp: ["check", str(tmp)], "is a folder"),
]

CASES = STUDY_FILES + COMMAND_LINE + RESULTS


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """tmp_path as the working folder (results/ lands in it) with its own cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPLIT_EXPLORER_CACHE", str(tmp_path / "cache"))
    return tmp_path


def run_in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_matrix_is_large_and_its_cases_distinct():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_naming_it_and_writes_nothing(case, workdir, capsys):
    argv = case.make(workdir)
    before = files(workdir)
    code, out, err = run_in_process(argv, capsys)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert case.named in err, err
    assert "Traceback" not in out + err
    assert files(workdir) == before
    assert not Path("pwned").exists()


SUBPROCESS = ["export-never-run", "unknown-verb"]  # the case, and one that imports no torch


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS], ids=lambda c: c.id)
def test_no_traceback_reaches_the_terminal(case, workdir):
    argv = case.make(workdir)
    before = files(workdir)
    env = {**os.environ, "PYTHONPATH": python_path()}
    done = subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert case.named in done.stderr and "Traceback" not in done.stderr
    assert files(workdir) == before
