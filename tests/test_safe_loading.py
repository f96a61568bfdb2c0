"""Safe loading: no file a user could have been handed (a cached or trained model, a training
checkpoint, an exported program, a data set, a study) runs code when the project reads it.

Each crafted file carries a pickle `__reduce__` payload that creates a marker file; the test first
shows the payload is live (an unsafe load creates the marker), then that every loader of the
project refuses the file with its own error and the marker never appears.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import json
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from explorer.cli import main
from explorer.deploy.check import _load_program
from netmodels.baseline import baseline_stem, get_baseline
from netmodels.candidate.store import load_candidate
from netmodels.data import load_dataset
from netmodels.training.checkpoint import load_checkpoint
from netmodels.training.config import TrainConfig
from splitbase import SplitExplorerError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("splitbase", "hwmodels", "netmodels", "explorer")


class Payload:
    """Unpickled, it opens (creates) `marker`: code run from the file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def crafted_torch_file(path: Path, marker: Path) -> Path:
    torch.save({"format": "split-explorer/candidate-1", "state_dict": Payload(marker)}, path)
    return path


def crafted_program(path: Path, marker: Path) -> Path:
    """A real torch.export .pt2 whose first weight is stored as a pickle carrying the payload."""
    torch.export.save(torch.export.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),)), path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config_name = next(n for n in files if n.endswith("model_weights_config.json"))
    config = json.loads(files[config_name])
    weight = config["config"]["weight"]
    weight["use_pickle"] = True
    crafted = path.with_suffix(".payload")
    torch.save(Payload(marker), crafted)
    files[config_name[: -len("model_weights_config.json")] + weight["path_name"]] = crafted.read_bytes()
    files[config_name] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def crafted_cifar(folder: Path, marker: Path) -> Path:
    folder.mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (folder / name).write_bytes(pickle.dumps({b"data": Payload(marker), b"labels": [0]}))
    return folder


def test_the_crafted_files_are_live(tmp_path):
    """Without the project's guards the payloads run: the refusals below are not vacuous."""
    marker = tmp_path / "marker"
    torch.load(crafted_torch_file(tmp_path / "c.pt", marker), weights_only=False)
    assert marker.exists()
    marker.unlink()
    with contextlib.suppress(Exception):  # the payload runs, then torch finds no Parameter in its place
        torch.export.load(crafted_program(tmp_path / "p.pt2", marker))
    assert marker.exists()
    marker.unlink()
    pickle.loads((crafted_cifar(tmp_path / "cifar", marker) / "test_batch").read_bytes())
    assert marker.exists()


def load_baseline(tmp_path: Path, marker: Path) -> None:
    data = load_dataset("synthetic", num_classes=2, shape=[1, 8, 8], num_train=8, num_test=4)
    config = TrainConfig(steps=1, batch_size=4, device="cpu")
    stem, _ = baseline_stem("small-cnn", data, config)
    cache = tmp_path / "cache" / "baselines"
    cache.mkdir(parents=True)
    crafted_torch_file(cache / f"{stem}.pt", marker)
    (cache / f"{stem}.json").write_text(json.dumps({"test_accuracy": 0.5, "wall_time_s": 1.0}))
    get_baseline("small-cnn", data, config, cache_dir=tmp_path / "cache", progress=False)


LOADERS = {
    "base-model cache": load_baseline,
    "trained-candidate store": lambda tmp, marker: load_candidate(crafted_torch_file(tmp / "c.pt", marker)),
    "training checkpoint": lambda tmp, marker: load_checkpoint(crafted_torch_file(tmp / "c.ckpt", marker)),
    "export check": lambda tmp, marker: _load_program(crafted_program(tmp / "device.pt2", marker), "device"),
    "cifar batches": lambda tmp, marker: load_dataset("cifar10", root=crafted_cifar(tmp / "cifar", marker)),
}


@pytest.mark.parametrize("load", LOADERS.values(), ids=LOADERS.keys())
def test_a_crafted_file_is_refused_by_every_loader(tmp_path, load):
    marker = tmp_path / "marker"
    with pytest.raises(SplitExplorerError):
        load(tmp_path, marker)
    assert not marker.exists()


def test_a_study_that_would_construct_an_object_is_one_line(tmp_path, capsys):
    marker = tmp_path / "marker"
    study = tmp_path / "study.yaml"
    study.write_text(f"name: !!python/object/apply:builtins.open [{marker}, w]\n")
    assert main(["sweep", str(study), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "could not determine a constructor" in err
    assert not marker.exists() and not (tmp_path / "out").exists()


def calls(tree: ast.AST):
    """(dotted name of the called function, the call) of every call in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, func = [], node.func
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                yield ".".join([func.id, *reversed(parts)]), node


def sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text())


def keyword(call: ast.Call, name: str):
    value = next((k.value for k in call.keywords if k.arg == name), None)
    return value.value if isinstance(value, ast.Constant) else value


def test_every_load_in_the_package_is_a_safe_one():
    """torch.load with weights_only=True; YAML through a SafeLoader; no pickle.load(s), no
    np.load with pickles; unpickler subclasses restrict find_class; torch.export.load only in
    the guarded export check."""
    found, exports = {"torch.load": 0}, []
    for path, tree in sources():
        where = path.relative_to(ROOT)
        for name, call in calls(tree):
            if name == "torch.load":
                found[name] += 1
                assert keyword(call, "weights_only") is True, f"{where}:{call.lineno}: torch.load without weights_only=True"
            assert name not in ("pickle.load", "pickle.loads", "yaml.unsafe_load", "yaml.full_load",
                                "torch.jit.load", "marshal.loads"), f"{where}:{call.lineno}: {name}"
            if name in ("np.load", "numpy.load"):
                assert keyword(call, "allow_pickle") in (None, False), f"{where}:{call.lineno}: np.load of pickles"
            if name == "yaml.load":
                loader = keyword(call, "Loader")
                module = importlib.import_module(".".join(where.with_suffix("").parts))
                assert isinstance(loader, ast.Name) and issubclass(getattr(module, loader.id), yaml.SafeLoader), \
                    f"{where}:{call.lineno}: yaml.load without a SafeLoader"
            if name == "torch.export.load":
                exports.append(str(where))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b) == "pickle.Unpickler" for b in node.bases):
                assert any(isinstance(f, ast.FunctionDef) and f.name == "find_class" for f in node.body), \
                    f"{where}: {node.name} unpickles without restricting find_class"
    assert found["torch.load"] >= 3 and exports == [str(Path("explorer/deploy/check.py"))]
