"""HTML reports: the page builder's escaping and rules, and each report opened in a real headless
Chromium (tests/browser.py): no console error, no request beyond the file itself, no dialog,
every chart drawn (a screenshot of its box with more than one colour), hostile job ids shown as
text and the size limits of issue 16 (2,000-job night < 3 MB, 1,000-night score < 2 MB). The
render time (< 3 s in issue 16) is measured in benchmarks/bench_report.py."""

from __future__ import annotations

import base64
import os
import re

import pytest

from mcqueue.report import charts, html
from mcqueue.report.chart_data import ChartSet

import report_data
from browser import Browser, BrowserError, distinct_colours, live_processes
from report_data import HOSTILE_CLASS, HOSTILE_ID

MB = 1_000_000


# ---------------------------------------------------------------- builder
def _page(blocks=(), title="Night <b>2026-05-13</b> & co") -> html.Page:
    return html.Page(
        title=title, subtitle=f"job {HOSTILE_ID}",
        facts=[("worst job", HOSTILE_ID), ("jobs", 2000), ("overflow", 0.0123)],
        tables=[html.Table(["job_id", "class", "late probability"],
                           [[HOSTILE_ID, HOSTILE_CLASS, 0.25], ["J1", "etl", None],
                            ["J2", "etl", float("nan")]], caption="Jobs <i>late</i>")],
        charts=list(blocks), notes=[f"note about {HOSTILE_ID}"])


def test_page_escapes_every_text_and_has_no_script():
    page = html.build_page(_page())
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 4  # subtitle, fact, cell, note
    assert "<title>Night &lt;b&gt;2026-05-13&lt;/b&gt; &amp; co</title>" in page
    assert "<caption>Jobs &lt;i&gt;late&lt;/i&gt;</caption>" in page
    assert "etl&amp;&lt;b&gt;bold&lt;/b&gt;" in page
    assert '<td class="num">0.25</td>' in page and '<td class="num">n/a</td>' in page
    assert "<dd>2,000</dd>" in page


def test_page_fetches_nothing_and_says_so_in_its_policy():
    page = html.build_page(_page())
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", page, re.I)
    assert "@import" not in page and "url(" not in page.split("</style>")[0]


@pytest.mark.parametrize("markup, message", [
    ('<svg><script>alert(1)</script></svg>', "forbidden element"),
    ('<svg onload="alert(1)"></svg>', "forbidden element or attribute"),
    ('<svg><image href="http://example.com/x.png"/></svg>', "forbidden element"),
    ('<svg><use href="http://example.com/a.svg#x"/></svg>', "refers outside the page"),
    ('<svg><path style="fill: url(https://example.com/p)"/></svg>', "refers outside"),
    ('<div></div>', "one <svg> element"),
])
def test_chart_markup_that_could_run_or_fetch_is_refused(markup, message):
    with pytest.raises(ValueError, match=message):
        html.ChartBlock("chart-x", "x", markup)


def test_chart_ids_are_checked_and_unique():
    svg = '<svg viewBox="0 0 1 1"></svg>'
    with pytest.raises(ValueError, match="chart id must match"):
        html.ChartBlock('x" onload="alert(1)', "x", svg)
    page = html.Page(title="t", charts=[html.ChartBlock("chart-a", "a", svg)] * 2)
    with pytest.raises(ValueError, match="repeated: chart-a"):
        html.build_page(page)


def test_same_input_same_bytes_and_atomic_write(tmp_path):
    cs = ChartSet(drain=report_data.drain_times(300), queue=report_data.queue_length())
    a = html.build_page(_page(charts.chart_blocks(cs)))
    b = html.build_page(_page(charts.chart_blocks(cs)))
    assert a == b
    path = tmp_path / "r.html"
    html.write_page(path, _page(charts.chart_blocks(cs)))
    assert path.read_text(encoding="utf-8") == a
    assert os.listdir(tmp_path) == ["r.html"]


