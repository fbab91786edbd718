"""A real DynamoDB-compatible server on 127.0.0.1 for the integration tests and the benchmark.

scripts/test.sh starts one before pytest and exports MCQUEUE_TEST_DYNAMODB_ENDPOINT; when that is
not set (plain `pytest`), `dynamodb_endpoint()` starts one itself: dynalite from npm (installed
into .cache/node on first use; Node.js is on the machine), or moto's server mode when Node.js is
missing. Also: a small fault-injecting HTTP proxy (throttling, 500s, partial batch writes).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PREFIX = ROOT / ".cache" / "node"
DYNALITE = NODE_PREFIX / "node_modules" / "dynalite" / "cli.js"
DYNALITE_VERSION = "4.0.0"
ENV_VAR = "MCQUEUE_TEST_DYNAMODB_ENDPOINT"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"DynamoDB test server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"DynamoDB test server did not listen on 127.0.0.1:{port} in {timeout} s")


def install_dynalite() -> Path:
    if not DYNALITE.exists():
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save",
                        "--no-package-lock", "--prefix", str(NODE_PREFIX),
                        f"dynalite@{DYNALITE_VERSION}"], check=True,
                       stdout=subprocess.DEVNULL)
    return DYNALITE


def start_server(port: int | None = None) -> tuple[subprocess.Popen, str]:
    """(process, endpoint URL): dynalite if node and npm exist, moto_server otherwise."""
    port = port or free_port()
    if shutil.which("node") and shutil.which("npm"):
        cmd = ["node", str(install_dynalite()), "--port", str(port), "--host", "127.0.0.1",
               "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50"]
    else:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def dynamodb_endpoint():
    """The endpoint from scripts/test.sh, or a server started (and stopped) here."""
    given = os.environ.get(ENV_VAR)
    if given:
        yield given
        return
    proc, url = start_server()
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def big_night(n_jobs: int, batch_date: str = "2026-06-01", seed: int = 0):
    """A raw (all-string) frame of ``n_jobs`` records for one night, like a file would give."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    minutes = 60 + 15 * rng.integers(0, 16, n_jobs)  # windows 01:00 .. 04:45
    windows = [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]
    ids = [f"JOB-{i:06d}" for i in range(n_jobs)]
    return pl.DataFrame({
        "batch_date": [batch_date] * n_jobs,
        "window_job_id": [f"{w}#{j}" for w, j in zip(windows, ids)],
        "job_id": ids,
        "requested_window": windows,
        "submitted_at": [f"{batch_date}T00:00:00Z"] * n_jobs,
        "workload_class": rng.choice(["etl", "refresh", "backfill", "index_maintenance"],
                                     n_jobs).tolist(),
        "estimated_runtime_minutes": [f"{x:.2f}" for x in rng.uniform(0.5, 90, n_jobs)],
        "priority": rng.integers(1, 4, n_jobs).astype(str).tolist(),
        "requires_exclusive_lock": np.where(rng.random(n_jobs) < 0.02, "true",
                                            "false").tolist(),
        "status": ["queued"] * n_jobs,
    })


# ------------------------------------------------------------------------ fault injection
class FaultProxy:
    """HTTP proxy on 127.0.0.1 in front of the DynamoDB server that injects failures.

    ``plan(target, body, n) -> action`` decides per request (``target`` e.g. "Query",
    ``n`` = how many requests of that target came before). Actions: None (forward),
    ("error", status, code) (answer with that DynamoDB error, not forwarded),
    ("partial", k) for BatchWriteItem (forward all but the last k puts, hand those back as
    UnprocessedItems). ``log`` records (target, action) per request.
    """

    def __init__(self, upstream: str, plan):
        self.upstream = upstream.rstrip("/")
        self.plan = plan
        self.log: list[tuple[str, object]] = []
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                with proxy._lock:
                    n = proxy.counts.get(target, 0)
                    proxy.counts[target] = n + 1
                action = proxy.plan(target, json.loads(body or b"{}"), n)
                proxy.log.append((target, action))
                if action and action[0] == "error":
                    _, status, code = action
                    payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                                          "message": f"injected {code}"}).encode()
                    return self._reply(status, payload)
                unprocessed = None
                if action and action[0] == "partial":
                    req = json.loads(body)
                    (table, puts), = req["RequestItems"].items()
                    k = min(action[1], len(puts) - 1)
                    keep, unprocessed = puts[:len(puts) - k], {table: puts[len(puts) - k:]}
                    req["RequestItems"] = {table: keep}
                    body = json.dumps(req).encode()
                status, payload = proxy._forward(self.headers, body)
                if unprocessed is not None and status == 200:
                    resp = json.loads(payload)
                    resp["UnprocessedItems"] = unprocessed
                    payload = json.dumps(resp).encode()
                self._reply(status, payload)

            def _reply(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _forward(self, headers, body: bytes) -> tuple[int, bytes]:
        skip = {"host", "content-length", "connection", "accept-encoding"}
        req = urllib.request.Request(self.upstream + "/", data=body, method="POST",
                                     headers={k: v for k, v in headers.items()
                                              if k.lower() not in skip})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


if __name__ == "__main__":  # manual use: python tests/dynamo_server.py  (Ctrl-C to stop)
    p, u = start_server()
    print(u, flush=True)
    try:
        p.wait()
    except KeyboardInterrupt:
        p.terminate()
        p.wait()
