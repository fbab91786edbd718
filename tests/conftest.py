"""Shared fixtures and helpers for the engine tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import Phase, settings

# Every property test: a fixed seed (the same examples on every run and machine), no example
# database, no deadline (numba compiles on first call), and no shrinking, so a failure is
# reported at once with the failing example rather than after minutes of shrinking.
settings.register_profile("mcqueue", derandomize=True, database=None, deadline=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("mcqueue")

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import naive` from any test file


@pytest.fixture(scope="session")
def night_13():
    from mcqueue.io.sample import load_sample

    return load_sample("2026-05-13")


@pytest.fixture(scope="session")
def night_14():
    from mcqueue.io.sample import load_sample

    return load_sample("2026-05-14")


@pytest.fixture
def restore_threads():
    """Yield numba's thread setter; put the thread count back afterwards."""
    import numba

    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


def cli_run(*args, ok: bool = True):
    """The command line in-process (click's CliRunner): ``cli_run("simulate", "--format",
    "json")`` -> Result (exit_code, stdout, stderr). With ``ok`` the run must succeed."""
    from click.testing import CliRunner

    from mcqueue.cli.main import cli

    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def cli_error(*args) -> tuple[int, str]:
    """(exit code, the one ``Error:`` line) of a run that must fail cleanly: no traceback,
    nothing on stdout, exactly one error line on stderr."""
    from click.testing import CliRunner

    from mcqueue.cli.main import cli

    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and res.stdout == ""
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1, res.stderr
    return res.exit_code, errors[0]


@pytest.fixture
def invoke():
    """``invoke("simulate", "--format", "json")``: cli_run without the success check."""
    return lambda *args: cli_run(*args, ok=False)
