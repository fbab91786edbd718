"""The charts of simulate, score and plan results draw the engine's own numbers: the drain-time
curve against the result's drain quantiles and overflow probability, the Gantt bars against a
replication traced again in the test, the queue length against a naive count and the engine's
queue metrics, the plan and score points against their rows. Also the notebook view
(``_repr_html_``, ``to_polars``) and the command line's html/--plot options (in-process; the
pages in a real browser are in test_html_cli.py)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import cli_error, cli_run
from mcqueue.analysis.planning import Settings, plan, score
from mcqueue.analysis.runs import SimulateReport
from mcqueue.engine.perturbation import Perturbation
from mcqueue.engine.simulate import METRICS, simulate, simulate_scenarios, Scenario, trace
from mcqueue.engine.synthetic import synthetic_night
from mcqueue.report import charts, render
from mcqueue.report import result_charts as rc

ROOT = Path(__file__).resolve().parents[1]
I_DRAIN = METRICS.index("queue_drained_minute")
I_OVERFLOW_JOBS = METRICS.index("overflow_jobs")


@pytest.fixture(scope="module")
def busy():
    """A 60-job night on 3 workers that overflows in about half the replications (exclusive
    jobs included), 2,000 replications."""
    nt = synthetic_night(60, seed=11, spread_minutes=150.0, exclusive_share=0.05,
                         mean_runtime=9.5)
    return simulate(nt, workers=3, replications=2000, seed=7)


def _nearest_rank(x: np.ndarray, q: float) -> float:
    """numpy's inverted-CDF quantile: the smallest value whose ECDF reaches q (nearest rank)."""
    return float(np.quantile(x, q, method="inverted_cdf"))


# ---------------------------------------------------------------- drain-time curve
def test_busy_night_is_a_real_test_case(busy):
    p = busy.monte_carlo["overflow_probability"]["estimate"]
    assert 0.2 < p < 0.8, p  # the curve crosses the cutoff inside the plot, not at an end
    assert busy.night.exclusive.any()


def test_drain_curve_is_the_results_drain_samples_and_quantiles(busy):
    d = rc.drain_times(busy)
    assert np.array_equal(d.drain_minutes, busy.samples[I_DRAIN])
    mc = busy.monte_carlo["queue_drained_minute"]
    assert d.quantile(0.5) == mc["p50"] and d.quantile(0.9) == mc["p90"]  # the result's P50/P90
    assert d.quantile(0.9) == _nearest_rank(busy.samples[I_DRAIN], 0.9)
    assert d.cutoff_minute == busy.night.horizon_minutes
    assert d.batch_start == busy.night.batch_start and d.confidence == busy.confidence


def test_drawn_cdf_at_the_cutoff_is_one_minus_the_overflow_probability(busy):
    op = busy.monte_carlo["overflow_probability"]
    d = rc.drain_times(busy)
    ax = charts.drain_curve(d).axes[0]
    (curve,) = [ln for ln in ax.lines if ln.get_label() == "P(every job done by t)"]
    x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    at_cut = y[np.searchsorted(x, d.cutoff_minute, side="right") - 1]  # a right-continuous step
    assert at_cut == pytest.approx(1.0 - op["estimate"], abs=1e-12)
    band = d.done_by(d.cutoff_minute)  # the drawn band's value at the cutoff
    assert band["ci_low"] == pytest.approx(1.0 - op["ci_high"], abs=1e-12)
    assert band["ci_high"] == pytest.approx(1.0 - op["ci_low"], abs=1e-12)
    # the drawn P50/P90 markers sit at the result's quantiles
    for q, key in ((0.5, "p50"), (0.9, "p90")):
        (dot,) = [ln for ln in ax.lines if ln.get_label() == f"_P{round(100 * q)}"]
        assert list(dot.get_xdata()) == [busy.monte_carlo["queue_drained_minute"][key]]


# ---------------------------------------------------------------- P90 replication and Gantts
def test_p90_replication_rule_by_hand():
    # 10 values: nearest-rank P90 is the 9th smallest = 7; it occurs at indices 3 and 6
    d = np.array([1, 9, 2, 7, 3, 4, 7, 5, 6, 0], dtype=float)
    assert rc.p90_replication(d) == 3
    assert rc.p90_replication(np.array([4.0])) == 0
    assert rc.p90_replication(np.array([2.0, 2.0, 2.0])) == 0  # all tied: the first


