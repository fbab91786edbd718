"""The charts of a report, drawn with matplotlib from the dataclasses of `chart_data`.

Each chart function takes one of those dataclasses and returns a `matplotlib.figure.Figure`
(no pyplot: no global figure registry, no GUI backend). `svg_markup` turns a figure into the
compact SVG that `mcqueue.report.html` inlines; `save` writes one PNG or SVG file atomically.

Only this module imports matplotlib; the command line imports it after
`mcqueue.report.extra.require_report_extra()` has checked the `report` extra is installed.
Design (docs/report.md): static SVG, text as <text> in the page's font stack, Okabe-Ito colours
(distinguishable with the common colour-vision deficiencies), sizes for a laptop screen that also
print on A4/Letter, and the same input always giving the same bytes.
"""

from __future__ import annotations

import io
import math
import os
import re
from typing import Any, Callable, Iterator, cast

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from .chart_data import (Backtest, ChartSet, DrainTimes, GanttNight, JobRisk, PlanChart,
                         QueueLength, ScoreNights, assign_lanes, cdf_curve, clock_label,
                         clock_ticks, pit_histogram, reliability_bins)
from ..io.files import write_atomic

# Okabe & Ito (2008), "Color Universal Design": distinguishable for deuteranopia, protanopia and
# tritanopia, and in greyscale print by lightness for the pairs used together here.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#999999"
CLASS_COLOURS = (BLUE, ORANGE, SKY, GREEN, PURPLE, YELLOW)  # the six largest classes; rest GREY

WIDTH_INCHES = 9.0  # 900 px at 100 dpi: a laptop screen's content width, A4/Letter when printed
PNG_DPI = 150
FORMATS = ("png", "svg")
LABEL_CHARS = 40  # job ids / night labels longer than this are cut (with an ellipsis) on axes

_FONT_STACK = ["DejaVu Sans", "Bitstream Vera Sans", "Liberation Sans", "Arial", "Helvetica",
               "sans-serif"]
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: selectable, searchable, small, no font embedded
    "text.parse_math": False,  # a '$' in a job id is a dollar sign, not mathtext
    "font.family": "sans-serif",
    "font.sans-serif": _FONT_STACK,
    "font.size": 10.0,
    "axes.titlesize": 12.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": cycler(color=[BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION]),
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "hatch.linewidth": 0.6,
}
_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_PNG_METADATA = {"Software": None}


def _figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH_INCHES, height), layout="constrained")


def _one_axes(height: float) -> tuple[Figure, Axes]:
    fig = _figure(height)
    return fig, fig.add_subplot()


def _two_axes(height: float, width_ratios: tuple[float, float] = (1.0, 1.0),
              sharey: bool = False) -> tuple[Figure, Axes, Axes]:
    """Two panels side by side."""
    fig = _figure(height)
    gs = fig.add_gridspec(1, 2, width_ratios=width_ratios)
    left = fig.add_subplot(gs[0, 0])
    right = fig.add_subplot(gs[0, 1], sharey=left if sharey else None)
    if sharey:
        right.tick_params(labelleft=False)
    return fig, left, right


