"""The scenarios file of ``mcqueue whatif``: TOML, read with the standard library's tomllib.

A file is a list of scenarios; a scenario is a name and a list of changes, each change one
table with exactly one *action key* (what it changes) and the keys that say to which jobs::

    [[scenario]]
    name = "backfill runs 50% longer"
    changes = [{ runtime = 1.5, class = "backfill" }]

    [[scenario]]
    name = "feed late, one worker fewer from 03:00"
    changes = [
      { delay = 30, window = "02:00" },
      { capacity = ["03:00=-1"] },
    ]

| action key | value | other keys | effect |
|---|---|---|---|
| `runtime` | number > 0 | `class` or `job` (neither: every job) | estimated runtime x value |
| `delay` | minutes (number, may be negative) | `window` (HH:MM) or `job` | planned arrival + value |
| `add` | a job record (table) | | one more job, validated like any record |
| `skip` | job_id | | the job does not run; jobs depending on it no longer wait for it |
| `priority` | integer | `job` | the job's priority |
| `slots` | integer >= 1 | `job` | workers the job holds while it runs |
| `deadline` | HH:MM, or "" for none | `job` | the job's deadline (none: the cutoff) |
| `depends_on` | list of job_ids (or one ';'-separated string; [] for none) | `job` | the job's predecessors |
| `workers` | integer >= 1 | | the pool size |
| `capacity` | list of "HH:MM=N" / "HH:MM=+N" / "HH:MM=-N" | | the pool over the night |
| `cutoff` | HH:MM | | the batch end |
| `policy` | tutorial, priority, fifo or backfill | `backfill_depth` (backfill only) | the scheduling policy |

This module only reads and checks the file's *shape* (keys, types, ranges) and returns
`ScenarioSpec` objects; whether a job, class or window exists is checked against the night in
`mcqueue.analysis.whatif`. Every problem is one `DataError` naming the scenario (its name and
position), the change (its position and kind) and the key, and the value.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError, quote
from .scheduling import CapacityStep

MAX_FILE_BYTES = 1 << 20  # a scenarios file is at most 1 MiB
MAX_SCENARIOS = 200
MAX_CHANGES = 1000  # per scenario
MAX_NAME = 200  # characters of a scenario name
MAX_MINUTES = 1e9  # the engine's bound on minutes (mcqueue.engine.night.MAX_MINUTES)
MAX_INT = 2**63 - 1
POLICIES = ("tutorial", "priority", "fifo", "backfill")
BASELINE = "baseline"  # the name of the reference row: not a scenario name
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
CAPACITY_STEP = re.compile(r"^\s*(\d{2}:\d{2})\s*=\s*([+-]?)\s*(\d{1,9})\s*$")

# the action keys, in the order a change table is matched against them, with the other keys
# each kind takes (and which of those it needs)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    # kind: (other keys allowed, target rule: "" none, "job" job required,
    #        "class|job" at most one, "window|job" exactly one)
    "runtime": (("class", "job"), "class|job?"),
    "delay": (("window", "job"), "window|job"),
    "add": ((), ""),
    "skip": ((), ""),
    "priority": (("job",), "job"),
    "slots": (("job",), "job"),
    "deadline": (("job",), "job"),
    "depends_on": (("job",), "job"),
    "workers": ((), ""),
    "capacity": ((), ""),
    "cutoff": ((), ""),
    "policy": (("backfill_depth",), ""),
}
# changes a scenario may hold at most once (they set one value of the scenario)
SINGLE = ("workers", "capacity", "cutoff", "policy")
# the record fields an added job may carry (any other key is refused: a typo in an optional
# field must not pass silently)
RECORD_FIELDS = ("batch_date", "job_id", "requested_window", "workload_class",
                 "estimated_runtime_minutes", "priority", "requires_exclusive_lock",
                 "window_job_id", "submitted_at", "status", "arrival_minute", "job_name",
                 "runtime_cv", "depends_on", "deadline", "slots", "locks")


@dataclass(frozen=True)
class Change:
    """One change of a scenario: its ``kind`` (the action key), ``value`` (checked and
    converted: a float factor or minutes, an int, a string, a tuple of ids or capacity steps,
    a dict record), the target keys it has (``job``, ``class``, ``window``), ``options``
    (``backfill_depth``) and ``spec``, the table as written (for the report)."""

    index: int  # 1-based position in the scenario
    kind: str
    value: Any
    job: str | None = None
    klass: str | None = None
    window: str | None = None
    options: dict = field(default_factory=dict)
    spec: dict = field(default_factory=dict)

    def where(self, scenario: "ScenarioSpec") -> str:
        """How messages name this change: ``scenario 'S' (#2), change 3 (runtime)``."""
        return f"{scenario.where}, change {self.index} ({self.kind})"


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario as the file gives it: a name, its position (from 1) and its changes."""

    name: str
    position: int
    changes: tuple[Change, ...]

    @property
    def where(self) -> str:
        return f"scenario {quote(self.name)} (#{self.position})"


# ---------------------------------------------------------------- reading
def read_scenarios(path: str, max_bytes: int = MAX_FILE_BYTES) -> list[ScenarioSpec]:
    """The scenarios of a TOML file (a regular file of at most ``max_bytes``, UTF-8)."""
    from ..io.files import open_regular

    shown = quote(str(path))
    with open_regular(path, "scenarios file") as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise DataError(f"cannot read {shown}: a scenarios file is at most {max_bytes:,} "
                        f"bytes")
    return parse_scenarios(data, shown)


def parse_scenarios(data: bytes | str, shown: str = "the scenarios file") -> list[ScenarioSpec]:
    """Parse and check scenarios from TOML text (bytes must be UTF-8; a BOM is allowed)."""
    import tomllib

    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"cannot read {shown}: not UTF-8 text (byte {exc.start} is "
                            f"{data[exc.start:exc.start + 1]!r})") from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"cannot read {shown}: not valid TOML ({exc})") from None
    except RecursionError:
        raise DataError(f"cannot read {shown}: nested too deeply") from None
    return scenarios_from_dict(doc, shown)


def scenarios_from_dict(doc: Any, shown: str = "the scenarios file") -> list[ScenarioSpec]:
    """Check a parsed document (``{"scenario": [{"name": ..., "changes": [...]}, ...]}``)."""
    if not isinstance(doc, dict):
        raise DataError(f"{shown}: must be a table of scenarios")
    unknown = [k for k in doc if k != "scenario"]
    if unknown:
        raise DataError(f"{shown}: unknown key {quote(unknown[0])} at the top level (a "
                        f"scenarios file holds [[scenario]] tables only)")
    items = doc.get("scenario")
    if items is None:
        raise DataError(f"{shown}: no scenario (give one or more [[scenario]] tables, each "
                        f"with a name and changes)")
    if not isinstance(items, list) or not all(isinstance(s, dict) for s in items):
        raise DataError(f"{shown}: 'scenario' must be an array of tables ([[scenario]]), got "
                        f"{_kind(items)}")
    if not items:
        raise DataError(f"{shown}: no scenario (the [[scenario]] array is empty)")
    if len(items) > MAX_SCENARIOS:
        raise DataError(f"{shown}: {len(items):,} scenarios; at most {MAX_SCENARIOS} per run")
    out: list[ScenarioSpec] = []
    seen: dict[str, int] = {}
    for pos, item in enumerate(items, 1):
        spec = _scenario(item, pos)
        if spec.name in seen:
            raise DataError(f"{spec.where}: name repeats scenario #{seen[spec.name]}; give "
                            f"every scenario its own name")
        seen[spec.name] = pos
        out.append(spec)
    return out


def _kind(value: Any) -> str:
    """A TOML value's type as messages name it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, _dt.datetime):
        return "a date-time"
    if isinstance(value, _dt.date):
        return "a date"
    if isinstance(value, _dt.time):
        return "a time"
    return type(value).__name__


def _shown(value: Any) -> str:
    """A TOML value in a message: quoted strings, numbers as written, else its kind."""
    if isinstance(value, (str, int, float, bool)):
        return quote(value)
    return _kind(value)


def _scenario(item: dict, pos: int) -> ScenarioSpec:
    where = f"scenario #{pos}"
    for key in item:
        if key not in ("name", "changes"):
            raise DataError(f"{where}: unknown key {quote(key)} (a scenario has a name and "
                            f"changes)")
    name = item.get("name")
    if name is None:
        raise DataError(f"{where}: missing key 'name'")
    if not isinstance(name, str):
        raise DataError(f"{where}: key 'name' must be a string, got {_shown(name)}")
    if not name.strip() or not name.isprintable() or len(name) > MAX_NAME:
        raise DataError(f"{where}: key 'name' must be 1 to {MAX_NAME} printable characters, "
                        f"got {quote(name)}")
    if name.strip() != name:
        raise DataError(f"{where}: key 'name' has blanks around it, got {quote(name)}")
    if name == BASELINE:
        raise DataError(f"{where}: the name 'baseline' is the reference row; name the "
                        f"scenario differently")
    scen_where = f"scenario {quote(name)} (#{pos})"
    changes = item.get("changes", [])
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise DataError(f"{scen_where}: key 'changes' must be an array of tables, got "
                        f"{_kind(changes)}")
    if len(changes) > MAX_CHANGES:
        raise DataError(f"{scen_where}: {len(changes):,} changes; at most {MAX_CHANGES} per "
                        f"scenario")
    parsed = tuple(_change(c, k, scen_where) for k, c in enumerate(changes, 1))
    for kind in SINGLE:
        at = [c.index for c in parsed if c.kind == kind]
        if len(at) > 1:
            raise DataError(f"{scen_where}, change {at[1]} ({kind}): the scenario already "
                            f"sets {kind} in change {at[0]}; give it once")
    return ScenarioSpec(name, pos, parsed)


def _change(table: dict, index: int, scen_where: str) -> Change:
    actions = [k for k in table if k in KINDS]
    if not actions:
        keys = ", ".join(quote(k) for k in list(table)[:5]) or "none"
        raise DataError(f"{scen_where}, change {index}: no action key (one of "
                        f"{', '.join(KINDS)}); keys given: {keys}")
    if len(actions) > 1:
        raise DataError(f"{scen_where}, change {index}: keys {quote(actions[0])} and "
                        f"{quote(actions[1])} are two changes; give each its own table")
    kind = actions[0]
    where = f"{scen_where}, change {index} ({kind})"
    allowed, rule = KINDS[kind]
    for key in table:
        if key != kind and key not in allowed:
            takes = ", ".join((kind,) + allowed)
            raise DataError(f"{where}: unknown key {quote(key)} (a {kind} change takes: "
                            f"{takes})")
    job = _target(table, "job", where)
    klass = _target(table, "class", where)
    window = _target(table, "window", where)
    if window is not None and not HHMM.match(window):
        raise DataError(f"{where}: key 'window' must be HH:MM (00:00 to 23:59), got "
                        f"{quote(window)}")
    if rule == "job" and job is None:
        raise DataError(f"{where}: missing key 'job' (the job_id it changes)")
    if rule == "window|job" and (job is None) == (window is None):
        raise DataError(f"{where}: give exactly one of 'window' (every job of a requested "
                        f"window) and 'job'")
    if rule == "class|job?" and job is not None and klass is not None:
        raise DataError(f"{where}: give at most one of 'class' and 'job' (neither: every "
                        f"job)")
    value = _VALUES[kind](table[kind], f"{where}: key {quote(kind)}")
    options: dict = {}
    if "backfill_depth" in table:
        depth = _integer(table["backfill_depth"], f"{where}: key 'backfill_depth'", 0,
                         2**31 - 1)
        if value != "backfill":
            raise DataError(f"{where}: key 'backfill_depth' applies to policy 'backfill' "
                            f"only, got policy {quote(value)}")
        options["backfill_depth"] = depth
    return Change(index, kind, value, job, klass, window, options, _plain_table(table))


def _target(table: dict, key: str, where: str) -> str | None:
    if key not in table:
        return None
    v = table[key]
    if not isinstance(v, str) or not v.strip():
        raise DataError(f"{where}: key {quote(key)} must be a non-empty string, got "
                        f"{_shown(v)}")
    return v


def _plain_table(value: Any) -> Any:
    """A TOML value as JSON can hold it (dates and times as ISO text)."""
    if isinstance(value, dict):
        return {k: _plain_table(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_table(v) for v in value]
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ---------------------------------------------------------------- values
def _number(v: Any, what: str, problem: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DataError(f"{what} must be {problem}, got {_shown(v)}")
    try:
        x = float(v)
    except OverflowError:  # an integer past the float range
        raise DataError(f"{what} must be {problem}, got {quote(v)}") from None
    if not math.isfinite(x):
        raise DataError(f"{what} must be {problem}, got {quote(v)}")
    return x


def _factor(v: Any, what: str) -> float:
    x = _number(v, what, "a finite number > 0")
    if not x > 0:
        raise DataError(f"{what} must be a finite number > 0, got {quote(v)}")
    return x


def _minutes(v: Any, what: str) -> float:
    x = _number(v, what, f"a number of minutes (at most {MAX_MINUTES:,.0f} either way)")
    if abs(x) > MAX_MINUTES:
        raise DataError(f"{what} must be a number of minutes (at most {MAX_MINUTES:,.0f} "
                        f"either way), got {quote(v)}")
    return x


def _integer(v: Any, what: str, least: int, most: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not least <= v <= most:
        bound = f"from {least:,} to {most:,}" if most < MAX_INT else f">= {least}"
        raise DataError(f"{what} must be an integer {bound}, got {_shown(v)}")
    return int(v)


def _priority(v: Any, what: str) -> int:
    return _integer(v, what, -2**53, 2**53)


def _slots(v: Any, what: str) -> int:
    return _integer(v, what, 1, 2**31 - 1)


def _workers(v: Any, what: str) -> int:
    return _integer(v, what, 1, MAX_INT)


def _job_id(v: Any, what: str) -> str:
    if not isinstance(v, str) or not v:
        raise DataError(f"{what} must be a job_id (a non-empty string), got {_shown(v)}")
    return v


def _deadline(v: Any, what: str) -> str:
    if not isinstance(v, str) or not (v == "" or HHMM.match(v)):
        raise DataError(f"{what} must be HH:MM (00:00 to 23:59), or \"\" for no deadline of "
                        f"its own, got {_shown(v)}")
    return v


def _ids(v: Any, what: str) -> tuple[str, ...]:
    if isinstance(v, str):
        return tuple(p.strip() for p in v.split(";") if p.strip())
    if not isinstance(v, list):
        raise DataError(f"{what} must be a list of job_ids (or one ';'-separated string), "
                        f"got {_shown(v)}")
    out = []
    for e in v:
        if not isinstance(e, str) or not e.strip():
            raise DataError(f"{what} must hold job_ids (non-empty strings), got {_shown(e)}")
        out.append(e.strip())
    return tuple(out)


def parse_capacity_step(text: Any, what: str) -> CapacityStep:
    """``'03:00=5'``, ``'03:00=+2'``, ``'03:00=-2'`` -> CapacityStep (the syntax of
    ``--capacity``)."""
    m = CAPACITY_STEP.match(text) if isinstance(text, str) else None
    if m is None or not HHMM.match(m.group(1)):
        raise DataError(f"{what} must be steps HH:MM=N (N workers from that clock time), "
                        f"HH:MM=+N or HH:MM=-N (relative to the workers), got {_shown(text)}")
    size = int(m.group(3))
    sign = m.group(2)
    return CapacityStep(m.group(1), -size if sign == "-" else size, relative=bool(sign))


def _capacity(v: Any, what: str) -> tuple[CapacityStep, ...]:
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not items:
        raise DataError(f"{what} must be a non-empty list of steps like \"03:00=-2\", got "
                        f"{_shown(v)}")
    return tuple(parse_capacity_step(s, what) for s in items)


def _cutoff(v: Any, what: str) -> str:
    if not isinstance(v, str) or not HHMM.match(v):
        raise DataError(f"{what} must be HH:MM (00:00 to 23:59), got {_shown(v)}")
    return v


def _policy(v: Any, what: str) -> str:
    if not isinstance(v, str) or v not in POLICIES:
        raise DataError(f"{what} must be one of {', '.join(POLICIES)}, got {_shown(v)}")
    return v


def _record(v: Any, what: str) -> dict:
    if not isinstance(v, dict):
        raise DataError(f"{what} must be a job record (a table of fields), got {_shown(v)}")
    for key, value in v.items():
        if key not in RECORD_FIELDS:
            raise DataError(f"{what}: unknown field {quote(key)} (record fields: "
                            f"{', '.join(RECORD_FIELDS)})")
        if isinstance(value, dict):
            raise DataError(f"{what}: field {quote(key)} must be a value, got a table")
    return dict(v)


_VALUES = {
    "runtime": _factor, "delay": _minutes, "add": _record, "skip": _job_id,
    "priority": _priority, "slots": _slots, "deadline": _deadline, "depends_on": _ids,
    "workers": _workers, "capacity": _capacity, "cutoff": _cutoff, "policy": _policy,
}
