"""Reports made by the command line, opened in a real headless Chromium (tests/browser.py):
`mcqueue simulate --format html` on the built-in sample (two scenarios), a 2,000-job synthetic
night from a job file (with a job id `<script>alert(1)</script>`), `plan`, and `score` of 1,000
nights. Each page loads offline with no console error, no dialog and no request but the file,
and every chart has drawn (a screenshot of its box with more than one colour); the sizes stay
under issue 16's limits. Render time is measured in benchmarks/bench_report.py."""

from __future__ import annotations

import os

import pytest

import report_jobs
from browser import Browser, distinct_colours
from conftest import cli_run
from report_jobs import HOSTILE_CLASS, HOSTILE_ID

MB = 1_000_000
SIM = ("drain", "gantt-1", "gantt-2", "queue")
EXPECTED = {
    "simulate": [f"s{k}-chart-{c}" for k in (1, 2) for c in SIM],
    "night": [f"chart-{c}" for c in SIM],
    "plan": ["chart-plan"],
    "score": ["chart-score"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-reports")
    night = report_jobs.write_night(folder / "night.csv")
    nights = report_jobs.write_nights(folder / "nights.csv")
    runs = {
        "simulate": ["simulate", "--replications", "2000"],
        "night": ["simulate", "--file", night, *report_jobs.NIGHT_ARGS,
                  "--replications", "1000"],
        "plan": ["plan", "--batch-date", "2026-05-14", "--max-workers", "8",
                 "--replications", "1000"],
        "score": ["score", "--file", nights, "--replications", "200"],
    }
    paths = {}
    for name, args in runs.items():
        paths[name] = folder / f"{name}.html"
        res = cli_run(*args, "--format", "html", "--output", paths[name])
        assert res.stdout == ""
    return paths


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    try:
        yield b
    finally:
        b.close()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_report_loads_offline_and_every_chart_draws(browser, reports, name):
    load = browser.open(reports[name])
    assert load.console_errors == []
    assert load.requests == [load.url]  # the file itself, nothing else
    assert load.dialogs == []
    assert browser.evaluate("document.scripts.length") == 0
    ids = browser.evaluate("Array.from(document.querySelectorAll('svg.chart'), e => e.id)")
    assert ids == EXPECTED[name]
    for chart_id in ids:
        box = browser.element_box(chart_id)
        assert box["width"] >= 600 and box["height"] >= 200, (chart_id, box)
        assert distinct_colours(browser.screenshot(chart_id)) > 1, f"{chart_id} is blank"


def test_cli_report_sizes(reports):
    night = os.path.getsize(reports["night"])
    score = os.path.getsize(reports["score"])
    assert night < 3 * MB, night  # issue 16: a 2,000-job night under 3 MB
    assert score < 2 * MB, score  # issue 16: a 1,000-night score report under 2 MB
    rows = reports["score"].read_text(encoding="utf-8").count("<tr>") - 1  # minus the header
    assert rows == 1000  # every night is in the table


def test_hostile_job_id_from_a_job_file_is_text_and_runs_nothing(browser, reports):
    load = browser.open(reports["night"])
    assert load.dialogs == [] and load.console_errors == []
    assert browser.evaluate("document.scripts.length") == 0
    cells = browser.evaluate("Array.from(document.querySelectorAll('td'), t => t.textContent)")
    assert HOSTILE_ID in cells and HOSTILE_CLASS in cells  # the jobs that finished last
    texts = browser.evaluate(
        "Array.from(document.querySelectorAll('svg.chart text'), t => t.textContent)")
    assert HOSTILE_CLASS in texts  # the Gantt legend
    raw = reports["night"].read_text(encoding="utf-8")
    assert HOSTILE_ID not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