def _styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a chart function with the house rcParams (they are read while artists are made)."""
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    wrapper.__name__ = draw.__name__
    wrapper.__qualname__ = draw.__qualname__
    wrapper.__doc__ = draw.__doc__
    return wrapper


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _clock_axis(ax, lo: float, hi: float, batch_start: str) -> None:
    ax.set_xlim(lo, hi)
    ax.set_xticks(clock_ticks(lo, hi, batch_start))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: clock_label(v, batch_start)))
    ax.set_xlabel(f"clock time (batch starts {batch_start})")


def _span(lo: float, hi: float, pad: float = 0.03) -> tuple[float, float]:
    width = max(hi - lo, 1.0)
    return lo - pad * width, hi + pad * width


def _cutoff_line(ax, cutoff: float, batch_start: str):
    return ax.axvline(cutoff, color=VERMILLION, lw=1.6, ls=(0, (5, 3)), zorder=4,
                      label=f"cutoff {clock_label(cutoff, batch_start)}")


def _pct(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    p = 100.0 * x
    if 0.0 < p < 1.0 or 99.0 < p < 100.0:
        return f"{p:.1f}%"
    return f"{p:.0f}%"


def _conf(c: float) -> str:
    return f"{100 * c:g}%"


# ---------------------------------------------------------------- (a) drain-time S-curve
@_styled
def drain_curve(d: DrainTimes, title: str | None = None) -> Figure:
    """Probability that every job is done by clock time t: the empirical CDF of the drain time
    across replications, its pointwise Wilson band, the cutoff, and P50/P90 read off."""
    c = cdf_curve(d)
    fig, ax = _one_axes(4.6)
    lo, hi = _span(min(float(c.x[0]), d.cutoff_minute), max(float(c.x[-1]), d.cutoff_minute))
    # padded to the axis ends with the CDF's own values there (0 before the smallest drain
    # time, 1 from the largest on)
    first, last = d.done_by(lo), d.done_by(hi)
    x = np.concatenate(([lo], c.x, [hi]))
    y = np.concatenate(([first["estimate"]], c.cdf, [last["estimate"]]))
    band_lo = np.concatenate(([first["ci_low"]], c.ci_low, [last["ci_low"]]))
    band_hi = np.concatenate(([first["ci_high"]], c.ci_high, [last["ci_high"]]))
    ax.fill_between(x, band_lo, band_hi, step="post", color=SKY, alpha=0.45, lw=0,
                    label=f"{_conf(d.confidence)} pointwise band (Wilson)")
    ax.step(x, y, where="post", color=BLUE, lw=2.0, label="P(every job done by t)",
            zorder=3)
    _cutoff_line(ax, d.cutoff_minute, d.batch_start)
    done = d.done_by(d.cutoff_minute)
    ax.annotate(f"done by cutoff: {_pct(done['estimate'])}\n[{_pct(done['ci_low'])}, "
                f"{_pct(done['ci_high'])}]",
                xy=(d.cutoff_minute, done["estimate"]),
                xytext=(8, 14 if done["estimate"] < 0.3 else -30),
                textcoords="offset points", color=VERMILLION, fontsize=9,
                arrowprops={"arrowstyle": "-", "color": VERMILLION, "lw": 0.8})
    for q, dy in ((0.5, 10), (0.9, 10)):
        xq = d.quantile(q)
        ax.plot([lo, xq, xq], [q, q, 0.0], color="#555555", lw=0.9, ls=":",
                label="_quantile", zorder=2)
        ax.plot([xq], [q], marker="o", ms=5, color=BLACK, label=f"_P{round(100 * q)}",
                zorder=5)
        ax.annotate(f"P{round(100 * q)} {clock_label(xq, d.batch_start)}", xy=(xq, q),
                    xytext=(-6, dy), textcoords="offset points", ha="right", fontsize=9,
                    fontweight="bold")
    _clock_axis(ax, lo, hi, d.batch_start)
    ax.set_ylim(0.0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("replications with every job done")
    ax.set_title(title or f"When is every job done? ({d.replications:,} replications)")
    ax.legend(loc="upper left")
    return fig


# ---------------------------------------------------------------- (b) Gantt
_RECT_CODES = np.array([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY],
                       dtype=Path.code_type)


def _rects(x0, x1, y0, y1) -> Path:
    """One compound path of axis-aligned rectangles (one SVG <path> for any number of bars)."""
    x0, x1, y0, y1 = (np.asarray(v, dtype=np.float64) for v in (x0, x1, y0, y1))
    n = x0.shape[0]
    v = np.empty((n, 5, 2))
    v[:, 0] = np.column_stack((x0, y0))
    v[:, 1] = np.column_stack((x1, y0))
    v[:, 2] = np.column_stack((x1, y1))
    v[:, 3] = np.column_stack((x0, y1))
    v[:, 4] = v[:, 0]
    return Path(v.reshape(-1, 2), np.tile(_RECT_CODES, n))


def class_colours(classes) -> dict[str, str]:
    """The six most common classes (ties: by name) get a colour each; the rest grey."""
    counts: dict[str, int] = {}
    for c in classes:
        counts[c] = counts.get(c, 0) + 1
    order = sorted(counts, key=lambda c: (-counts[c], c))
    return {c: (CLASS_COLOURS[i] if i < len(CLASS_COLOURS) else GREY)
            for i, c in enumerate(order)}


BAR_FILL = 0.8  # a bar's height as a share of its lane


@_styled
def gantt(g: GanttNight, title: str | None = None) -> Figure:
    """One replication as a Gantt: a lane per worker of the largest pool (lanes from
    `assign_lanes`), exclusive jobs across their lanes (black outline), late jobs hatched,
    each job's own deadline as a tick on its bar, the lanes above a shrunken pool greyed, the
    cutoff line."""
    lanes = assign_lanes(g)
    c = g.lanes
    fig, ax = _one_axes(min(9.0, max(3.2, 1.9 + 0.3 * c)))
    pad = (1.0 - BAR_FILL) / 2.0
    colours = class_colours(g.workload_class)
    bx0: list[float] = []
    bx1: list[float] = []
    by0: list[float] = []
    by1: list[float] = []
    colour: list[str] = []
    late: list[bool] = []
    excl: list[bool] = []
    for i, ln in enumerate(lanes):
        if g.exclusive[i] and ln == tuple(range(ln[0], ln[0] + len(ln))):
            spans = [(ln[0], ln[0] + len(ln))]  # one bar over its (whole) pool
        else:
            spans = [(k, k + 1) for k in ln]
        for a, b in spans:
            bx0.append(float(g.start_minute[i]))
            bx1.append(float(g.finish_minute[i]))
            by0.append(a + pad)
            by1.append(b - pad)
            colour.append(colours[g.workload_class[i]])
            late.append(bool(g.late[i]))
            excl.append(bool(g.exclusive[i]))
    x0, x1, y0, y1 = (np.asarray(v, dtype=np.float64) for v in (bx0, bx1, by0, by1))
    colour_arr = np.asarray(colour, dtype=object)
    late_arr = np.asarray(late, dtype=bool)
    excl_arr = np.asarray(excl, dtype=bool)
    for col in dict.fromkeys(colours.values()):  # one path per colour, in legend order
        m = colour_arr == col
        if m.any():
            ax.add_patch(PathPatch(_rects(x0[m], x1[m], y0[m], y1[m]), facecolor=col,
                                   edgecolor="none", lw=0, label="_gantt_bars"))
    if excl_arr.any():
        ax.add_patch(PathPatch(_rects(x0[excl_arr], x1[excl_arr], y0[excl_arr], y1[excl_arr]),
                               facecolor="none", edgecolor=BLACK, lw=1.2,
                               label="_gantt_exclusive"))
    if late_arr.any():
        ax.add_patch(PathPatch(_rects(x0[late_arr], x1[late_arr], y0[late_arr], y1[late_arr]),
                               facecolor="none", edgecolor=BLACK, lw=0.5, hatch="////",
                               label="_gantt_late"))
    cut = _cutoff_line(ax, g.cutoff_minute, g.batch_start)
    starts = [g.cutoff_minute, 0.0] + ([float(g.start_minute.min())] if g.n_jobs else [])
    ends = [g.cutoff_minute] + ([float(g.finish_minute.max())] if g.n_jobs else [])
    dl = (g.deadline_minute if g.deadline_minute is not None
          else np.full(g.n_jobs, np.nan))
    own = np.flatnonzero(~np.isnan(dl))
    if own.shape[0]:
        ends.append(float(dl[own].max()))
    lo, hi = _span(min(starts), max(ends), 0.02)
    greyed = False
    if g.capacity or c > g.workers:  # lanes above the pool of each step: unavailable
        steps = g.pool_steps()
        gx0, gx1, gy0, gy1 = [], [], [], []
        for k, (m, size) in enumerate(steps):
            end = steps[k + 1][0] if k + 1 < len(steps) else hi
            if size < c and end > m:
                gx0.append(m)
                gx1.append(end)
                gy0.append(float(size))
                gy1.append(float(c))
        if gx0:
            greyed = True
            ax.add_patch(PathPatch(_rects(gx0, gx1, gy0, gy1), facecolor=GREY, alpha=0.25,
                                   edgecolor="none", lw=0, zorder=0,
                                   label="_gantt_no_capacity"))
    ticks: Any = None
    if own.shape[0]:  # each job's own deadline: a tick across its first lane
        xs, ys = [], []
        for i in own.tolist():
            k = lanes[i][0]
            xs += [float(dl[i]), float(dl[i]), np.nan]
            ys += [k + pad / 2, k + 1 - pad / 2, np.nan]
        (ticks,) = ax.plot(xs, ys, color=VERMILLION, lw=2.0, solid_capstyle="butt", zorder=5,
                           label=f"deadline ({own.shape[0]:,} jobs)")
    _clock_axis(ax, lo, hi, g.batch_start)
    ax.set_ylim(c, 0)
    step = max(1, math.ceil(c / 24))
    ax.set_yticks([k + 0.5 for k in range(0, c, step)],
                  [f"worker {k + 1}" for k in range(0, c, step)])
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    handles: list[Any] = []
    shown = [cl for cl in colours if colours[cl] != GREY]
    handles += [Patch(facecolor=colours[cl], label=_cut(cl, 24)) for cl in shown]
    if len(shown) < len(colours):
        handles.append(Patch(facecolor=GREY, label=f"{len(colours) - len(shown)} other classes"))
    if excl_arr.any():
        handles.append(Patch(facecolor="white", edgecolor=BLACK, lw=1.2,
                             label="exclusive (whole pool)"))
    if late_arr.any():
        handles.append(Patch(facecolor="white", edgecolor=BLACK, lw=0.5, hatch="////",
                             label=f"late ({int(g.late.sum()):,} jobs)"))
    if ticks is not None:
        handles.append(ticks)
    if greyed:
        handles.append(Patch(facecolor=GREY, alpha=0.25, label="not in the pool"))
    handles.append(cut)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5))
    what = g.label or "one replication"
    pool = (f"{g.workers} workers" if not g.capacity
            else f"{min(z for _, z in g.pool_steps())}-{c} workers")
    ax.set_title(title or f"Gantt of {what}: {g.n_jobs:,} jobs on {pool}")
    return fig


# ---------------------------------------------------------------- (c) queue length
@_styled
def queue_length(q: QueueLength, title: str | None = None) -> Figure:
    """Jobs waiting over the night: the mean across replications and the P10-P90 band."""
    fig, ax = _one_axes(4.0)
    ax.fill_between(q.minute, q.p10, q.p90, color=SKY, alpha=0.45, lw=0,
                    label="P10-P90 across replications")
    ax.plot(q.minute, q.mean, color=BLUE, lw=1.8, label="mean")
    _cutoff_line(ax, q.cutoff_minute, q.batch_start)
    lo = min(float(q.minute[0]), q.cutoff_minute)
    hi = max(float(q.minute[-1]), q.cutoff_minute)
    _clock_axis(ax, *_span(lo, hi, 0.01), q.batch_start)
    ax.set_ylim(0.0, max(1.0, float(q.p90.max()), float(q.mean.max())) * 1.08)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("jobs waiting")
    ax.set_title(title or f"Queue length over the night{_traced(q)}")
    ax.legend(loc="best")
    return fig


def _traced(q: QueueLength) -> str:
    """' (200 of 10,000 replications)' when the curve is from a replayed subset."""
    if q.traced is None:
        return ""
    if q.replications is None or q.replications == q.traced:
        return f" ({q.traced:,} replications)"
    return f" ({q.traced:,} of {q.replications:,} replications)"


# ---------------------------------------------------------------- (d) per-job risk
def _xerr(est: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Asymmetric error-bar lengths; a missing (nan) bound draws no bar on that side."""
    return np.vstack((np.nan_to_num(est - lo, nan=0.0), np.nan_to_num(hi - est, nan=0.0)))


