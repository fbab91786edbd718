"""The reports of issues 12 and 13 for people: the Gantt's lanes on a pool that changes during the
night (chart_data.assign_lanes against the engine's own lane assignment in trace, two
implementations of one rule), deadlines and capacity on the chart, the per-job chart and table
of the HTML page, the plan chart with one series per policy, and the tables' width."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import cli_run
from mcqueue.analysis import planning
from mcqueue.analysis.runs import SimulateReport
from mcqueue.analysis.scheduling import Scheduling
from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.engine.perturbation import Perturbation
from mcqueue.errors import DataError
from mcqueue.io.sample import ETL_DATE, load_sample
from mcqueue.report import render
from mcqueue.report.chart_data import GanttNight, assign_lanes
from mcqueue.report.result_charts import gantt_of, plan_chart, replay, scenario_charts


def _growing_night() -> Night:
    """Six jobs at 01:00 and one at 02:00 on a pool of 2 that grows to 4 at minute 30 and
    shrinks to 1 at minute 60."""
    return Night.from_arrays([0] * 6 + [60], [40, 45, 50, 20, 10, 10, 5],
                             [3, 3, 2, 2, 1, 1, 1], job_id=list("ABCDEFG"),
                             slots=[1] * 7,
                             deadline=["01:50", None, None, None, "02:30", None, None])


CAPACITY = ((30.0, 4), (60.0, 1))


def test_lanes_follow_a_growing_and_shrinking_pool():
    night = _growing_night()
    tr = engine.trace(night, 2, capacity=CAPACITY, detail=True)
    # by hand: A, B 0-40/45 on the pool of 2; at 30 the pool is 4: C and D start (30-80,
    # 30-50); E starts when A ends (40), F when B ends (45); at 60 the pool is 1 while C
    # still runs: G, ready at 60, waits until C ends at 80
    assert tr["start_minute"].tolist() == [0.0, 0.0, 30.0, 30.0, 40.0, 45.0, 80.0]
    g = GanttNight(job_id=night.job_id, workload_class=night.workload_class,
                   start_minute=tr["start_minute"], finish_minute=tr["finish_minute"],
                   workers_used=tr["workers_used"], exclusive=night.exclusive,
                   late=tr["late"], workers=2, cutoff_minute=night.horizon_minutes,
                   capacity=tuple(tr["capacity"]), deadline_minute=night.deadline_minute)
    assert g.lanes == 4 and g.pool_steps() == [(0.0, 2), (30.0, 4), (60.0, 1)]
    lanes = assign_lanes(g)
    assert lanes == [tuple(x) for x in tr["lanes"]]  # the chart's rule is the engine's
    assert lanes == [(0,), (1,), (2,), (3,), (0,), (1,), (0,)]
    # the same starts on a constant pool of 2 do not fit: four jobs at once
    with pytest.raises(DataError, match="job 'C' starts at minute 30 needing 1 of 2 workers "
                                        "while 2 are still busy"):
        assign_lanes(GanttNight(job_id=night.job_id, workload_class=night.workload_class,
                                start_minute=tr["start_minute"],
                                finish_minute=tr["finish_minute"], workers_used=[1] * 7,
                                exclusive=night.exclusive, late=tr["late"], workers=2,
                                cutoff_minute=240.0))


@pytest.mark.parametrize("policy", ["tutorial", "priority", "fifo", "backfill"])
def test_chart_lanes_equal_the_engines_on_random_pools(policy):
    """60 random nights with slots, exclusive jobs and capacity steps: the chart's lanes are
    the trace's, and no lane is ever above the largest pool."""
    from oracles import random_capacity, random_dag_night

    from general_helpers import canonical, pool_args, to_night

    rng = np.random.default_rng(1301)
    for i in range(60):
        n = int(rng.integers(2, 16))
        d = canonical(random_dag_night(rng, n, k=1.0, exclusive_share=0.15,
                                       priority_levels=3))
        slots = [int(s) for s in rng.integers(1, 3, n)]
        d = type(d)(**{**d.__dict__, "slots": slots})
        steps = random_capacity(rng, 3, max(slots), changes=2)
        night = to_night(d)
        w, cap = pool_args(steps)
        w = max(w, night.max_slots)
        tr = engine.trace(night, w, rep=i, perturbation=Perturbation(0.3, 10.0), policy=policy,
                          capacity=cap, detail=True)
        g = GanttNight(job_id=night.job_id, workload_class=night.workload_class,
                       start_minute=tr["start_minute"], finish_minute=tr["finish_minute"],
                       workers_used=tr["workers_used"], exclusive=night.exclusive,
                       late=tr["late"], workers=w, cutoff_minute=night.horizon_minutes,
                       capacity=tuple(tr["capacity"]))
        assert assign_lanes(g) == [tuple(x) for x in tr["lanes"]], i


