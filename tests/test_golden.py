"""Golden outputs: today's reports, byte for byte.

The files in tests/golden/ were written by the command line before the package was reorganised
(issue 10) and hold the tutorial's nights and the default settings. Every later change must leave
them identical: a new key, column or label may appear only when its option or record field is
used. ``sample_four_nights.csv`` is a frozen copy of the four-night sample as it was then, so
nights added to the built-in sample later do not move the ``score`` goldens.

To look at a difference: ``python -m mcqueue <args> | diff - tests/golden/<file>``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
FROZEN = str(GOLDEN / "sample_four_nights.csv")
GRID = ["--batch-date", "2026-05-13", "--batch-date", "2026-05-14", "--workers", "2",
        "--workers", "3", "--workers", "4", "--class-cv", "backfill=0.6", "--class-cv",
        "etl=0.1"]
SCORE = ["score", "--file", FROZEN, "--workers", "2,3,4"]

CASES = {
    "simulate_default.txt": ["simulate"],
    "simulate_default.json": ["simulate", "--format", "json"],
    "simulate_default.csv": ["simulate", "--format", "csv"],
    "simulate_grid.json": ["simulate", *GRID, "--format", "json"],
    "simulate_grid.csv": ["simulate", *GRID, "--format", "csv"],
    "simulate_precision.json": ["simulate", "--batch-date", "2026-05-13",
                                "--target-halfwidth-overflow", "0.005", "--format", "json"],
    "simulate_zero_noise.json": ["simulate", "--batch-date", "2026-05-14", "--workers", "2",
                                 "--runtime-cv", "0", "--arrival-jitter", "0",
                                 "--replications", "10", "--format", "json"],
    "score_sample.json": [*SCORE, "--format", "json"],
    "score_sample.csv": [*SCORE, "--format", "csv"],
    "score_sample.txt": SCORE,
    **{f"plan_{d}.{ext}": ["plan", "--batch-date", d, "--max-workers", "6",
                           *([] if ext == "txt" else ["--format", ext])]
       for d in ("2026-05-13", "2026-05-14") for ext in ("json", "csv", "txt")},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_is_byte_identical_to_golden(name, invoke):
    res = invoke(*CASES[name])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == (GOLDEN / name).read_text(encoding="utf-8")


def test_frozen_sample_is_the_tutorials_four_nights():
    """The frozen copy holds the four tutorial nights, 39 jobs (never edited)."""
    lines = (GOLDEN / "sample_four_nights.csv").read_text().splitlines()
    assert len(lines) == 40
    assert {ln.split(",")[0] for ln in lines[1:]} == {"2026-05-11", "2026-05-12", "2026-05-13",
                                                       "2026-05-14"}
