"""Hostile services (issue 11): a real TCP server on 127.0.0.1 that accepts and never answers,
ones that answer garbage, non-UTF-8 bytes or an HTML error page; broken AWS configuration and
credentials; a non-CloudFormation endpoint for `cleanup --stack-name`; a Dask scheduler that
never answers and a missing dask extra. Every case: one `Error:` line, no traceback, within the
stated time (with --timeout 1 well under 10 s; with the default 30 s, under 60 s)."""

from __future__ import annotations

import sys
import time

import pytest

from hostile import (GARBAGE, HTML_PAGE, NON_UTF8, TcpServer, aws_env, check, mcqueue,
                     assert_one_error, set_aws_env)

DDB_COMMANDS = {
    "simulate": ("simulate", "--source", "dynamodb", "--batch-date", "2026-05-13",
                 "--replications", "20"),
    "score": ("score", "--source", "dynamodb", "--from", "2026-05-11", "--to", "2026-05-14",
              "--replications", "20"),
    "plan": ("plan", "--source", "dynamodb", "--batch-date", "2026-05-13", "--max-workers",
             "3", "--replications", "20"),
    "seed": ("seed",),
    "cleanup": ("cleanup", "--yes"),
    "cleanup-stack": ("cleanup", "--yes", "--stack-name", "mcqueue-catalog"),
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    set_aws_env(monkeypatch, tmp_path)
    return monkeypatch


@pytest.fixture(scope="module")
def silent():
    with TcpServer(None) as server:
        yield server


# ------------------------------------------------------------------ unresponsive endpoint
@pytest.mark.parametrize("command", sorted(DDB_COMMANDS))
def test_an_endpoint_that_never_answers_times_out(invoke, env, silent, command):
    t0 = time.monotonic()
    res = invoke(*DDB_COMMANDS[command], "--endpoint-url", silent.url, "--timeout", "1")
    line = check(res, (1,), "--timeout")
    assert "no answer" in line or "timed out" in line
    assert time.monotonic() - t0 < 10


def test_retries_stay_inside_the_deadline(invoke, env, silent):
    """8 attempts of 1 s each would take 8 s or more: the deadline ends them at about 1.5 s."""
    t0 = time.monotonic()
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url", silent.url, "--timeout", "1.5",
                 "--max-attempts", "8"), (1,))
    assert time.monotonic() - t0 < 5


@pytest.mark.slow
def test_the_default_timeout_gives_one_error_within_60_s(tmp_path, silent):
    t0 = time.monotonic()
    res = mcqueue(*DDB_COMMANDS["simulate"], "--endpoint-url", silent.url, env=aws_env(tmp_path),
                  timeout=120)
    seconds = time.monotonic() - t0
    assert_one_error(res.returncode, res.stderr, res.stdout, (1,), "within 30 s")
    assert seconds < 60, seconds


# ------------------------------------------------------------------ broken answers
@pytest.mark.parametrize("reply,expect", [(GARBAGE, None), (NON_UTF8, "UTF-8"),
                                          (HTML_PAGE, "HTTP 502")],
                         ids=["garbage", "non-utf8", "html"])
@pytest.mark.parametrize("command", ["simulate", "score", "seed", "cleanup", "cleanup-stack"])
def test_broken_answers_are_one_line(invoke, env, reply, expect, command):
    with TcpServer(reply) as server:
        res = invoke(*DDB_COMMANDS[command], "--endpoint-url", server.url, "--timeout", "5",
                     "--max-attempts", "2")
    line = check(res, (1,))
    assert "<html" not in res.stderr.lower() and "nginx" not in res.stderr
    if expect and command != "cleanup-stack":
        assert expect in line


def test_a_closed_port_is_one_line_quickly(invoke, env):
    from dynamo_server import free_port

    t0 = time.monotonic()
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url",
                 f"http://127.0.0.1:{free_port()}", "--max-attempts", "2"), (1,),
          "cannot reach")
    assert time.monotonic() - t0 < 15


# ------------------------------------------------------------------ configuration and credentials
def test_a_malformed_config_file(invoke, env, tmp_path):
    bad = tmp_path / "config"
    bad.write_text("[default\nregion = us-east-1\n")
    env.setenv("AWS_CONFIG_FILE", str(bad))
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url", "http://127.0.0.1:9"), (1,),
          "AWS config file")


def test_a_malformed_credentials_file(invoke, env, tmp_path):
    bad = tmp_path / "credentials"
    bad.write_text("[default\naws_access_key_id = x\n")
    env.delenv("AWS_ACCESS_KEY_ID")
    env.delenv("AWS_SECRET_ACCESS_KEY")
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(bad))
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url", "http://127.0.0.1:9"), (1,),
          "cannot parse")


