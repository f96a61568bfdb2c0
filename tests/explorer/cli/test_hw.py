import pytest

from tests.cli_run import run


def test_hw_list_names_every_preset(capsys):
    code, out, _ = run(capsys, "hw", "list")
    assert code == 0
    for name in ("engine-28nm-144mac", "engine-28nm-144mac-004cal", "wifi-80211bgn-004",
                 "raspberry-pi-3", "rtx-2080ti", "awgn-1mhz-14.5db", "lora-sf7-125k"):
        assert name in out


def test_hw_show_gives_sources_and_calibrations(capsys):
    code, out, _ = run(capsys, "hw", "show", "engine-28nm-144mac-004cal")
    assert code == 0
    assert "calibrated: studies/edge_host_alexnet.yaml" in out and "source: 004" in out
    code, out, _ = run(capsys, "hw", "show", "wifi-80211bgn-004:22mbps")
    assert code == 0 and "660" in out


@pytest.mark.parametrize("argv, named", [
    (["hw", "show", "engine-7nm"], "unknown hardware preset 'engine-7nm'"),
    (["hw", "show", "wifi-80211bgn-004:5mbps"], "unknown mode '5mbps'"),
    (["hw"], "ACTION"),
])
def test_hw_errors_are_one_line(capsys, argv, named):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and named in err
