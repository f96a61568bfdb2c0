import json

from explorer.analysis.provenance import Provenance, git_commit


def test_provenance_records_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("SPLIT_EXPLORER_COMMIT", raising=False)
    assert len(git_commit().split("+")[0]) == 40  # this checkout's commit
    monkeypatch.setenv("SPLIT_EXPLORER_COMMIT", "abc1234")  # a copy whose .git is not the source's
    record = json.loads(Provenance(command="split-explorer x", seed=3, extra={"k": 1}).write(tmp_path).read_text())
    assert record["commit"] == "abc1234" and record["seed"] == 3 and record["k"] == 1
    assert {"date", "machine", "wall_time_s", "versions"} <= set(record) and "torch" in record["versions"]