@_styled
def job_risk(j: JobRisk, top: int = 30, title: str | None = None) -> Figure:
    """Jobs most likely to be late, sorted: late probability with its interval, and the
    criticality index (share of replications on the critical path) beside it."""
    order = j.ranked()[:max(1, top)]
    n = order.shape[0]
    crit = j.criticality
    height = min(11.0, 1.5 + 0.24 * max(n, 4))
    if crit is not None:
        fig, ax, ax2 = _two_axes(height, width_ratios=(3.0, 2.0), sharey=True)
    else:
        fig, ax = _one_axes(height)
    ypos = np.arange(n, dtype=np.float64)
    p = j.late_probability[order]
    ax.barh(ypos, p, height=0.7, color=BLUE, label="_late_probability",
            xerr=_xerr(p, j.late_ci_low[order], j.late_ci_high[order]),
            error_kw={"ecolor": BLACK, "elinewidth": 1.0, "capsize": 2})
    ax.set_yticks(ypos, [_cut(f"{j.job_id[i]} \u00b7 {j.workload_class[i]}")
                         for i in order.tolist()])
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(f"late probability ({_conf(j.confidence)} interval)")
    ax.grid(axis="y", visible=False)
    if crit is not None:
        ax2.barh(ypos, crit[order], height=0.7, color=ORANGE, label="_criticality")
        ax2.set_xlim(0.0, 1.0)
        ax2.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax2.set_xlabel("criticality index (on the critical path)")
        ax2.grid(axis="y", visible=False)
    total = len(j.job_id)
    shown = f"top {n:,} of {total:,} jobs" if n < total else f"{total:,} jobs"
    ax.set_title(title or f"Jobs most likely to be late ({shown})")
    return fig


