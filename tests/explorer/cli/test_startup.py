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

