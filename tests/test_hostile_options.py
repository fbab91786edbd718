"""Hostile command-line options (issue 11): integers past 2**63, NaN and infinities, blank or
invalid table and stack names, bad --timeout values, values that try to forge error lines.
All are usage errors (exit 2) naming the option, before any file is read or service called."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hostile import check

BIG = str(2**63)
HUGE = "9" * 30
SIM = ("simulate", "--batch-date", "2026-05-13", "--replications", "20")
ENDPOINT = ("--endpoint-url", "http://127.0.0.1:9")


@pytest.mark.parametrize("args,option", [
    (("simulate", "--workers", BIG), "--workers"),
    (("simulate", "--workers", HUGE), "--workers"),
    (("simulate", "--replications", BIG), "--replications"),
    (("simulate", "--seed", str(2**64)), "--seed"),
    (("simulate", "--max-replications", BIG, "--target-halfwidth-p95", "1"),
     "--max-replications"),
    (("simulate", "--max-attempts", BIG), "--max-attempts"),
    (("score", "--workers", BIG), "--workers"),
    (("score", "--workers", f"2,{HUGE}"), "--workers"),
    (("score", "--nights-per-task", BIG), "--nights-per-task"),
    (("plan", "--batch-date", "2026-05-13", "--min-workers", BIG), "--min-workers"),
    (("plan", "--batch-date", "2026-05-13", "--max-workers", BIG), "--max-workers"),
    (("plan", "--batch-date", "2026-05-13", "--min-workers", "1", "--max-workers", HUGE),
     "--max-workers"),
    (("bench", "--threads", BIG), "--threads"),
    (("seed", "--max-attempts", HUGE), "--max-attempts"),
    (("simulate", "--workers", "1" * 5000), "--workers"),
])
def test_integers_past_2_63_are_usage_errors(invoke, args, option):
    check(invoke(*args), (2,), option)


@pytest.mark.parametrize("args,option", [
    (("bench", "--seconds", "nan"), "--seconds"),
    (("bench", "--seconds", "inf"), "--seconds"),
    (("simulate", "--target-halfwidth-p95", "nan"), "--target-halfwidth-p95"),
    (("simulate", "--target-halfwidth-p95", "inf"), "--target-halfwidth-p95"),
    (("simulate", "--target-halfwidth-overflow", "nan"), "--target-halfwidth-overflow"),
    (("simulate", "--runtime-cv", "nan"), "--runtime-cv"),
    (("simulate", "--arrival-jitter", "-inf"), "--arrival-jitter"),
    (("simulate", "--confidence", "nan"), "--confidence"),
    (("plan", "--batch-date", "2026-05-13", "--max-overflow", "nan"), "--max-overflow"),
    (("plan", "--batch-date", "2026-05-13", "--max-p95-wait", "inf"), "--max-p95-wait"),
    (("simulate", "--timeout", "nan"), "--timeout"),
    (("simulate", "--timeout", "inf"), "--timeout"),
    (("simulate", "--timeout", "0"), "--timeout"),
    (("simulate", "--timeout", "-1"), "--timeout"),
    (("score", "--timeout", "1e9"), "--timeout"),
    (("cleanup", "--yes", "--timeout", "nan"), "--timeout"),
])
def test_nan_infinite_and_bad_numbers_name_the_option(invoke, args, option):
    check(invoke(*args), (2,), option)


@pytest.mark.parametrize("name", ["", " ", "\t", "a b", "tbl\n", "x" * 256, "t/../u",
                                  "\x1b[31m"])
@pytest.mark.parametrize("command", [("cleanup", "--yes"), ("seed",),
                                     ("simulate", "--source", "dynamodb", "--batch-date",
                                      "2026-05-13")])
def test_blank_or_invalid_table_names_are_usage_errors(invoke, command, name):
    check(invoke(*command, "--table", name, *ENDPOINT), (2,), "--table")


@pytest.mark.parametrize("name", ["", " ", "1stack", "a_b", "s" * 129, "x\ny"])
def test_blank_or_invalid_stack_names_are_usage_errors(invoke, name):
    check(invoke("cleanup", "--yes", "--stack-name", name, *ENDPOINT), (2,), "--stack-name")


@pytest.mark.parametrize("args", [
    ("simulate", "--workers", "3\nError: forged"),
    ("simulate", "--window", "\x1b[2J02:00"),
    ("simulate", "--batch-date", "2026-05-13\r\nError: forged"),
    ("score", "--from", "x" * 10_000),
    ("simulate", "--file", "missing\nError: forged.csv"),
    ("simulate", "--no-such-option\nError: forged"),
    ("simulate", "--file", "jobs.exe"),
])
def test_option_values_cannot_forge_error_lines(invoke, args):
    check(invoke(*args), (2,))


def test_notes_about_odd_class_names_stay_one_line(invoke):
    res = invoke(*SIM, "--class-cv", "a\nError: forged=1", "--class-cv", "\x1b[31m=0.5")
    assert res.exit_code == 0, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("mcqueue: note: ") for line in lines)
    assert "\x1b" not in res.stderr


@settings(derandomize=True, deadline=None, max_examples=60, database=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(["--workers", "--replications", "--seed", "--runtime-cv",
                               "--arrival-jitter", "--confidence", "--timeout",
                               "--max-input-bytes", "--batch-date", "--window", "--table"]),
       value=st.text(max_size=30) | st.sampled_from([BIG, HUGE, "nan", "-inf", "1e999", "",
                                                      "0", "-0"]))
def test_random_option_values(invoke, option, value):
    """Any value of any option: a report (exit 0), or the one-error contract with exit 1/2."""
    res = invoke("simulate", "--replications", "5", option, value)
    if res.exit_code != 0:
        check(res)


@pytest.mark.parametrize("cap", [str(10**12), str(2**62)])
def test_a_precision_target_whose_cap_cannot_fit_is_refused_up_front(invoke, cap):
    """64 bytes of metrics per kept replication: 10**12 replications need ~58,000 GiB."""
    import time

    t0 = time.monotonic()
    check(invoke("simulate", "--batch-date", "2026-05-13", "--target-halfwidth-p95", "0.0001",
                 "--max-replications", cap), (1,), "--max-replications")
    assert time.monotonic() - t0 < 10


# ------------------------------------------------------------------ the error-line helpers
@pytest.mark.parametrize("value,expected", [
    ("plain", "'plain'"),
    ("a\nb", "'a\\nb'"),
    ("\x1b[31m", "'\\x1b[31m'"),
    (None, "null"),
    (3, "3"),
    ("http://u:pw@h:1/x", "'http://u:***@h:1/x'"),
    ("y" * 250, "'" + "y" * 200 + "'... (250 characters)"),
])
def test_quote(value, expected):
    from mcqueue.errors import quote

    assert quote(value) == expected


@pytest.mark.parametrize("message,expected", [
    ("one\ntwo", "one\\ntwo"),
    ("bell\x07 and \x9b CSI", "bell\\x07 and \\x9b CSI"),
    ("sep\u2028x", "sep\\u2028x"),
    ("see https://me:s3cret@example.com/p", "see https://me:***@example.com/p"),
    ("z" * 1500, "z" * 980 + "... (1,500 characters)"),
])
def test_one_line(message, expected):
    from mcqueue.errors import one_line

    assert one_line(message) == expected
