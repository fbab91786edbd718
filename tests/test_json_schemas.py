"""The written output contract: every JSON output of the command line against its JSON Schema in
docs/schemas/ (draft 2020-12), and the schemas against broken documents, so that they are not
vacuous.

For each output: the real command's stdout validates; every top-level key it carries (of a
scenario, a score row, the plan, a check, the bench, seed and cleanup reports) is described in
the schema's ``properties``, so a renamed or undeclared key fails here. For each schema: a
document missing a required key and one with a string where a number belongs fail validation,
on that key.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"
GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = ("simulate", "score", "plan", "validate", "bench", "seed", "cleanup", "calibrate",
         "backtest", "whatif")
EXAMPLE_SCENARIOS = ROOT / "docs" / "examples" / "whatif.toml"
FEW = ["--replications", "2000"]


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def record_properties(name: str) -> set[str]:
    """The ``properties`` of the schema's record object (the array item or the object itself)."""
    s = schema(name)
    if s["type"] == "array":
        ref = s["items"]["$ref"]
        assert ref.startswith("#/$defs/")
        s = s["$defs"][ref.rsplit("/", 1)[1]]
    return set(s["properties"])


def records(doc) -> list[dict]:
    return doc if isinstance(doc, list) else [doc]


def assert_conforms(name: str, doc) -> None:
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    described = record_properties(name)
    for i, rec in enumerate(records(doc)):
        undeclared = set(rec) - described
        assert not undeclared, f"record {i} carries keys {sorted(undeclared)} that " \
                               f"docs/schemas/{name}.schema.json does not describe"


def run_json(invoke, *args):
    res = invoke(*args)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


# ------------------------------------------------------------------ the schemas themselves
@pytest.mark.parametrize("name", NAMES)
def test_schema_is_a_valid_draft_2020_12_schema(name):
    s = schema(name)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(s)


def test_every_json_output_has_a_schema_and_readme_entry():
    on_disk = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert on_disk == set(NAMES)
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"`{name}.schema.json`" in readme


# ------------------------------------------------------------------ simulate
def test_simulate_default(invoke):
    doc = run_json(invoke, "simulate", "--format", "json")
    assert_conforms("simulate", doc)
    assert [d["scenario"] for d in doc] == ["2026-05-13 on 3 workers", "2026-05-14 on 2 workers"]


def test_simulate_nights_by_workers_with_class_cv(invoke):
    doc = run_json(invoke, "simulate", "--batch-date", "2026-05-13", "--batch-date", "2026-05-14",
                   "--workers", "2", "--workers", "3", "--workers", "4",
                   "--class-cv", "backfill=0.6", "--class-cv", "etl=0.1", *FEW, "--format", "json")
    assert_conforms("simulate", doc)
    assert len(doc) == 6
    assert doc[0]["class_cv"] == {"backfill": 0.6, "etl": 0.1}


def test_simulate_precision_targeted(invoke):
    doc = run_json(invoke, "simulate", "--batch-date", "2026-05-13",
                   "--target-halfwidth-overflow", "0.005", "--format", "json")
    assert_conforms("simulate", doc)
    assert doc[0]["precision"]["stopped"] == "target met"


def test_simulate_precision_cap_of_one_replication_gives_nulls(invoke):
    """One replication: no spread, so every Student-t bound and the achieved p95 half-width
    are null (the schema's number-or-null), and the cap stopped the run."""
    doc = run_json(invoke, "simulate", "--batch-date", "2026-05-13", "--target-halfwidth-p95",
                   "0.001", "--max-replications", "1", "--format", "json")
    assert_conforms("simulate", doc)
    prec = doc[0]["precision"]
    assert prec["achieved_halfwidth_p95"] is None
    assert prec["stopped"] == "max replications reached"
    assert doc[0]["monte_carlo"]["average_wait_minutes"]["ci_low"] is None


def test_simulate_zero_noise(invoke):
    doc = run_json(invoke, "simulate", "--batch-date", "2026-05-14", "--workers", "2",
                   "--runtime-cv", "0", "--arrival-jitter", "0", "--replications", "10",
                   "--format", "json")
    assert_conforms("simulate", doc)
    # zero noise: every replication is the tutorial's replay (published: mean wait 246.67,
    # p95 390; 0.005 is the rounding of the publication), so the interval has no width
    mc = doc[0]["monte_carlo"]
    assert mc["average_wait_minutes"]["mean"] == pytest.approx(246.67, abs=0.005)
    assert mc["p95_wait_minutes"]["p50"] == 390
    wait = mc["average_wait_minutes"]
    assert wait["ci_high"] - wait["ci_low"] == pytest.approx(0.0, abs=1e-9)


