"""A study of a user's own network (a file the test writes, named by path and factory): read,
profiled from its graph, searched with retraining (2 trials), exported and checked, on the CPU;
bad references are one line."""
import json
import textwrap

import pytest
import yaml

from explorer.cli import main
from explorer.studies.common import read_study
from explorer.studies.search import resolve_search
from netmodels.zoo import USER_MODELS
from tests.explorer.search.search_cases import STUDY, trials

MODEL_FILE = textwrap.dedent('''
    import torch
    from torch import nn


    class Branches(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.a = nn.Conv2d(channels, 8, 1)
            self.b = nn.Conv2d(channels, 8, 3, padding=1)

        def forward(self, x):
            return torch.cat([self.a(x), self.b(x)], 1)


    class TinyNet(nn.Module):
        def __init__(self, classes=4, width=8):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
            self.pool = nn.MaxPool2d(2)
            self.mix = Branches(width)
            self.act = nn.ReLU()
            self.head = nn.Linear(16 * 8 * 8, classes)

        def forward(self, x):
            x = self.pool(self.stem(x))
            x = self.pool(self.act(self.mix(x)))
            return self.head(torch.flatten(x, 1))


    def untraceable():
        class Branchy(nn.Module):
            def forward(self, x):
                return x if x.sum() > 0 else -x
        return Branchy()


    def not_a_module(classes):
        return classes
''')
REFERENCE = {"path": "code/tinynet.py", "factory": "TinyNet", "kwargs": {"classes": 4}, "input": [1, 32, 32],
             "classes": 4}
USER_STUDY = {**STUDY, "name": "user-model", "model": REFERENCE,
              "space": {**STUDY["space"], "split": ["pool", "pool_1"], "compression_ratio": [16],
                        "method": ["none", "bottlenetpp"], "channel": [{"kind": "none"}]},
              "search": {**STUDY["search"], "trials": 2}}


def _write(tmp_path, study):
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "tinynet.py").write_text(MODEL_FILE)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**study, "output": str(tmp_path / "out")}))
    return path


def test_a_user_model_study_profiles_searches_exports_and_checks(tmp_path, capsys):
    path = _write(tmp_path, USER_STUDY)
    name = read_study(path)["model"]
    assert name in USER_MODELS and name.startswith("user-tinynet-TinyNet-")
    resolved = resolve_search(path)
    assert "pool" in resolved.profile.names and resolved.profile.sent is not None
    assert main(["profile", str(tmp_path / "code" / "tinynet.py") + ":TinyNet", "--input", "1x32x32",
                 "--kwargs", '{"classes": 4}', "--format", "json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["mix_a"]["sent_tensors"].count("+") == 1  # the pooled map and branch a cross
    assert rows["mix_a"]["feature_elements"] == 8 * 16 * 16 + 8 * 16 * 16
    assert main(["search", str(path), "--no-progress"]) == 0
    out = tmp_path / "chosen"
    assert main(["export", str(path), "--pick", "minimize latency", "--output", str(out)]) == 0
    assert {"device.onnx", "server.onnx", "config.json"} <= {p.name for p in out.iterdir()}
    assert main(["check", str(out / "config.json")]) == 0
    assert main(["check", str(out / "config.json"), "--runtime", "onnxruntime"]) == 0


@pytest.mark.parametrize("change, message", [
    ({"path": "code/none.py"}, "model.path: "),
    ({"factory": "Nope"}, "the file has no callable 'Nope'"),
    ({"factory": "not_a_module"}, "returned a int, not a torch.nn.Module"),
    ({"factory": "untraceable", "kwargs": {}}, "cannot be traced with torch.fx: symbolically traced variables"),
    ({"kwargs": {"classes": {1, 2}}}, "model.kwargs: not JSON data"),
    ({"kwargs": {"colours": 3}}, "unexpected keyword argument 'colours'"),
    ({"input": [3, 32, 32]}, "input 3x32x32 does not fit"),
    ({"classes": 7}, "returns 4 values per frame, not the 7 classes"),
    ({"cuts": "some"}, "model.cuts: expected one of all, single, blocks"),
])
def test_a_bad_user_model_reference_is_one_line(tmp_path, capsys, change, message):
    path = _write(tmp_path, {**USER_STUDY, "model": {**REFERENCE, **change}})
    assert main(["search", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_multi_tensor_split_is_priced_but_its_trial_is_pruned_with_the_reason(tmp_path):
    path = _write(tmp_path, {**USER_STUDY, "space": {**USER_STUDY["space"], "split": ["mix_a"], "method": ["none"]}})
    resolved = resolve_search(path)
    k = resolved.split_index("mix_a")
    assert len(resolved.profile.sent[k + 1]) == 2
    assert main(["search", str(path), "--no-progress"]) == 0
    reasons = {t.user_attrs.get("pruned_reason") for t in trials(path)}
    assert any("sends 2 tensors (pool, mix_a)" in str(r) for r in reasons), reasons


def test_a_reference_is_relative_to_the_study_or_absolute_and_named_by_its_contents(tmp_path):
    path = _write(tmp_path, USER_STUDY)
    name = read_study(path)["model"]
    assert read_study(path)["model"] == name  # read again: the same registered model
    elsewhere = tmp_path / "studies" / "deep"
    elsewhere.mkdir(parents=True)
    absolute = {**USER_STUDY, "model": {**REFERENCE, "path": str(tmp_path / "code" / "tinynet.py")}}
    (elsewhere / "study.yaml").write_text(yaml.safe_dump(absolute))
    assert read_study(elsewhere / "study.yaml")["model"] == name  # outside the study's folder: allowed
    (tmp_path / "code" / "tinynet.py").write_text(MODEL_FILE + "\n# edited\n")
    assert read_study(path)["model"] != name  # a changed file never reuses the old one's cached base model
