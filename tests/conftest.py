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


@pytest.fixture
def invoke():
    """Run the command line in-process: ``invoke("simulate", "--format", "json")`` -> click's
    Result (exit_code, stdout, stderr); exceptions other than SystemExit propagate."""
    from click.testing import CliRunner

    from mcqueue.cli.main import cli

    def run(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run
