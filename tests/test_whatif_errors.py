"""Every way a scenarios file or a whatif request can be wrong: one ``Error:`` line naming the
scenario, the change and the key or field (and the value), exit 1 for the file's content, 2 for
an option; never a traceback, and nothing simulated (stdout empty). Hostile files too:
malformed TOML, deep nesting, huge numbers, non-UTF-8 bytes, control characters, a FIFO, a
device, a directory, a file past the size limit (hostile.assert_one_error is the contract)."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hostile import check
from mcqueue.analysis.whatif_file import MAX_FILE_BYTES, MAX_SCENARIOS, parse_scenarios
from mcqueue.errors import DataError

J = "JOB-20260513-"
RUN = ("whatif", "--batch-date", "2026-05-13", "--replications", "50")


def scen(changes: str, name: str = "s") -> str:
    return f'[[scenario]]\nname = "{name}"\nchanges = [{changes}]\n'


ADD = ('{{ add = {{ job_id = "{id}", requested_window = "02:30", workload_class = "etl", '
       'estimated_runtime_minutes = 30, priority = {prio}, requires_exclusive_lock = false'
       '{more} }} }}')


def add(id="X", prio="2", more=""):
    return ADD.format(id=id, prio=prio, more=more)


# (file text, the words the one error line must hold); every case is exit 1
CASES = {
    "malformed TOML": ('[[scenario]\nname = "a"\n', "not valid TOML"),
    "deep nesting": ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "empty file": ("", "no scenario"),
    "empty array": ("scenario = []\n", "no scenario (the [[scenario]] array is empty)"),
    "scenario not tables": ("scenario = 3\n", "'scenario' must be an array of tables"),
    "unknown top-level key": ('foo = 1\n' + scen(""), "unknown key 'foo' at the top level"),
    "unknown scenario key": ('[[scenario]]\nname = "a"\nchange = []\n',
                             "scenario #1: unknown key 'change'"),
    "missing name": ("[[scenario]]\nchanges = []\n", "scenario #1: missing key 'name'"),
    "name not a string": ("[[scenario]]\nname = 3\n", "key 'name' must be a string, got 3"),
    "name with a control character": ('[[scenario]]\nname = "a\\u001b[31m"\n',
                                      "key 'name' must be 1 to 200 printable characters"),
    "name baseline": ('[[scenario]]\nname = "baseline"\n', "the name 'baseline'"),
    "duplicate names": (scen("") + scen(""), "scenario 's' (#2): name repeats scenario #1"),
    "changes not an array": ('[[scenario]]\nname = "a"\nchanges = "x"\n',
                             "key 'changes' must be an array of tables, got a string"),
    "no action key": (scen('{ job = "x" }'), "change 1: no action key"),
    "two action keys": (scen("{ runtime = 1.5, delay = 3 }"),
                        "keys 'runtime' and 'delay' are two changes"),
    "unknown change key": (scen('{ runtime = 1.5, klass = "etl" }'),
                           "change 1 (runtime): unknown key 'klass' (a runtime change takes: "
                           "runtime, class, job)"),
    "multiplier zero": (scen("{ runtime = 0 }"), "key 'runtime' must be a finite number > 0, "
                                                 "got 0"),
    "multiplier negative": (scen("{ runtime = -1.5 }"), "must be a finite number > 0, got -1.5"),
    "multiplier string": (scen('{ runtime = "1.5" }'), "must be a finite number > 0, got '1.5'"),
    "multiplier boolean": (scen("{ runtime = true }"), "must be a finite number > 0, got True"),
    "multiplier inf": (scen("{ runtime = inf }"), "must be a finite number > 0, got inf"),
    "multiplier nan": (scen("{ runtime = nan }"), "must be a finite number > 0, got nan"),
    "multiplier 1e400": (scen("{ runtime = 1e400 }"), "must be a finite number > 0, got inf"),
    "runtime past the engine": (scen("{ runtime = 1e300 }"),
                                "scenario 's' (#1), change 1 (runtime): job "
                                "'JOB-20260513-001': runtime 25 x 1e+300"),
    "huge workers": (scen("{ workers = 100000000000000000000000000000 }"),
                     "key 'workers' must be an integer >= 1, got "
                     "100000000000000000000000000000"),
    "workers zero": (scen("{ workers = 0 }"), "key 'workers' must be an integer >= 1, got 0"),
    "unknown job": (scen(f'{{ skip = "{J}077" }}'),
                    f"change 1 (skip): job '{J}077' is not in night 2026-05-13 (did you mean "
                    f"'{J}007'?)"),
    "unknown job in runtime": (scen('{ runtime = 2, job = "nope" }'),
                               "change 1 (runtime): job 'nope' is not in night 2026-05-13"),
    "unknown class": (scen('{ runtime = 2, class = "etll" }'),
                      "change 1 (runtime): no job of class 'etll' in night 2026-05-13 "
                      "(classes: backfill, etl, index_maintenance, refresh)"),
    "unknown window": (scen('{ delay = 5, window = "04:00" }'),
                       "no job in requested window 04:00 in night 2026-05-13 (windows: 01:00, "
                       "02:00, 03:00)"),
    "window not HH:MM": (scen('{ delay = 5, window = "4:00" }'),
                         "key 'window' must be HH:MM"),
    "delay without a target": (scen("{ delay = 5 }"), "give exactly one of 'window'"),
    "delay before the start": (scen(f'{{ delay = -100, job = "{J}001" }}'),
                               "arrival 0 + -100 = -100 minutes after the batch start is "
                               "outside 0 to"),
    "delay not a number": (scen(f'{{ delay = "30", job = "{J}001" }}'),
                           "key 'delay' must be a number of minutes"),
    "priority fractional": (scen(f'{{ priority = 3.5, job = "{J}001" }}'),
                            "key 'priority' must be an integer"),
    "priority without job": (scen("{ priority = 3 }"), "missing key 'job'"),
    "slots zero": (scen(f'{{ slots = 0, job = "{J}001" }}'), "key 'slots' must be an integer"),
    "slots above the pool": (scen(f'{{ slots = 4, job = "{J}001" }}'),
                             f"scenario 's' (#1): job '{J}001' needs 4 workers (slots), more "
                             f"than the pool of 3 workers"),
    "deadline malformed": (scen(f'{{ deadline = "25:00", job = "{J}001" }}'),
                           "key 'deadline' must be HH:MM"),
    "dependency cycle": (scen(f'{{ depends_on = ["{J}002"], job = "{J}001" }}, '
                              f'{{ depends_on = ["{J}001"], job = "{J}002" }}'),
                         "change 2 (depends_on): job JOB-20260513-001: field 'depends_on' "
                         "names 'JOB-20260513-002', which closes a cycle: 'JOB-20260513-001' "
                         "-> 'JOB-20260513-002' -> 'JOB-20260513-001'"),
    "depends on itself": (scen(f'{{ depends_on = ["{J}001"], job = "{J}001" }}'),
                          "names the job itself"),
    "depends on an unknown job": (scen(f'{{ depends_on = ["nope"], job = "{J}001" }}'),
                                  "change 1 (depends_on): job 'nope' is not in night"),
    "depends_on not ids": (scen(f'{{ depends_on = [1, 2], job = "{J}001" }}'),
                           "key 'depends_on' must hold job_ids"),
    "add an existing job": (scen(add(id=f"{J}001")),
                            f"change 1 (add): job '{J}001' is already in night 2026-05-13"),
    "add a bad field": (scen(add(prio="3.5")),
                        "change 1 (add): job X: field 'priority' must be an integer, got "
                        "'3.5'"),
    "add a missing field": (scen('{ add = { job_id = "X", requested_window = "02:30" } }'),
                            "change 1 (add): missing field 'workload_class' in every record"),
    "add an unknown field": (scen(add(more=", prio = 3")),
                             "change 1 (add): key 'add': unknown field 'prio'"),
    "add another night": (scen(add(more=', batch_date = "2026-05-14"')),
                          "field 'batch_date' is '2026-05-14', not the night's 2026-05-13"),
    "add a completed job": (scen(add(more=', status = "completed"')),
                            "change 1 (add): field 'status' is 'completed'; an added job is "
                            "queued"),
    "add a job with a forged status": (scen(add(more=', status = "paused\\u001b[31m"')),
                                       "field 'status' is 'paused\\x1b[31m'; an added job"),
    "add bad slots": (scen(add(more=", slots = 0")),
                      "change 1 (add): job X: field 'slots' must be an integer >= 1, got 0"),
    "add a cycle": (scen(add(more=f', depends_on = ["{J}001"]') + ", "
                         f'{{ depends_on = ["X"], job = "{J}001" }}'),
                    "change 2 (depends_on): job JOB-20260513-001: field 'depends_on' names "
                    "'X', which closes a cycle"),
    "add a time for a window": (scen('{ add = { job_id = "X", requested_window = 02:30:00, '
                                     'workload_class = "etl", estimated_runtime_minutes = 30, '
                                     'priority = 2, requires_exclusive_lock = false } }'),
                                "field 'requested_window' has type time"),
    "capacity syntax": (scen('{ capacity = ["03:00-1"] }'),
                        "key 'capacity' must be steps HH:MM=N"),
    "capacity below 0": (scen('{ capacity = ["03:00=-5"] }'),
                         "change 1 (capacity): step 03:00=-5 on 3 workers is -2 workers"),
    "capacity never drains": (scen('{ capacity = ["03:00=-3"] }'), "could never drain"),
    "capacity twice at the start": (scen('{ capacity = ["00:30=2", "01:00=4"] }'),
                                    "steps 00:30=2 and 01:00=4 both take effect at the batch "
                                    "start"),
    "cutoff malformed": (scen('{ cutoff = "5:00" }'), "key 'cutoff' must be HH:MM"),
    "policy unknown": (scen('{ policy = "lifo" }'),
                       "key 'policy' must be one of tutorial, priority, fifo, backfill, got "
                       "'lifo'"),
    "depth without backfill": (scen('{ policy = "fifo", backfill_depth = 3 }'),
                               "key 'backfill_depth' applies to policy 'backfill' only"),
    "workers twice": (scen("{ workers = 4 }, { workers = 5 }"),
                      "change 2 (workers): the scenario already sets workers in change 1"),
    "too many scenarios": ("".join(scen("", f"s{i}") for i in range(MAX_SCENARIOS + 1)),
                           f"at most {MAX_SCENARIOS} per run"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_scenarios_file_is_one_error_line(invoke, tmp_path, case):
    text, words = CASES[case]
    f = tmp_path / "s.toml"
    f.write_text(text, encoding="utf-8")
    line = check(invoke(*RUN, "--scenarios", f), (1,))
    assert words in line, line


def test_a_late_scenario_error_stops_the_run_before_anything_runs(invoke, tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(scen("{ workers = 4 }", "fine") + scen('{ skip = "nope" }', "bad"),
                 encoding="utf-8")
    res = invoke(*RUN, "--scenarios", f)
    line = check(res, (1,), "scenario 'bad' (#2), change 1 (skip): job 'nope'")
    assert res.stdout == "" and "compiling" not in res.stderr, line


def test_non_utf8_bytes(invoke, tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(b'[[scenario]]\nname = "\xff\xfe\x9b[31m"\n')
    check(invoke(*RUN, "--scenarios", f), (1,), "not UTF-8 text (byte 21 is b'\\xff')")


def test_a_bom_is_allowed(invoke, tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(b"\xef\xbb\xbf" + scen("{ workers = 4 }").encode())
    res = invoke(*RUN, "--scenarios", f, "--format", "json")
    assert res.exit_code == 0, res.stderr


def test_a_file_past_the_size_limit(invoke, tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    check(invoke(*RUN, "--scenarios", f), (1,), f"a scenarios file is at most "
                                                f"{MAX_FILE_BYTES:,} bytes")


def test_a_fifo_is_refused_without_blocking(invoke, tmp_path):
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    check(invoke(*RUN, "--scenarios", fifo), (1,),
          "it is a FIFO (named pipe), not a regular file; give a scenarios file")
    assert time.monotonic() - t0 < 30


def test_a_device_is_refused(invoke, tmp_path):
    link = tmp_path / "s.toml"
    link.symlink_to("/dev/zero")
    check(invoke(*RUN, "--scenarios", link), (1,), "character device")


@pytest.mark.parametrize("args,words", [
    (("--scenarios", "{dir}"), "is a directory"),
    (("--scenarios", "{dir}/missing.toml"), "does not exist"),
    ((), "Missing option '--scenarios'"),
    (("--scenarios", "{ok}", "--format", "html"), "--format html writes a self-contained page"),
    (("--scenarios", "{ok}", "--output", "{ok}"), "is the input file"),
    (("--scenarios", "{ok}", "--fail-if", "overflow>"), "must be METRIC OP NUMBER"),
    (("--scenarios", "{ok}", "--fail-if", "overflow_risk>0.1"),
     "unknown metric 'overflow_risk' for whatif"),
    (("--scenarios", "{ok}", "--workers", "0"), "0 is not in the range x>=1"),
    (("--scenarios", "{ok}", "--fail-if", "jobs\x1b[31m>1\nError: forged"),
     "must be METRIC OP NUMBER"),
    (("--scenarios", "{ok}", "--batch-date", "2026-02-30"), "must be a date YYYY-MM-DD"),
])
def test_bad_options_are_usage_errors(invoke, tmp_path, args, words):
    ok = tmp_path / "ok.toml"
    ok.write_text(scen("{ workers = 4 }"), encoding="utf-8")
    args = [a.format(dir=tmp_path, ok=ok) for a in args]
    check(invoke(*RUN, *args), (2,), words)


def test_the_sample_needs_a_batch_date(invoke, tmp_path):
    ok = tmp_path / "ok.toml"
    ok.write_text(scen("{ workers = 4 }"), encoding="utf-8")
    check(invoke("whatif", "--scenarios", ok), (2,), "choose with --batch-date")


@given(st.text(max_size=300))
def test_any_text_parses_or_is_one_data_error(text):
    """Whatever the text, parsing either gives scenarios or raises DataError (never another
    exception)."""
    try:
        parse_scenarios(text)
    except DataError as exc:
        assert str(exc)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["name", "changes", "runtime", "job",
                                                       "class", "add", "delay", "window",
                                                       "scenario", "workers", "x"]),
                                      inner, max_size=4), max_leaves=20))
def test_any_document_is_scenarios_or_one_data_error(doc):
    from mcqueue.analysis.whatif_file import scenarios_from_dict

    try:
        scenarios_from_dict({"scenario": [doc]} if isinstance(doc, dict) else doc)
    except DataError as exc:
        assert str(exc)
