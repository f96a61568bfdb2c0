"""Every verb's module is light: building the whole parser (what `--help` and every command do before
any work) imports none of torch, optuna, matplotlib, pandas. A verb imports them in its `run`.

The time itself is printed by benchmarks/startup.py, not asserted here."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("torch", "optuna", "matplotlib", "pandas", "scipy", "sqlalchemy", "netmodels")


def test_building_the_parser_of_every_verb_imports_nothing_heavy():
    code = textwrap.dedent(f"""
        import sys
        import explorer.cli as cli
        parser = cli.build_parser()
        verbs = next(a for a in parser._actions if a.dest == "verb").choices
        assert len(verbs) == len(cli.VERBS), sorted(verbs)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        print(" ".join(heavy))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], f"building the parser imported {done.stdout.strip()}"



READ_RESULTS = """
import sys
from explorer.cli import main
codes = [main(["pareto", sys.argv[1]]), main(["report", sys.argv[1]])]
print("exit codes", *codes, "torch modules", *sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""


def test_pareto_and_report_on_a_finished_study_import_no_torch(tmp_path, monkeypatch):
    """What they need of the model, search wrote to search.json (explorer.search.summary)."""
    from explorer.cli import main
    from tests.explorer.search.search_cases import STUDY, write

    monkeypatch.chdir(tmp_path)  # nothing lands in the checkout
    path = write(tmp_path, STUDY)
    assert main(["search", str(path), "--no-progress"]) == 0
    done = subprocess.run([sys.executable, "-c", READ_RESULTS, str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "exit codes 0 0 torch modules", done.stdout[-2000:]
    assert "Grid: 8 candidates" in (tmp_path / "out" / "REPORT.md").read_text()