def test_gantts_are_the_traced_replications(busy):
    sc = rc.scenario_charts(busy, traces=20)
    drain = busy.samples[I_DRAIN]
    p90 = _nearest_rank(drain, 0.9)
    rep = int(np.flatnonzero(drain == p90).min())
    assert sc.p90_rep == rep
    det_g, p90_g = sc.charts.gantts
    nt = busy.night
    # traced again here, independently of the report code
    tr = trace(nt, busy.workers, rep, busy.perturbation, busy.seed)
    assert np.array_equal(p90_g.start_minute, tr["start_minute"])
    assert np.array_equal(p90_g.finish_minute, tr["finish_minute"])
    assert p90_g.finish_minute.max() == p90 == drain[rep]  # the replay is that replication
    assert np.array_equal(p90_g.late, tr["finish_minute"] > nt.horizon_minutes)
    assert p90_g.late.sum() == busy.samples[I_OVERFLOW_JOBS][rep]
    zero = trace(nt, busy.workers, 0, Perturbation(0.0, 0.0), busy.seed)
    assert np.array_equal(det_g.start_minute, zero["start_minute"])
    assert det_g.finish_minute.max() == busy.deterministic["queue_drained_minute"]
    assert det_g.late.sum() == busy.deterministic["overflow_jobs"]
    for g in (det_g, p90_g):
        assert g.job_id == nt.job_id and g.workers == busy.workers
        assert np.array_equal(g.workers_used, np.where(nt.exclusive, busy.workers, 1))
        assert np.array_equal(g.exclusive, nt.exclusive)
    assert "P90" in p90_g.label and str(rep) in p90_g.label


def test_drawn_gantt_bars_are_the_traced_times(busy):
    sc = rc.scenario_charts(busy, traces=10)
    g = sc.charts.gantts[1]
    ax = charts.gantt(g).axes[0]
    bars = []
    for patch in ax.patches:
        if patch.get_label() == "_gantt_bars":
            v = patch.get_path().vertices.reshape(-1, 5, 2)
            bars += [(float(r[0, 0]), float(r[1, 0])) for r in v]
    want = []
    for i in range(g.n_jobs):  # exclusive jobs: one bar over the pool; others one per worker
        want += [(float(g.start_minute[i]), float(g.finish_minute[i]))]
    assert sorted(bars) == sorted(want)


# ---------------------------------------------------------------- queue length
def test_queue_counts_by_hand():
    # ready at 0, 0, 5, 10; started at 0, 3, 6, 10 -> waiting: t=0: 1, t=2: 1, t=3: 0,
    # t=5: 1, t=6: 0, t=10: 0
    grid = np.array([0.0, 2.0, 3.0, 5.0, 6.0, 10.0])
    got = rc.queue_counts([0, 0, 5, 10], [0, 3, 6, 10], grid)
    assert got.tolist() == [1, 1, 0, 1, 0, 0]


def test_queue_grid_is_whole_minutes_and_bounded():
    g = rc.queue_grid(480.0)
    assert g[0] == 0.0 and g[-1] >= 480.0 and np.all(np.diff(g) == 1.0)
    g = rc.queue_grid(10_000.0)
    step = g[1] - g[0]
    assert step == math.ceil(10_000 / rc.QUEUE_GRID_POINTS) and g[-1] >= 10_000
    assert len(g) <= rc.QUEUE_GRID_POINTS + 2


def test_queue_traces_budget():
    assert rc.queue_traces(10_000, 10) == 200
    assert rc.queue_traces(50, 10) == 50
    assert rc.queue_traces(10_000, 2_001) == 200
    assert rc.queue_traces(10_000, 100_000) == 10
    assert rc.queue_traces(10_000, 10_000) == 50


def test_queue_length_is_the_traced_replications_counted(busy):
    k = 30
    q = rc.queue_length(busy, traces=k)
    assert q.traced == k and q.replications == busy.replications
    nt = busy.night
    counts = []
    for rep in range(k):
        tr = trace(nt, busy.workers, rep, busy.perturbation, busy.seed)
        a, s = tr["arrival_minute"], tr["start_minute"]
        # naive twin: count job by job at every grid minute
        counts.append([sum(1 for j in range(nt.n_jobs) if a[j] <= t < s[j]) for t in q.minute])
        # the engine's own queue metrics of this replication: the time integral of the count
        # over the horizon, and its maximum over the event times
        h = nt.horizon_minutes
        area = float(np.sum(np.minimum(s, h) - np.minimum(a, h)))
        assert area / h == pytest.approx(tr["metrics"]["average_queue_length"], rel=1e-9)
        events = np.union1d(a, s)
        assert rc.queue_counts(a, s, events).max() == tr["metrics"]["max_queue_length"]
        assert busy.samples[METRICS.index("max_queue_length")][rep] == \
            tr["metrics"]["max_queue_length"]
    counts = np.array(counts, dtype=float)
    assert np.allclose(q.mean, counts.mean(axis=0), rtol=0, atol=1e-12)
    assert np.array_equal(q.p10, np.quantile(counts, 0.1, axis=0, method="inverted_cdf"))
    assert np.array_equal(q.p90, np.quantile(counts, 0.9, axis=0, method="inverted_cdf"))
    # the grid reaches the last replayed drain time
    last = max(float(busy.samples[I_DRAIN][:k].max()), nt.horizon_minutes)
    assert q.minute[-1] >= last and q.minute[-2] < last


