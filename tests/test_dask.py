"""Dask: nights spread over a distributed cluster give exactly the in-process numbers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mcqueue.analysis import planning as planning
from mcqueue.engine.synthetic import synthetic_night

SETTINGS = planning.Settings(replications=400, seed=5)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded workers in this process (no numba compile in fresh processes; the
    scheduler, serialisation of nights and rows, and the chunking are the real ones)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as lc:
        yield lc.scheduler_address


@pytest.fixture(scope="module")
def nights():
    return [synthetic_night(8 + i % 5, seed=i, exclusive_share=0.15) for i in range(23)]


def test_dask_score_equals_in_process(cluster, nights):
    local = planning.score(nights, [2, 3], SETTINGS)
    chunks = []
    remote = planning.score(nights, [2, 3], SETTINGS, dask_scheduler=cluster,
                            nights_per_task=5, progress=chunks.append)
    assert remote.rows == local.rows
    assert sorted(chunks) == [3, 5, 5, 5, 5]  # 23 nights in tasks of 5, each reported once


def test_cli_dask_scheduler_from_environment(cluster, monkeypatch, tmp_path):
    from mcqueue.analysis import cluster as cluster_mod

    calls = []
    real = cluster_mod.map_chunks

    def spy(fn, chunks, address, *args, **kw):
        calls.append((address, [len(c) for c in chunks]))
        return real(fn, chunks, address, *args, **kw)

    monkeypatch.setattr(cluster_mod, "map_chunks", spy)
    monkeypatch.setenv("MCQUEUE_DASK_SCHEDULER", cluster)
    args = ["score", "--workers", "2,3", "--replications", "400", "--seed", "5",
            "--format", "json", "--nights-per-task", "3"]
    remote = CliRunner().invoke(cli_group(), args, catch_exceptions=False)
    assert remote.exit_code == 0, remote.output
    assert calls == [(cluster, [3, 2])]  # the sample's 5 nights in tasks of 3
    monkeypatch.delenv("MCQUEUE_DASK_SCHEDULER")
    local = CliRunner().invoke(cli_group(), args, catch_exceptions=False)
    assert len(calls) == 1  # no scheduler: in-process
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_unreachable_scheduler_is_one_error_line(monkeypatch):
    monkeypatch.setattr("mcqueue.analysis.cluster.CONNECT_TIMEOUT", "1s")
    res = CliRunner().invoke(cli_group(), ["score", "--replications", "10",
                                           "--dask-scheduler", "tcp://127.0.0.1:9"])
    assert res.exit_code == 1
    assert res.stderr.splitlines()[-1].startswith(
        "Error: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'")
    assert "Traceback" not in res.output


def cli_group():
    from mcqueue.cli.main import cli

    return cli


@pytest.mark.slow
def test_dask_worker_processes_give_the_same_numbers(nights):
    """Real worker processes: nights and settings are pickled to them, numba loads its cached
    kernels there, and the rows that come back are bit-identical to the in-process ones."""
    from distributed import LocalCluster

    local = planning.score(nights[:6], [3], SETTINGS)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as lc:
        remote = planning.score(nights[:6], [3], SETTINGS, dask_scheduler=lc.scheduler_address,
                                nights_per_task=3)
    assert remote.rows == local.rows


def test_dask_backtest_equals_in_process(cluster):
    """Backtest nights in Dask tasks (each fitting its own nights on the history it is sent):
    the per-night rows and the summary are the in-process ones."""
    from mcqueue.analysis.backtest import BacktestSettings, backtest, queues_from_history
    from mcqueue.io.history import read_history, sample_history_path

    h = read_history(sample_history_path())
    dates = [f"2026-05-{d:02d}" for d in range(1, 8)]
    q = queues_from_history(h, dates)
    bt = BacktestSettings(workers=16, simulation=SETTINGS, job_replications=10)
    local = backtest(h, q, dates[0], dates[-1], bt)
    chunks = []
    remote = backtest(h, q, dates[0], dates[-1], bt, dask_scheduler=cluster,
                      nights_per_task=3, progress=chunks.append)
    assert [r.to_dict() for r in remote.rows] == [r.to_dict() for r in local.rows]
    assert remote.to_dict() == local.to_dict()  # summary included (NaN as null)
    assert sorted(chunks) == [1, 3, 3]
