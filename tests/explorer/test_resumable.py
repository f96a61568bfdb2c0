"""Result rows kept by key over several calls, and columns added after a file was written (explorer.resumable)."""
import pytest

from explorer.resumable import ResultRows
from splitbase import DataError


def test_rows_are_kept_by_key_as_written_and_rewritten_in_order(tmp_path):
    path = tmp_path / "rows.csv"
    rows = ResultRows(path, "key", ("key", "a", "b"), order=["y", "x"])
    rows.put({"key": "x", "a": 1.0})
    rows.put({"key": "y", "a": 2, "b": None})
    again = ResultRows(path, "key", ("key", "a", "b"))
    assert path.read_text().splitlines() == ["key,a,b", "y,2,", "x,1.0,"]
    assert "x" in again and len(again) == 2 and again.column("a") == [2.0, 1.0] and again.lacking == ()


def test_a_file_written_before_an_added_column_is_read_with_it_empty_and_others_are_refused(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("key,a,c\nx,1,3\n")
    rows = ResultRows(path, "key", ("key", "a", "b", "c"), added=("b",))
    assert rows.lacking == ("b",) and rows.rows["x"] == {"key": "x", "a": "1", "b": "", "c": "3"}
    rows.keep(lambda row: {**row, "b": 2})
    assert path.read_text().splitlines() == ["key,a,b,c", "x,1,2,3"]
    assert ResultRows(path, "key", ("key", "a", "b", "c"), added=("b",)).lacking == ()
    for header in ("key,c,a", "key,a,c,e", "key,c"):  # another order, an unknown column, a lacking one not added
        path.write_text(f"{header}\n" + ",".join("x" for _ in header.split(",")) + "\n")
        with pytest.raises(DataError, match="not written by this version"):
            ResultRows(path, "key", ("key", "a", "b", "c"), added=("b",))