# ---------------------------------------------------------------- per-job chart (issue 12)
def test_per_job_chart_only_with_per_job_statistics(busy):
    assert rc.job_risk(busy) is None  # today's results: no per_job, no chart
    sc = rc.scenario_charts(busy, traces=5)
    assert sc.charts.jobs is None
    assert "chart-jobs" not in charts.chart_ids(sc.charts)
    r = simulate(busy.night, workers=3, replications=50, seed=1)
    rows = [{"job_id": j, "late_probability": {"estimate": 0.5, "ci_low": 0.3, "ci_high": 0.7},
             "criticality": 0.25} for j in r.night.job_id]
    r.per_job = rows  # what issue 12's results carry
    jr = rc.job_risk(r)
    assert jr.job_id == r.night.job_id and jr.workload_class == r.night.workload_class
    assert np.all(jr.late_probability == 0.5) and np.all(jr.criticality == 0.25)
    assert "chart-jobs" in charts.chart_ids(rc.scenario_charts(r, traces=5).charts)


# ---------------------------------------------------------------- plan and score
@pytest.fixture(scope="module")
def a_plan():
    from mcqueue.io.sample import load_sample

    return plan(load_sample("2026-05-13"), Settings(replications=400, seed=3), 1, 6)


@pytest.fixture(scope="module")
def a_score():
    from mcqueue.io.sample import load_sample

    nights = [load_sample(d) for d in ("2026-05-11", "2026-05-12", "2026-05-13", "2026-05-14")]
    return score(nights, [2, 3], Settings(replications=400, seed=3))


def test_plan_points_are_the_plan_rows(a_plan):
    pc = rc.plan_chart(a_plan)
    (s,) = pc.series
    sweep = json.loads(render(a_plan, "json"))["sweep"]  # the rows as the JSON contract has them
    assert s.workers.tolist() == [r["workers"] for r in sweep]
    for key, col in (("overflow_probability", "overflow_probability"),
                     ("overflow_ci_low", "overflow_ci_low"),
                     ("overflow_ci_high", "overflow_ci_high"),
                     ("p95_wait_mean", "p95_wait_mean"), ("p95_wait_ci_low", "p95_wait_ci_low"),
                     ("p95_wait_ci_high", "p95_wait_ci_high")):
        assert getattr(s, key).tolist() == [r[col] for r in sweep]
    assert s.recommended == a_plan.recommended is not None
    assert pc.max_overflow == a_plan.max_overflow and pc.confidence == 0.95
    ax1, ax2 = charts.plan(pc).axes
    (ring,) = [ln for ln in ax1.lines if ln.get_label().startswith("recommended")]
    row = [r for r in sweep if r["workers"] == a_plan.recommended][0]
    assert list(ring.get_xdata()) == [a_plan.recommended]
    assert list(ring.get_ydata()) == [row["overflow_probability"]]


def test_score_points_are_the_score_rows(a_score):
    sn = rc.score_nights(a_score)
    rows = json.loads(render(a_score, "json"))
    assert list(sn.night) == [f"{r['batch_date']} on {r['workers']} workers" for r in rows]
    assert sn.overflow_probability.tolist() == [r["overflow_probability"] for r in rows]
    assert sn.ci_low.tolist() == [r["overflow_ci_low"] for r in rows]
    assert sn.ci_high.tolist() == [r["overflow_ci_high"] for r in rows]
    ax_all, _ = charts.score(sn).axes
    (curve,) = [ln for ln in ax_all.lines if ln.get_label() == "overflow probability"]
    assert list(curve.get_ydata()) == sorted((r["overflow_probability"] for r in rows),
                                             reverse=True)


