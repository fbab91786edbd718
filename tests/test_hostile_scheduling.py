"""Hostile scheduling options (issue 13) on simulate, score and plan: --policy, --capacity,
--backfill-depth, and pools too small for a night's jobs. Each case: exactly one `Error:` line
naming the option and the value, exit 2 for an option problem, 1 when the data make the pool
unusable (a job's slots above the workers, a last capacity below the largest slots), no
traceback, nothing written (hostile.assert_one_error)."""

from __future__ import annotations

import pytest

from hostile import check

FAST = ("--replications", "20")
SLOTS = ("batch_date,job_id,requested_window,workload_class,estimated_runtime_minutes,priority,"
         "requires_exclusive_lock,slots\n"
         "2026-06-01,A,01:00,etl,30,1,false,3\n"
         "2026-06-01,B,01:00,etl,20,1,false,\n")
COMMANDS = {
    "simulate": ("simulate", "--batch-date", "2026-05-13", *FAST),
    "score": ("score", *FAST),
    "plan": ("plan", "--batch-date", "2026-05-13", "--max-workers", "3", *FAST),
}
SHAPE = ("must be HH:MM=N (N workers from that clock time), HH:MM=+N or HH:MM=-N (relative "
         "to --workers), got ")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("args,line", [
    (("--policy", "lifo"), "Error: Invalid value for '--policy': 'lifo' is not one of "
                           "'tutorial', 'priority', 'fifo', 'backfill'."),
    (("--policy", ""), "Error: Invalid value for '--policy': '' is not one of 'tutorial', "
                       "'priority', 'fifo', 'backfill'."),
    (("--capacity", "25:00=2"), f"Error: Invalid value for '--capacity': {SHAPE}'25:00=2'"),
    (("--capacity", "3:00=2"), f"Error: Invalid value for '--capacity': {SHAPE}'3:00=2'"),
    (("--capacity", "03:00"), f"Error: Invalid value for '--capacity': {SHAPE}'03:00'"),
    (("--capacity", "03:00="), f"Error: Invalid value for '--capacity': {SHAPE}'03:00='"),
    (("--capacity", "03:00=x"), f"Error: Invalid value for '--capacity': {SHAPE}'03:00=x'"),
    (("--capacity", "03:00=1.5"),
     f"Error: Invalid value for '--capacity': {SHAPE}'03:00=1.5'"),
    (("--capacity", "03:00=+-1"),
     f"Error: Invalid value for '--capacity': {SHAPE}'03:00=+-1'"),
    (("--capacity", "03:00=2\x1b[31m"),
     f"Error: Invalid value for '--capacity': {SHAPE}'03:00=2\\x1b[31m'"),
    (("--capacity", "03:00=2", "--capacity", "03:00=3"),
     "Error: --capacity 03:00=2 and 03:00=3 both take effect at 120 minutes after the batch "
     "start; give one size per time"),
    (("--capacity", "00:30=2", "--capacity", "01:00=3"),
     "Error: --capacity 00:30=2 and 01:00=3 both take effect at the batch start (01:00); give "
     "one size per time"),
    (("--capacity", "03:00=" + "9" * 30),
     f"Error: Invalid value for '--capacity': {SHAPE}'03:00={'9' * 30}'"),
    (("--backfill-depth", str(2**63)),
     f"Error: Invalid value for '--backfill-depth': {2**63} is not in the range "
     f"0<=x<=2147483647."),
    (("--backfill-depth", "-1"),
     "Error: Invalid value for '--backfill-depth': -1 is not in the range 0<=x<=2147483647."),
    (("--backfill-depth", "x"),
     "Error: Invalid value for '--backfill-depth': 'x' is not a valid integer range."),
])
def test_option_errors_exit_2(invoke, command, args, line):
    assert check(invoke(*COMMANDS[command], *args), (2,)) == line


