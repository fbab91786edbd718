"""HTML reports in a real browser: how fast Chromium loads and renders the reports of issue 16's
limits, a 2,000-job night (`mcqueue simulate --format html`, 1,000 replications) and a
1,000-night score (`mcqueue score --format html`, 200 replications), both made by the console
script from job files (tests/report_jobs.py).

Timed: one navigation of the headless Chromium of tests/browser.py (offline, its own profile)
from `Page.navigate` until two animation frames have been painted after the load event, as
seen from Python. Also recorded: the page's own clock for the same span (``render_ms``,
performance.now() at the second frame after load) and the load event (``load_ms``); issue 16
asks for under 3 s. Needs Debian's chromium (scripts/ensure_chromium.sh).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, record

sys.path.append(str(ROOT / "tests"))  # the browser harness and the job files of the tests
from browser import Browser  # noqa: E402
import report_jobs  # noqa: E402

RENDER_LIMIT_MS = 3000.0  # issue 16 (reported beside the measurement, not asserted)


def _console_script():
    here = Path(sys.executable).parent / "mcqueue"
    return str(here) if here.exists() else shutil.which("mcqueue")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-reports")
    night = report_jobs.write_night(folder / "night.csv")
    nights = report_jobs.write_nights(folder / "nights.csv")
    out = {"night": folder / "night.html", "score": folder / "score.html"}
    for args, path in ((["simulate", "--file", str(night), *report_jobs.NIGHT_ARGS,
                         "--replications", "1000"], out["night"]),
                       (["score", "--file", str(nights), "--replications", "200"],
                        out["score"])):
        subprocess.run([_console_script(), *args, "--format", "html", "--output", str(path)],
                       check=True, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    try:
        yield b
    finally:
        b.close()


@pytest.mark.parametrize("name, what", [("night", "2,000-job night"),
                                        ("score", "1,000-night score")])
def test_report_page_load(benchmark, browser, reports, name, what):
    loads = []

    def load():
        page = browser.open(reports[name])
        loads.append(page)
        return page

    benchmark.group = f"HTML report in Chromium: {what}"
    page = benchmark.pedantic(load, rounds=7, warmup_rounds=1, iterations=1)
    assert page.console_errors == [] and page.requests == [page.url]
    timed = loads[1:]  # without the warm-up round
    render = statistics.median(p.render_ms for p in timed)
    row = record(benchmark, group=benchmark.group, implementation="chromium (headless)",
                 render_ms_median=render, render_ms_max=max(p.render_ms for p in timed),
                 load_ms_median=statistics.median(p.load_ms for p in timed),
                 size_bytes=os.path.getsize(reports[name]),
                 render_limit_ms=RENDER_LIMIT_MS)
    print(f"\n{what}: {row['size_bytes'] / 1e6:.2f} MB, rendered in {render:.0f} ms "
          f"(median of {len(timed)}, page clock; limit {RENDER_LIMIT_MS:.0f} ms), "
          f"navigation to painted {row['median_seconds'] * 1000:.0f} ms (Python clock)")
