"""The built-in sample's fifth night (2026-05-15, issue 12 "Data"): a 20-job ETL chain with four
deadlines, one exclusive job and shared predecessors, as `mcqueue` loads it from the packaged
CSV, replayed by the kernel and checked against independent values: the naive twin
(tests/naive_general.py) replication by replication under every policy and pool size, and
networkx's critical-path method with ample workers. Plus the shape the issue asks for, and the
default command's output, which the night must not change.

Tolerances: the twin comparison uses tests/general_helpers.py (exact start/finish/ready times,
late flags and chain; sums within n * 2**-53 relative); the CPM comparison is exact (both sides
add the same floats in the same order along every path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from general_helpers import compare_with_twin
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.io.sample import ETL_DATE, SAMPLE_DATES, TUTORIAL_DATES, load_sample, sample_frame
from oracles import DagNight, cpm_schedule

GOLDEN = Path(__file__).resolve().parent / "golden"
POLICIES = ("tutorial", "priority", "fifo", "backfill")


@pytest.fixture(scope="module")
def etl() -> Night:
    return load_sample(ETL_DATE)


def as_dag(night: Night, exclusive: bool = True) -> DagNight:
    """The night's columns as the twin's plain lists (canonical order, predecessor indices)."""
    preds = [list(night.pred_idx[night.pred_ptr[j]:night.pred_ptr[j + 1]])
             for j in range(night.n_jobs)]
    dl = night.deadline_minute
    return DagNight(arrival=night.arrival_minute.tolist(), runtime=night.runtime_minutes.tolist(),
                    priority=night.priority.tolist(),
                    exclusive=night.exclusive.tolist() if exclusive else [False] * night.n_jobs,
                    job_id=list(night.job_id), horizon=night.horizon_minutes,
                    depends_on=[[int(p) for p in ps] for ps in preds],
                    deadline=[None if d != d else float(d) for d in dl],
                    slots=[1] * night.n_jobs, locks=[frozenset()] * night.n_jobs,
                    estimated_runtime=night.runtime_minutes.tolist())


def test_the_night_has_the_shape_the_issue_asks_for(etl):
    """15-25 jobs; extracts -> transforms -> loads -> refreshes -> index maintenance; a few
    deadlines; exactly one exclusive job; two jobs sharing a predecessor; a job_name for
    every job (the derivation of docs/history.md is checked in test_job_fields.py)."""
    assert 15 <= etl.n_jobs <= 25
    assert etl.has_dependencies and etl.has_deadlines
    assert not etl.has_slots and not etl.has_locks
    assert 2 <= int((~np.isnan(etl.deadline_minute)).sum()) <= 6
    assert int(etl.exclusive.sum()) == 1
    preds = [etl.predecessors(j) for j in range(etl.n_jobs)]
    named = [p for ps in preds for p in ps]
    assert any(named.count(p) >= 2 for p in set(named))  # a shared predecessor
    # the classes follow the chain: refreshes and index maintenance only after etl jobs
    cls = dict(zip(etl.job_id, etl.workload_class))
    for j, ps in enumerate(preds):
        if cls[etl.job_id[j]] in ("refresh", "index_maintenance"):
            assert ps, etl.job_id[j]
    depth = {}
    for j in range(etl.n_jobs):  # canonical order is a topological order here
        depth[etl.job_id[j]] = 1 + max((depth[p] for p in preds[j]), default=0)
    assert max(depth.values()) == 5  # extract, transform, load, refresh, dashboard
    assert len(etl.job_name) == etl.n_jobs and all(etl.job_name)


def test_the_tutorial_nights_are_unchanged():
    """The first four nights of the packaged sample are the frozen copy, field for field (the
    two new columns empty), and use no optional column."""
    import polars as pl

    frozen = pl.read_csv(GOLDEN / "sample_four_nights.csv", infer_schema=False)
    now = sample_frame().filter(pl.col("batch_date").is_in(list(TUTORIAL_DATES)))
    assert now.select(frozen.columns).equals(frozen)
    assert now["depends_on"].null_count() == now["deadline"].null_count() == now.height
    assert SAMPLE_DATES == (*TUTORIAL_DATES, ETL_DATE)
    for d in TUTORIAL_DATES:
        assert not load_sample(d).uses_features


def test_the_default_command_prints_what_it_printed(invoke):
    """`mcqueue simulate` with no option: byte for byte the golden output (the fifth night is
    not one of the tutorial's two scenarios)."""
    res = invoke("simulate")
    assert res.exit_code == 0
    assert res.stdout == (GOLDEN / "simulate_default.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("policy", POLICIES)
def test_kernel_matches_the_twin_on_the_etl_night(etl, policy):
    """Every pool from 1 to 6 workers, zero noise and 40 noisy replications (runtime cv 0.25,
    15 minutes of jitter): the kernel's replay of the loaded night equals the naive twin's
    replay of the same draws, job by job (start, ready, finish, lateness, the critical chain)
    and metric by metric."""
    d = as_dag(etl)
    late = 0
    for workers in range(1, 7):
        compare_with_twin(d, workers, policy, night=etl)
        for rep in range(40):
            tr, _ = compare_with_twin(d, workers, policy, rep=rep, cv=0.25, jitter=15.0,
                                      night=etl)
            late += tr["late_jobs"]
    assert late > 0  # the comparison saw late jobs


@pytest.mark.parametrize("policy", POLICIES)
def test_ample_workers_follow_the_critical_path_method(etl, policy):
    """Without its exclusive lock (the CPM has no pool to drain) and with a worker per job, cv
    0 and no jitter, every job starts at its earliest start by networkx's critical-path
    method, and the night drains at the longest path (release times = requested windows)."""
    d = as_dag(etl, exclusive=False)
    free = Night.from_arrays(etl.arrival_minute, etl.runtime_minutes, etl.priority,
                             np.zeros(etl.n_jobs, bool), list(etl.job_id),
                             list(etl.workload_class), etl.batch_date,
                             depends_on=[list(etl.predecessors(j)) for j in range(etl.n_jobs)])
    cpm = cpm_schedule(d)
    tr = engine.trace(free, etl.n_jobs, policy=policy, detail=True)
    assert tr["start_minute"].tolist() == cpm["earliest_start"]
    assert tr["finish_minute"].tolist() == cpm["earliest_finish"]
    assert tr["metrics"]["queue_drained_minute"] == cpm["longest_path"]
    # by hand: the sales fact loads 60-90 (its window 02:00 after the transforms, done by
    # 50), the index rebuild runs from its window 03:00 (120) to 150 and the statistics
    # update after it to 165; the dashboard, the other long chain, ends at 155
    assert cpm["longest_path"] == 165.0
    assert cpm["earliest_finish"][etl.job_id.index("JOB-20260515-019")] == 155.0


def test_zero_noise_replay_on_three_workers_by_hand(etl):
    """The deterministic replay of the default pool (3 workers, tutorial), checked by hand: the
    exclusive index rebuild (JOB-018, ready at 03:00 = minute 120 when the sales load is done)
    waits for the pool to drain, so the finance refresh (JOB-017, due 04:30) starts after it at
    150, and the dashboard (JOB-019, due 04:15) at 175: no job is late, with 10 minutes to
    spare on the dashboard."""
    tr = engine.trace(etl, 3, detail=True)
    at = dict(zip(etl.job_id, zip(tr["start_minute"].tolist(), tr["finish_minute"].tolist())))
    assert at["JOB-20260515-018"] == (120.0, 150.0)
    assert at["JOB-20260515-017"] == (150.0, 175.0)
    assert at["JOB-20260515-019"] == (175.0, 185.0)
    assert tr["late_jobs"] == 0 and tr["metrics"]["queue_drained_minute"] == 185.0


def test_the_readme_example_is_the_commands_output(invoke):
    """README.md quotes `mcqueue simulate --batch-date 2026-05-15 --per-job` in full: it is
    what the command prints (default replications and seed)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("$ mcqueue simulate --batch-date 2026-05-15 --per-job\n")
    block = readme[start:readme.index("```", start)].split("\n", 1)[1]
    res = invoke("simulate", "--batch-date", ETL_DATE, "--per-job")
    assert res.exit_code == 0
    assert res.stdout == block
