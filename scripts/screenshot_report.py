#!/usr/bin/env python3
"""The README's screenshot of a real report: runs `mcqueue simulate --format html` (the
tutorial's two scenarios on the built-in sample), opens the page in the headless Chromium of the
browser tests (tests/browser.py: offline, its own profile), and saves the first scenario's
drain-time chart and deterministic Gantt as docs/images/report.png.

    python scripts/screenshot_report.py            # writes docs/images/report.png
    python scripts/screenshot_report.py -o x.png

Needs the report extra (matplotlib, which also brings Pillow), websocket-client (the test
extra) and Debian's chromium (scripts/ensure_chromium.sh). The PNG is reduced to a 64-colour
palette to stay small in the repository.
"""

from __future__ import annotations

import argparse
import base64
import io
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser harness of the tests

WIDTH = 1100  # CSS pixels of the browser window (the page is at most 1,000 wide)
SCALE = 0.75  # of the screenshot: about 750 pixels wide
FIRST, LAST = "s1-chart-drain-title", "s1-chart-gantt-1"  # heading of the first chart ..


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "images" / "report.png"))
    args = ap.parse_args(argv)

    from browser import Browser
    from PIL import Image

    from mcqueue.io.files import write_atomic

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        subprocess.run([sys.executable, "-m", "mcqueue", "simulate", "--format", "html",
                        "--output", str(page)], check=True, cwd=ROOT)
        with Browser(width=WIDTH, height=900) as b:
            load = b.open(page)
            if load.console_errors or load.requests != [load.url]:
                raise SystemExit(f"the report did not load cleanly: {load}")
            top = b.element_box(FIRST)
            bottom = b.element_box(LAST)
            body = b.element_box("s1")
            clip = {"x": body["x"] - 10, "y": top["y"] - 8, "width": body["width"] + 20,
                    "height": bottom["y"] + bottom["height"] - top["y"] + 14, "scale": SCALE}
            shot = b.send("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                     "captureBeyondViewport": True})
    img = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    small = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, buf.getvalue())
    print(f"wrote {out} ({img.width}x{img.height}, {len(buf.getvalue()) / 1000:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
