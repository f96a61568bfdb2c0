"""A retraining study's claims of its paper, computed from candidates.csv (explorer.train.paper)."""
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from explorer.studies.train import PaperClaim, StudyFigure, resolve_train_study
from explorer.train.figures import series_infos
from explorer.train.paper import claims_table, compare_claims, disagreements, matching, with_link_time
from explorer.analysis.papers import PAPERS
from explorer.cli import main
from splitbase import StudyError
from splitbase.schema import parse

ROOT = Path(__file__).resolve().parents[3]


def row(split, method, options, accuracy, payload_bits=1000.0, drop=None):
    return {"split": split, "method": method, "options": json.dumps(options), "accuracy": accuracy,
            "payload_bits": payload_bits, "accuracy_drop_points": 100 * (0.95 - accuracy) if drop is None else drop}


CANDIDATES = pd.DataFrame([
    row("a", "bottlefit", {"channels": 3}, 0.94), row("b", "bottlefit", {"channels": 3}, 0.93),
    row("a", "bottlefit", {"channels": 3, "training": "kd"}, 0.90),
    row("a", "bottlefit", {"channels": 3, "training": "conventional"}, 0.91),
    row("b", "bottlefit", {"channels": 3, "training": "kd"}, 0.92),
    row("a", "bottlefit", {"channels": 6}, 0.945, 2000.0), row("a", "bottlefit", {"channels": 6, "training": "kd"}, 0.94),
    row("a", "autoencoder", {}, 0.80, 1100.0), row("a", "autoencoder", {}, 0.70, 5000.0),
])


def claim(**fields):
    return parse(PaperClaim, fields, "paper[0]", error=StudyError)


def test_a_gap_is_taken_over_the_best_partner_at_the_same_split():
    baselines = [{"method": "bottlefit", "options": {"channels": 3, "training": t}} for t in ("kd", "conventional")]
    gap = claim(what="over the best baseline", kind="gap", value=[0.5, 3.0],
                rows=[{"method": "bottlefit", "options": {"channels": 3}}], than=baselines)
    (result,) = compare_claims([gap], CANDIDATES, complete=True)
    assert result.ours == "a: 3.00; b: 1.00" and result.agrees and result.paper == "0.50 to 3.00"
    assert claims_table([result]) == [["over the best baseline", "0.50 to 3.00", "a: 3.00; b: 1.00", "yes"]]


def test_options_match_exactly_and_partners_can_share_options_or_the_nearest_size():
    same = claim(what="by channels", kind="gap", value=1.0, same_options=["channels"], tolerance=0.1,
                 rows=[{"method": "bottlefit", "options": {"channels": c}} for c in (3, 6)],
                 than=[{"method": "bottlefit", "options": {"channels": c, "training": "kd"}} for c in (3, 6)])
    near = claim(what="over the autoencoder", kind="gap", value=16.0, tolerance=5.0, nearest="payload_bits",
                 rows=[{"method": "bottlefit", "split": "a", "options": {"channels": 3}}], than=[{"method": "autoencoder"}])
    by_channels, by_size = compare_claims([same, near], CANDIDATES, complete=True)
    assert by_channels.ours == "a: 0.50 to 4.00; b: 1.00" and by_channels.agrees is False
    assert by_size.ours == "a: 14.00" and by_size.agrees  # the 1100-bit autoencoder, not the 5000-bit one


def test_a_drop_claim_and_a_study_still_running():
    drop = claim(what="smallest loss", kind="drop", value=0.6, tolerance=0.0, rows=[{"method": "bottlefit"}])
    missing = claim(what="over nothing yet", kind="gap", value=1.0, rows=[{"method": "bottlefit"}],
                    than=[{"method": "threestep"}])
    done, waiting = compare_claims([drop, missing], CANDIDATES, complete=False)
    assert done.ours == "a: 0.50; b: 2.00 (partial: the study has not finished)" and done.agrees
    assert waiting.ours == "not measured yet" and waiting.agrees is None
    assert compare_claims([missing], CANDIDATES, complete=True)[0].ours == "no candidate of the study matches"


