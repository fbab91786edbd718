"""One self-contained HTML page: title, facts, summary tables and charts inlined as SVG, and
optionally one section per part of a result (e.g. each scenario of a simulate run).

Nothing on the page is fetched: no script, font, image or style sheet by URL; the charts are
inline <svg> (from `mcqueue.report.charts.svg_markup`), the styles one inline <style>. A
Content-Security-Policy meta tag (``default-src 'none'``) makes that a rule the browser
enforces: even a script that slipped in would not run, and no request could leave the page.
Every text that reaches the page (titles, table cells, job ids, classes) is HTML-escaped here;
text inside the charts is escaped by matplotlib's SVG writer, and `ChartBlock` refuses markup
with a script, an event handler, a foreign object or a reference that is not page-internal.

This module does not import matplotlib: a page of tables alone needs no extra.
"""

from __future__ import annotations

import html
import math
import os
import re
from dataclasses import dataclass, field
from typing import Sequence

from ..io.files import write_atomic

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CHART_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 16px 20px 40px;
  font: 15px/1.45 "DejaVu Sans", "Bitstream Vera Sans", "Liberation Sans", Arial, Helvetica,
  sans-serif; color: #111; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.3em; }
section.part { margin-top: 2em; }
section.part > h2 { font-size: 1.35em; border-bottom: 2px solid #999; }
nav.contents ol { margin: 0.3em 0 1em; padding-left: 1.6em; }
p.subtitle { margin: 0 0 0.8em; color: #444; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0.6em 0; }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.92em; }
caption { text-align: left; font-weight: bold; padding: 0 0 4px; }
div.table { overflow-x: auto; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { border-bottom: 2px solid #999; }
figure.chart { margin: 0.8em 0 1.6em; }
figure.chart figcaption { font-size: 0.9em; color: #444; margin-top: 4px; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font-family: "DejaVu Sans", "Bitstream Vera Sans", "Liberation Sans", Arial,
  Helvetica, sans-serif; }
ul.notes { color: #444; font-size: 0.9em; padding-left: 1.2em; }
footer { margin-top: 2em; color: #777; font-size: 0.85em; }
@media print {
  @page { margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  figure.chart, table, dl.facts { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def escape(text) -> str:
    """Any value as HTML text (quotes too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


def cell(value) -> str:
    """A table cell's text: None empty, nan 'n/a', ints with thousands separators, other
    numbers to 4 significant digits, everything else str()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:,.4g}"
    return str(value)


@dataclass(frozen=True)
class Table:
    """A summary table: a header row and rows of strings or numbers."""

    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str = ""
    right: Sequence[bool] = ()  # columns to right-align whatever their cells (numbers always are)

    def __post_init__(self):
        width = len(self.header)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"table row {i + 1} has {len(row)} cells, the header {width}")
        if self.right and len(self.right) != width:
            raise ValueError(f"table right-alignment has {len(self.right)} entries, the "
                             f"header {width}")


_TAG = re.compile(r"<[^>]*>")
_FORBIDDEN = re.compile(r"<\s*/?\s*(script|foreignobject|iframe|object|embed|image|img|a)\b"
                        r"|\son[a-z]+\s*=|@import", re.I)
_REFERENCE = re.compile(r"""(?:href\s*=\s*["']|url\(\s*["']?)([^"')]*)""", re.I)


def _check_svg(markup: str) -> None:
    """Refuse chart markup that could run code or fetch anything: only tags are inspected (text
    nodes are escaped text); every href/url() must point inside the page ('#id')."""
    if not (markup.startswith("<svg") and markup.rstrip().endswith("</svg>")):
        raise ValueError("chart markup must be one <svg> element")
    for tag in _TAG.findall(markup):
        if _FORBIDDEN.search(tag):
            raise ValueError(f"chart markup has a forbidden element or attribute: {tag[:80]!r}")
        for ref in _REFERENCE.findall(tag):
            if not ref.startswith("#"):
                raise ValueError(f"chart markup refers outside the page: {ref[:80]!r}")


@dataclass(frozen=True)
class ChartBlock:
    """One chart on the page: a stable element id (given to the <svg>), a heading, the markup
    from `charts.svg_markup`, and an optional caption."""

    chart_id: str
    title: str
    svg: str
    caption: str = ""

    def __post_init__(self):
        if not CHART_ID.match(self.chart_id):
            raise ValueError(f"chart id must match {CHART_ID.pattern}, got {self.chart_id!r}")
        _check_svg(self.svg)


@dataclass(frozen=True)
class Section:
    """One part of a page (e.g. one scenario) under its own heading: facts, tables, charts and
    notes, in that order. ``anchor`` (an id like a chart id) lets the page's contents link to
    it."""

    title: str
    anchor: str
    facts: Sequence[tuple[str, object]] = field(default=())
    tables: Sequence[Table] = field(default=())
    charts: Sequence[ChartBlock] = field(default=())
    notes: Sequence[str] = field(default=())

    def __post_init__(self):
        if not CHART_ID.match(self.anchor):
            raise ValueError(f"section anchor must match {CHART_ID.pattern}, got "
                             f"{self.anchor!r}")


@dataclass(frozen=True)
class Page:
    """Everything on a report page, in order: facts (label, value pairs), tables, charts,
    notes, then the sections (with a list of contents when there are two or more)."""

    title: str
    subtitle: str = ""
    facts: Sequence[tuple[str, object]] = field(default=())
    tables: Sequence[Table] = field(default=())
    charts: Sequence[ChartBlock] = field(default=())
    notes: Sequence[str] = field(default=())
    generator: str = "mcqueue"
    sections: Sequence[Section] = field(default=())


def _table_html(t: Table) -> list[str]:
    out = ['<div class="table"><table>']
    if t.caption:
        out.append(f"<caption>{escape(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th scope=\"col\">{escape(h)}</th>" for h in t.header)
               + "</tr></thead><tbody>")
    for row in t.rows:
        cells = []
        for k, v in enumerate(row):
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cls = ' class="num"' if num or (t.right and t.right[k]) else ""
            cells.append(f"<td{cls}>{escape(cell(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return out


def _chart_html(c: ChartBlock, level: int = 2) -> list[str]:
    svg = c.svg.replace("<svg", f'<svg id="{c.chart_id}" class="chart" role="img" '
                                f'aria-label="{escape(c.title)}"', 1)
    out = [f'<section aria-labelledby="{c.chart_id}-title">',
           f'<h{level} id="{c.chart_id}-title">{escape(c.title)}</h{level}>',
           '<figure class="chart">', svg]
    if c.caption:
        out.append(f"<figcaption>{escape(c.caption)}</figcaption>")
    out += ["</figure>", "</section>"]
    return out


def _facts_html(facts: Sequence[tuple[str, object]]) -> list[str]:
    if not facts:
        return []
    return (['<dl class="facts">']
            + [f"<dt>{escape(k)}</dt><dd>{escape(cell(v))}</dd>" for k, v in facts]
            + ["</dl>"])


def _notes_html(notes: Sequence[str]) -> list[str]:
    if not notes:
        return []
    return ['<ul class="notes">'] + [f"<li>{escape(n)}</li>" for n in notes] + ["</ul>"]


def _section_html(s: Section) -> list[str]:
    out = [f'<section class="part" id="{s.anchor}" aria-labelledby="{s.anchor}-title">',
           f'<h2 id="{s.anchor}-title">{escape(s.title)}</h2>']
    out += _facts_html(s.facts)
    for t in s.tables:
        out += _table_html(t)
    for c in s.charts:
        out += _chart_html(c, level=3)
    out += _notes_html(s.notes)
    out.append("</section>")
    return out


def build_page(page: Page) -> str:
    """The page as one HTML document (same page, same text: no dates, no random ids)."""
    ids = [c.chart_id for c in page.charts]
    ids += [c.chart_id for s in page.sections for c in s.charts]
    ids += [s.anchor for s in page.sections]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"chart ids must be unique on a page, repeated: {', '.join(dup)}")
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<meta name="generator" content="{escape(page.generator)}">',
           f"<title>{escape(page.title)}</title>", f"<style>{CSS}</style>", "</head>",
           "<body>", "<header>", f"<h1>{escape(page.title)}</h1>"]
    if page.subtitle:
        out.append(f'<p class="subtitle">{escape(page.subtitle)}</p>')
    out.append("</header>")
    out += _facts_html(page.facts)
    for t in page.tables:
        out += _table_html(t)
    for c in page.charts:
        out += _chart_html(c)
    out += _notes_html(page.notes)
    if len(page.sections) > 1:
        out += ['<nav class="contents" aria-label="contents"><ol>']
        out += [f'<li><a href="#{s.anchor}">{escape(s.title)}</a></li>' for s in page.sections]
        out += ["</ol></nav>"]
    for s in page.sections:
        out += _section_html(s)
    out += [f"<footer>Made by {escape(page.generator)}.</footer>", "</body>", "</html>", ""]
    return "\n".join(out)


def write_page(path: str | os.PathLike, page: Page) -> None:
    """Build the page and write it to ``path`` atomically (UTF-8)."""
    write_atomic(path, build_page(page))
