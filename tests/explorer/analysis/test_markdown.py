"""The report helpers: wall times, the machine, budgets, and the first lines of every report."""
import json
from types import SimpleNamespace

from explorer.analysis.markdown import duration, run_header, train_budget
from explorer.analysis.papers import cite, references


def test_duration_reads_as_people_write_it():
    assert [duration(s) for s in (42.4, 313, 7500)] == ["42 s", "5 min 13 s", "2 h 05 min"]


def test_train_budget_says_steps_or_epochs():
    assert train_budget(SimpleNamespace(steps=200, epochs=None, batch_size=128, device="cpu")) == \
        "200 steps of batch 128 on `cpu`"
    assert train_budget(SimpleNamespace(steps=None, epochs=1.0, batch_size=64, device="auto")) == \
        "1 epoch of batch 64 on `auto`"


def test_run_header_states_data_budget_machine_and_wall_time(tmp_path):
    path = tmp_path / "provenance.json"
    assert run_header(dataset="`d`", budget="b", provenance=path)[2] == \
        "- Machine and wall time: not recorded (no provenance.json beside this report)"
    path.write_text(json.dumps({"command": "split-explorer search s.yaml", "date": "2026-12-02T00:00:00+00:00",
                                "commit": "0123456789abcdef+dirty", "wall_time_s": 313.2,
                                "machine": {"host": "h", "platform": "Linux", "cpu_count": 2, "torch_threads": 2}}))
    assert run_header(dataset="`d`", budget="b", provenance=path) == [
        "- Data set: `d`", "- Budget: b", "- Machine: 2 CPU cores, torch on 2 threads (host `h`, Linux)",
        "- Wall time: 5 min 13 s (`split-explorer search s.yaml`, 2026-12-02T00:00:00+00:00, "
        "commit 0123456789ab+dirty)",
        ""]


def test_a_source_key_becomes_authors_and_title_and_other_text_stays():
    assert cite("ko2018, Fig. 10").startswith("Jong Hwan Ko, ") and cite("ko2018, Fig. 10").endswith(
        "IEEE AVSS 2018, Fig. 10")
    assert cite("Someone et al., 2021") == "Someone et al., 2021"


def test_references_list_the_papers_a_text_calls_by_number_only():
    lines = references("as 004's Fig. 11 and paper 001/003 show; preset lpddr-004, accuracy 1.000")
    assert [line.split(":")[0] for line in lines if line.startswith("- ")] == ["- 001/003", "- 004"]
    assert references("preset wifi-80211bgn-004:2mbps, 0.004 s") == []