def test_score_labels_one_worker_count_and_empty_nights():
    from mcqueue.engine.night import Night
    from mcqueue.io.sample import load_sample

    empty = Night.from_arrays([], [], batch_date="2026-05-20")
    res = score([load_sample("2026-05-13")], [3], Settings(replications=50), empty=[empty])
    sn = rc.score_nights(res)
    assert sn.night == ("2026-05-13", "2026-05-20")
    assert math.isnan(sn.overflow_probability[1])  # no jobs: no risk, drawn as missing


# ---------------------------------------------------------------- the html renderer
def test_render_html_for_every_command_result(busy, a_plan, a_score):
    report = SimulateReport([busy])
    for result, ids in ((report, ["chart-drain", "chart-gantt-1", "chart-gantt-2",
                                  "chart-queue"]),
                        (a_plan, ["chart-plan"]), (a_score, ["chart-score"])):
        page = render(result, "html")
        assert page.startswith("<!DOCTYPE html>") and "<script" not in page
        for cid in ids:
            assert f'<svg id="{cid}" class="chart"' in page
    assert "html" in __import__("mcqueue.report", fromlist=["formats"]).formats(a_score)


def test_several_scenarios_are_sections_with_prefixed_ids():
    from mcqueue.io.sample import load_sample

    nt = load_sample("2026-05-14")
    rs = simulate_scenarios([Scenario(nt, 2), Scenario(nt, 3)], replications=300)
    page = render(SimulateReport(rs), "html")
    for k in (1, 2):
        assert f'<section class="part" id="s{k}"' in page
        assert f'<svg id="s{k}-chart-drain" class="chart"' in page
    assert page.index('id="s1"') < page.index('id="s2"')
    assert '<a href="#s2">2. 2026-05-14 on 3 workers</a>' in page


def test_a_result_without_samples_says_what_is_left_out():
    from mcqueue.io.sample import load_sample

    (r,) = simulate_scenarios([Scenario(load_sample("2026-05-13"), 3)], replications=200,
                              keep_samples=False)
    sc = rc.scenario_charts(r, traces=5)
    assert sc.charts.drain is None and len(sc.charts.gantts) == 1 and sc.p90_rep is None
    page = render(SimulateReport([r]), "html")
    assert "kept no per-replication samples" in page
    assert 'id="chart-gantt-1"' in page and 'id="chart-drain"' not in page


def test_render_html_without_matplotlib_is_the_one_error(busy, monkeypatch):
    from mcqueue.report.extra import MissingExtraError

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r'pip install "mcqueue\[report\]"'):
        render(SimulateReport([busy]), "html")


# ---------------------------------------------------------------- notebooks
def test_to_polars_is_the_csv_table(busy, a_plan, a_score):
    import polars as pl

    for result in (SimulateReport([busy]), a_plan, a_score):
        df = result.to_polars()
        rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
        assert df.columns == list(rows[0])
        assert df.height == len(rows)
        for got, want in zip(df.iter_rows(named=True), rows):
            for k, v in want.items():
                g = got[k]
                if v == "":
                    assert g is None, (k, g)
                elif isinstance(g, bool):
                    assert str(g) == v, (k, g, v)
                elif isinstance(g, (int, float)):
                    assert g == pytest.approx(float(v), rel=1e-15, abs=0), (k, g, v)
                else:
                    assert g == v
    assert busy.to_polars().equals(SimulateReport([busy]).to_polars())
    assert a_score.to_polars().schema["workers"] == pl.Int64
    assert a_plan.to_polars().schema["recommended"] == pl.Boolean


def test_repr_html_has_the_table_and_the_chart(busy, a_plan, a_score):
    for result, marker in ((busy, "queue drained (min)"), (SimulateReport([busy]), busy.scenario),
                           (a_plan, "Recommendation"), (a_score, "riskiest first")):
        h = result._repr_html_()
        assert "<table>" in h and marker in h and "<svg" in h and "<script" not in h
    assert busy._repr_html_() != busy._repr_html_()  # each display gets its own svg ids