@pytest.mark.parametrize("fields, named", [
    ({"kind": "gap", "value": 1.0, "rows": [{}]}, "paper[0].than"),
    ({"kind": "drop", "value": 1.0, "rows": [{}], "than": [{}]}, "paper[0].than"),
    ({"kind": "drop", "value": [2.0, 1.0], "rows": [{}]}, "paper[0].value"),
    ({"kind": "drop", "value": 1.0, "rows": []}, "paper[0].rows"),
])
def test_a_malformed_claim_is_named(fields, named):
    with pytest.raises(StudyError, match=named.replace("[", r"\[").replace("]", r"\]")):
        claim(what="x", **fields)


def test_claims_need_their_paper(tmp_path):
    shipped = ROOT / "studies" / "bottlefit_resnet18_fmnist.yaml"
    study = yaml.safe_load(shipped.read_text())
    assert study["paper"] and resolve_train_study(shipped).study.paper
    del study["source"]
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    with pytest.raises(StudyError, match="source"):
        resolve_train_study(path)


# study, its candidates, the synthetic images' side (16 where the model takes it: a quarter of the
# compute), and whether each group keeps only its first and last split (the studies of every
# split of a deep model: each group, claim and figure still runs, in seconds)
@pytest.mark.parametrize("name, candidates, side, thin", [
    ("bottlefit_resnet18_fmnist", 68, 16, False), ("edge_host_accuracy_vgg16_fmnist", 496, 32, True),
    ("edge_host_accuracy_resnet18_fmnist", 173, 16, False), ("three_step_resnet18_fmnist", 71, 16, False),
    ("bottlenetpp_robustness_resnet50_fmnist", 4, 16, False), ("bottlenetpp_resnet50_fmnist", 137, 16, True),
    ("bottlenetpp_vgg16_fmnist", 145, 32, True)])
def test_a_paper_study_runs_end_to_end_on_synthetic_data_with_its_claims(tmp_path, capsys, name, candidates, side, thin):
    """The shipped study file, unchanged but for the data set (synthetic), the budgets (one
    step) and, with `thin`, each group's splits (its first and last): every candidate trains and
    the report sets each claim beside ours."""
    shipped = ROOT / "studies" / f"{name}.yaml"
    assert len(resolve_train_study(shipped).specs) == candidates
    study = yaml.safe_load(shipped.read_text())
    tiny = {"steps": 1, "batch_size": 8, "device": "cpu"}
    study.update(dataset={"name": "synthetic", "options": {"num_classes": 10, "shape": [1, side, side],
                                                           "num_train": 16, "num_test": 16}},
                 baseline=tiny, training=tiny)
    if thin:
        for group in study["candidates"]:
            group["split"] = list(dict.fromkeys([group["split"][0], group["split"][-1]]))
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    assert main(["train", str(path), "--output", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
                 "--no-progress"]) == 0
    report = (tmp_path / "out" / "REPORT.md").read_text()
    beside = report[report.index("## Beside the paper"):]
    resolved = resolve_train_study(path)
    paper = resolved.study
    assert PAPERS.get(paper.source).authors in beside
    assert len(pd.read_csv(tmp_path / "out" / "candidates.csv")) == len(resolved.specs)
    assert all(c.what in beside for c in paper.paper) and "not measured yet" not in beside
    for figure in paper.figures:
        assert (tmp_path / "out" / f"{figure.name}.png").stat().st_size > 0 and f"({figure.name}.png)" in report


def test_a_ratio_claim_takes_the_highest_ratio_within_the_accuracy_loss_and_its_gain():
    def coded(split, quality, retrain, ratio, drop):
        return {"split": split, "method": "edgehost", "accuracy": 0.9, "accuracy_drop_points": drop,
                "compression_ratio": ratio, "payload_bits": 1.0,
                "options": json.dumps({"quality": quality, **({} if retrain else {"retrain": False})})}

    frame = pd.DataFrame([coded("c5", 90, False, 10.0, 0.2), coded("c5", 30, False, 28.0, 0.9),
                          coded("c5", 10, False, 60.0, 4.0), coded("c4", 30, False, 12.0, 0.5),
                          coded("c5", 30, True, 28.0, 0.1), coded("c5", 10, True, 31.0, 0.8)])
    plain = [{"method": "edgehost", "options": {"quality": q, "retrain": False}} for q in (10, 30, 90)]
    tuned = [{"method": "edgehost", "options": {"quality": q}} for q in (10, 30)]
    lossy = claim(what="jpeg", kind="ratio", value=[5, 50], rows=plain, tolerance=0.0)
    gain = claim(what="tuned", kind="ratio", value=11.0, rows=tuned, than=plain, tolerance=2.0)
    strict = claim(what="strict", kind="ratio", value=28.0, rows=plain, max_drop=0.1, tolerance=0.0)
    results = compare_claims([lossy, gain, strict], frame, complete=True)
    assert [r.ours for r in results] == ["c5: 28.0x; c4: 12.0x", "c5: 10.7 %", "no split with a row within 0.1 points"]
    assert [r.agrees for r in results] == [True, True, None]
    with pytest.raises(StudyError, match="than: not taken by kind 'drop'"):
        claim(what="x", kind="drop", value=1.0, rows=plain, than=plain)