@pytest.mark.parametrize("command", ["simulate", "score"])
@pytest.mark.parametrize("args,line", [
    (("--workers", "1", "--capacity", "03:00=-2"),
     "Error: --capacity 03:00=-2 on a pool of 1 workers gives -1; a pool cannot be below 0 "
     "workers"),
    (("--workers", "3", "--capacity", "03:00=0"),
     "Error: --capacity 03:00=0 leaves 0 workers from 03:00 on (pool of 3 workers): the night "
     "could never drain"),
    (("--workers", "3", "--capacity", "02:00=5", "--capacity", "03:00=-3"),
     "Error: --capacity 03:00=-3 leaves 0 workers from 03:00 on (pool of 3 workers): the night "
     "could never drain"),
])
def test_unusable_pools_exit_2(invoke, command, args, line):
    base = COMMANDS[command]
    if command == "score":
        args = tuple(a for a in args)  # score takes --workers N[,N] the same way
    assert check(invoke(*base, *args), (2,)) == line


def test_a_pool_below_a_jobs_slots_exits_1(invoke, tmp_path):
    path = tmp_path / "slots.csv"
    path.write_text(SLOTS)
    out = tmp_path / "out.json"
    line = check(invoke("simulate", "--file", path, "--workers", "2", *FAST, "--format", "json",
                        "--output", out), (1,))
    assert line == ("Error: night 2026-06-01 on 2 workers: job 'A' needs 3 workers (slots), "
                    "more than the pool of 2 workers")
    assert not out.exists()
    line = check(invoke("score", "--file", path, "--workers", "3,2", *FAST), (1,))
    assert "job 'A' needs 3 workers (slots), more than the pool of 2 workers" in line


def test_a_last_capacity_below_the_largest_slots_exits_1(invoke, tmp_path):
    path = tmp_path / "slots.csv"
    path.write_text(SLOTS)
    line = check(invoke("simulate", "--file", path, "--workers", "3", "--capacity", "02:00=2",
                        *FAST), (1,))
    assert line == ("Error: night 2026-06-01 on 3 workers: the last capacity step (minute 60: "
                    "2 workers) is below the largest slots (3): the night could never drain")


def test_plan_reports_unusable_counts_instead_of_failing(invoke, tmp_path):
    """plan sweeps 1..4 workers: a count below the job's slots, or one whose relative capacity
    drains to nothing, is an infeasible row; the others are simulated."""
    path = tmp_path / "slots.csv"
    path.write_text(SLOTS)
    res = invoke("plan", "--file", path, "--batch-date", "2026-06-01", "--max-workers", "4",
                 "--capacity", "02:00=-1", "--replications", "200")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    bad = [ln for ln in lines if ln.rstrip().endswith("infeasible")]
    assert [ln.split()[0] for ln in bad] == ["1", "2", "3"]
    assert ("  1 worker: --capacity 02:00=-1 leaves 0 workers from 02:00 on (pool of 1 "
            "workers): the night could never drain") in lines
    assert "  2 workers: job 'A' needs 3 workers (slots), more than the pool of 2 workers" in lines
    assert ("  3 workers: the last capacity step (minute 60: 2 workers) is below the largest "
            "slots (3): the night could never drain") in lines
    assert any(ln.startswith("Recommendation: 4 workers") for ln in lines), res.stdout


def test_plan_where_no_count_can_run_says_why(invoke, tmp_path):
    path = tmp_path / "slots.csv"
    path.write_text(SLOTS)
    res = invoke("plan", "--file", path, "--batch-date", "2026-06-01", "--max-workers", "2",
                 *FAST, "--format", "json")
    assert res.exit_code == 0, res.stderr
    import json

    doc = json.loads(res.stdout)
    assert doc["recommended_workers"] is None
    assert doc["reason"] == ("no worker count from 1 to 2 can run this night: job 'A' needs 3 "
                             "workers (slots), more than the pool of 2 workers")
    assert all(r["infeasible"] for r in doc["sweep"]) and doc["steps"] == []


def test_backfill_depth_without_backfill_is_noted_not_refused(invoke):
    res = invoke("simulate", "--batch-date", "2026-05-13", "--backfill-depth", "3", *FAST)
    assert res.exit_code == 0
    assert ("mcqueue: note: --backfill-depth 3 applies to --policy backfill only; no scenario "
            "uses it") in res.stderr
