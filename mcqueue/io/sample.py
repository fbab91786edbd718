"""The built-in sample: the tutorial's four nights (2026-05-11 .. 2026-05-14) and an ETL night
with dependencies and deadlines (2026-05-15, issue 12)."""

from __future__ import annotations

from importlib.resources import files

import polars as pl

from .schema import DEFAULT_BATCH_END, DEFAULT_BATCH_START, Night, night_from_frame, validate_jobs

SAMPLE_DATES = ("2026-05-11", "2026-05-12", "2026-05-13", "2026-05-14", "2026-05-15")
# the tutorial's nights (no dependency, deadline, slots or lock: today's event loop)
TUTORIAL_DATES = SAMPLE_DATES[:4]
# issue 12's ETL night: 20 jobs, extracts -> transforms -> loads -> refreshes -> index
# maintenance, four deadlines, one exclusive job, predecessors shared by several jobs
ETL_DATE = "2026-05-15"
# the tutorial's two default scenarios: a stable night and an overloaded one
TUTORIAL_SCENARIOS = (("2026-05-13", 3), ("2026-05-14", 2))


# issue 15: a snapshot of the night of 2026-05-13 at 03:30, for the re-forecast (--now): four
# jobs completed, the exclusive index maintenance running since 02:17 (2x its 35-minute
# estimate by 03:30), five queued; a separate file so the five nights above stay as they are
SNAPSHOT_DATE = "2026-05-13"
SNAPSHOT_NOW = "03:30"


def sample_path():
    return files("mcqueue") / "data" / "sample_jobs.csv"


def snapshot_path():
    return files("mcqueue") / "data" / "sample_snapshot.csv"


def snapshot_frame() -> pl.DataFrame:
    """The built-in snapshot's records (``mcqueue sample --snapshot``), not yet validated."""
    with snapshot_path().open("rb") as fh:
        return pl.read_csv(fh, infer_schema=False)


def sample_frame() -> pl.DataFrame:
    """The sample records as read from the packaged CSV (not yet validated)."""
    with sample_path().open("rb") as fh:
        return pl.read_csv(fh, infer_schema=False)


def load_sample(batch_date: str = "2026-05-13", window: str | None = None,
                batch_start: str = DEFAULT_BATCH_START,
                batch_end: str = DEFAULT_BATCH_END) -> Night:
    """One night of the built-in sample."""
    return night_from_frame(validate_jobs(sample_frame()), batch_date, window, batch_start,
                            batch_end)