def test_simulate_window_across_midnight(invoke):
    doc = run_json(invoke, "simulate", "--batch-date", "2026-05-13", "--window", "02:00",
                   "--batch-start", "22:00", "--batch-end", "06:00", *FEW, "--format", "json")
    assert_conforms("simulate", doc)
    assert doc[0]["window"] == "02:00"
    assert doc[0]["horizon_minutes"] == 480  # 06:00 + 24:00 - 22:00


# ------------------------------------------------------------------ score
def test_score(invoke):
    doc = run_json(invoke, "score", "--workers", "2,3,4", *FEW, "--format", "json")
    assert_conforms("score", doc)
    assert len(doc) == 5 * 3  # the sample's five nights


def test_score_with_a_night_without_jobs(invoke, tmp_path):
    """A night with no job in the window is a row of nulls; the schema's if/then accepts it and
    the other row keeps numbers."""
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "batch_date,job_id,requested_window,workload_class,estimated_runtime_minutes,priority,"
        "requires_exclusive_lock\n"
        "2026-06-01,A,01:00,etl,30,1,false\n"
        "2026-06-01,B,01:00,etl,40,2,true\n"
        "2026-06-02,C,02:00,etl,30,1,false\n", encoding="utf-8")
    doc = run_json(invoke, "score", "--file", jobs, "--window", "01:00", *FEW, "--format", "json")
    assert_conforms("score", doc)
    assert [r["jobs"] for r in doc] == [2, 0]
    assert doc[1]["overflow_probability"] is None


# ------------------------------------------------------------------ plan
def test_plan_with_a_recommendation(invoke):
    doc = run_json(invoke, "plan", "--batch-date", "2026-05-13", "--max-workers", "6", *FEW,
                   "--format", "json")
    assert_conforms("plan", doc)
    assert doc["recommended_workers"] is not None
    assert len(doc["steps"]) == len(doc["sweep"]) - 1 == 5


def test_plan_without_a_recommendation(invoke):
    doc = run_json(invoke, "plan", "--batch-date", "2026-05-14", "--max-workers", "4",
                   "--max-p95-wait", "30", *FEW, "--format", "json")
    assert_conforms("plan", doc)
    assert doc["recommended_workers"] is None
    assert doc["max_p95_wait"] == 30


# ------------------------------------------------------------------ issues 12 and 13
SLOTS_CSV = ("batch_date,job_id,requested_window,workload_class,estimated_runtime_minutes,"
             "priority,requires_exclusive_lock,slots,locks,deadline,depends_on\n"
             "2026-06-01,A,01:00,etl,30,1,false,2,t,02:00,\n"
             "2026-06-01,B,01:00,etl,40,2,false,1,t,,A\n"
             "2026-06-01,C,01:00,etl,20,1,false,,,03:00,\n")


def test_simulate_with_per_job_policies_and_capacity(invoke):
    doc = run_json(invoke, "simulate", "--batch-date", "2026-05-15", "--per-job", "--policy",
                   "tutorial", "--policy", "backfill", "--capacity", "03:00=-1",
                   "--capacity", "04:00=+1", *FEW, "--format", "json")
    assert_conforms("simulate", doc)
    assert [d["policy"] for d in doc] == ["tutorial", "backfill"]
    assert "backfill_depth" not in doc[0] and doc[1]["backfill_depth"] == 64
    assert doc[0]["capacity"] == [{"minute": 120.0, "workers": 2},
                                  {"minute": 180.0, "workers": 4}]
    for d in doc:
        assert len(d["per_job"]) == d["jobs"] == 20
        assert {"late_jobs", "worker_minutes_above_capacity"} <= set(d["deterministic"])
        assert {"late_jobs", "any_late_probability", "worker_minutes_above_capacity"} <= set(
            d["monte_carlo"])


