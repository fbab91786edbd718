"""Renderers of the DynamoDB table lifecycle results (``seed``, ``cleanup``)."""

from __future__ import annotations

import csv
import io
import json

from ..io.dynamo import DeleteResult, SeedResult


def _one_row_csv(row: dict) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return buf.getvalue()


def seed_table(res: SeedResult) -> str:
    lines = [
        f"table {res.table} ({res.region}, {res.endpoint})"
        + (": created (on-demand)" if res.created_table else ""),
        f"items: {res.items} in input, {res.written} written, {res.skipped} already present"
        + (f", {res.overwritten} overwritten" if res.overwritten else "")
        + (f", {res.conflicts} differing left alone (use --overwrite)" if res.conflicts else ""),
        f"capacity: {res.consumed_write_units:g} write units, {res.consumed_read_units:g} read "
        f"units, about ${res.cost_usd:.6f} on demand",
    ]
    return "\n".join(lines) + "\n"


def delete_row(res: DeleteResult) -> dict:
    return {"deleted": True, **res.to_dict()}


def delete_table(res: DeleteResult) -> str:
    return f"deleted {res.kind} {res.name} ({res.region}, {res.endpoint})\n"


RENDERERS = {
    SeedResult: {"table": seed_table, "json": lambda r: json.dumps(r.to_dict(), indent=2) + "\n",
                 "csv": lambda r: _one_row_csv(r.to_dict())},
    DeleteResult: {"table": delete_table,
                   "json": lambda r: json.dumps(delete_row(r), indent=2) + "\n",
                   "csv": lambda r: _one_row_csv(delete_row(r))},
}
