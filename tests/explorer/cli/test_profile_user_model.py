"""`split-explorer profile FILE.py:FACTORY`: a user's own network profiled from its graph."""
import json
import textwrap

import pytest

from explorer.profile.table import GRAPH_FIELDS, ROW_FIELDS
from tests.cli_run import run

MODEL = textwrap.dedent('''
    import torch
    from torch import nn


    class Residual(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.conv = nn.Conv2d(width, width, 3, padding=1)

        def forward(self, x):
            return torch.relu(self.conv(x) + x)


    def build(width=4, classes=3):
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), Residual(width), nn.Flatten(),
                             nn.Linear(width * 8 * 8, classes))


    def branchy():
        class Branchy(nn.Module):
            def forward(self, x):
                return x if x.sum() > 0 else -x
        return nn.Sequential(nn.Conv2d(3, 3, 1), Branchy())
''')



@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "mynet.py"
    path.write_text(MODEL)
    return str(path)


def test_a_user_model_is_profiled_at_every_valid_cut(capsys, model_file):
    code, out, err = run(capsys, "profile", f"{model_file}:build", "--input", "3x8x8", "--kwargs", '{"width": 5}',
                         "--format", "json")
    assert code == 0 and err == ""
    rows = {row["name"]: row for row in json.loads(out)}
    assert all(list(row) == list(ROW_FIELDS + GRAPH_FIELDS) for row in rows.values())
    # inside the residual block the block's input crosses beside the conv's output
    assert rows["_1_conv"]["sent_tensors"] == "_0[5x8x8 float32] + _1_conv[5x8x8 float32]"
    assert rows["_1_conv"]["feature_elements"] == 2 * 5 * 64
    assert rows["_0"]["head_peak_activation_bytes"] == (3 + 5) * 64 * 4
    assert list(rows)[-1] == "_3" and rows["_3"]["tail_macs"] == 0
    code, out, _ = run(capsys, "profile", f"{model_file}:build", "--input", "3x8x8", "--cuts", "single",
                       "--format", "json")
    assert code == 0 and "_1_conv" not in {row["name"] for row in json.loads(out)}


@pytest.mark.parametrize("argv, named", [
    (["{file}:branchy", "--input", "3x8x8"], "in module '1'"),
    (["{file}:build"], "--input: a user model"),
    (["{file}:build", "--input", "3x8x8", "--kwargs", "[1]"], "argument --kwargs: expected a JSON object"),
    (["{file}:build", "--input", "3x8x8", "--kwargs", '{"depth": 2}'], "unexpected keyword argument 'depth'"),
    (["{file}:missing", "--input", "3x8x8"], "has no callable 'missing'"),
    (["small-cnn", "--cuts", "single"], "apply to a user model"),
])
def test_bad_user_model_input_is_one_line(capsys, model_file, argv, named):
    code, out, err = run(capsys, "profile", *(a.replace("{file}", model_file) for a in argv))
    assert code == 2 and out == "" and err.count("\n") == 1 and named in err, err


def test_the_cut_choices_are_the_graph_packages():
    from explorer.cli.profile import CUTS
    from netmodels.graph import KEEP

    assert CUTS == KEEP
