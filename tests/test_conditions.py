"""``--fail-if``: the grammar (hypothesis over expressions), every operator, unknown metrics,
missing values, and the exit code 3 with the report still written (stdout and --output) on
simulate, score and whatif."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import cli_run
from mcqueue.analysis.conditions import (MAX_LENGTH, Condition, evaluate, parse_condition,
                                         vocabulary)
from mcqueue.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "whatif.toml"
COMMANDS = ("simulate", "score", "whatif")


# ---------------------------------------------------------------- grammar
@pytest.mark.parametrize("text,path,op,value", [
    ("overflow_probability>0.05", ("overflow_probability", "estimate"), ">", 0.05),
    ("  overflow_probability  >=  5e-2 ", ("overflow_probability", "estimate"), ">=", 0.05),
    ("p95_wait_minutes.mean<60", ("p95_wait_minutes", "mean"), "<", 60.0),
    ("p95_wait_minutes<=+60.", ("p95_wait_minutes", "mean"), "<=", 60.0),
    ("queue_drained_minute.p90==240", ("queue_drained_minute", "p90"), "==", 240.0),
    ("overflow_jobs!=-.5", ("overflow_jobs", "mean"), "!=", -0.5),
    ("any_late_probability.ci_low>0.01", ("any_late_probability", "ci_low"), ">", 0.01),
    ("monte_carlo.overflow_probability.ci_high>1E-3", ("overflow_probability", "ci_high"), ">",
     0.001),
    ("deterministic.overflow_jobs>0", ("deterministic", "overflow_jobs"), ">", 0.0),
    ("queueing.rho>1", ("queueing", "rho"), ">", 1.0),
])
def test_simulate_expressions(text, path, op, value):
    c = parse_condition(text, "simulate")
    assert (c.path, c.op, c.value) == (path, op, value)


@pytest.mark.parametrize("command,text,path", [
    ("score", "overflow_probability>0.05", ("overflow_probability", "estimate")),
    ("score", "overflow_ci_high>0.05", ("overflow_ci_high",)),
    ("score", "p95_wait_minutes.ci_high>=60", ("p95_wait_minutes", "ci_high")),
    ("score", "p95_wait_mean>=60", ("p95_wait_mean",)),
    ("score", "any_late_probability.ci_low>0.01", ("any_late_probability", "ci_low")),
    ("score", "queue_drained_minute>200", ("queue_drained_minute", "p90")),
    ("whatif", "overflow_probability.difference>0", ("overflow_probability", "difference",
                                                     "estimate")),
    ("whatif", "overflow_probability.difference.ci_low>0", ("overflow_probability",
                                                            "difference", "ci_low")),
    ("whatif", "queue_drained_minute.difference.ci_high>30", ("queue_drained_minute",
                                                              "difference", "ci_high")),
    ("whatif", "p95_wait_minutes>=60", ("p95_wait_minutes", "mean")),
    ("whatif", "jobs>10", ("jobs",)),
])
def test_score_and_whatif_expressions(command, text, path):
    assert parse_condition(text, command).path == path


@pytest.mark.parametrize("text,words", [
    ("", "must be METRIC OP NUMBER"),
    ("overflow_probability", "must be METRIC OP NUMBER"),
    ("overflow_probability >", "must be METRIC OP NUMBER"),
    (">0.1", "must be METRIC OP NUMBER"),
    ("overflow_probability=0.1", "must be METRIC OP NUMBER"),
    ("overflow_probability=>0.1", "must be METRIC OP NUMBER"),
    ("overflow_probability>>0.1", "must be METRIC OP NUMBER"),
    ("overflow_probability>0.1 and jobs>1", "must be METRIC OP NUMBER"),
    ("overflow_probability>0x10", "must be METRIC OP NUMBER"),
    ("overflow_probability>5%", "must be METRIC OP NUMBER"),
    ("overflow_probability>nan", "must be METRIC OP NUMBER"),
    ("overflow_probability>inf", "must be METRIC OP NUMBER"),
    ("overflow_probability.>1", "must be METRIC OP NUMBER"),
    ("overflow_probability..estimate>1", "must be METRIC OP NUMBER"),
    ("__import__('os')>1", "must be METRIC OP NUMBER"),
    ("overflow_probability>1e999", "the number '1e999' is not finite"),
    ("overflow_probability>" + "9" * 400, "is not finite"),
    ("x" * (MAX_LENGTH + 1) + ">1", "too long"),
    ("overflow_risk.estimate>0", "unknown metric 'overflow_risk.estimate' for simulate"),
    ("Overflow_Probability>0", "unknown metric 'Overflow_Probability'"),
    ("overflow_probability.mean>0", "unknown metric"),
    ("p95_wait_minutes.estimate>0", "unknown metric"),
    ("overflow_probability.estimate.x>0", "unknown metric"),
    ("deterministic>0", "unknown metric 'deterministic'"),
])
def test_malformed_expressions_and_unknown_metrics(text, words):
    with pytest.raises(UsageError, match="--fail-if") as e:
        parse_condition(text, "simulate")
    assert words in str(e.value)


@pytest.mark.parametrize("command,text", [
    ("score", "p95_wait_minutes.p90>1"),  # score rows have no p90 of the p95 wait
    ("score", "deterministic.overflow_jobs>0"),
    ("whatif", "overflow_probability.difference.mean>0"),
    ("whatif", "average_wait_minutes>1"),
    ("simulate", "overflow_probability.difference>0"),
])
def test_metrics_belong_to_their_command(command, text):
    with pytest.raises(UsageError, match=f"unknown metric .* for {command}"):
        parse_condition(text, command)


# ---------------------------------------------------------------- operators and values
TRUTH = {  # x vs 1.0: (x < 1, x == 1, x > 1) -> which operators hold, written out by hand
    0.5: {"<": True, "<=": True, "==": False, "!=": True, ">=": False, ">": False},
    1.0: {"<": False, "<=": True, "==": True, "!=": False, ">=": True, ">": False},
    1.5: {"<": False, "<=": False, "==": False, "!=": True, ">=": True, ">": True},
}


@pytest.mark.parametrize("op", ["<", "<=", "==", "!=", ">=", ">"])
def test_every_operator(op):
    c = parse_condition(f"jobs{op}1", "whatif")
    for x, expect in TRUTH.items():
        assert c.holds(x) is expect[op], (op, x)
    for x, like in ((0, 0.5), (1, 1.0), (2, 1.5)):  # integers (counts) compare the same way
        assert c.holds(x) is TRUTH[like][op], (op, x)


@pytest.mark.parametrize("value", [None, math.nan, "0.5", True, [1], {"estimate": 1}])
def test_a_missing_value_never_holds(value):
    for op in ("<", "<=", "==", "!=", ">=", ">"):
        c = parse_condition(f"jobs{op}0", "whatif")
        assert c.holds(value) is None
    c = parse_condition("overflow_probability!=0", "whatif")
    rows = [("a", {"overflow_probability": {"estimate": value}}), ("b", {}),
            ("c", {"overflow_probability": {"estimate": 0.5}})]
    v = evaluate([c], rows)
    assert [(cc.text, label, x) for cc, label, x in v.held] == [("overflow_probability!=0",
                                                                 "c", 0.5)]
    assert [(cc.text, labels) for cc, labels in v.missing] == [("overflow_probability!=0",
                                                                ["a", "b"])]


def _leaves(command):
    voc = vocabulary(command)
    return sorted(".".join(p) for p in voc.leaves)


_OPS = st.sampled_from(["<", "<=", "==", "!=", ">=", ">"])
_BLANK = st.sampled_from(["", " ", "  ", "\t"])
_NUM = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


def _format(x: float, style: int) -> str:
    return (repr(x), f"{x:.6e}", f"{x:+.3f}", f"{x:g}")[style]


@given(st.sampled_from(COMMANDS), st.data(), _OPS, _NUM, st.integers(0, 3), _BLANK, _BLANK,
       _BLANK, _NUM)
def test_expressions_round_trip_and_evaluate(command, data, op, x, style, b1, b2, b3, y):
    """Any metric of the command, any operator, any finite number written in several styles,
    blanks around: the parse gives that leaf, that operator and float(text); the condition on
    a value y holds exactly as the sign of y - number says."""
    path = data.draw(st.sampled_from(_leaves(command)))
    number = _format(x, style)
    c = parse_condition(f"{b1}{path}{b2}{op}{b3}{number}{b1}", command)
    assert (".".join(c.path), c.op, c.value) == (path, op, float(number))
    sign = (y > c.value) - (y < c.value)
    expect = {"<": sign < 0, "<=": sign <= 0, "==": sign == 0, "!=": sign != 0,
              ">=": sign >= 0, ">": sign > 0}[op]
    assert c.holds(y) is expect


@given(st.sampled_from(COMMANDS), st.text(max_size=80))
def test_any_text_is_a_condition_or_one_usage_error(command, text):
    try:
        c = parse_condition(text, command)
    except UsageError as exc:
        assert str(exc).startswith("--fail-if ")
    else:
        assert isinstance(c, Condition) and math.isfinite(c.value)


# ---------------------------------------------------------------- the command line
def _run(*args):
    return cli_run(*args, ok=False)


def test_simulate_exit_3_with_the_report_on_stdout():
    res = _run("simulate", "--replications", "500", "--format", "json", "--fail-if",
               "overflow_probability>0.5", "--fail-if", "p95_wait_minutes.mean>=1000")
    assert res.exit_code == 3, res.stderr
    doc = json.loads(res.stdout)  # the whole report was written
    assert [d["scenario"] for d in doc] == ["2026-05-13 on 3 workers", "2026-05-14 on 2 workers"]
    assert doc[1]["monte_carlo"]["overflow_probability"]["estimate"] > 0.5
    assert doc[0]["monte_carlo"]["overflow_probability"]["estimate"] <= 0.5
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mcqueue: fail-if:")]
    est = doc[1]["monte_carlo"]["overflow_probability"]["estimate"]
    assert lines == [f"mcqueue: fail-if: overflow_probability>0.5 holds for 2026-05-14 on 2 "
                     f"workers (overflow_probability.estimate = {est:.6g})"]


def test_simulate_exit_3_with_the_report_in_the_output_file(tmp_path):
    out = tmp_path / "r.csv"
    res = _run("simulate", "--batch-date", "2026-05-14", "--workers", "2", "--replications",
               "200", "--format", "csv", "--output", out, "--fail-if",
               "overflow_jobs.mean>0")
    assert res.exit_code == 3 and res.stdout == ""
    assert out.read_text().startswith("scenario,metric,")
    assert "overflow_jobs.mean>0 holds for 2026-05-14 on 2 workers" in res.stderr


def test_a_condition_that_does_not_hold_exits_0():
    res = _run("simulate", "--batch-date", "2026-05-13", "--replications", "200",
               "--fail-if", "overflow_probability.ci_low>0.9", "--fail-if", "jobs<1")
    assert res.exit_code == 0, res.stderr
    assert "fail-if" not in res.stderr


def test_missing_values_warn_and_do_not_hold():
    # one replication: no interval (null); no deadline: no any-late probability
    res = _run("simulate", "--batch-date", "2026-05-13", "--replications", "1", "--fail-if",
               "p95_wait_minutes.ci_low>=0", "--fail-if", "any_late_probability>=0")
    assert res.exit_code == 0, res.stderr
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("mcqueue: warning:")]
    assert warn == [
        "mcqueue: warning: --fail-if p95_wait_minutes.ci_low>=0: no value for 2026-05-13 on 3 "
        "workers (a missing value never holds)",
        "mcqueue: warning: --fail-if any_late_probability>=0: no value for 2026-05-13 on 3 "
        "workers (a missing value never holds)"]


def test_score_exit_3_names_each_row():
    res = _run("score", "--workers", "2,3", "--replications", "300", "--format", "json",
               "--fail-if", "overflow_probability.ci_low>0.5")
    assert res.exit_code == 3
    rows = json.loads(res.stdout)
    expect = [f"{r['batch_date']} on {r['workers']} workers" for r in rows
              if r["overflow_ci_low"] > 0.5]
    held = [ln.split(" holds for ")[1].split(" (")[0] for ln in res.stderr.splitlines()
            if ln.startswith("mcqueue: fail-if:")]
    assert held == expect and expect


def test_whatif_exit_3_on_a_scenario_difference(tmp_path):
    out = tmp_path / "w.json"
    res = _run("whatif", "--batch-date", "2026-05-13", "--scenarios", EXAMPLE,
               "--replications", "2000", "--format", "json", "--output", out,
               "--fail-if", "overflow_probability.difference.ci_low>0")
    assert res.exit_code == 3
    doc = json.loads(out.read_text())
    expect = [f"scenario '{s['scenario']}'" for s in doc["scenarios"]
              if s["overflow_probability"]["difference"]["ci_low"] > 0]
    held = [ln.split(" holds for ")[1].rsplit(" (", 1)[0] for ln in res.stderr.splitlines()
            if ln.startswith("mcqueue: fail-if:")]
    assert held == expect and expect
    # on the baseline a difference is exactly 0: the condition never holds there
    assert "the baseline" not in res.stderr


def test_whatif_baseline_rows_are_checked(tmp_path):
    res = _run("whatif", "--batch-date", "2026-05-14", "--workers", "2", "--scenarios",
               EXAMPLE.parent / "whatif.toml", "--replications", "100", "--fail-if",
               "overflow_probability>0.5")
    # 2026-05-14 has other job ids: the example's job changes do not apply to it
    assert res.exit_code == 1 and "is not in night 2026-05-14" in res.stderr
    f = tmp_path / "s.toml"
    f.write_text('[[scenario]]\nname = "more"\nchanges = [{ workers = 6 }]\n')
    res = _run("whatif", "--batch-date", "2026-05-14", "--workers", "2", "--scenarios", f,
               "--replications", "200", "--fail-if", "overflow_probability>0.5")
    assert res.exit_code == 3
    assert "overflow_probability>0.5 holds for the baseline" in res.stderr


@pytest.mark.parametrize("command", [("simulate",), ("score",),
                                     ("whatif", "--scenarios", str(EXAMPLE))])
def test_a_bad_condition_is_a_usage_error_before_anything_runs(command, monkeypatch):
    import mcqueue.analysis.runs as runs
    import mcqueue.analysis.whatif as wi

    def boom(*a, **k):
        raise AssertionError("ran")

    for mod, name in ((runs, "run_simulate"), (runs, "run_score"), (wi, "run_whatif")):
        monkeypatch.setattr(mod, name, boom)
    for expr, words in (("overflow_probability>>1", "must be METRIC OP NUMBER"),
                        ("no_such_metric>1", "unknown metric 'no_such_metric'")):
        res = _run(*command, "--fail-if", expr)
        assert res.exit_code == 2, res.stderr
        (line,) = [ln for ln in res.stderr.splitlines() if ln.startswith("Error:")]
        assert "'--fail-if'" in line and words in line and res.stdout == ""


def test_the_readme_ci_example_is_the_real_output(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ mcqueue score --from 2026-05-11", 1)[1].split("$ echo $?\n", 1)
    quoted = [ln for ln in block[0].splitlines() if ln.startswith("mcqueue: fail-if:")]
    code = int(block[1].splitlines()[0])
    res = _run("score", "--from", "2026-05-11", "--to", "2026-05-14", "--workers", "2,3",
               "--format", "csv", "--output", tmp_path / "risk.csv", "--fail-if",
               "overflow_probability.ci_low>0.05")
    assert res.exit_code == code == 3
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("mcqueue: fail-if:")] == quoted
    assert (tmp_path / "risk.csv").read_text().startswith("batch_date,")