def test_score_and_plan_with_policies_and_infeasible_counts(invoke, tmp_path):
    doc = run_json(invoke, "score", "--workers", "3", "--policy", "fifo", "--policy",
                   "priority", *FEW, "--format", "json")
    assert_conforms("score", doc)
    assert {r["policy"] for r in doc} == {"fifo", "priority"} and len(doc) == 5 * 2
    assert all("any_late_probability" in r for r in doc)  # the ETL night has deadlines
    jobs = tmp_path / "slots.csv"
    jobs.write_text(SLOTS_CSV, encoding="utf-8")
    plan = run_json(invoke, "plan", "--file", jobs, "--batch-date", "2026-06-01",
                    "--max-workers", "3", "--policy", "tutorial", "--policy", "backfill",
                    "--capacity", "02:00=+1", *FEW, "--format", "json")
    assert_conforms("plan", plan)
    infeasible = [r for r in plan["sweep"] if r["infeasible"] is not None]
    assert [(r["workers"], r["policy"]) for r in infeasible] == [(1, "tutorial"),
                                                                 (1, "backfill")]
    assert "needs 2 workers (slots)" in infeasible[0]["infeasible"]
    assert len(plan["policy_steps"]) == 2  # workers 2 and 3, backfill against tutorial
    assert plan["recommended_policy"] in (None, "tutorial", "backfill")


def test_new_keys_are_checked_not_just_allowed():
    """A per-job entry without a key, a capacity step with an extra key, an infeasible sweep
    row with numbers and an unknown policy each fail their schema."""
    sim = example("simulate")
    sim[0]["per_job"] = [{"job_id": "A", "late_probability": {"estimate": 0.1, "ci_low": 0.05,
                                                               "ci_high": 0.2},
                          "finish_minute_p50": 10.0, "finish_minute_p90": 12.0,
                          "mean_wait_minutes": 1.0, "criticality": 0.5}]
    assert failures("simulate", sim)  # no mean_dependency_delay_minutes
    sim = example("simulate")
    sim[0]["capacity"] = [{"minute": 0, "workers": 2, "extra": 1}]
    assert failures("simulate", sim)
    sim = example("simulate")
    sim[0]["policy"] = "lifo"
    assert failures("simulate", sim)
    plan = example("plan")
    plan["sweep"][0]["infeasible"] = "job 'A' needs 2 workers"
    assert failures("plan", plan)  # the row still has numbers
    for k in ("overflow_probability", "overflow_ci_low", "overflow_ci_high", "p95_wait_mean",
              "drained_p90_minute", "deterministic_overflow_jobs", "p95_wait_ci_low",
              "p95_wait_ci_high"):
        plan["sweep"][0][k] = None
    plan["sweep"][0]["meets_target"] = False
    assert not failures("plan", plan)


# ------------------------------------------------------------------ calibrate, backtest, --model
@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from click.testing import CliRunner

    from mcqueue.cli.main import cli

    path = tmp_path_factory.mktemp("model") / "model.parquet"
    res = CliRunner().invoke(cli, ["calibrate", "--output", str(path)])
    assert res.exit_code == 0, res.output
    return str(path)


def test_calibrate(invoke, tmp_path):
    doc = run_json(invoke, "calibrate", "--output", tmp_path / "m.parquet", "--format", "json")
    assert_conforms("calibrate", doc)
    assert any(j["fit"] == "pooled" for j in doc["jobs"])


def test_calibrate_by_weekday(invoke, tmp_path):
    doc = run_json(invoke, "calibrate", "--output", tmp_path / "m.parquet", "--by", "weekday",
                   "--half-life-days", "30", "--format", "json")
    assert_conforms("calibrate", doc)
    assert doc["weekdays"] and doc["settings"]["by"] == "weekday"


def test_backtest(invoke):
    doc = run_json(invoke, "backtest", "--workers", "16", "--from", "2026-05-06", "--to",
                   "2026-05-10", "--replications", "500", "--job-replications", "20",
                   "--format", "json")
    assert_conforms("backtest", doc)
    assert len(doc["nights"]) == 5 and doc["summary"]["jobs"]["job_nights"] > 0


def test_simulate_score_plan_with_a_model(invoke, model_path):
    doc = run_json(invoke, "simulate", "--model", model_path, *FEW, "--format", "json")
    assert_conforms("simulate", doc)
    assert doc[0]["runtime_model"]["levels"]["job"] == 10
    rows = run_json(invoke, "score", "--model", model_path, *FEW, "--format", "json")
    assert_conforms("score", rows)
    assert all("runtime_model" in r for r in rows)
    plan = run_json(invoke, "plan", "--batch-date", "2026-05-13", "--max-workers", "4",
                    "--model", model_path, *FEW, "--format", "json")
    assert_conforms("plan", plan)
    bad = copy.deepcopy(doc)
    bad[0]["runtime_model"]["levels"]["weekday"] = 1  # nested blocks are closed
    assert failures("simulate", bad)