def test_with_options_matches_rows_holding_those_options_and_exact_options_the_rest_too():
    frame = pd.DataFrame([row("a", "edgehost", {"codec": "jpeg", "quality": q, "retrain": False}, 0.9) for q in (10, 20)]
                         + [row("a", "edgehost", {"codec": "jpeg", "quality": 10}, 0.9)])
    some = parse(PaperClaim, {"what": "x", "kind": "drop", "value": 1.0,
                              "rows": [{"with_options": {"codec": "jpeg", "retrain": False}}]}, "paper[0]")
    exact = parse(PaperClaim, {"what": "x", "kind": "drop", "value": 1.0,
                               "rows": [{"options": {"codec": "jpeg", "quality": 10}}]}, "paper[0]")
    assert list(matching(frame, some.rows)) == [True, True, False]
    assert list(matching(frame, exact.rows)) == [False, False, True]
    with pytest.raises(StudyError, match="not both"):
        parse(PaperClaim, {"what": "x", "kind": "drop", "value": 1.0,
                           "rows": [{"options": {}, "with_options": {"codec": "jpeg"}}]}, "paper[0]")


def test_a_claim_ours_does_not_meet_is_listed_with_the_study_s_account_of_the_difference():
    meets = claim(what="meets", kind="drop", value=1.0, rows=[{"method": "bottlefit"}], differs="never shown")
    misses = claim(what="misses", kind="drop", value=0.0, tolerance=0.0, rows=[{"method": "autoencoder"}],
                   differs="ImageNet there, Fashion-MNIST here.")
    silent = claim(what="silent", kind="drop", value=0.0, tolerance=0.0, rows=[{"method": "autoencoder"}])
    lines = disagreements(compare_claims([meets, misses, silent], CANDIDATES, complete=True))
    assert lines == ["- misses: ImageNet there, Fashion-MNIST here.",
                     "- silent: the study gives no account of the difference."]


def test_a_figure_series_holds_its_rows_in_the_order_of_x_labelled_by_an_option():
    frame = pd.DataFrame([{**row("a", "edgehost", {"quality": q}, acc), "compression_ratio": ratio}
                          for q, acc, ratio in ((90, 0.95, 5.0), (10, 0.80, 40.0), (50, 0.93, 12.0))])
    figure = parse(StudyFigure, {"name": "qf", "title": "t", "point_label": "quality",
                                 "series": [{"label": "as coded", "rows": [{"method": "edgehost"}]},
                                            {"label": "none yet", "rows": [{"method": "bottlefit"}]}]}, "figures[0]")
    (info,) = series_infos(figure, frame)
    assert info.label == "as coded" and info.point_labels == ["90", "50", "10"]
    assert list(info.x) == [5.0, 12.0, 40.0] and list(info.y) == pytest.approx([95.0, 93.0, 80.0])
    with pytest.raises(StudyError, match="safe"):
        parse(StudyFigure, {"name": "../up", "title": "t", "series": [{"label": "x", "rows": [{}]}]}, "figures[0]")


