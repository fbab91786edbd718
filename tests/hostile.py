"""Helpers of the hostile-input suite (tests/test_hostile_*.py, issue 11).

Every hostile case ends with the same check, ``assert_one_error``: the exit code is 1 or 2
(130 for Ctrl-C), stderr holds exactly one line starting with ``Error:``, that line has no
control character (no ANSI escape) and at most ``errors.LINE_LIMIT`` characters, and no
traceback appears anywhere. Also here: misbehaving TCP servers on 127.0.0.1 (one that accepts
and never answers, one that answers garbage, non-UTF-8 bytes or an HTML error page) and the
environment for AWS calls with fake credentials.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_ID = "hostile-key-id"
SECRET = "hostile-secret-never-printed"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def assert_one_error(exit_code: int, stderr: str, stdout: str = "", codes=(1, 2),
                     contains: str | None = None) -> str:
    """The hostile-suite contract; returns the Error line."""
    assert exit_code in codes, (exit_code, stderr[-2000:])
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr[-3000:]
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr[-2000:]
    line = lines[0]
    assert len(line) <= 1100, len(line)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in line), repr(line)
    assert SECRET not in stderr and SECRET not in stdout
    if contains is not None:
        assert contains in line, line
    return line


def check(res, codes=(1, 2), contains: str | None = None) -> str:
    """``assert_one_error`` on a click Result."""
    return assert_one_error(res.exit_code, res.stderr, res.stdout, codes, contains)


def aws_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment for AWS calls: fake credentials, no config, no endpoints."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "MCQUEUE_DASK"))}
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(tmp_path / "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
               AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def set_aws_env(monkeypatch, tmp_path: Path, **extra: str) -> None:
    for k in list(os.environ):
        if k.startswith(("AWS_", "MCQUEUE_DASK")):
            monkeypatch.delenv(k, raising=False)
    for k, v in aws_env(tmp_path, **extra).items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)


def mcqueue(*args: str, env: dict | None = None, timeout: float = 120,
            **kwargs) -> subprocess.CompletedProcess:
    """`python -m mcqueue ARGS` in a subprocess (text output)."""
    return subprocess.run([sys.executable, "-m", "mcqueue", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else dict(os.environ), **kwargs)


class TcpServer:
    """A TCP server on 127.0.0.1 that accepts every connection and then, by ``reply``:
    None: never answers (holds the socket open); bytes: reads the request, sends them and
    closes. Stops by itself when the test ends (``with``)."""

    def __init__(self, reply: bytes | None = None):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            if self.reply is None:
                self._held.append(conn)
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(self.reply)
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()

    def __enter__(self) -> "TcpServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        for c in self._held:
            c.close()
        self.sock.close()


def http_reply(status: str, body: bytes, content_type: str = "text/html") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: "
            f"{len(body)}\r\nConnection: close\r\n\r\n").encode() + body


HTML_PAGE = http_reply("502 Bad Gateway",
                       b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
                       b"<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx"
                       b"</center>\n</body>\n</html>\n" + b"<!-- padding -->\n" * 40)
NON_UTF8 = http_reply("200 OK", b"\xff\xfe\x00\x9b[31m\x80garbage\n\x00",
                      "application/x-amz-json-1.0")
GARBAGE = b"\x00\x01\x02 this is not HTTP at all\r\n\r\n\x1b[2J"


@contextlib.contextmanager
def timer():
    box = {}
    t0 = time.monotonic()
    yield box
    box["seconds"] = time.monotonic() - t0


def file_bytes(paths) -> dict:
    """{path: bytes or None} of every file, to compare before/after a failing command."""
    return {str(p): (Path(p).read_bytes() if Path(p).exists() else None) for p in paths}


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir())