# ------------------------------------------------------------------ validate, bench
@pytest.mark.slow
def test_validate_quick(invoke):
    """The quick suite (about 15 s); its exit code is 1 only if a check fails."""
    res = invoke("validate", "--format", "json")
    assert res.exit_code in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    assert_conforms("validate", doc)
    assert res.exit_code == (0 if all(c["pass"] for c in doc) else 1)


def test_bench(invoke):
    doc = run_json(invoke, "bench", "--format", "json", "--seconds", "0.05")
    assert_conforms("bench", doc)
    assert [r["jobs"] for r in doc["results"]] == [10, 2000]


# ------------------------------------------------------------------ seed, cleanup (DynamoDB)
@pytest.fixture(scope="module")
def endpoint():
    from dynamo_server import dynamodb_endpoint

    with dynamodb_endpoint() as url:
        yield url


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials and no AWS configuration from the machine, for in-process CLI runs."""
    for var in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE",
                "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "schema-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "schema-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.dynamodb
def test_seed_and_cleanup(invoke, aws_env, endpoint):
    import uuid

    table = f"schema_{uuid.uuid4().hex[:12]}"
    where = ["--endpoint-url", endpoint, "--table", table]
    try:
        first = run_json(invoke, "seed", *where, "--format", "json")
        assert_conforms("seed", first)
        assert (first["created_table"], first["items"], first["written"]) == (True, 59, 59)
        again = run_json(invoke, "seed", *where, "--format", "json")  # idempotent
        assert_conforms("seed", again)
        assert (again["created_table"], again["written"], again["skipped"]) == (False, 0, 59)
    finally:
        res = invoke("cleanup", *where, "--yes", "--format", "json")
    assert res.exit_code == 0, res.stderr
    gone = json.loads(res.stdout)
    assert_conforms("cleanup", gone)
    assert (gone["kind"], gone["name"]) == ("table", table)


# ------------------------------------------------------------------ whatif
def test_whatif_example_file_with_deadlines(invoke):
    """The example file: its last scenario sets deadlines, so every row carries the any-late
    block; the rows (baseline and scenarios) are described by the schema's row."""
    doc = run_json(invoke, "whatif", "--batch-date", "2026-05-13", "--scenarios",
                   EXAMPLE_SCENARIOS, *FEW, "--format", "json")
    assert_conforms("whatif", doc)
    rows = [doc["baseline"], *doc["scenarios"]]
    row_keys = set(schema("whatif")["$defs"]["row"]["properties"])
    for row in rows:
        assert set(row) <= row_keys, set(row) - row_keys
        assert "any_late_probability" in row
    assert len(doc["scenarios"]) == 8


def test_whatif_without_deadlines_one_replication(invoke, tmp_path):
    """No deadline anywhere: no any-late block; one replication: the p95 interval is null and
    the drain-P90 difference has no interval (fewer than 100 pairs), as the schema allows."""
    f = tmp_path / "s.toml"
    f.write_text('[[scenario]]\nname = "x"\nchanges = [{ workers = 4 }, '
                 '{ capacity = "02:00=+1" }, { policy = "backfill", backfill_depth = 3 }]\n',
                 encoding="utf-8")
    doc = run_json(invoke, "whatif", "--batch-date", "2026-05-14", "--scenarios", f,
                   "--replications", "1", "--format", "json")
    assert_conforms("whatif", doc)
    (row,) = doc["scenarios"]
    assert "any_late_probability" not in row
    assert row["p95_wait_minutes"]["ci_low"] is None
    assert row["queue_drained_minute"]["difference"]["ci_low"] is None
    assert row["capacity"] == [{"minute": 60.0, "workers": 5}]
    assert (row["policy"], row["backfill_depth"]) == ("backfill", 3)