def test_repr_html_without_matplotlib_is_the_table_only(busy, a_score, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for result in (busy, a_score):
        h = result._repr_html_()
        assert "<table>" in h and "<svg" not in h


def test_results_load_no_report_layer_until_displayed():
    code = ("import sys\n"
            "from mcqueue.engine.night import Night\n"
            "from mcqueue.engine.simulate import simulate\n"
            "r = simulate(Night.from_arrays([0, 5], [10, 20]), workers=1, replications=20)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('polars', "
            "'matplotlib') or m.startswith('mcqueue.report')))\n"
            "h = r._repr_html_()\n"
            "print('mcqueue.report.notebook' in sys.modules, '<svg' in h)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:2] == ["[]", "True True"]


def test_the_notebook_mixin_imports_nothing_of_mcqueue():
    import ast

    tree = ast.parse((ROOT / "mcqueue" / "_notebook.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and (m.startswith("mcqueue") or m.startswith(".")) for m in imported)
    assert imported <= {"__future__", "importlib", "typing", "polars"}  # polars: TYPE_CHECKING


# ---------------------------------------------------------------- command line
R = ("--replications", "300")


def test_html_needs_output():
    for cmd in (["simulate"], ["score"], ["plan", "--batch-date", "2026-05-13"]):
        code, line = cli_error(*cmd, *R, "--format", "html")
        assert (code, line) == (2, "Error: --format html writes a self-contained page: give "
                                   "--output FILE")


def test_html_and_plot_without_matplotlib_are_one_error_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "r.html"
    for args in (["simulate", "--format", "html", "--output", out],
                 ["score", "--format", "html", "--output", out],
                 ["plan", "--batch-date", "2026-05-13", "--format", "html", "--output", out],
                 ["simulate", "--plot", tmp_path / "charts"]):
        code, line = cli_error(*args, *R)
        assert (code, line) == (1, 'Error: HTML reports and plots need matplotlib, which is '
                                   'not installed; install it with: pip install '
                                   '"mcqueue[report]"')
    assert os.listdir(tmp_path) == []


def test_plot_writes_every_chart_beside_the_normal_report(tmp_path):
    plain = cli_run("simulate", *R, "--format", "json").stdout
    folder = tmp_path / "new" / "charts"  # created, parents too
    res = cli_run("simulate", *R, "--format", "json", "--plot", folder)
    assert res.stdout == plain  # the report itself is unchanged
    want = {f"s{k}-chart-{c}.png" for k in (1, 2)
            for c in ("drain", "gantt-1", "gantt-2", "queue")}
    assert set(os.listdir(folder)) == want
    for name in want:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cli_run("plan", "--batch-date", "2026-05-13", *R, "--plot", tmp_path / "p",
            "--plot-format", "svg")
    assert os.listdir(tmp_path / "p") == ["chart-plan.svg"]
    assert (tmp_path / "p" / "chart-plan.svg").read_text().startswith("<?xml")
    cli_run("score", *R, "--plot", tmp_path / "s", "--format", "csv")
    assert os.listdir(tmp_path / "s") == ["chart-score.png"]
    one = cli_run("simulate", "--batch-date", "2026-05-13", *R, "--plot", tmp_path / "one")
    assert sorted(os.listdir(tmp_path / "one")) == ["chart-drain.png", "chart-gantt-1.png",
                                                    "chart-gantt-2.png", "chart-queue.png"]
    assert one.stdout.startswith("2026-05-13 on 3 workers")


def test_plot_into_a_file_or_onto_a_folder_is_one_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    code, line = cli_error("simulate", *R, "--plot", f)
    assert code == 2 and line == f"Error: Invalid value for '--plot': Directory '{f}' is a file."
    folder = tmp_path / "charts"
    (folder / "chart-score.png").mkdir(parents=True)  # a folder where a chart file goes
    code, line = cli_error("score", *R, "--plot", folder)
    assert code == 1
    assert line.startswith(f"Error: cannot write the charts to '{folder}")
    assert sorted(os.listdir(folder)) == ["chart-score.png"]  # no temporary file left
    assert os.listdir(folder / "chart-score.png") == []


def test_html_report_written_by_the_cli(tmp_path):
    out = tmp_path / "r.html"
    res = cli_run("plan", "--batch-date", "2026-05-14", "--max-workers", "4", *R, "--format",
                  "html", "--output", out)
    assert res.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="chart-plan"' in page


def test_help_mentions_html_and_plot():
    for cmd in ("simulate", "score", "plan"):
        text = cli_run(cmd, "--help").stdout
        assert "html" in text and "--plot DIR" in text and "--plot-format" in text


def test_the_report_modules_load_no_matplotlib_until_a_chart_is_drawn():
    code = ("import sys, mcqueue.report.result_charts, mcqueue.report.pages, "
            "mcqueue.report.notebook\n"
            "from mcqueue.report import formats\n"
            "from mcqueue.analysis.planning import ScoreResult, Settings\n"
            "print(formats(ScoreResult([], Settings())), 'matplotlib' in sys.modules)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "('table', 'csv', 'json', 'parquet', 'html') False"