# ---------------------------------------------------------------- (e) plan
_SERIES_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION)
_SERIES_MARKERS = ("o", "s", "^", "D", "v", "P")


@_styled
def plan(p: PlanChart, title: str | None = None) -> Figure:
    """Overflow probability and mean p95 wait against workers (one series per policy), with
    intervals, the targets, and each series' recommendation (a large ring)."""
    fig, ax1, ax2 = _two_axes(4.4)
    k = len(p.series)
    offsets = (np.arange(k) - (k - 1) / 2.0) * (0.12 if k > 1 else 0.0)
    for s, dx, col, mk in zip(p.series, offsets, _SERIES_COLOURS * 4, _SERIES_MARKERS * 4):
        x = s.workers.astype(np.float64) + dx
        name = _cut(s.label, 30) or "plan"
        ax1.errorbar(x, s.overflow_probability,
                     yerr=_xerr(s.overflow_probability, s.overflow_ci_low, s.overflow_ci_high),
                     color=col, marker=mk, ms=5, lw=1.4, capsize=3, label=name)
        ax2.errorbar(x, s.p95_wait_mean,
                     yerr=_xerr(s.p95_wait_mean, s.p95_wait_ci_low, s.p95_wait_ci_high),
                     color=col, marker=mk, ms=5, lw=1.4, capsize=3, label=name)
        if s.recommended is not None:
            i = s.workers.tolist().index(int(s.recommended))
            for ax, yv in ((ax1, s.overflow_probability[i]), (ax2, s.p95_wait_mean[i])):
                ax.plot([x[i]], [yv], marker="o", ms=14, mfc="none", mec=col, mew=2.0,
                        ls="none", label=f"recommended: {s.recommended} workers"
                        + (f" ({name})" if k > 1 else ""), zorder=5)
    ax1.axhline(p.max_overflow, color=VERMILLION, lw=1.3, ls=(0, (5, 3)),
                label=f"target: at most {_pct(p.max_overflow)}")
    ax1.set_ylim(-0.02, 1.02)
    ax1.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax1.set_ylabel(f"overflow probability ({_conf(p.confidence)} interval)")
    if p.max_p95_wait is not None:
        ax2.axhline(p.max_p95_wait, color=VERMILLION, lw=1.3, ls=(0, (5, 3)),
                    label=f"target: at most {p.max_p95_wait:g} min")
    ax2.set_ylabel(f"mean p95 wait, minutes ({_conf(p.confidence)} interval)")
    ax2.set_ylim(bottom=0.0)
    for ax in (ax1, ax2):
        ax.set_xlabel("workers")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    extra = [(h, lab) for h, lab in zip(h2, l2) if lab.startswith("target")]
    handles = h1 + [h for h, _ in extra]
    fig.legend(handles, l1 + [lab for _, lab in extra], loc="outside lower center",
               ncols=min(len(handles), 3))
    ax1.set_title(title or "How many workers?")
    return fig