# ------------------------------------------------------------------ broken documents must fail
# Valid documents to break: the golden outputs of simulate, score and plan (real outputs), and
# for the others one literal example each (the positive tests above check real ones).
EXAMPLES = {
    "validate": [{"check": "M/M/1 rho=0.5 mean wait (min)",
                  "formula": "Erlang C: Wq = C(c,a) / (c mu - lambda)", "expected": 10.0,
                  "measured": 9.94, "tolerance": 0.43, "rule": "4 SE (quick run)", "se": 0.11,
                  "detail": "1 x 200,000 jobs", "pass": True}],
    "bench": {"cpu_count": 2, "usable_cpus": 2, "cpu_model": None, "numba_threads": 2,
              "versions": {"python": "3.11.7", "numpy": "2.4.6", "numba": "0.68.1",
                           "polars": "2.1.0", "mcqueue": "0.1.0"},
              "numba_threading_layer": "omp", "runtime_cv": 0.25,
              "arrival_jitter_minutes": 15.0, "seed": 0, "budget_seconds": 0.05,
              "startup_seconds": 0.4, "measuring_seconds": 0.06,
              "results": [{"night": "2026-05-13 (built-in sample)", "jobs": 10, "workers": 3,
                           "replications": 23312, "runs": 3, "seconds_median": 0.015,
                           "seconds_min": 0.006, "seconds_max": 0.016,
                           "replications_per_second": 1.5e6, "jobs_per_second": 1.5e7}]},
    "seed": {"table": "db_batch_window_requests", "endpoint": "http://127.0.0.1:8000",
             "region": "us-east-1", "created_table": True, "items": 39, "written": 39,
             "skipped": 0, "conflicts": 0, "overwritten": 0, "batches": 2, "retried_items": 0,
             "consumed_write_units": 39.0, "consumed_read_units": 0.0, "cost_usd": 2.4e-05},
    "cleanup": {"deleted": True, "kind": "table", "name": "db_batch_window_requests",
                "region": "us-east-1", "endpoint": "http://127.0.0.1:8000"},
}


def _real(name: str):
    """calibrate, backtest and whatif: a real output of the command (no golden file of their
    own)."""
    from click.testing import CliRunner

    from mcqueue.cli.main import cli

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        args = (["calibrate", "--output", f"{tmp}/m.parquet"] if name == "calibrate" else
                ["whatif", "--batch-date", "2026-05-13", "--scenarios",
                 str(EXAMPLE_SCENARIOS), "--replications", "200"] if name == "whatif" else
                ["backtest", "--workers", "16", "--from", "2026-05-09", "--to", "2026-05-10",
                 "--replications", "200", "--job-replications", "10"])
        res = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)
GOLDEN_OF = {"simulate": "simulate_default.json", "score": "score_sample.json",
             "plan": "plan_2026-05-13.json"}
# schema -> (a required key of the record, a key whose value is a number; cleanup has no
# number, so its boolean `deleted` is turned into a string instead)
BREAKS = {
    "simulate": ("monte_carlo", "horizon_minutes"),
    "score": ("overflow_probability", "p95_wait_mean"),
    "plan": ("recommended_workers", "replications"),
    "validate": ("pass", "measured"),
    "bench": ("results", "budget_seconds"),
    "seed": ("written", "consumed_write_units"),
    "cleanup": ("kind", "deleted"),
    "calibrate": ("summary", "sources"),  # no top-level number: its list becomes a string
    "backtest": ("summary", "replications"),
    "whatif": ("scenarios", "replications"),
}


def example(name: str):
    if name in ("calibrate", "backtest", "whatif"):
        return _real(name)
    if name in GOLDEN_OF:
        return json.loads((GOLDEN / GOLDEN_OF[name]).read_text(encoding="utf-8"))
    return copy.deepcopy(EXAMPLES[name])


def first_record(doc) -> dict:
    return doc[0] if isinstance(doc, list) else doc


def failures(name: str, doc) -> list:
    return list(validator(name).iter_errors(doc))


@pytest.mark.parametrize("name", NAMES)
def test_the_unbroken_example_is_valid(name):
    assert_conforms(name, example(name))


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_required_key_fails(name):
    key = BREAKS[name][0]
    doc = example(name)
    del first_record(doc)[key]
    errs = failures(name, doc)
    assert any(e.validator == "required" and f"'{key}'" in e.message for e in errs), errs


@pytest.mark.parametrize("name", NAMES)
def test_a_string_for_a_number_fails(name):
    key = BREAKS[name][1]
    doc = example(name)
    rec = first_record(doc)
    rec[key] = str(rec[key])
    errs = failures(name, doc)
    assert any(list(e.absolute_path)[-1:] == [key] for e in errs), errs