def test_dominance_takes_the_rows_own_front_and_counts_the_points_no_other_row_beats():
    def point(split, method, macs, bits, drop):
        return {"split": split, "method": method, "options": "", "accuracy": 0.9, "accuracy_drop_points": drop,
                "head_macs": macs, "encoder_macs": 0.0, "payload_bits": bits}

    frame = pd.DataFrame([point("a", "threestep", 10.0, 100.0, 1.0), point("b", "threestep", 20.0, 50.0, 1.5),
                          point("b", "threestep", 25.0, 60.0, 0.5),  # not on its own front: not judged
                          point("c", "threestep", 30.0, 5.0, 3.0),  # beyond max_drop: not judged
                          point("a", "bottlenetpp", 5.0, 90.0, 0.2),  # dominates the first
                          point("b", "bottlenetpp", 15.0, 10.0, 2.5)])  # would dominate, but loses too much
    wins = claim(what="front", kind="dominance", value=100.0, tolerance=0.0, max_drop=2.0,
                 rows=[{"method": "threestep"}], than=[{"method": "bottlenetpp"}])
    (result,) = compare_claims([wins], frame, complete=True)
    assert result.ours == "1 of 2 front points not dominated (50 %); dominated at a" and result.agrees is False
    with pytest.raises(StudyError, match="than: needed by kind 'dominance'"):
        claim(what="x", kind="dominance", value=100.0, rows=[{}])


def test_times_compares_the_device_side_weights_of_partners_by_the_worst_case():
    def sized(split, method, head, encoder, bits):
        return {"split": split, "method": method, "options": "", "accuracy": 0.9, "accuracy_drop_points": 5.0,
                "head_params": head, "encoder_params": encoder, "payload_bits": bits}

    frame = pd.DataFrame([sized("a", "bottlefit", 100, 0, 1000.0), sized("a", "bottlefit", 200, 0, 4000.0),
                          sized("a", "autoencoder", 500, 300, 1100.0), sized("a", "autoencoder", 500, 1100, 3900.0),
                          sized("b", "bottlefit", 50, 0, 800.0), sized("b", "autoencoder", 400, 0, 800.0)])
    smaller = claim(what="head size", kind="times", value=83.0, tolerance=10.0, nearest="payload_bits",
                    rows=[{"method": "bottlefit"}], than=[{"method": "autoencoder"}])
    (result,) = compare_claims([smaller], frame, complete=True)
    # (500 + 300) / 100 and (500 + 1100) / 200 at a; 400 / 50 at b; the worst case is the smallest
    assert result.ours == "a: 8.00x; b: 8.00x (smallest 8.00x)" and result.agrees is False
    macs = claim(what="MACs", kind="times", value=2.0, column="encoder_params", nearest="payload_bits",
                 rows=[{"method": "autoencoder", "split": "a"}], than=[{"method": "autoencoder"}])
    assert compare_claims([macs], frame, complete=True)[0].ours == "a: 1.00x (smallest 1.00x)"
    image = pd.DataFrame([sized("input", "edgehost", 0, 0, 6000.0), sized("input", "edgehost", 0, 0, 3000.0)])
    image["accuracy"] = [0.95, 0.88]
    sent = claim(what="bits", kind="times", value=6.0, tolerance=0.5, column="payload_bits", nearest="accuracy",
                 across_splits=True, judged="largest", rows=[{"method": "bottlefit"}], than=[{"method": "edgehost"}])
    (result,) = compare_claims([sent], pd.concat([frame, image]), complete=True)
    # every row (accuracy 0.9) pairs with the 0.88 image of 3000 bits, at whichever split
    assert result.ours == "a: 0.75 to 3.00x; b: 3.75x (largest 3.75x)" and result.agrees is False
    smaller = claim(what="below the image", kind="below", value=100.0, tolerance=0.0, column="payload_bits",
                    nearest="accuracy", across_splits=True, rows=[{"method": "bottlefit"}], than=[{"method": "edgehost"}])
    (result,) = compare_claims([smaller], pd.concat([frame, image]), complete=True)
    assert result.ours == "2 of 3 below (67 %); not below at a" and result.agrees is False  # 4000 bits > 3000
    with pytest.raises(StudyError, match="than: needed by kind 'times'"):
        claim(what="x", kind="times", value=83.0, rows=[{}])
    with pytest.raises(StudyError, match="column"):
        claim(what="x", kind="times", value=83.0, rows=[{}], than=[{}], column="weights")