# ---------------------------------------------------------------- (f) score
@_styled
def score(s: ScoreNights, top: int = 25, title: str | None = None) -> Figure:
    """Nights ranked by risk: every night as a ranked curve with its interval band (stays one
    small path for 1,000 nights), and the top ``top`` nights in detail with their labels."""
    order = s.ranked()
    valid = order[~np.isnan(s.overflow_probability[order])]
    n_top = min(max(1, top), valid.shape[0]) if valid.shape[0] else 0
    fig = Figure(figsize=(WIDTH_INCHES, min(12.0, 3.6 + 0.24 * max(n_top, 4))),
                 layout="constrained")
    ax_all, ax_top = fig.subplots(2, 1, height_ratios=[2.4, max(n_top, 4) * 0.24])
    rank = np.arange(1, valid.shape[0] + 1, dtype=np.float64)
    p = s.overflow_probability[valid]
    ax_all.fill_between(rank, s.ci_low[valid], s.ci_high[valid], step="mid", color=SKY,
                        alpha=0.5, lw=0, label=f"{_conf(s.confidence)} interval")
    ax_all.step(rank, p, where="mid", color=BLUE, lw=1.6, label="overflow probability")
    if s.max_overflow is not None:
        ax_all.axhline(s.max_overflow, color=VERMILLION, lw=1.3, ls=(0, (5, 3)),
                       label=f"threshold {_pct(s.max_overflow)}")
        above = int(np.count_nonzero(p > s.max_overflow))
        ax_all.annotate(f"{above:,} of {valid.shape[0]:,} nights above", xy=(1, 1),
                        xycoords="axes fraction", xytext=(-4, -4), textcoords="offset points",
                        ha="right", va="top", fontsize=9, color=VERMILLION)
    ax_all.set_xlim(0.5, max(valid.shape[0], 1) + 0.5)
    ax_all.set_ylim(-0.02, 1.02)
    ax_all.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_all.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax_all.set_xlabel("rank (1 = riskiest)")
    ax_all.set_ylabel("overflow probability")
    ax_all.legend(loc="upper right" if s.max_overflow is None else "center right")
    missing = s.overflow_probability.shape[0] - valid.shape[0]
    note = f"; {missing:,} without jobs not shown" if missing else ""
    ax_all.set_title(title or f"Nights ranked by risk ({valid.shape[0]:,} nights{note})")
    top_idx = valid[:n_top]
    ypos = np.arange(n_top, dtype=np.float64)
    pt = s.overflow_probability[top_idx]
    ax_top.errorbar(pt, ypos, xerr=_xerr(pt, s.ci_low[top_idx], s.ci_high[top_idx]),
                    fmt="o", color=BLUE, ms=4, capsize=2, elinewidth=1.0,
                    label="_top_nights")
    if s.max_overflow is not None:
        ax_top.axvline(s.max_overflow, color=VERMILLION, lw=1.3, ls=(0, (5, 3)))
    ax_top.set_yticks(ypos, [_cut(s.night[i]) for i in top_idx.tolist()])
    ax_top.set_ylim(max(n_top, 1) - 0.4, -0.6)
    ax_top.set_xlim(-0.02, 1.02)
    ax_top.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax_top.set_xlabel(f"overflow probability ({_conf(s.confidence)} interval)")
    ax_top.grid(axis="y", visible=False)
    ax_top.set_title(f"The {n_top:,} riskiest nights", fontsize=11)
    return fig