def test_simulate_nested_blocks_are_closed_and_complete():
    """An extra key on a scenario is allowed by contract; in a nested block it is not, and a
    metric block missing a quantile fails."""
    doc = example("simulate")
    doc[0]["a_later_optional_key"] = 1
    assert not failures("simulate", doc)
    extra = example("simulate")
    extra[0]["monte_carlo"]["p95_wait_minutes"]["p95"] = 1.0
    assert any(e.validator == "additionalProperties" for e in failures("simulate", extra))
    missing = example("simulate")
    del missing[0]["monte_carlo"]["worker_utilization"]["p90"]
    assert any(e.validator == "required" for e in failures("simulate", missing))
    renamed = example("simulate")
    det = renamed[0]["deterministic"]
    det["avg_wait_minutes"] = det.pop("average_wait_minutes")
    assert failures("simulate", renamed)


def test_simulate_nulls_only_where_the_contract_allows_them():
    ok = example("simulate")
    ok[0]["monte_carlo"]["average_wait_minutes"]["ci_low"] = None  # one replication
    assert not failures("simulate", ok)
    bad = example("simulate")
    bad[0]["monte_carlo"]["average_wait_minutes"]["mean"] = None
    assert failures("simulate", bad)
    share = example("simulate")
    share[0]["deterministic"]["worker_utilization"] = 1.0000000000000002
    assert failures("simulate", share)


def test_score_row_without_jobs_must_be_all_null():
    doc = example("score")
    row = doc[0]
    row["jobs"] = 0
    assert failures("score", doc)  # statistics present on a row without jobs
    for k in ("rho", "overflow_probability", "overflow_ci_low", "overflow_ci_high",
              "p95_wait_mean", "p95_wait_ci_low", "p95_wait_ci_high", "drained_p90_minute"):
        row[k] = None
    row["deterministic_overflow_jobs"] = 0
    assert not failures("score", doc)


def test_whatif_statistic_blocks_are_closed_and_complete():
    doc = example("whatif")
    doc["scenarios"][0]["a_later_optional_key"] = 1
    assert not failures("whatif", doc)
    extra = example("whatif")
    extra["scenarios"][0]["p95_wait_minutes"]["difference"]["se"] = 0.1
    assert any(e.validator == "additionalProperties" for e in failures("whatif", extra))
    missing = example("whatif")
    del missing["baseline"]["queue_drained_minute"]["difference"]
    assert any(e.validator == "required" for e in failures("whatif", missing))
    share = example("whatif")
    share["scenarios"][0]["overflow_probability"]["estimate"] = 1.5
    assert failures("whatif", share)


def test_undeclared_top_level_key_is_caught_by_the_key_check():
    doc = example("plan")
    doc["recommendation"] = doc["recommended_workers"]  # e.g. a key renamed in the code
    assert not failures("plan", doc)  # extra top-level keys are valid JSON Schema-wise ...
    with pytest.raises(AssertionError, match="does not describe"):
        assert_conforms("plan", doc)  # ... but an output carrying one fails here


# ------------------------------------------------------------------ --now (issue 15)
def test_simulate_score_whatif_with_now(invoke, tmp_path):
    """The built-in snapshot re-forecast from 03:30: every output carries ``now`` as its
    schema describes it (counts from the snapshot file: 4 completed, 1 running, 5 queued);
    the now block is closed (an extra key fails)."""
    snap = tmp_path / "snapshot.csv"
    assert invoke("sample", "--snapshot", "--output", snap).exit_code == 0
    want = {"given": "03:30", "clock": "03:30", "minute": 150.0, "queued": 5, "running": 1,
            "completed": 4}
    doc = run_json(invoke, "simulate", "--file", snap, "--workers", "2", "--now", "03:30",
                   *FEW, "--format", "json")
    assert_conforms("simulate", doc)
    assert doc[0]["now"] == want
    rows = run_json(invoke, "score", "--file", snap, "--workers", "2,3", "--now", "03:30",
                    *FEW, "--format", "json")
    assert_conforms("score", rows)
    assert [r["now"] for r in rows] == [want, want]
    w = run_json(invoke, "whatif", "--file", snap, "--workers", "2", "--now",
                 "2026-05-13T05:30:00+02:00", "--timezone", "UTC", "--scenarios",
                 EXAMPLE_SCENARIOS, "--replications", "200", "--format", "json")
    assert_conforms("whatif", w)
    assert w["now"] == {**want, "given": "2026-05-13T05:30:00+02:00", "timezone": "UTC"}
    bad = copy.deepcopy(doc)
    bad[0]["now"]["extra"] = 1
    assert failures("simulate", bad)
