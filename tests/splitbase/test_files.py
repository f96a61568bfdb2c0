"""Atomic writes: every writer has a temporary of its own, so two writers of one file never
tear it, and the temporary of a writer that died is cleared by the next write."""
import os
import socket
import subprocess
import sys

from splitbase.files import update_text, write_atomic, write_text


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_second_writer_of_one_file_mid_write_tears_neither(tmp_path):
    path = tmp_path / "table.csv"
    first, second = b"a" * 100_000, b"b" * 10

    def slow(f):  # a second writer of the same file runs its whole write while this one is half done
        f.write(first[:50_000])
        f.flush()
        write_atomic(path, lambda g: g.write(second))
        assert path.read_bytes() == second
        f.write(first[50_000:])

    write_atomic(path, slow)
    assert path.read_bytes() == first  # the last rename wins, whole
    assert temporaries(tmp_path) == []


def test_the_next_write_clears_the_temporaries_of_dead_writers_only(tmp_path):
    path = write_text(tmp_path / "REPORT.md", "old\n")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(ended.stdout)
    host = socket.gethostname()
    left = {
        "dead": tmp_path / f".REPORT.md.{host}.{dead}.0a1b2c3d.tmp",  # killed mid-write: cleared
        "live": tmp_path / f".REPORT.md.{host}.{os.getppid()}.0a1b2c3d.tmp",  # still writing: kept
        "other host": tmp_path / f".REPORT.md.{host}x.{dead}.0a1b2c3d.tmp",  # its pid means nothing here: kept
        "other file": tmp_path / f".OTHER.md.{host}.{dead}.0a1b2c3d.tmp",  # not this file's: kept
    }
    for tmp in left.values():
        tmp.write_text("half")
    write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert temporaries(tmp_path) == sorted(left[k].name for k in ("live", "other host", "other file"))


def test_a_written_file_has_the_mode_open_would_give_it(tmp_path):
    """(A failed write leaving the old file: tests/test_crash_safe.py.)"""
    path = write_text(tmp_path / "a.csv", "old\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable by others as open() would make it


def test_update_text_leaves_a_file_that_holds_the_text_untouched(tmp_path):
    path = write_text(tmp_path / "rows.csv", "a,b\n")
    os.utime(path, ns=(1, 1))
    update_text(path, "a,b\n")
    assert path.stat().st_mtime_ns == 1
    update_text(path, "a,b\n1,2\n")
    assert path.read_text() == "a,b\n1,2\n" and path.stat().st_mtime_ns > 1
