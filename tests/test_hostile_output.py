"""Hostile outputs (issue 11): --output that is an input, atomic writes under a real file-size
limit (RLIMIT_FSIZE) and under interruption, every writer (reports, `sample --output`, job files)
going through mcqueue.io.files.write_atomic."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hostile import ROOT, assert_one_error, check, file_bytes, folder_listing
from mcqueue.io import files
from mcqueue.io.sample import sample_frame
from mcqueue.io.sources import render_jobs, write_jobs

FAST = ("--replications", "20")


@pytest.fixture
def jobs(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_bytes(render_jobs(sample_frame(), "csv"))
    return path


# ------------------------------------------------------------------ --output is an input
def _spellings(jobs: Path, tmp_path: Path):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(jobs)
    hard = tmp_path / "hard.csv"
    os.link(jobs, hard)
    return {"same": str(jobs), "relative-dots": str(tmp_path / "sub" / ".." / "jobs.csv"),
            "symlink": str(link), "hardlink": str(hard)}


@pytest.mark.parametrize("spelling", ["same", "relative-dots", "symlink", "hardlink"])
@pytest.mark.parametrize("command", [
    ("simulate", "--batch-date", "2026-05-13", *FAST),
    ("score", *FAST),
    ("plan", "--batch-date", "2026-05-13", "--max-workers", "3", *FAST),
])
def test_output_equal_to_the_input_is_refused(invoke, jobs, tmp_path, spelling, command):
    out = _spellings(jobs, tmp_path)[spelling]
    before = file_bytes([jobs])
    res = invoke(*command, "--file", jobs, "--output", out)
    check(res, (2,), "--output")
    assert file_bytes([jobs]) == before


def test_score_parquet_output_onto_its_input(invoke, tmp_path):
    src = tmp_path / "jobs.parquet"
    write_jobs(sample_frame(), src)
    before = file_bytes([src])
    check(invoke("score", "--file", src, "--format", "parquet", "--output", src, *FAST), (2,))
    assert file_bytes([src]) == before


def test_output_relative_to_the_working_directory(invoke, jobs, monkeypatch):
    monkeypatch.chdir(jobs.parent)
    check(invoke("simulate", "--batch-date", "2026-05-13", *FAST, "--file", "jobs.csv",
                 "--output", "./jobs.csv"), (2,))


# ------------------------------------------------------------------ atomic writes
def _report_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _limited(limit_bytes: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


@pytest.mark.parametrize("command", [
    ("simulate", "--batch-date", "2026-05-13", "--replications", "50", "--format", "json"),
    ("sample",),
])
def test_a_write_past_the_file_size_limit_keeps_the_old_file(tmp_path, command):
    out = tmp_path / ("report.json" if command[0] == "simulate" else "jobs.csv")
    old = b"the previous report, which must survive\n"
    out.write_bytes(old)
    res = subprocess.run([sys.executable, "-m", "mcqueue", *command, "--output", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env=_report_env(), preexec_fn=_limited(1000))
    assert_one_error(res.returncode, res.stderr, res.stdout, (1,))
    assert "File too large" in res.stderr
    assert out.read_bytes() == old
    assert folder_listing(tmp_path) == [out.name]  # no temporary file left


def test_a_write_past_the_limit_creates_no_file(tmp_path):
    out = tmp_path / "new.parquet"
    res = subprocess.run([sys.executable, "-m", "mcqueue", "sample", "--output", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env=_report_env(), preexec_fn=_limited(500))
    assert_one_error(res.returncode, res.stderr, res.stdout, (1,))
    assert folder_listing(tmp_path) == []


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch, where):
    """Ctrl-C (KeyboardInterrupt) at each step of the write: the old bytes stay, no temp."""
    target = tmp_path / "report.txt"
    target.write_bytes(b"old\n")

    def boom(*a, **k):
        raise KeyboardInterrupt

    if where == "fsync":
        monkeypatch.setattr(files.os, "fsync", boom)
    elif where == "replace":
        monkeypatch.setattr(files.os, "replace", boom)
    else:
        monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: _Failing(fd))
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, b"new\n" * 1000)
    assert target.read_bytes() == b"old\n"
    assert folder_listing(tmp_path) == ["report.txt"]


class _Failing:
    """A file object whose write is interrupted halfway."""

    def __init__(self, fd):
        self.fh = open(fd, "wb", closefd=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        raise KeyboardInterrupt


def test_atomic_write_keeps_permissions_and_follows_symlinks(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    files.write_atomic(link, "new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert (real.stat().st_mode & 0o777) == 0o640


def test_atomic_write_to_a_device_writes_through(tmp_path):
    files.write_atomic("/dev/null", b"discarded")  # no temp file next to /dev/null


def test_atomic_write_into_a_missing_folder_fails_cleanly(invoke, tmp_path):
    res = invoke("sample", "--output", tmp_path / "nope" / "jobs.csv")
    check(res, (1, 2))


def test_output_onto_a_directory(invoke, tmp_path):
    d = tmp_path / "out.json"
    d.mkdir()
    check(invoke("simulate", "--batch-date", "2026-05-13", *FAST, "--output", d), (1, 2))


def test_output_below_a_regular_file(invoke, jobs):
    before = file_bytes([jobs])
    check(invoke("sample", "--output", jobs / "x.csv"), (1, 2))
    assert file_bytes([jobs]) == before


def test_every_writer_uses_the_atomic_writer(monkeypatch, tmp_path, invoke):
    """sample --output, simulate --output and write_jobs all end in files.write_atomic."""
    seen = []
    real = files.write_atomic

    def spy(path, data):
        seen.append(Path(path).name)
        return real(path, data)

    monkeypatch.setattr(files, "write_atomic", spy)
    import mcqueue.io.sources as sources

    monkeypatch.setattr(sources, "write_atomic", spy)
    assert invoke("sample", "--output", tmp_path / "a.ndjson").exit_code == 0
    assert invoke("simulate", "--batch-date", "2026-05-13", *FAST, "--output",
                  tmp_path / "r.txt").exit_code == 0
    write_jobs(sample_frame(), tmp_path / "b.csv.gz")
    assert seen == ["a.ndjson", "r.txt", "b.csv.gz"]