# ---------------------------------------------------------------- (g) backtest
@_styled
def backtest(b: Backtest, title: str | None = None) -> Figure:
    """Calibration of past forecasts: reliability diagram (observed overflow share per forecast
    bin, Wilson intervals, bin sizes) and PIT histogram (with the range a calibrated forecast
    gives each bin)."""
    rel = reliability_bins(b)
    pit = pit_histogram(b)
    fig, ax1, ax2 = _two_axes(4.4)
    ax1.plot([0, 1], [0, 1], color=GREY, lw=1.0, ls="--", label="perfect calibration")
    ok = rel.count > 0
    ax1.errorbar(rel.mean_forecast[ok], rel.observed[ok],
                 yerr=_xerr(rel.observed[ok], rel.ci_low[ok], rel.ci_high[ok]),
                 fmt="o-", color=BLUE, ms=5, capsize=3, lw=1.4,
                 label=f"observed ({_conf(b.confidence)} interval)")
    for xf, yo, cnt in zip(rel.mean_forecast[ok], rel.observed[ok], rel.count[ok]):
        ax1.annotate(f"{int(cnt):,}", xy=(xf, yo), xytext=(4, -11), textcoords="offset points",
                     fontsize=7.5, color="#444444")
    ax1.set_xlim(-0.02, 1.02)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_aspect("equal")
    for f in (ax1.xaxis, ax1.yaxis):
        f.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax1.set_xlabel("forecast overflow probability (bin mean)")
    ax1.set_ylabel("nights that overflowed")
    ax1.legend(loc="upper left")
    ax1.set_title(title or f"Backtest: reliability ({b.forecast_probability.shape[0]:,} "
                  f"nights)")
    width = 1.0 / b.bins
    ax2.axhspan(pit.band_low, pit.band_high, color=SKY, alpha=0.35, lw=0,
                label=f"calibrated forecast, {_conf(b.confidence)} range")
    ax2.bar(pit.edges[:-1], pit.count, width=width, align="edge", color=BLUE,
            edgecolor="white", lw=0.8, label="_pit")
    ax2.axhline(pit.expected, color=BLACK, lw=1.0, ls=":", label="expected if calibrated")
    ax2.set_xlim(0.0, 1.0)
    ax2.set_ylim(0.0, max(float(pit.count.max()), pit.band_high) * 1.15)
    ax2.set_xlabel("PIT of the observed drain time")
    ax2.set_ylabel("nights")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.legend(loc="upper right")
    ax2.set_title(f"PIT histogram ({b.pit.shape[0]:,} nights)")
    return fig