# ---------------------------------------------------------------- in a real browser
@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The reports of issue 16's limits, written once: a 2,000-job night (drain curve, the
    night as two Gantts of 2,000 jobs, queue, 2,000 jobs' risk), a plan and backtest page, and
    a 1,000-night score."""
    folder = tmp_path_factory.mktemp("reports")
    night = ChartSet(drain=report_data.drain_times(10_000),
                     gantts=(report_data.engine_gantt(2000, 8, rep=0),
                             report_data.engine_gantt(2000, 8, rep=17)),
                     queue=report_data.queue_length(), jobs=report_data.job_risk(2000))
    paths = {}
    for name, cs in (("night", night),
                     ("plan", ChartSet(plan=report_data.plan_chart(),
                                       backtest=report_data.backtest())),
                     ("score", ChartSet(score=report_data.score_nights(1000)))):
        paths[name] = folder / f"{name}.html"
        html.write_page(paths[name], _page(charts.chart_blocks(cs)))
    return paths


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    try:
        yield b
    finally:
        b.close()  # chromium ended and its profile folder removed, pass or fail


EXPECTED_CHARTS = {
    "night": ["chart-drain", "chart-gantt-1", "chart-gantt-2", "chart-queue", "chart-jobs"],
    "plan": ["chart-plan", "chart-backtest"],
    "score": ["chart-score"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_CHARTS))
def test_report_loads_offline_without_errors_and_every_chart_draws(browser, reports, name):
    load = browser.open(reports[name])
    assert load.console_errors == []
    assert load.outside_requests == []
    assert load.requests == [load.url]  # the file itself, nothing else
    assert load.dialogs == []
    ids = browser.evaluate("Array.from(document.querySelectorAll('svg.chart'), e => e.id)")
    assert ids == EXPECTED_CHARTS[name]
    for chart_id in ids:
        box = browser.element_box(chart_id)
        assert box["width"] >= 600 and box["height"] >= 200, (chart_id, box)
        assert distinct_colours(browser.screenshot(chart_id)) > 1, f"{chart_id} is blank"


def test_hostile_job_id_is_text_and_runs_nothing(browser, reports):
    load = browser.open(reports["night"])
    assert load.dialogs == [] and load.console_errors == []
    assert browser.evaluate("document.scripts.length") == 0
    texts = browser.evaluate(
        "Array.from(document.querySelectorAll('svg.chart text'), t => t.textContent)")
    assert any(t.startswith(HOSTILE_ID) for t in texts)  # the job-risk axis label
    assert any(t == HOSTILE_CLASS for t in texts)  # the Gantt legend
    cells = browser.evaluate("Array.from(document.querySelectorAll('td'), t => t.textContent)")
    assert HOSTILE_ID in cells
    assert browser.evaluate("document.title") == "Night <b>2026-05-13</b> & co"


def test_report_sizes(reports):
    night = os.path.getsize(reports["night"])
    score = os.path.getsize(reports["score"])
    assert night < 3 * MB, night  # issue 16: a 2,000-job night under 3 MB
    assert score < 2 * MB, score  # issue 16: a 1,000-night score report under 2 MB
    # (render time is a speed measurement: benchmarks/bench_report.py)


def test_report_prints_to_pdf(browser, reports):
    browser.open(reports["night"])
    pdf = base64.b64decode(browser.send("Page.printToPDF", {"printBackground": False})["data"])
    assert pdf[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 3 <= pages <= 12, pages  # five charts and a table: a few pages, not one or 100


# ---------------------------------------------------------------- the checks can fail
def test_the_browser_checks_catch_scripts_requests_errors_and_blank_charts(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>alert(1);"
                   "console.error('boom');</script><img src='http://example.com/x.png'>"
                   "<svg id='blank' width='200' height='100'>"
                   "<rect width='200' height='100' fill='white'/></svg></body></html>")
    load = browser.open(bad)
    assert load.dialogs == ["alert: 1"]
    assert "boom" in " ".join(load.console_errors)
    assert load.outside_requests == ["http://example.com/x.png"]
    assert distinct_colours(browser.screenshot("blank")) == 1


def test_browser_leaves_no_process_or_profile_behind():
    b = Browser()
    pid, profile = b._proc.pid, b._profile
    assert os.path.isdir(profile) and len(live_processes(pid)) >= 2  # browser and renderers
    b.close()
    assert not os.path.exists(profile)
    assert live_processes(pid) == []  # the whole process group it started has ended

    def profiles():
        return {p for p in os.listdir(os.path.dirname(profile))
                if p.startswith("mcqueue-chromium-")}

    before = profiles()  # (the module's browser may be open meanwhile)
    with pytest.raises(BrowserError, match="chromium exited with 1"):
        Browser(binary="/bin/false")  # a failed start cleans up too
    assert profiles() == before
