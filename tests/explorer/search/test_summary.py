"""search.json: the grid summary search writes, and what pareto and report do when it is not the
study file's (edited since, missing, unreadable): resolve the study again and rewrite it."""
import json

import pytest

from explorer.cli import main
from explorer.search.space import search_grid
from explorer.search.summary import SUMMARY_FILE, GridSummary, file_sha256, grid_summary
from explorer.studies.search import read_search, resolve_search
from tests.explorer.search.search_cases import STUDY, write

# the tiny study, its split points listed out of depth order
SHUFFLED = {**STUDY, "space": {**STUDY["space"], "split": ["conv3", "pool1", "pool2", "conv2"]}}


@pytest.fixture()
def searched(tmp_path, monkeypatch):
    """SHUFFLED, searched to the end in tmp_path; its study file's path."""
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, SHUFFLED)
    assert main(["search", str(path), "--no-progress"]) == 0
    return path


def recorded(path) -> dict:
    return json.loads((path.parent / "out" / SUMMARY_FILE).read_text())


def test_search_writes_the_grid_it_searched_and_readers_rewrite_a_summary_not_of_this_file(searched):
    resolved = resolve_search(searched)
    grid = search_grid(resolved)
    written = recorded(searched)
    assert written == {"study_sha256": file_sha256(searched), "splits": ["pool1", "conv2", "pool2", "conv3"],
                       "points": len(grid), "allowed": int(grid.allowed.sum()), "excluded": {}}
    assert grid_summary(read_search(searched)) == GridSummary(**written)

    # a limit that takes points out, written after the search: the summary follows the file
    edited = {**SHUFFLED, "constraints": {**STUDY["constraints"], "max_latency_s": 0.004}}
    write(searched.parent, edited)
    assert main(["report", str(searched)]) == 0
    now = recorded(searched)
    assert now["study_sha256"] == file_sha256(searched) != written["study_sha256"]
    assert now["allowed"] < now["points"] == written["points"] and set(now["excluded"]) == {"latency"}
    taken = now["points"] - now["allowed"]
    assert f"by broken limit: latency ({taken})" in (searched.parent / "out" / "REPORT.md").read_text()

    summary = searched.parent / "out" / SUMMARY_FILE
    for damage in (None, "", "{not json", json.dumps({**now, "points": "many"})):
        if damage is None:
            summary.unlink()
        else:
            summary.write_text(damage)
        assert main(["pareto", str(searched)]) == 0
        assert recorded(searched) == now