# ---------------------------------------------------------------- a report's charts
def chart_ids(charts: ChartSet, prefix: str = "") -> list[str]:
    """The ids `figures` yields, in order, without drawing anything."""
    ids = ["chart-drain"] if charts.drain is not None else []
    ids += [f"chart-gantt-{i}" for i in range(1, len(charts.gantts) + 1)]
    for name in ("queue", "jobs", "plan", "score", "backtest"):
        if getattr(charts, name) is not None:
            ids.append(f"chart-{name}")
    return [prefix + i for i in ids]


def figures(charts: ChartSet, prefix: str = "") -> Iterator[tuple[str, Figure]]:
    """(stable element id, figure) for every chart the set holds, in report order; ids are
    chart-drain, chart-gantt-1.., chart-queue, chart-jobs, chart-plan, chart-score,
    chart-backtest, each after ``prefix`` (e.g. "s2-" for a report's second scenario)."""
    if charts.drain is not None:
        yield prefix + "chart-drain", drain_curve(charts.drain)
    for i, g in enumerate(charts.gantts, 1):
        yield f"{prefix}chart-gantt-{i}", gantt(g)
    if charts.queue is not None:
        yield prefix + "chart-queue", queue_length(charts.queue)
    if charts.jobs is not None:
        yield prefix + "chart-jobs", job_risk(charts.jobs)
    if charts.plan is not None:
        yield prefix + "chart-plan", plan(charts.plan)
    if charts.score is not None:
        yield prefix + "chart-score", score(charts.score)
    if charts.backtest is not None:
        yield prefix + "chart-backtest", backtest(charts.backtest)


def _captions(charts: ChartSet) -> dict[str, tuple[str, str]]:
    """Section heading and how-to-read caption of each chart id (without a prefix)."""
    out: dict[str, tuple[str, str]] = {}
    d = charts.drain
    if d is not None:
        out["chart-drain"] = (
            "When is every job done?",
            f"Share of the {d.replications:,} replications in which every job had finished by "
            f"each clock time (the empirical distribution of the drain time), with a "
            f"{_conf(d.confidence)} pointwise Wilson band; at the cutoff it is one minus the "
            f"overflow probability. P50 and P90 are nearest-rank quantiles of the drain time.")
    for i, g in enumerate(charts.gantts, 1):
        out[f"chart-gantt-{i}"] = (
            f"The night as a Gantt: {g.label}" if g.label else "The night as a Gantt",
            "One bar per job; lanes are the workers, filled in start order, each job taking "
            "the lowest-numbered free worker. Exclusive-lock jobs (black outline) hold the "
            "whole pool; late jobs are hatched; the dashed line is the cutoff."
            + (" Red ticks mark each job's own deadline." if g.deadline_minute is not None
               and bool(np.any(~np.isnan(g.deadline_minute))) else "")
            + (" Grey: workers outside the pool while it is smaller (--capacity); running "
               "jobs are never stopped." if g.capacity else ""))
    q = charts.queue
    if q is not None:
        which = "replications"
        if q.traced is not None:
            which = (f"the first {q.traced:,} of the {q.replications:,} replications, each "
                     f"replayed exactly" if q.replications not in (None, q.traced)
                     else f"the {q.traced:,} replications")
        out["chart-queue"] = (
            "Queue length over the night",
            f"Jobs that have arrived and not started, at each time: the mean across {which}, "
            f"and the band from the 10th to the 90th percentile (nearest rank).")
    j = charts.jobs
    if j is not None:
        crit = (" Right: the criticality index, the share of replications in which the job "
                "was on the critical path.") if j.criticality is not None else ""
        out["chart-jobs"] = (
            "Jobs most likely to be late",
            f"Share of replications in which each job finished late, with its "
            f"{_conf(j.confidence)} interval, highest first.{crit}")
    if charts.plan is not None:
        out["chart-plan"] = (
            "Workers: overflow risk and waits",
            "Every worker count simulated with common random numbers; bars are "
            f"{_conf(charts.plan.confidence)} intervals, the ring marks the recommendation "
            "(the fewest workers whose upper bounds meet the target).")
    if charts.score is not None:
        out["chart-score"] = (
            "Nights ranked by risk",
            "Top: every night's overflow probability, riskiest first, with its interval band. "
            "Bottom: the riskiest nights by name.")
    if charts.backtest is not None:
        out["chart-backtest"] = (
            "Backtest: were the forecasts calibrated?",
            "Left: nights grouped by forecast overflow probability; a calibrated forecast "
            "puts the observed share on the diagonal (numbers: nights per group). Right: the "
            "PIT of each observed drain time is uniform when the forecast distribution is "
            "right; bars outside the shaded range are unlikely under calibration.")
    return out