def test_gantt_draws_deadlines_and_the_unavailable_lanes():
    pytest.importorskip("matplotlib")
    from mcqueue.report import charts

    night = _growing_night()
    r = engine.simulate(night, 2, replications=200, capacity=CAPACITY)
    g = gantt_of(r, replay(r, None), "the deterministic replay")
    assert g.lanes == 4 and g.deadline_minute is not None
    svg = charts.svg_markup(charts.gantt(g), "t")
    assert "deadline (2 jobs)" in svg and "not in the pool" in svg
    assert "7 jobs on 1-4 workers" in svg
    # a constant pool without deadlines draws neither
    plain = engine.simulate(load_sample("2026-05-13"), 3, replications=50)
    svg = charts.svg_markup(charts.gantt(gantt_of(plain, replay(plain, None), "x")), "u")
    assert "deadline" not in svg and "not in the pool" not in svg


def test_html_report_of_the_etl_night_has_the_per_job_chart_and_table():
    pytest.importorskip("matplotlib")
    r = engine.simulate(load_sample(ETL_DATE), 3, replications=500, per_job=True,
                        policy="backfill", capacity=((120.0, 2),))
    page = render(SimulateReport([r]), "html")
    assert 'id="chart-jobs"' in page and "Per-job risk: all 20 jobs" in page
    assert "any job late" in page and "late jobs" in page
    assert "backfill (backfill depth 64)" in page and "03:00 2 workers" in page
    sc = scenario_charts(r)
    assert sc.charts.jobs is not None
    assert [g.lanes for g in sc.charts.gantts] == [3, 3]


def test_plan_chart_has_one_series_per_policy_without_infeasible_counts():
    night = Night.from_arrays([0, 0, 30], [30, 20, 10], job_id=["A", "B", "C"],
                              slots=[2, 1, 1])
    p = planning.plan(night, planning.Settings(replications=200), 1, 3,
                      scheduling=Scheduling(("fifo", "backfill")))
    chart = plan_chart(p)
    assert [s.label for s in chart.series] == ["fifo", "backfill"]
    assert all(s.workers.tolist() == [2, 3] for s in chart.series)  # 1 worker: infeasible
    rec = [s.recommended for s in chart.series]
    assert rec.count(None) == 1 and p.recommended in rec
    only = planning.plan(night, planning.Settings(replications=50), 1, 1)
    assert plan_chart(only) is None and only.recommended is None


def test_simulate_tables_stay_within_80_columns_with_every_feature():
    out = cli_run("simulate", "--batch-date", ETL_DATE, "--per-job", "--policy", "backfill",
                  "--capacity", "03:00=-1", "--capacity", "04:00=+2", "--replications", "300",
                  "--workers", "3", "--workers", "4").stdout
    assert max(len(ln) for ln in out.splitlines()) <= 80
    assert "policy backfill, backfill depth 64, capacity 03:00 2 workers, 04:00 5 workers" in out
    assert "w-min above capacity" in out


def test_score_chart_labels_name_the_policy():
    from mcqueue.report.result_charts import score_nights

    r = planning.score([load_sample("2026-05-13")], [3], planning.Settings(replications=100),
                       scheduling=Scheduling(("fifo", "backfill")))
    assert sorted(score_nights(r).night) == ["2026-05-13, backfill", "2026-05-13, fifo"]
    plain = planning.score([load_sample("2026-05-13")], [3], planning.Settings(replications=100))
    assert score_nights(plain).night == ("2026-05-13",)
