"""001 Fig. 5: the airtime against the channel's state, each series' least within the accuracy
drop at each state, a JSCC row by its accuracy evaluated at that state."""
import math

import pandas as pd
import pytest

from explorer.studies.train import ChannelFigure, PaperClaim
from explorer.train.channel_figures import state_rows, state_times_claim
from splitbase import StudyError
from splitbase.schema import parse


def row(key, method, channel, payload_bits, uses, accuracy, ratio=float("nan")):
    return {"candidate_key": key, "candidate": key, "method": method, "split": "layer3.1", "options": "",
            "channel": channel, "sparsity": 0.5, "requested_ratio": ratio, "payload_bits": payload_bits,
            "channel_uses": uses, "sent_shape": str(2 * uses if uses else int(payload_bits) // 8), "uncoded": False,
            "accuracy": accuracy, "baseline_accuracy": 0.95}


CANDIDATES = pd.DataFrame([row("small", "threestep", "awgn", 2048.0, 32, 0.95, 512),
                           row("large", "threestep", "awgn", 8192.0, 128, 0.95, 128),
                           row("source", "threestep", "none", 1024.0, 0, 0.94, 512)])
STATES = pd.DataFrame([  # the small JSCC code loses 15 points at 0 dB, the large one 1
    {"candidate_key": "small", "state": 0.0, "accuracy": 0.80}, {"candidate_key": "small", "state": 10.0, "accuracy": 0.94},
    {"candidate_key": "large", "state": 0.0, "accuracy": 0.94}, {"candidate_key": "large", "state": 10.0, "accuracy": 0.948},
    {"candidate_key": "large", "state": 0.0, "accuracy": 0.10, "told_state": 20.0}])
FIGURE = parse(ChannelFigure, {"name": "jscc", "title": "t", "link": "awgn-1mhz-14.5db", "setting": "snr_db",
                               "states": [0, 10, 20], "series": [
                                   {"label": "JSCC", "rows": [{"channel": "awgn"}]},
                                   {"label": "source coding", "rows": [{"channel": "none"}]}]}, "channel_figures[0]")


def test_each_state_keeps_the_least_airtime_within_the_drop_at_that_state():
    table = state_rows(FIGURE, CANDIDATES, STATES)
    jscc = table[table["series"] == "JSCC"].set_index("state")
    assert list(jscc.index) == [0.0, 10.0]  # not evaluated at 20 dB: no JSCC point there
    assert list(jscc["candidate"]) == ["large", "small"] and list(jscc["link_s"]) == pytest.approx([128e-6, 32e-6])  # a complex use per two real values
    source = table[table["series"] == "source coding"].set_index("state")["link_s"]
    assert list(source) == pytest.approx([1024 / (1e6 * math.log2(1 + 10 ** (s / 10))) for s in (0, 10, 20)])


def test_a_state_times_claim_takes_the_factor_at_every_state_both_series_have():
    claim = parse(PaperClaim, {"what": "c", "kind": "state_times", "figure": "jscc", "value": [5, 100], "tolerance": 0,
                               "rows": [{"channel": "awgn"}], "than": [{"channel": "none"}]}, "paper[0]")
    ours, agrees = state_times_claim(claim, CANDIDATES, STATES, [FIGURE])
    factors = [1024 / 1e6 / 128e-6, 1024 / (1e6 * math.log2(11)) / 32e-6]
    assert ours == f"0: {factors[0]:.2f}x; 10: {factors[1]:.2f}x (smallest {min(factors):.2f}x)" and agrees


def test_a_channel_figure_names_a_link_preset_and_one_of_its_settings():
    with pytest.raises(StudyError, match="channel_figures\\[0\\].link: 'awgn-1mhz-14.5db' with snr = 0"):
        parse(ChannelFigure, {"name": "f", "title": "t", "link": "awgn-1mhz-14.5db", "setting": "snr", "states": [0],
                              "series": [{"label": "a", "rows": [{"method": "m"}]}]}, "channel_figures[0]")
    with pytest.raises(StudyError, match="not a link preset"):
        parse(ChannelFigure, {"name": "f", "title": "t", "link": "raspberry-pi-3", "setting": "power_w", "states": [1],
                              "series": [{"label": "a", "rows": [{"method": "m"}]}]}, "channel_figures[0]")
