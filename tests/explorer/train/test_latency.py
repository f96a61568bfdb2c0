"""Latency against link rate of a retraining study's candidates (explorer.train.latency, 001 Fig. 4)."""
import pandas as pd
import pytest
import yaml

from explorer.cli import main

LATENCY = {"name": "latency_rate", "title": "latency", "device": "raspberry-pi-3", "link": "wifi-80211bgn-004:2mbps",
           "server": "rtx-2080ti", "link_rates_bit_per_s": [100000, 1000000], "max_drop": 100.0,
           "series": [{"label": "bottlenetpp", "rows": [{"method": "bottlenetpp"}]},
                      {"label": "plain", "rows": [{"method": "none"}]}]}
STUDY = {
    "name": "tiny_latency",
    "dataset": {"name": "synthetic", "options": {"num_classes": 4, "shape": [1, 32, 32], "num_train": 64, "num_test": 32}},
    "models": ["small-cnn"],
    "baseline": {"steps": 2, "batch_size": 32, "device": "cpu"},
    "training": {"steps": 1, "batch_size": 32, "device": "cpu"},
    "candidates": [{"split": ["conv1", "conv3"], "method": "bottlenetpp", "compression_ratio": [8, 32],
                    "channel": {"kind": "bec", "p": 0.0, "bits": 8}},
                   {"split": ["conv3"], "method": "none"}],
    "latency": [LATENCY],
}


def train(tmp_path, study, *extra):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return main(["train", str(path), "--output", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
                 "--no-progress", *extra])


def test_each_series_keeps_its_fastest_candidate_at_each_rate_and_the_report_shows_it(tmp_path, capsys):
    assert train(tmp_path, STUDY) == 0
    out = tmp_path / "out"
    table = pd.read_csv(out / "latency_rate.csv")
    assert list(table["series"]) == ["bottlenetpp", "bottlenetpp", "plain", "plain"]
    assert (table["latency_s"] >= table[["head_s", "encode_s", "link_s", "tail_s"]].max(axis=1)).all()
    plain = table[table["series"] == "plain"]
    assert plain["link_s"].iloc[0] == pytest.approx(10 * plain["link_s"].iloc[1])  # one candidate, 10x the rate
    assert plain["candidate"].nunique() == 1
    for _, series in table.groupby("series"):  # a faster link never makes the series' best slower
        assert series["latency_s"].iloc[1] < series["latency_s"].iloc[0]
    candidates = pd.read_csv(out / "candidates.csv")
    chosen = candidates.set_index("candidate").loc[table["candidate"], "method"]
    assert list(chosen) == ["bottlenetpp", "bottlenetpp", "none", "none"]
    report = (out / "REPORT.md").read_text()
    assert "## Latency against link rate" in report and "(latency_rate.png)" in report
    assert (out / "latency_rate.png").stat().st_size > 0
    (out / "latency_rate.csv").unlink()
    assert train(tmp_path, STUDY, "--report-only") == 0  # drawn again from the untrained candidates
    assert pd.read_csv(out / "latency_rate.csv").equals(table)


def test_a_series_without_a_candidate_within_the_drop_draws_nothing(tmp_path):
    strict = {**STUDY, "latency": [{**LATENCY, "max_drop": -100.0}]}
    assert train(tmp_path, strict) == 0
    assert not (tmp_path / "out" / "latency_rate.csv").exists()
    assert "## Latency against link rate" not in (tmp_path / "out" / "REPORT.md").read_text()


@pytest.mark.parametrize("change, named", [({"device": "raspberry-pi-9"}, "latency[0].device"),
                                           ({"link_rates_bit_per_s": []}, "latency[0].link_rates_bit_per_s: is empty"),
                                           ({"series": []}, "latency[0].series: is empty"),
                                           ({"link": "awgn-1mhz-14.5db"}, "latency[0].link: 'awgn-1mhz-14.5db' at a rate of 100000 bit/s"),
                                           ({"name": "../up"}, "latency[0].name")])
def test_a_bad_latency_figure_is_one_line_before_any_training(tmp_path, capsys, change, named):
    assert train(tmp_path, {**STUDY, "latency": [{**LATENCY, **change}]}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "cache").exists()


def test_analog_values_on_a_link_of_bits_are_refused_in_one_line_naming_the_candidate(tmp_path, capsys):
    analog = {**STUDY, "candidates": [{"split": ["conv3"], "method": "bottlenetpp", "compression_ratio": [8],
                                       "channel": {"kind": "awgn", "psnr_db": 20}}]}
    assert train(tmp_path, analog) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "latency figure 'latency_rate': candidate 0 (bottlenetpp at conv3)" in err, err


CLAIM = {"what": "slow links", "kind": "latency", "value": 0.1, "tolerance": 0.0, "figure": "latency_rate",
         "max_rate_bit_per_s": 100000, "rows": [{"method": "none"}]}


def test_a_latency_claim_takes_the_slowest_of_the_fastest_rows_at_rates_up_to_its_limit(tmp_path):
    assert train(tmp_path, {**STUDY, "source": "shao2020tradeoff", "paper": [CLAIM]}) == 0
    table = pd.read_csv(tmp_path / "out" / "latency_rate.csv")
    slow = table[(table["series"] == "plain") & (table["link_rate_bit_per_s"] == 100000)]["latency_s"].item()
    line = next(l for l in (tmp_path / "out" / "REPORT.md").read_text().splitlines() if l.startswith("| slow links"))
    assert f"100 kbit/s: {slow:.3f} s (conv3) (highest {slow:.3f} s)" in line
    assert line.endswith("| yes |" if slow <= 0.1 else "| **no** |")


@pytest.mark.parametrize("claim, named", [({"figure": None}, "kinds 'latency' and 'state_times' take figure, and only they"),
                                          ({"figure": "other"}, "paper[0].figure: no latency figure 'other'"),
                                          ({"kind": "drop", "figure": None}, "only it")])
def test_a_latency_claim_names_a_latency_figure_of_the_study(tmp_path, capsys, claim, named):
    bad = {**CLAIM, **claim}
    bad = {k: v for k, v in bad.items() if v is not None}
    assert train(tmp_path, {**STUDY, "source": "shao2020tradeoff", "paper": [bad]}) == 2
    assert named in capsys.readouterr().err
