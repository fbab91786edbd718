"""Ctrl-C (issue 11): SIGINT sent to a real `python -m mcqueue` process stops it within 2 s
with "Aborted!" and exit 130, no traceback and no output file: during a long simulate of a
large synthetic night (kernel calls are sized by jobs x replications), during a score of the
same night, and during DynamoDB queries (one, and a pool of them) against a server that
accepts connections and never answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hostile import ROOT, TcpServer, aws_env

BIG_JOBS = 20_000


@pytest.fixture(scope="module")
def big_night(tmp_path_factory):
    """A 20,000-job synthetic night (mcqueue.engine.synthetic) as a CSV job file."""
    from mcqueue.engine.synthetic import synthetic_night

    nt = synthetic_night(BIG_JOBS, seed=3)
    path = tmp_path_factory.mktemp("big") / "big.csv"
    pl.DataFrame({
        "batch_date": ["2026-06-01"] * BIG_JOBS,
        "job_id": list(nt.job_id),
        "requested_window": ["01:00"] * BIG_JOBS,
        "arrival_minute": nt.arrival_minute,
        "workload_class": list(nt.workload_class),
        "estimated_runtime_minutes": nt.runtime_minutes,
        "priority": nt.priority.astype(np.int64),
        "requires_exclusive_lock": nt.exclusive,
    }).write_csv(path)
    # warm numba's cache for this night's call shapes (a first compile cannot be interrupted)
    res = subprocess.run([sys.executable, "-m", "mcqueue", "simulate", "--file", str(path),
                          "--batch-date", "2026-06-01", "--replications", "500"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return path


def interrupt(args, *, after: float, env=None, ready=None):
    """Start `mcqueue ARGS`, wait ``after`` seconds (and until ``ready()``), send SIGINT;
    returns (process result, seconds from the signal to the exit)."""
    proc = subprocess.Popen([sys.executable, "-m", "mcqueue", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env if env is not None else dict(os.environ))
    try:
        time.sleep(after)
        deadline = time.monotonic() + 60
        while ready is not None and not ready() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return proc.returncode, out, err, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_aborted(code, out, err, seconds, output: Path | None = None):
    assert code == 130, (code, err[-2000:])
    assert "Aborted!" in err and "Traceback" not in err, err[-2000:]
    assert "Error:" not in err
    assert seconds < 2.0, seconds
    if output is not None:
        assert not output.exists()
        assert [p.name for p in output.parent.iterdir() if p.name.startswith(".")] == []




def test_ctrl_c_during_a_long_simulate(big_night, tmp_path):
    out = tmp_path / "report.json"
    code, o, e, s = interrupt(["simulate", "--file", big_night, "--batch-date", "2026-06-01",
                               "--replications", "1000000", "--format", "json", "--output",
                               out], after=8)
    assert_aborted(code, o, e, s, out)


def test_ctrl_c_during_a_long_score(big_night, tmp_path):
    out = tmp_path / "risk.csv"
    code, o, e, s = interrupt(["score", "--file", big_night, "--replications", "1000000",
                               "--workers", "2,4", "--format", "csv", "--output", out],
                              after=8)
    assert_aborted(code, o, e, s, out)


def test_ctrl_c_during_a_dynamodb_query(tmp_path):
    with TcpServer(None) as silent:
        code, o, e, s = interrupt(["simulate", "--source", "dynamodb", "--batch-date",
                                   "2026-05-13", "--endpoint-url", silent.url, "--output",
                                   tmp_path / "r.txt"], after=2, env=aws_env(tmp_path),
                                  ready=lambda: silent.accepted >= 1)
    assert_aborted(code, o, e, s, tmp_path / "r.txt")


def test_ctrl_c_during_a_pool_of_dynamodb_queries(tmp_path):
    with TcpServer(None) as silent:
        code, o, e, s = interrupt(["score", "--source", "dynamodb", "--from", "2026-05-01",
                                   "--to", "2026-05-31", "--endpoint-url", silent.url],
                                  after=2, env=aws_env(tmp_path),
                                  ready=lambda: silent.accepted >= 4)
    assert_aborted(code, o, e, s)