def _profiles(env, tmp_path, text):
    cfg = tmp_path / "config"
    cfg.write_text(text)
    env.setenv("AWS_CONFIG_FILE", str(cfg))
    env.delenv("AWS_ACCESS_KEY_ID")
    env.delenv("AWS_SECRET_ACCESS_KEY")
    env.setenv("HOME", str(tmp_path))


def test_a_failing_credential_process(invoke, env, tmp_path):
    _profiles(env, tmp_path, "[profile p]\ncredential_process = /bin/false\n"
                             "region = us-east-1\n")
    check(invoke(*DDB_COMMANDS["simulate"], "--profile", "p", "--endpoint-url",
                 "http://127.0.0.1:9"), (1,), "credential_process")


def test_a_credential_process_printing_garbage(invoke, env, tmp_path):
    script = tmp_path / "creds.sh"
    script.write_text("#!/bin/sh\nprintf '\\033[31mnot json\\nError: forged\\n'\n")
    script.chmod(0o755)
    _profiles(env, tmp_path, f"[profile p]\ncredential_process = {script}\n")
    check(invoke(*DDB_COMMANDS["simulate"], "--profile", "p", "--endpoint-url",
                 "http://127.0.0.1:9"), (1,))


def test_a_missing_sso_token(invoke, env, tmp_path):
    _profiles(env, tmp_path, "[profile s]\nsso_session = corp\nsso_account_id = 1\n"
                             "sso_role_name = r\nregion = us-east-1\n[sso-session corp]\n"
                             "sso_start_url = https://example.invalid/start\n"
                             "sso_region = us-east-1\n")
    check(invoke(*DDB_COMMANDS["simulate"], "--profile", "s", "--endpoint-url",
                 "http://127.0.0.1:9"), (1,), "aws sso login")


def test_an_unknown_profile(invoke, env):
    check(invoke(*DDB_COMMANDS["simulate"], "--profile", "nope"), (1,), "'nope' not found")


def test_no_credentials_at_all(invoke, env):
    env.delenv("AWS_ACCESS_KEY_ID")
    env.delenv("AWS_SECRET_ACCESS_KEY")
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url", "http://127.0.0.1:9"), (1,),
          "no AWS credentials")


@pytest.mark.parametrize("region", ["us east 1", "us-east-1\n", "\x1b[31m", "a" * 300])
def test_a_bad_region(invoke, env, region):
    check(invoke(*DDB_COMMANDS["simulate"], "--region", region, "--endpoint-url",
                 "http://127.0.0.1:9"), (2,), "--region")


@pytest.mark.parametrize("region", ["us east 1", "US_EAST"])
def test_a_bad_region_from_the_environment(invoke, env, region):
    env.setenv("AWS_DEFAULT_REGION", region)
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url", "http://127.0.0.1:9"), (1,),
          "region")


@pytest.mark.parametrize("url", ["http://127.0.0.1:70000", "http://127.0.0.1:99999999999",
                                 "not a url", "ftp://127.0.0.1:21", "http://", "http://[::1"])
def test_bad_endpoint_urls(invoke, env, url):
    check(invoke(*DDB_COMMANDS["simulate"], "--endpoint-url", url, "--max-attempts", "1",
                 "--timeout", "2"), (1,))


@pytest.mark.parametrize("command", ["simulate", "seed", "cleanup"])
def test_credentials_in_urls_are_redacted(invoke, env, command):
    from dynamo_server import free_port

    url = f"http://admin:hunter2-pw@127.0.0.1:{free_port()}"
    res = invoke(*DDB_COMMANDS[command], "--endpoint-url", url, "--max-attempts", "1")
    line = check(res, (1,))
    assert "hunter2-pw" not in res.stderr + res.stdout
    assert "admin:***@" in line


# ------------------------------------------------------------------ Dask
def test_a_dask_scheduler_that_never_answers(invoke, silent):
    t0 = time.monotonic()
    res = invoke("score", "--replications", "20", "--dask-scheduler",
                 f"tcp://127.0.0.1:{silent.port}", "--timeout", "2")
    check(res, (1,), "Dask scheduler")
    assert time.monotonic() - t0 < 15


def test_a_missing_dask_extra_names_the_pip_command(invoke, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    check(invoke("score", "--replications", "20", "--dask-scheduler", "tcp://127.0.0.1:9"),
          (1,), 'pip install "mcqueue[dask]"')


def test_a_dask_scheduler_address_with_garbage(invoke):
    check(invoke("score", "--replications", "20", "--dask-scheduler", "nonsense\x1b[2J://x",
                 "--timeout", "2"), (1,))