def test_a_level_series_is_a_dashed_line_at_its_rows_y_and_does_not_hold_the_x_axis_to_linear(tmp_path, monkeypatch):
    import explorer.train.figures as figures

    frame = pd.DataFrame([{**row("input", "edgehost", {"codec": "png"}, 0.95, 4000.0), "head_macs": 0, "encoder_macs": 0},
                          {**row("a", "bottlenetpp", {}, 0.94, 900.0), "head_macs": 10, "encoder_macs": 5}])
    figure = parse(StudyFigure, {"name": "f", "title": "t", "x": "device_macs", "y": "payload_bits", "log_y": True,
                                 "series": [{"label": "features", "rows": [{"method": "bottlenetpp"}]},
                                            {"label": "input image", "level": True, "rows": [{"method": "edgehost"}]}]},
                   "figures[0]")
    features, image = series_infos(figure, frame)
    assert image.level and not features.level and list(image.y) == [4.0]
    drawn, draw = {}, figures.draw_series
    monkeypatch.setattr(figures, "draw_series", lambda *args, **kw: drawn.update(kw) or draw(*args, **kw))
    ((_, path),) = figures.write_figures([figure], frame, tmp_path)
    assert path.stat().st_size > 0 and drawn["log_x"] and drawn["log_y"]  # the level's x of 0 is not drawn


def test_a_figure_over_evaluated_states_draws_each_candidates_drop_at_each_state_told_or_not(tmp_path):
    """000 Fig. 3: a line per candidate through its accuracy drop at each channel state of
    channel_accuracy.csv, the encoder told the actual state (case 1) or the fixed one (case 2)."""
    frame = pd.DataFrame([{**row("layer4.2", "bottlenetpp", {}, 0.94), "candidate_key": "k1", "baseline_accuracy": 0.95},
                          {**row("layer4.2", "bottlenetpp", {"channel_state_input": False}, 0.93),
                           "candidate_key": "k2", "baseline_accuracy": 0.95}])
    states = pd.DataFrame([
        {"candidate_key": "k1", "state": 20.0, "accuracy": 0.94, "told_state": None},
        {"candidate_key": "k1", "state": 10.0, "accuracy": 0.92, "told_state": None},
        {"candidate_key": "k1", "state": 10.0, "accuracy": 0.91, "told_state": 15.0},
        {"candidate_key": "k1", "state": 20.0, "accuracy": 0.935, "told_state": 15.0},
        {"candidate_key": "k2", "state": 10.0, "accuracy": 0.90, "told_state": None}])
    figure = parse(StudyFigure, {"name": "f", "title": "t", "x": "evaluated_state", "y": "accuracy_drop_points",
                                 "log_x": False, "series": [
                                     {"label": "case 1", "rows": [{"options": {}}]},
                                     {"label": "case 2", "told": True, "rows": [{"options": {}}]},
                                     {"label": "case 3", "rows": [{"with_options": {"channel_state_input": False}}]}]},
                   "figures[0]")
    case1, case2, case3 = series_infos(figure, frame, states)
    assert list(case1.x) == [10.0, 20.0] and list(case1.y) == pytest.approx([3.0, 1.0])
    assert list(case2.y) == pytest.approx([4.0, 1.5]) and list(case3.y) == pytest.approx([5.0])
    with pytest.raises(StudyError, match="told is of figures over x: evaluated_state"):
        parse(StudyFigure, {"name": "f", "title": "t", "series": [{"label": "a", "told": True, "rows": [{"method": "m"}]}]},
              "figures[0]").check("figures[0]")
    with pytest.raises(StudyError, match="evaluated_state is an x"):
        parse(StudyFigure, {"name": "f", "title": "t", "x": "evaluated_state", "y": "payload_bits",
                            "series": [{"label": "a", "rows": [{"method": "m"}]}]}, "figures[0]").check("figures[0]")


