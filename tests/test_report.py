"""Report rendering: job summary, percent formatting, table layout, json and csv."""

from __future__ import annotations

import csv
import io
import json

import pytest

import math

import numpy as np

from mcqueue.engine import simulate as engine
from mcqueue.engine.night import Night
from mcqueue.errors import FormatError
from mcqueue.report import render
from mcqueue.report.simulation import _pct, csv_rows, night_summary, render_csv, render_table


@pytest.fixture(scope="module")
def results(night_13, night_14):
    return engine.simulate_scenarios([engine.Scenario(night_13, 3), engine.Scenario(night_14, 2)],
                                     replications=200, seed=3)


def test_night_summary_of_the_sample(night_14):
    s = night_summary(night_14)
    assert s["jobs"] == 12
    assert s["mean_runtime_minutes"] == pytest.approx(620 / 12)
    assert (s["exclusive_jobs"], s["priority_3_plus_jobs"]) == (5, 5)
    assert s["demand_by_window"] == {"01:00": {"jobs": 5, "runtime_minutes": 260},
                                     "02:00": {"jobs": 4, "runtime_minutes": 215},
                                     "03:00": {"jobs": 3, "runtime_minutes": 145}}
    assert s["workload_mix"] == {"etl": 4, "backfill": 3, "refresh": 3, "index_maintenance": 2}


def test_night_summary_buckets_explicit_arrivals_by_hour():
    nt = Night.from_arrays([0, 30, 61, 200], [10, 20, 30, 40], batch_start="23:30",
                           batch_end="04:00")
    s = night_summary(nt)
    # 23:30 + 0/30 min -> hour 23 ; +61 -> hour 00 ; +200 -> hour 02 (bucketed after the start)
    assert s["demand_by_window"] == {"~23:00": {"jobs": 2, "runtime_minutes": 30},
                                     "~00:00": {"jobs": 1, "runtime_minutes": 30},
                                     "~02:00": {"jobs": 1, "runtime_minutes": 40}}


@pytest.mark.parametrize("x,text", [
    (0.0, "0.0%"), (1.0, "100.0%"), (0.5, "50.0%"), (0.0005, "0.050%"), (0.005, "0.50%"),
    (0.0117, "1.2%"), (0.99962, "99.962%"), (0.995, "99.50%"), (None, "n/a"),
    (float("nan"), "n/a"), (-0.000196, "-0.020%"),
])
def test_percentages_never_round_to_the_ends(x, text):
    assert _pct(x) == text


def test_table_fits_80_columns_and_shows_every_metric(results):
    out = render_table(results)
    assert max(len(ln) for ln in out.splitlines()) <= 80
    assert all(ln == ln.rstrip() for ln in out.splitlines())
    for label in ("average wait (min)", "p95 wait (min)", "average queue length",
                  "max queue length", "worker utilization", "overflow jobs",
                  "overflow risk (share)", "queue drained (min)", "overflow probability"):
        assert out.count("\n" + label) == 2
    assert "200 replications, seed 3, runtime cv 0.25, jitter 15 min, 95% confidence" in out


def test_table_row_values(results):
    r = results[0]
    out = render_table(results[:1])
    mc = r.monte_carlo["average_wait_minutes"]
    row = next(ln for ln in out.splitlines() if ln.startswith("average wait (min)"))
    assert row == (f"average wait (min)        29.00{mc['mean']:>10.2f}  "
                   f"{'[%.2f, %.2f]' % (mc['ci_low'], mc['ci_high']):<22}{mc['p90']:>9.2f}")


def test_wide_values_never_run_together():
    """40 jobs of 5,000 minutes on one worker wait up to 195,000 minutes: values wider than
    their columns (99,031.57 in the 9-wide determ. column) keep a space before them, so every
    metric row still reads as label, determ., mean, [low, high], P90 and each number is the
    result's own (to the 2 decimals shown)."""
    n = 40
    night = Night.from_arrays(np.zeros(n), np.full(n, 5000.0), batch_end="05:00")
    r = engine.simulate(night, workers=1, replications=50, seed=1)
    out = render_table([r])
    row = next(ln for ln in out.splitlines() if ln.startswith("average wait (min)"))
    toks = row[len("average wait (min)"):].split()
    assert len(toks) == 5, row
    nums = [float(t.strip("[],").replace(",", "")) for t in toks]
    mc = r.monte_carlo["average_wait_minutes"]
    want = [r.deterministic["average_wait_minutes"], mc["mean"], mc["ci_low"], mc["ci_high"],
            mc["p90"]]
    assert nums == pytest.approx(want, abs=0.006)
    assert min(want) > 10_000  # wide enough that the old layout ran them together


def test_json_numbers_are_the_replications_statistics(results):
    """Each scenario's JSON block against values computed here from its per-replication samples
    (numpy mean: equal to 1e-12 relative, a different summation order; nearest-rank quantiles
    from a full sort: exact) and against the tutorial's published zero-noise numbers."""
    data = json.loads(render(results, "json"))
    assert [d["scenario"] for d in data] == ["2026-05-13 on 3 workers", "2026-05-14 on 2 workers"]
    assert data[0]["deterministic"]["average_wait_minutes"] == 29.0
    assert data[1]["deterministic"]["queue_drained_minute"] == 490
    for d, r in zip(data, results):
        for i, m in enumerate(engine.METRICS):
            x = np.sort(r.samples[i])
            got = d["monte_carlo"][m]
            assert got["mean"] == pytest.approx(float(np.mean(x)), rel=1e-12, abs=1e-12)
            for q in (50, 90, 99):
                assert got[f"p{q}"] == x[math.ceil(q / 100 * len(x)) - 1]
        overflowed = int(np.sum(r.samples[engine.METRICS.index("queue_drained_minute")] > 240))
        assert d["monte_carlo"]["overflow_probability"]["estimate"] == overflowed / 200


def test_csv_matches_rows(results):
    rows = list(csv.DictReader(io.StringIO(render_csv(results))))
    assert len(rows) == len(csv_rows(results)) == 18
    assert rows[17]["metric"] == "overflow_probability"
    assert rows[17]["deterministic"] == "1"  # 2026-05-14 on 2 workers overflows


def test_unknown_format(results):
    with pytest.raises(FormatError, match="unknown report format 'xml' for SimulateReport; "
                                          "choose one of table, json, csv"):
        render(results, "xml")
