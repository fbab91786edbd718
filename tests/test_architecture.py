"""The package's shape: one-way layers, no import cycle, no click in the library, a night
without polars, one installed top-level package, a type-checked library."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_import_linter_contracts_are_kept():
    """pyproject.toml's [tool.importlinter] contracts: the layers report -> analysis -> io ->
    engine -> stats, no click in the library, no polars/boto3/dask below io."""
    res = _run(sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                                     "lint_imports_command()")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 kept, 0 broken" in res.stdout


def test_no_import_cycle_in_the_package():
    """Every import of every module (module level and inside functions, as grimp sees them)
    forms a directed acyclic graph (networkx finds no cycle)."""
    import grimp
    import networkx as nx

    graph = grimp.build_graph("mcqueue")
    g = nx.DiGraph()
    for m in graph.modules:
        g.add_node(m)
        for d in graph.find_modules_directly_imported_by(m):
            g.add_edge(m, d)
    assert g.number_of_edges() > 50  # the graph is real, not empty
    assert list(nx.simple_cycles(g)) == []


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_entry_point_imports_the_command_line():
    """The command line (repository folder cli/, installed as mcqueue.cli) is the top layer:
    no library module imports it except `python -m mcqueue`'s __main__; it imports only the
    library's public layers and click."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "mcqueue").rglob("*.py")
                 if p.name != "__main__.py"
                 and any(n == "mcqueue.cli" or n.startswith(("mcqueue.cli.", "cli."))
                         for n in _imports(p))]
    assert offenders == []
    assert "mcqueue.cli.main" in _imports(ROOT / "mcqueue" / "__main__.py")
    for p in (ROOT / "cli").glob("*.py"):
        assert "cli" not in {n.split(".")[0] for n in _imports(p)}, p  # relative imports only


def test_a_night_from_arrays_and_its_simulation_load_no_polars():
    code = ("import sys\n"
            "from mcqueue.engine.night import Night\n"
            "from mcqueue.engine.simulate import simulate\n"
            "night = Night.from_arrays([0, 5, 10], [10, 20, 30], [1, 2, 1], [False, True, False])\n"
            "r = simulate(night, workers=2, replications=50)\n"
            "assert r.deterministic['queue_drained_minute'] == 60.0, r.deterministic\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('polars', 'boto3', 'click', 'distributed')))\n")
    res = _run(sys.executable, "-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_mypy_passes_on_the_library():
    res = _run(sys.executable, "-m", "mypy", timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("Success")


@pytest.mark.slow
def test_the_wheel_installs_one_top_level_package(tmp_path):
    """setuptools maps the repository's cli/ folder to mcqueue.cli: the wheel holds no
    top-level `cli` (it would collide with any other distribution's) and carries the data and
    the py.typed marker."""
    res = _run(sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    (wheel,) = tmp_path.glob("mcqueue-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"mcqueue", wheel.name.split("-py3")[0]
                                                 + ".dist-info"}
    assert "mcqueue/cli/main.py" in names and "mcqueue/py.typed" in names
    assert "mcqueue/data/sample_jobs.csv" in names
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"mcqueue = mcqueue.cli.main:main" in entry


def test_python_m_mcqueue_ignores_a_local_cli_module(tmp_path):
    """`python -m mcqueue` run from a folder holding a cli.py runs mcqueue's own command line."""
    (tmp_path / "cli.py").write_text("raise SystemExit('wrong cli')\n")
    res = subprocess.run([sys.executable, "-m", "mcqueue", "--version"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("mcqueue, version ")


def test_the_public_api_resolves_and_import_stays_cheap():
    """Every name in mcqueue.__all__ loads; `import mcqueue` alone loads neither numba nor
    polars (the command line's --help stays fast)."""
    code = ("import sys, mcqueue\n"
            "heavy = sorted(m for m in ('numba', 'polars', 'boto3') if m in sys.modules)\n"
            "missing = [n for n in mcqueue.__all__ if getattr(mcqueue, n, None) is None]\n"
            "print(heavy, missing, len(mcqueue.__all__))\n")
    res = _run(sys.executable, "-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("[] [] "), res.stdout
    assert int(res.stdout.split()[-1]) > 40
