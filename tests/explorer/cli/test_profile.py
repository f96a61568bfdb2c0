import json

import pytest

from explorer.profile.table import ROW_FIELDS
from tests.cli_run import run


def test_json_is_a_list_of_rows_with_exactly_the_fields(capsys):
    code, out, err = run(capsys, "profile", "vgg16-cifar", "--format", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert all(list(row) == list(ROW_FIELDS) for row in rows)
    conv2_2 = next(row for row in rows if row["name"] == "conv2_2")
    assert conv2_2["head_macs"] == pytest.approx(9.6e7, rel=0.02)


def test_csv_and_table(capsys):
    code, out, _ = run(capsys, "profile", "small-cnn", "--format", "csv", "--act-bits", "8")
    assert code == 0
    assert out.splitlines()[0] == ",".join(ROW_FIELDS)
    assert out.splitlines()[1].startswith("-1,input,")
    code, out, _ = run(capsys, "profile", "alexnet", "--act-bits", "16")
    assert code == 0 and "3.092e+05" in out.splitlines()[2]


@pytest.mark.parametrize("argv, named", [
    (["profile", "lenet5"], "model 'lenet5'"),
    (["profile", "alexnet", "--input", "3x224"], "--input"),
    (["profile", "alexnet", "--input", "0x224x224"], "--input"),
    (["profile", "alexnet", "--weight-bits", "0"], "--weight-bits"),
    (["profile", "alexnet", "--act-bits", "33"], "--act-bits"),
    (["profile", "alexnet", "--act-bits", "x"], "--act-bits"),
    (["profile", "alexnet", "--format", "xml"], "--format"),
    (["profile", "alexnet", "--input", "3x16x16"], "input 3x16x16"),
])
def test_bad_input_is_one_line_naming_it_exit_2(capsys, argv, named):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and named in err


def test_help_describes_every_option(capsys):
    code, out, _ = run(capsys, "profile", "--help")
    assert code == 0
    for option in ("--input", "--classes", "--weight-bits", "--act-bits", "--input-bits",
                   "--format"):
        assert option in out
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "profile" in out