def chart_blocks(charts: ChartSet, prefix: str = "") -> list:
    """The set's charts as `html.ChartBlock`s (inline SVG with stable ids, headings and
    captions), ready for `html.Page`; ids start with ``prefix``."""
    from .html import ChartBlock

    text = _captions(charts)
    return [ChartBlock(chart_id=cid, title=text[cid[len(prefix):]][0],
                       svg=svg_markup(fig, cid), caption=text[cid[len(prefix):]][1])
            for cid, fig in figures(charts, prefix)]


def save_all(charts: ChartSet, folder: str | os.PathLike, fmt: str = "svg",
             prefix: str = "") -> list[str]:
    """Write every chart of the set to ``folder/<prefix><id>.<fmt>``; returns the paths."""
    _check_format(fmt)
    paths = []
    for chart_id, fig in figures(charts, prefix):
        path = os.path.join(os.fspath(folder), f"{chart_id}.{fmt}")
        save(fig, path, fmt)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- output
def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"plot format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def render(fig: Figure, fmt: str, salt: str = "mcqueue") -> bytes:
    """The figure as PNG or SVG bytes, without a date or software stamp (same figure, same
    bytes). ``salt`` seeds the ids of SVG clip paths and markers (unique per chart on a page)."""
    _check_format(fmt)
    buf = io.BytesIO()
    rc = dict(STYLE)
    rc["svg.hashsalt"] = salt
    with matplotlib.rc_context(cast(Any, rc)):  # rcParams keys are typed as literals
        if fmt == "svg":
            fig.savefig(buf, format="svg", metadata=_SVG_METADATA)
        else:
            fig.savefig(buf, format="png", dpi=PNG_DPI, metadata=_PNG_METADATA)
    return buf.getvalue()


def save(fig: Figure, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write ``fig`` as PNG or SVG (``fmt``, default from the file extension) atomically."""
    if fmt is None:
        fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    write_atomic(path, render(fig, _check_format(fmt), salt=os.path.basename(os.fspath(path))))


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NUMBER = re.compile(r"-?\d+\.\d{3,}")
_ROTATE_ZERO = re.compile(r' transform="rotate\(-?0 [^)]*\)"')
_FONT_FAMILY = re.compile(r"font-family: [^;\"]*(?:; )?")
_GROUP_ID = re.compile(r'^<g id="[^"]*"')
_SIZE_ATTR = re.compile(r' (?:width|height)="[^"]*"')


def _round(m: re.Match) -> str:
    text = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def svg_markup(fig: Figure, chart_id: str) -> str:
    """The figure as an <svg> element to inline in HTML: no XML prologue or comments,
    coordinates to 1/100 pt, no per-text font list (the page's CSS gives one), no size
    attributes (CSS scales it by its viewBox), no group ids (ids that are referenced, the clip
    paths and markers, are seeded with ``chart_id`` so they are unique on the page). Text
    nodes are kept exactly as matplotlib escaped them."""
    raw = render(fig, "svg", salt=chart_id).decode("utf-8")
    raw = _COMMENT.sub("", raw[raw.index("<svg"):])
    out = []
    for part in _TAG_OR_TEXT.split(raw):
        if not part:
            continue
        if part.startswith("<"):
            tag = part.replace(" \n", " ").replace("\n", " ")
            tag = _NUMBER.sub(_round, tag)
            tag = _ROTATE_ZERO.sub("", tag)
            tag = _FONT_FAMILY.sub("", tag)
            tag = _GROUP_ID.sub("<g", tag)
            if tag.startswith("<svg"):
                tag = _SIZE_ATTR.sub("", tag, count=2)
            out.append(tag)
        elif part.strip():
            out.append(part)  # text content (already escaped)
    return "".join(out)
