"""The one-way flow of the packages: explorer -> netmodels, hwmodels -> splitbase; hwmodels without
torch; reading a search study without the training code."""
import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("splitbase", "hwmodels", "netmodels", "explorer")
# what each package may import of the project (itself included)
ALLOWED = {"splitbase": {"splitbase"}, "hwmodels": {"hwmodels", "splitbase"},
           "netmodels": {"netmodels", "splitbase"}, "explorer": {"explorer", "netmodels", "hwmodels", "splitbase"}}


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` names in the file (at any depth)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", PROJECT)
def test_no_package_imports_upward_or_sideways(package):
    for path in (ROOT / package).rglob("*.py"):
        used = {name.split(".")[0] for name in imported_modules(path)} & set(PROJECT)
        assert used <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(used - ALLOWED[package])}"


def test_hwmodels_names_no_torch():
    for path in (ROOT / "hwmodels").rglob("*.py"):
        torch = {name for name in imported_modules(path) if name.split(".")[0] == "torch"}
        assert not torch, f"{path.relative_to(ROOT)} imports {sorted(torch)}"


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_importing_hwmodels_loads_no_torch():
    """Also not through a dependency: the import itself, in a fresh interpreter."""
    done = run_python("""
        import sys
        import hwmodels
        hwmodels.load_preset("engine-28nm-144mac").inference(1e6, 1e3, 1e3)
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        print(loaded)
        sys.exit(1 if loaded else 0)
    """)
    assert done.returncode == 0, done.stdout + done.stderr


def test_reading_a_search_study_loads_no_training_code(tmp_path):
    from tests.explorer.search.search_cases import STUDY

    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**STUDY, "output": str(tmp_path / "out")}))
    done = run_python("""
        import sys
        from explorer.studies.search import resolve_search
        resolve_search(sys.argv[1])
        training = ("netmodels.training.loop", "netmodels.recipes", "netmodels.baseline", "explorer.search.run")
        loaded = [m for m in training if m in sys.modules]
        print(loaded)
        sys.exit(1 if loaded else 0)
    """, str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "out").exists()  # and writes nothing