def test_a_state_spread_claim_takes_each_candidates_accuracy_range_over_its_channel_states():
    frame = pd.DataFrame([{**row("layer4.2", "bottlenetpp", {}, 0.94), "candidate_key": "k1", "channel": "awgn"}])
    states = pd.DataFrame([
        {"candidate_key": "k1", "state": 25.0, "accuracy": 0.945, "told_state": None},
        {"candidate_key": "k1", "state": 10.0, "accuracy": 0.938, "told_state": None},
        {"candidate_key": "k1", "state": 10.0, "accuracy": 0.92, "told_state": 15.0},
        {"candidate_key": "k1", "state": 25.0, "accuracy": 0.94, "told_state": 15.0}])
    actual = claim(what="case 1", kind="state_spread", value=1.0, tolerance=0.0, rows=[{"method": "bottlenetpp"}])
    told = claim(what="case 2", kind="state_spread", value=1.0, tolerance=0.0, told=True, rows=[{"method": "bottlenetpp"}])
    results = compare_claims([actual, told], frame, complete=True, states=states)
    assert [r.ours for r in results] == ["layer4.2 awgn: 0.70", "layer4.2 awgn: 2.00"]
    assert [r.agrees for r in results] == [True, False]
    (unmeasured,) = compare_claims([actual], frame, complete=True)
    assert unmeasured.agrees is None and "two channel states" in unmeasured.ours


def test_link_time_prices_each_rows_payload_coded_uncoded_or_analog_as_the_cost_model_does():
    """000 Fig. 2: over the BEC with rate-1/2 LDPC a baseline's bits take two channel uses each,
    BottleNet++ trained through the erasures one; over AWGN at W = 1 MHz its real values take
    half a use each, a digital payload the Shannon capacity (4.87 Mbit/s at 14.5 dB), and
    uncoded bits the raw QPSK rate (2 bits a use)."""
    frame = pd.DataFrame([
        {"payload_bits": 8000.0, "channel_uses": 0, "sent_shape": "1000", "uncoded": False},
        {"payload_bits": 8000.0, "channel_uses": 0, "sent_shape": "1000", "uncoded": True},
        {"payload_bits": 32000.0, "channel_uses": 500, "sent_shape": "10x10x10", "uncoded": False}])
    bec = with_link_time(frame, "bec-p0.01-ldpc")["link_s"].tolist()
    assert bec[:2] == pytest.approx([0.016, 0.008]) and math.isnan(bec[2])  # analog values need an awgn link
    awgn = with_link_time(frame, "awgn-1mhz-14.5db")["link_s"].tolist()
    capacity = 1e6 * math.log2(1 + 10 ** 1.45)
    assert awgn == pytest.approx([8000 / capacity, 8000 / 2e6, 500 / 1e6])
    assert with_link_time(frame, None) is frame
    with pytest.raises(StudyError, match="link_s is the airtime on a link"):
        parse(StudyFigure, {"name": "f", "title": "t", "x": "device_macs", "y": "link_s",
                            "series": [{"label": "a", "rows": [{"method": "m"}]}]}, "figures[0]")
    with pytest.raises(StudyError, match="figures\\[0\\].link"):
        parse(StudyFigure, {"name": "f", "title": "t", "x": "device_macs", "y": "link_s", "link": "raspberry-pi-3",
                            "series": [{"label": "a", "rows": [{"method": "m"}]}]}, "figures[0]")


def test_an_earliest_claim_takes_the_least_device_flops_whose_overhead_is_below_the_image():
    """000 Table I: the earliest split (least on-device FLOPs) within the accuracy threshold whose
    overhead is below the input image as PNG; a row above the threshold does not count."""
    frame = pd.DataFrame([
        {**row("input", "edgehost", {"codec": "png"}, 0.95, 4000.0), "head_macs": 0, "encoder_macs": 0},
        {**row("conv1", "bottlenetpp", {}, 0.90, 1000.0), "head_macs": 10, "encoder_macs": 1},  # 5 points lost
        {**row("layer1", "bottlenetpp", {}, 0.945, 3000.0), "head_macs": 100, "encoder_macs": 5},
        {**row("layer2", "bottlenetpp", {}, 0.946, 5000.0), "head_macs": 50, "encoder_macs": 5},  # above the image
        {**row("layer3", "bottlenetpp", {}, 0.947, 500.0), "head_macs": 400, "encoder_macs": 5}])
    earliest = claim(what="Table I", kind="earliest", value=200.0, tolerance=20.0, max_drop=2.0, column="payload_bits",
                     rows=[{"method": "bottlenetpp"}], than=[{"method": "edgehost"}])
    (result,) = compare_claims([earliest], frame, complete=True)
    assert result.ours == "2.10e+02 FLOPs at layer1" and result.agrees
