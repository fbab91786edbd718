"""The charts draw their inputs' numbers: read back from the matplotlib artists and compared
with values computed independently from the inputs (numpy, scipy, datetime), plus the SVG/PNG
output rules (deterministic bytes, compact inline SVG, escaping, atomic writes) and the
missing-extra error."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections import Counter

import numpy as np
import pytest
import scipy.stats

from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer
from matplotlib.patches import PathPatch

from mcqueue.report import charts
from mcqueue.report.chart_data import ChartSet, GanttNight

import report_data
from report_data import HOSTILE_ID


def _line(ax, label):
    found = [ln for ln in ax.lines if ln.get_label() == label]
    assert len(found) == 1, f"{label!r}: {[ln.get_label() for ln in ax.lines]}"
    return found[0]


def _clock(batch_start: str, minute: float) -> str:
    h, m = map(int, batch_start.split(":"))
    return (dt.datetime(2000, 1, 1, h, m) + dt.timedelta(minutes=round(minute))).strftime("%H:%M")


def _wilson_scipy(k, n, confidence=0.95):
    ci = scipy.stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence,
                                                             method="wilson")
    return ci.low, ci.high


# ---------------------------------------------------------------- (a) drain curve
@pytest.mark.parametrize("replications", [400, 20_000])  # every step / the 1,000-point grid
def test_drain_curve_draws_the_empirical_cdf_and_quantiles(replications):
    d = report_data.drain_times(replications)
    drain = d.drain_minutes
    fig = charts.drain_curve(d)
    ax = fig.axes[0]
    curve = _line(ax, "P(every job done by t)")
    x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert np.array_equal(y, [np.count_nonzero(drain <= v) / drain.size for v in x])
    if replications == 400:  # every distinct drain time is a step of the drawn curve
        assert set(np.unique(drain).tolist()) <= set(x.tolist())
    else:
        assert x.size <= 1000 + 3 + 2  # grid, cutoff and P50/P90, the two axis-end pads
    for q in (50, 90):
        point = _line(ax, f"_P{q}")
        xq = np.quantile(drain, q / 100, method="inverted_cdf")
        assert point.get_xdata()[0] == xq and point.get_ydata()[0] == q / 100
        label = f"P{q} {_clock(d.batch_start, xq)}"
        assert label in [t.get_text() for t in ax.texts]
    cut = _line(ax, f"cutoff {_clock(d.batch_start, d.cutoff_minute)}")
    assert list(cut.get_xdata()) == [d.cutoff_minute] * 2
    # the band at the cutoff is one minus the overflow probability's Wilson interval
    lo, hi = _vertical_extent(ax.collections[0].get_paths()[0].vertices, d.cutoff_minute)
    over_lo, over_hi = _wilson_scipy(np.count_nonzero(drain > d.cutoff_minute), drain.size)
    assert (lo, hi) == pytest.approx((1 - over_hi, 1 - over_lo), abs=1e-12)


def _vertical_extent(vertices: np.ndarray, x: float) -> tuple[float, float]:
    """Lowest and highest horizontal edge of a step polygon over [x, x + dx)."""
    ys = [a[1] for a, b in zip(vertices, vertices[1:])
          if a[1] == b[1] and min(a[0], b[0]) <= x < max(a[0], b[0])]
    return min(ys), max(ys)


# ---------------------------------------------------------------- (b) Gantt
def _rects(patch: PathPatch) -> np.ndarray:
    """(n, 4) x0, x1, y0, y1 of a compound path of rectangles."""
    v = patch.get_path().vertices.reshape(-1, 5, 2)
    return np.column_stack((v[:, :4, 0].min(1), v[:, :4, 0].max(1), v[:, :4, 1].min(1),
                            v[:, :4, 1].max(1)))


def _patches(ax, label):
    found = [p for p in ax.patches if isinstance(p, PathPatch) and p.get_label() == label]
    return np.vstack([_rects(p) for p in found]) if found else np.empty((0, 4))


def _check_gantt(g: GanttNight):
    fig = charts.gantt(g)
    ax = fig.axes[0]
    bars = _patches(ax, "_gantt_bars")
    excl = np.asarray(g.exclusive)
    # one bar per job and lane it holds (exclusive jobs: one bar over the whole pool)
    assert bars.shape[0] == int(np.where(excl, 1, g.workers_used).sum())
    want = Counter()
    for i in range(g.n_jobs):
        want[(g.start_minute[i], g.finish_minute[i])] += 1 if excl[i] else int(
            g.workers_used[i])
    assert Counter(map(tuple, bars[:, :2].tolist())) == want
    # lanes read back from the bars' y extents never hold two overlapping bars
    lanes = {w: [] for w in range(g.workers)}
    for x0, x1, y0, y1 in bars:
        for w in range(int(np.floor(y0)), int(np.ceil(y1))):
            lanes[w].append((x0, x1))
    for w, spans in lanes.items():
        spans.sort()
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            assert b0 >= a1, f"lane {w}: [{a0}, {a1}) and [{b0}, {b1}) overlap"
    full = bars[(bars[:, 3] - bars[:, 2]) > 1.0]  # bars taller than one lane
    assert Counter(map(tuple, full[:, :2].tolist())) == Counter(
        (g.start_minute[i], g.finish_minute[i]) for i in np.flatnonzero(excl))
    assert np.all(full[:, 2] < 0.5) and np.all(full[:, 3] > g.workers - 0.5)
    late = _patches(ax, "_gantt_late")
    assert Counter(map(tuple, late[:, :2].tolist())) == Counter(
        (g.start_minute[i], g.finish_minute[i])
        for i in np.flatnonzero(g.late) for _ in range(1 if excl[i] else g.workers_used[i]))
    cut = [ln for ln in ax.lines if ln.get_label().startswith("cutoff")]
    assert list(cut[0].get_xdata()) == [g.cutoff_minute] * 2
    return fig


def test_gantt_bars_are_the_traced_start_and_finish_times():
    g = report_data.engine_gantt(n_jobs=2000, workers=8)
    assert g.exclusive.any() and g.late.any()
    _check_gantt(g)


def test_gantt_by_hand_with_a_two_worker_job():
    g = GanttNight(job_id=("a", "b", "c", "x", "d"), workload_class=("etl",) * 5,
                   start_minute=[0, 0, 5, 10, 12], finish_minute=[10, 5, 8, 12, 30],
                   workers_used=[1, 1, 1, 3, 2], exclusive=[0, 0, 0, 1, 0],
                   late=[0, 0, 0, 0, 1], workers=3, cutoff_minute=20.0)
    ax = _check_gantt(g).axes[0]
    bars = _patches(ax, "_gantt_bars")
    lane_of = {(x0, x1, int(y0)) for x0, x1, y0, _ in bars}
    # hand-worked lanes: a 0, b 1, c 1, x all, d 0 and 1
    assert {(0, 10, 0), (0, 5, 1), (5, 8, 1), (12, 30, 0), (12, 30, 1)} <= lane_of


# ---------------------------------------------------------------- (c) queue length
def test_queue_chart_draws_mean_and_band():
    q = report_data.queue_length()
    ax = charts.queue_length(q).axes[0]
    mean = _line(ax, "mean")
    assert np.array_equal(mean.get_xdata(), q.minute)
    assert np.array_equal(mean.get_ydata(), q.mean)
    v = ax.collections[0].get_paths()[0].vertices
    tops = {(x, y) for x, y in zip(q.minute.tolist(), q.p90.tolist())}
    bottoms = {(x, y) for x, y in zip(q.minute.tolist(), q.p10.tolist())}
    drawn = set(map(tuple, v.tolist()))
    assert tops <= drawn and bottoms <= drawn and drawn <= tops | bottoms


# ---------------------------------------------------------------- (d) job risk
def test_job_risk_bars_are_the_highest_late_probabilities_with_their_intervals():
    j = report_data.job_risk(n_jobs=500)
    fig = charts.job_risk(j, top=30)
    ax = fig.axes[0]
    bars = _bar_container(ax, "_late_probability").patches
    widths = np.array([b.get_width() for b in bars])
    assert np.array_equal(widths, np.sort(j.late_probability)[::-1][:30])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    by_label = {f"{i} \u00b7 {c}": k for k, (i, c) in enumerate(zip(j.job_id,
                                                                   j.workload_class))}
    err = [c for c in ax.collections if isinstance(c, LineCollection)][0].get_segments()
    assert len(err) == 30
    ks = []
    for ypos, (lab, w) in enumerate(zip(labels, widths)):
        k = by_label.get(lab)
        if k is None:  # a long label is cut, with an ellipsis
            (k,) = [v for full, v in by_label.items() if full.startswith(lab[:-1])]
        ks.append(k)
        assert j.late_probability[k] == w
        seg = [s for s in err if s[0][1] == ypos][0]
        assert (seg[0][0], seg[1][0]) == pytest.approx((j.late_ci_low[k], j.late_ci_high[k]),
                                                       abs=1e-15)
    crit = [p.get_width() for p in _bar_container(fig.axes[1], "_criticality").patches]
    assert crit == [j.criticality[k] for k in ks]
    assert labels[0].startswith(HOSTILE_ID) and labels[0].endswith("\u2026")
    svg = charts.svg_markup(fig, "chart-jobs")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "<script" not in svg.lower()


def _bar_container(ax, label):
    found = [c for c in ax.containers if isinstance(c, BarContainer) and c.get_label() == label]
    assert len(found) == 1
    return found[0]


# ---------------------------------------------------------------- (e) plan
def test_plan_points_are_the_plan_rows_and_the_recommendation_is_marked():
    p = report_data.plan_chart()
    fig = charts.plan(p)
    ax1, ax2 = fig.axes
    for s in p.series:
        for ax, est, lo, hi in ((ax1, s.overflow_probability, s.overflow_ci_low,
                                 s.overflow_ci_high),
                                (ax2, s.p95_wait_mean, s.p95_wait_ci_low, s.p95_wait_ci_high)):
            cont = [c for c in ax.containers if c.get_label() == s.label][0]
            data_line, _caps, (bars,) = cont.lines
            x = np.asarray(data_line.get_xdata())
            assert np.allclose(x, s.workers, atol=0.1)  # series side by side, < 0.1 apart
            assert np.array_equal(data_line.get_ydata(), est)
            segs = bars.get_segments()
            assert np.allclose([sg[0][1] for sg in segs], lo, rtol=0, atol=1e-12)
            assert np.allclose([sg[1][1] for sg in segs], hi, rtol=0, atol=1e-12)
            ring = _line(ax, f"recommended: {s.recommended} workers ({s.label})")
            i = list(s.workers).index(s.recommended)
            assert ring.get_xdata()[0] == x[i] and ring.get_ydata()[0] == est[i]
    target = [ln for ln in ax1.lines if ln.get_label().startswith("target")][0]
    assert list(target.get_ydata()) == [p.max_overflow] * 2


# ---------------------------------------------------------------- (f) score
def test_score_chart_ranks_every_night_and_details_the_riskiest():
    s = report_data.score_nights(n_nights=1000)
    fig = charts.score(s, top=25)
    ax_all, ax_top = fig.axes
    p = s.overflow_probability
    valid = np.sort(p[~np.isnan(p)])[::-1]
    curve = _line(ax_all, "overflow probability")
    assert np.array_equal(curve.get_ydata(), valid)
    assert np.array_equal(curve.get_xdata(), np.arange(1, valid.size + 1))
    cont = ax_top.containers[0]
    pts = cont.lines[0]
    assert np.array_equal(pts.get_xdata(), valid[:25])
    names = [t.get_text() for t in ax_top.get_yticklabels()]
    assert names[0] == HOSTILE_ID  # the riskiest night of the fixture
    by_name = dict(zip(s.night, p))
    assert [by_name[n] for n in names] == list(valid[:25])
    svg = charts.svg_markup(fig, "chart-score")
    assert len(svg.encode()) < 200_000


# ---------------------------------------------------------------- (g) backtest
def test_backtest_chart_draws_bins_and_pit_counts():
    b = report_data.backtest()
    ax1, ax2 = charts.backtest(b).axes
    cont = [c for c in ax1.containers if c.get_label().startswith("observed")][0]
    pts = cont.lines[0]
    edges = np.linspace(0, 1, b.bins + 1)
    idx = np.clip(np.digitize(b.forecast_probability, edges) - 1, 0, b.bins - 1)
    want_x = [b.forecast_probability[idx == i].mean() for i in range(b.bins) if (idx == i).any()]
    want_y = [b.overflowed[idx == i].mean() for i in range(b.bins) if (idx == i).any()]
    assert np.allclose(pts.get_xdata(), want_x, rtol=1e-12)
    assert np.array_equal(pts.get_ydata(), want_y)
    heights = [r.get_height() for r in _bar_container(ax2, "_pit").patches]
    assert heights == np.histogram(b.pit, bins=edges)[0].tolist()


# ---------------------------------------------------------------- output rules
def test_svg_markup_is_compact_deterministic_and_escaped():
    g = report_data.engine_gantt(n_jobs=300, workers=4)
    a = charts.svg_markup(charts.gantt(g), "chart-gantt-1")
    b = charts.svg_markup(charts.gantt(g), "chart-gantt-1")
    assert a == b  # fresh figures, same bytes
    assert a.startswith("<svg") and a.endswith("</svg>")
    assert "<?xml" not in a and "<!--" not in a and "<!DOCTYPE" not in a
    assert not re.search(r'\bwidth="[0-9.]+pt"', a.split(">", 1)[0])
    assert "font-family" not in a  # the page's CSS gives the font stack
    tags = re.findall(r"<[^>]*>", a)
    assert not any(re.search(r"\d\.\d{3}", t) for t in tags)  # 1/100 pt at most
    assert "etl&amp;&lt;b&gt;bold&lt;/b&gt;" in a  # the hostile class, escaped
    assert "<script" not in a.lower()
    other = charts.svg_markup(charts.gantt(g), "chart-gantt-2")
    ids_a = set(re.findall(r'\bid="([^"]+)"', a))
    ids_b = set(re.findall(r'\bid="([^"]+)"', other))
    assert ids_a and not ids_a & ids_b  # two charts on one page share no element id


def test_save_png_and_svg_atomically_and_deterministically(tmp_path):
    d = report_data.drain_times(500)
    for fmt in ("png", "svg"):
        path = tmp_path / f"drain.{fmt}"
        charts.save(charts.drain_curve(d), path)
        first = path.read_bytes()
        charts.save(charts.drain_curve(d), path, fmt)
        assert path.read_bytes() == first
    assert (tmp_path / "drain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"matplotlib" not in (tmp_path / "drain.png").read_bytes()  # no Software stamp
    svg = (tmp_path / "drain.svg").read_text()
    assert "<dc:date>" not in svg and "<metadata" not in svg
    assert sorted(os.listdir(tmp_path)) == ["drain.png", "drain.svg"]  # no temp file left
    with pytest.raises(ValueError, match="plot format must be one of png, svg, got 'gif'"):
        charts.save(charts.drain_curve(d), tmp_path / "drain.gif")


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "chart.svg"
    path.write_text("old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space left"):
        charts.save(charts.queue_length(report_data.queue_length()), path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["chart.svg"]


def test_chart_set_ids_and_saved_files(tmp_path):
    cs = ChartSet(drain=report_data.drain_times(300),
                  gantts=(report_data.engine_gantt(200, 3), report_data.engine_gantt(200, 3)),
                  queue=report_data.queue_length(), plan=report_data.plan_chart())
    paths = charts.save_all(cs, tmp_path, "svg")
    assert [os.path.basename(p) for p in paths] == [
        "chart-drain.svg", "chart-gantt-1.svg", "chart-gantt-2.svg", "chart-queue.svg",
        "chart-plan.svg"]


# ---------------------------------------------------------------- the extra
def test_missing_matplotlib_gives_one_error_with_the_pip_command(monkeypatch):
    from mcqueue.errors import McqueueError
    from mcqueue.report.extra import MissingExtraError, require_report_extra

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(MissingExtraError) as err:
        require_report_extra()
    assert str(err.value) == ('HTML reports and plots need matplotlib, which is not installed; '
                              'install it with: pip install "mcqueue[report]"')
    assert isinstance(err.value, McqueueError)


def test_too_old_matplotlib_is_named(monkeypatch):
    import matplotlib

    from mcqueue.report.extra import MissingExtraError, require_report_extra

    monkeypatch.setattr(matplotlib, "__version__", "3.5.1")
    with pytest.raises(MissingExtraError) as err:
        require_report_extra()
    assert str(err.value) == ('HTML reports and plots need matplotlib >= 3.8, found 3.5.1; '
                              'install it with: pip install "mcqueue[report]"')


# ---------------------------------------------------------------- edge cases
def _edge_cases():
    from mcqueue.report.chart_data import (Backtest, DrainTimes, JobRisk, PlanChart,
                                           PlanSeries, QueueLength, ScoreNights)

    nan = float("nan")
    return {
        "empty night": lambda: charts.gantt(GanttNight((), (), [], [], [], [], [], 3, 240.0)),
        "one replication": lambda: charts.drain_curve(DrainTimes([100.0], 240.0)),
        "all replications equal": lambda: charts.drain_curve(DrainTimes([300.0] * 50, 240.0)),
        "days after the start": lambda: charts.drain_curve(
            DrainTimes(np.linspace(1400, 3000, 300), 240.0, batch_start="23:59")),
        "empty queue": lambda: charts.queue_length(
            QueueLength([0, 10], [0, 0], [0, 0], [0, 0], 240.0)),
        "no night has jobs": lambda: charts.score(
            ScoreNights(("a", "b"), [nan, nan], [nan, nan], [nan, nan])),
        "one job": lambda: charts.job_risk(JobRisk(("a",), ("etl",), [0.0], [0.0], [0.1])),
        "one worker count, no interval": lambda: charts.plan(PlanChart(
            (PlanSeries("", [3], [0.0], [0.0], [0.1], [5.0], [nan], [nan]),), 0.05)),
        "one forecast bin": lambda: charts.backtest(
            Backtest([0.5] * 3, [True, False, True], [0.2, 0.2, 0.9])),
    }


@pytest.mark.parametrize("case", sorted(_edge_cases()))
def test_edge_cases_draw_without_warnings(case):
    from mcqueue.report.html import ChartBlock

    fig = _edge_cases()[case]()  # pytest turns any warning into an error (pyproject)
    ChartBlock("chart-x", case, charts.svg_markup(fig, "chart-x"))  # passes the markup check
    assert charts.render(fig, "png")[:4] == b"\x89PNG"
    if case == "empty night":
        assert _patches(fig.axes[0], "_gantt_bars").shape == (0, 4)
    if case == "no night has jobs":
        assert fig.axes[0].get_title("left") == "Nights ranked by risk (0 nights; 2 without " \
            "jobs not shown)"
    if case == "days after the start":
        labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert "00:00 +1d" in labels and "12:00 +1d" in labels
