"""A real headless Chromium for the report tests, driven over the DevTools protocol.

Debian's `chromium` package (scripts/ensure_chromium.sh installs it) is started with its own
throw-away profile and `--remote-debugging-port=0`; the port Chromium picked is read from the
profile's DevToolsActivePort file, and one websocket (the `websocket-client` package) carries
the protocol, with a flattened session for the page. The page runs offline
(Network.emulateNetworkConditions) and every request it makes is recorded, as are console
messages, uncaught exceptions, log entries and JavaScript dialogs (alert/confirm/prompt).

`Browser` always ends Chromium (the whole process group it started, by id) and removes the
profile folder, also when starting fails half-way or a test fails.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHROMIUM = os.environ.get("MCQUEUE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-port=0")
START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


@dataclass
class PageLoad:
    """What happened while a page loaded and first rendered."""

    url: str
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    load_ms: float = float("nan")  # navigation start -> load event end (the page's own clock)
    render_ms: float = float("nan")  # navigation start -> two frames painted after load

    @property
    def outside_requests(self) -> list[str]:
        """Requests for anything but a file: URL (the report itself)."""
        return [u for u in self.requests if not u.startswith("file:")]


class Browser:
    """One headless Chromium with one page. Use as a context manager (or call close())."""

    def __init__(self, binary: str = CHROMIUM, width: int = 1280, height: int = 900):
        if not os.path.exists(binary):
            raise BrowserError(f"{binary} not found: install Chromium with "
                               f"scripts/ensure_chromium.sh (apt-get install -y chromium)")
        import websocket  # websocket-client, from the test extra

        self._ws = None
        self._proc = None
        self._next_id = 0
        self._events: list[dict] = []
        self._session = None
        self._stderr = None
        self._profile = tempfile.mkdtemp(prefix="mcqueue-chromium-")
        try:
            self._stderr = open(os.path.join(self._profile, "stderr.log"), "wb")
            self._proc = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                start_new_session=True)  # its own process group: close() ends all of it
            port, path = self._wait_for_port()
            self._ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}",
                                                   timeout=CALL_TIMEOUT, suppress_origin=True)
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget",
                                      {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send("Network.emulateNetworkConditions",
                      {"offline": True, "latency": 0, "downloadThroughput": -1,
                       "uploadThroughput": -1})
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": False})
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ process
    def _wait_for_port(self) -> tuple[int, str]:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self._proc.returncode}: "
                                   f"{self._stderr_tail()}")
            try:
                lines = marker.read_text().split("\n")
                if len(lines) >= 2 and lines[0].strip().isdigit() and lines[1].strip():
                    return int(lines[0]), lines[1].strip()
            except OSError:
                pass
            time.sleep(0.05)
        raise BrowserError(f"chromium wrote no DevToolsActivePort in {START_TIMEOUT:g} s: "
                           f"{self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        try:
            return Path(self._profile, "stderr.log").read_text(errors="replace")[-800:]
        except OSError:
            return "(no stderr)"

    def close(self) -> None:
        """End Chromium (politely, then its process group by force) and delete the profile."""
        try:
            if self._ws is not None:
                try:
                    self._session = None
                    self._ws.settimeout(5)
                    self.send("Browser.close")
                except Exception:  # already gone: the kill below makes sure
                    pass
                try:
                    self._ws.close()
                except Exception:
                    pass
                self._ws = None
        finally:
            try:
                if self._proc is not None:
                    try:
                        self._proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
                    try:
                        os.killpg(self._proc.pid, signal.SIGKILL)  # the group we started
                    except ProcessLookupError:
                        pass
                    try:
                        self._proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
                    self._proc = None
            finally:
                if self._stderr is not None:
                    self._stderr.close()
                shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ protocol
    def send(self, method: str, params: dict | None = None) -> dict:
        """Call a DevTools method (on the page's session once attached); its result."""
        return self.call(method, params, self._session)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = CALL_TIMEOUT) -> dict:
        my_id = self._post(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            m = self._receive(deadline, method)
            if m.get("id") == my_id:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error']}")
                return m.get("result", {})

    def _post(self, method: str, params: dict | None, session: str | None) -> int:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._ws.send(json.dumps(msg))
        return self._next_id

    def _receive(self, deadline: float, what: str) -> dict:
        """The next message; events are also kept in ``_events``. A JavaScript dialog is
        dismissed at once (it would block the page), and recorded."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer from chromium to {what}")
        self._ws.settimeout(left)
        m = json.loads(self._ws.recv())
        if "method" in m:
            self._events.append(m)
            if m["method"] == "Page.javascriptDialogOpening":
                self._post("Page.handleJavaScriptDialog", {"accept": False},
                           m.get("sessionId"))
        return m

    def wait_for(self, event: str, timeout: float = CALL_TIMEOUT) -> dict:
        """The next event named ``event`` (events already received count)."""
        for m in self._events:
            if m.get("method") == event:
                return m
        deadline = time.monotonic() + timeout
        while True:
            m = self._receive(deadline, f"event {event}")
            if m.get("method") == event:
                return m

    def evaluate(self, expression: str, await_promise: bool = False):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": await_promise})
        if "exceptionDetails" in r:
            raise BrowserError(f"{expression[:60]!r} threw: {r['exceptionDetails']}")
        return r["result"].get("value")

    # ------------------------------------------------------------ pages
    def open(self, path: str | os.PathLike, timeout: float = 60.0) -> PageLoad:
        """Load a local file and wait until it has rendered; what happened meanwhile."""
        url = Path(path).resolve().as_uri()
        self._events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired", timeout)
        # two animation frames after load: the page has been laid out and painted
        render_ms = self.evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
            "() => r(performance.now()))))", await_promise=True)
        nav = self.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
        self.evaluate("1")  # drain events queued before this point
        load = PageLoad(url=url, load_ms=float(json.loads(nav)["loadEventEnd"]),
                        render_ms=float(render_ms))
        self._collect(load)
        return load

    def _collect(self, load: PageLoad) -> None:
        for m in self._events:
            method, p = m.get("method"), m.get("params", {})
            if method == "Network.requestWillBeSent":
                load.requests.append(p["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                load.console_errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                load.console_errors.append(json.dumps(p["exceptionDetails"])[:500])
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                load.console_errors.append(f"{p['entry'].get('url', '')}: "
                                           f"{p['entry']['text']}")
            elif method == "Page.javascriptDialogOpening":
                load.dialogs.append(f"{p.get('type')}: {p.get('message')}")
        self._events.clear()

    def element_box(self, element_id: str) -> dict:
        """The element's box in page (document) coordinates, CSS pixels."""
        box = self.evaluate(
            f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
            " if (!e) return null; const r = e.getBoundingClientRect();"
            " return {x: r.left + window.scrollX, y: r.top + window.scrollY,"
            " width: r.width, height: r.height}; })()")
        if box is None:
            raise BrowserError(f"no element with id {element_id!r} on the page")
        return box

    def screenshot(self, element_id: str) -> bytes:
        """PNG of the element's bounding box (beyond the viewport if needed)."""
        b = self.element_box(element_id)
        r = self.send("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True,
                       "clip": {"x": b["x"], "y": b["y"], "width": b["width"],
                                "height": b["height"], "scale": 1}})
        return base64.b64decode(r["data"])


def png_pixels(png: bytes) -> np.ndarray:
    """Decoded PNG as an (h, w, channels) array (matplotlib's reader, via Pillow)."""
    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


def distinct_colours(png: bytes) -> int:
    px = png_pixels(png)
    return int(np.unique(px.reshape(-1, px.shape[-1]), axis=0).shape[0])


def live_processes(group: int) -> list[int]:
    """Processes of a process group that are still running (zombies waiting for init to reap
    them are dead and not counted); Linux /proc."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state not in ("Z", "X"):
            alive.append(int(entry))
    return alive
