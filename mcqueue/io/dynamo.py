"""The DynamoDB workload catalog: Query a night into columns, seed the table, clean up.

Table layout (the tutorial's): partition key ``batch_date`` (S), sort key ``window_job_id`` (S,
``<HH:MM>#<job_id>``), on-demand billing. One night is one partition, so loading a night is ONE
Query (never a Scan), following every ``LastEvaluatedKey`` page; a window is the same Query with
``begins_with(window_job_id, "HH:MM#")``.

Items come from the low-level client (``session.client("dynamodb")``) as AttributeValue dicts and
go straight into per-column Python lists and then polars columns: no per-item deserializer. The
frame is raw (strings and booleans); ``mcqueue.schema.validate_jobs`` checks it exactly like a
local file.

Every function takes an optional ``boto3.Session`` (or ``region``/``profile``), an optional
``endpoint_url`` (botocore also honours ``AWS_ENDPOINT_URL_DYNAMODB`` when it is None) and
``max_attempts`` for botocore's standard retry mode (throttling, 5xx and connection errors are
retried there). Failures that retries did not fix become one-line ``ServiceError`` messages;
credentials never appear in them.
"""

from __future__ import annotations

import gc
import math
import os
import random
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import polars as pl

from ..errors import DataError, ServiceError
from .schema import ALL_FIELDS, parse_hhmm, validate_jobs

DEFAULT_TABLE = "db_batch_window_requests"
# on-demand prices of the tutorial, USD per million request units (override per call)
READ_PRICE_PER_MILLION = 0.125
WRITE_PRICE_PER_MILLION = 0.625

PARTITION_KEY = "batch_date"
SORT_KEY = "window_job_id"
KEY_SCHEMA = [
    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": SORT_KEY, "AttributeType": "S"},
]
DEFAULT_TAGS = {"application": "mcqueue", "purpose": "batch-window-workload-catalog"}
BATCH_WRITE_SIZE = 25  # DynamoDB's limit per BatchWriteItem
LOCAL_DEFAULT_REGION = "us-east-1"  # used only for an explicit/local endpoint with no region set

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_THROTTLING = {"ThrottlingException", "ProvisionedThroughputExceededException",
               "RequestLimitExceeded", "TooManyRequestsException", "LimitExceededException"}
_ACCESS = {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
           "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken",
           "InvalidClientTokenId", "MissingAuthenticationTokenException",
           "IncompleteSignatureException", "SignatureDoesNotMatch"}
_SERVER = {"InternalServerError", "InternalFailure", "ServiceUnavailable",
           "ServiceUnavailableException", "InternalServerErrorException"}

# seconds; module level so tests can make retries of UnprocessedItems instant
_sleep = time.sleep


# --------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class QueryResult:
    """One night (or window) read from the table: a raw frame plus what the read cost."""

    frame: pl.DataFrame
    items: int
    pages: int
    consumed_read_units: float
    cost_usd: float


@dataclass(frozen=True)
class SeedResult:
    """What ``seed_table`` did. ``conflicts`` are existing items that differ and were left."""

    table: str
    endpoint: str
    region: str
    created_table: bool
    items: int
    written: int
    skipped: int
    conflicts: int
    overwritten: int
    batches: int
    retried_items: int
    consumed_write_units: float
    consumed_read_units: float
    cost_usd: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DeleteResult:
    """What ``delete_table`` / ``delete_stack`` removed."""

    kind: str  # "table" or "stack"
    name: str
    region: str
    endpoint: str

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# clients and errors


def make_client(service: str = "dynamodb", *, session=None, region: str | None = None,
                profile: str | None = None, endpoint_url: str | None = None,
                max_attempts: int | None = None):
    """A low-level boto3 client with botocore's standard retry mode.

    With ``endpoint_url`` None botocore applies ``AWS_ENDPOINT_URL_DYNAMODB`` /
    ``AWS_ENDPOINT_URL`` itself. A local endpoint (flag or variable) with no region configured
    anywhere gets ``us-east-1`` so that ``--endpoint-url`` alone is enough.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    if max_attempts is not None and int(max_attempts) < 1:
        raise ServiceError(f"max attempts must be at least 1, got {max_attempts!r}")
    try:
        if session is None:
            session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise ServiceError(f"AWS profile {profile!r} not found in the AWS config files") from None
    retries: dict[str, Any] = {"mode": "standard"}
    if max_attempts is not None:
        # botocore's "max_attempts" counts RETRIES (N gives N + 1 requests); the total,
        # first request included, is "total_max_attempts"
        retries["total_max_attempts"] = int(max_attempts)
    if region is None and session.region_name is None:
        env_endpoint = (os.environ.get("AWS_ENDPOINT_URL_" + service.upper().replace("-", "_"))
                        or os.environ.get("AWS_ENDPOINT_URL"))
        if endpoint_url or env_endpoint:
            region = LOCAL_DEFAULT_REGION
    try:
        return session.client(service, region_name=region, endpoint_url=endpoint_url,
                              config=Config(retries=retries))
    except ValueError as exc:  # botocore: "Invalid endpoint: ..."
        raise ServiceError(f"invalid endpoint URL {endpoint_url!r}: {exc}") from None
    except BotoCoreError as exc:
        err = _botocore_error(exc, None, "connect to", None)
        if err is None:
            raise
        raise err from None


def _where(client) -> str:
    if client is None:
        return "(no client)"
    return f"region {client.meta.region_name} (endpoint {client.meta.endpoint_url})"


def _botocore_error(exc, client, action: str, name: str | None) -> ServiceError | None:
    """A BotoCoreError (not a ClientError) as a ServiceError, or None if not ours to handle."""
    from botocore.exceptions import (ConnectTimeoutError, EndpointConnectionError,
                                     HTTPClientError, NoCredentialsError, NoRegionError,
                                     PartialCredentialsError, ReadTimeoutError)

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ServiceError(
            "no AWS credentials found: set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run 'aws configure'")
    if isinstance(exc, NoRegionError):
        return ServiceError("no AWS region configured: pass --region or set AWS_REGION")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
                        HTTPClientError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or (
            client.meta.endpoint_url if client is not None else "?")
        kind = "timed out talking to" if isinstance(exc, (ConnectTimeoutError,
                                                          ReadTimeoutError)) else "cannot reach"
        return ServiceError(f"{kind} the DynamoDB endpoint {url} (while trying to {action} "
                            f"{name!r}); is the server running and the URL right?")
    return None


def _client_error(exc, client, action: str, name: str, kind: str = "table") -> ServiceError | None:
    """A ClientError as a ServiceError by its code, or None for codes we do not handle."""
    err = exc.response.get("Error", {})
    code = err.get("Code", "")
    message = (err.get("Message") or "").strip()
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    where = _where(client)
    if code == "ResourceNotFoundException":
        return ServiceError(f"DynamoDB {kind} {name!r} not found in {where}; "
                            "create it with 'mcqueue seed' or check --table/--region")
    if code in _ACCESS:
        return ServiceError(f"access denied when trying to {action} {kind} {name!r} in {where} "
                            f"({code}: {message or 'no detail'})")
    if code in _THROTTLING:
        return ServiceError(f"DynamoDB throttled the request to {action} {kind} {name!r} in "
                            f"{where} and it still failed after {attempts} attempts ({code}); "
                            "retry later or raise --max-attempts")
    if code in _SERVER or (status is not None and status >= 500):
        return ServiceError(f"DynamoDB service error while trying to {action} {kind} {name!r} "
                            f"in {where} after {attempts} attempts ({code or status}: "
                            f"{message or 'no detail'})")
    if code == "ValidationException" and kind == "table":
        return ServiceError(f"DynamoDB rejected the request to {action} table {name!r} in "
                            f"{where}: {message} (the table needs key schema batch_date HASH + "
                            "window_job_id RANGE, both strings)")
    return None


@contextmanager
def _service(client, action: str, name: str, kind: str = "table"):
    """Map botocore failures inside the block to ServiceError; re-raise what we don't know."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        mapped = _client_error(exc, client, action, name, kind)
        if mapped is None:
            raise
        raise mapped from None
    except BotoCoreError as exc:
        mapped = _botocore_error(exc, client, action, name)
        if mapped is None:
            raise
        raise mapped from None


# --------------------------------------------------------------------------------------------
# AttributeValue <-> columns


def _scalar(av: Mapping[str, Any] | None) -> Any:
    """One AttributeValue as a plain string (or None): the slow path for mixed columns."""
    if av is None:
        return None
    (kind, value), = av.items()
    if kind in ("S", "N"):
        return value
    if kind == "BOOL":
        return "true" if value else "false"
    if kind == "NULL":
        return None
    return repr(value)  # sets, lists, maps, binary: kept readable; validation judges them


def items_to_frame(items: list[Mapping[str, Mapping[str, Any]]]) -> pl.DataFrame:
    """Low-level DynamoDB items -> a raw polars frame, one column per attribute.

    A column whose values are all ``S`` or all ``N`` becomes a String column of those strings
    (numbers stay exactly as DynamoDB sent them); all ``BOOL`` becomes a Boolean column; anything
    mixed or sparse takes the per-value path and becomes strings with nulls. One pass per column
    with no per-item object in between.
    """
    if not items:  # keep the schema so validation reports "no jobs", not "no fields"
        return pl.DataFrame({name: pl.Series(name, [], dtype=pl.String)
                             for name in dict.fromkeys((PARTITION_KEY, SORT_KEY,
                                                        *ALL_FIELDS))
                             if name != "arrival_minute"})
    # no cyclic-GC passes over the ~10 dicts per item while we only read them (~25% faster)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _columns(items)
    finally:
        if was_enabled:
            gc.enable()


def _columns(items: list[Mapping[str, Mapping[str, Any]]]) -> pl.DataFrame:
    present = set().union(*items)
    names = [n for n in dict.fromkeys((PARTITION_KEY, SORT_KEY, *ALL_FIELDS)) if n in present]
    names += sorted(present.difference(names))
    columns = []
    for name in names:
        first = items[0].get(name)
        kind = next(iter(first)) if first else None
        series = None
        if kind in ("S", "N", "BOOL"):
            try:
                values = [it[name][kind] for it in items]
            except (KeyError, TypeError):
                values = None
            if values is not None:
                series = pl.Series(name, values,
                                   dtype=pl.Boolean if kind == "BOOL" else pl.String)
        if series is None:
            series = pl.Series(name, [_scalar(it.get(name)) for it in items], dtype=pl.String)
        columns.append(series)
    return pl.DataFrame(columns)


def _number(x: float | int, what: str, job: str) -> str:
    """A number as the string DynamoDB stores (via Decimal(str(x))); NaN/inf refused."""
    if isinstance(x, float):
        if not math.isfinite(x):
            raise DataError(f"job_id {job}: field {what!r} must be a finite number, got {x!r}")
        if x.is_integer() and abs(x) < 2**53:
            return str(int(x))
    try:
        return str(Decimal(str(x)))
    except InvalidOperation:
        raise DataError(f"job_id {job}: field {what!r} must be a number, got {x!r}") from None


def frame_to_items(validated: pl.DataFrame) -> list[dict[str, dict[str, Any]]]:
    """Validated records -> low-level PutRequest items (nulls omitted, numbers as N strings)."""
    cols = {name: validated[name].to_list() for name in
            ("batch_date", "window_job_id", "job_id", "requested_window", "submitted_at",
             "workload_class", "estimated_runtime_minutes", "priority",
             "requires_exclusive_lock", "status", "arrival_minute")}
    rows = validated["__row"].to_list() if "__row" in validated.columns else None
    items = []
    for i in range(validated.height):
        job = cols["job_id"][i]
        key = cols["window_job_id"][i]
        if key is None:
            row = rows[i] if rows else i + 1
            raise DataError(f"row {row} (job_id {job}): field 'window_job_id' is missing and "
                            "there is no requested_window to build the sort key from")
        item = {"batch_date": {"S": cols["batch_date"][i]}, "window_job_id": {"S": key},
                "job_id": {"S": job}, "workload_class": {"S": cols["workload_class"][i]},
                "estimated_runtime_minutes": {
                    "N": _number(cols["estimated_runtime_minutes"][i],
                                 "estimated_runtime_minutes", job)},
                "priority": {"N": _number(int(cols["priority"][i]), "priority", job)},
                "requires_exclusive_lock": {"BOOL": bool(cols["requires_exclusive_lock"][i])}}
        for name in ("requested_window", "submitted_at", "status"):
            if cols[name][i] is not None:
                item[name] = {"S": cols[name][i]}
        if cols["arrival_minute"][i] is not None:
            item["arrival_minute"] = {"N": _number(cols["arrival_minute"][i], "arrival_minute",
                                                   job)}
        items.append(item)
    return items


def _canonical(item: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple]:
    """Comparable form of an item: numbers by value (DynamoDB normalises '25.0' to '25')."""
    out = {}
    for name, av in item.items():
        (kind, value), = av.items()
        if kind == "N":
            try:
                value = Decimal(value)
            except InvalidOperation:
                pass
        elif isinstance(value, list):
            value = tuple(sorted(map(repr, value)))
        elif isinstance(value, dict):
            value = repr(sorted(value.items()))
        out[name] = (kind, value)
    return out


# --------------------------------------------------------------------------------------------
# reading


def _query_pages(client, table: str, batch_date: str, window: str | None, *,
                 projection: bool = True, page_size: int | None = None,
                 consistent_read: bool = False):
    """Yield (items, consumed units) per page of the one Query on the partition."""
    names = {"#pk": PARTITION_KEY}
    values: dict[str, Any] = {":d": {"S": batch_date}}
    condition = "#pk = :d"
    if window is not None:
        names["#sk"] = SORT_KEY
        values[":w"] = {"S": f"{window}#"}
        condition += " AND begins_with(#sk, :w)"
    kwargs: dict[str, Any] = {"TableName": table, "KeyConditionExpression": condition,
                              "ExpressionAttributeValues": values,
                              "ReturnConsumedCapacity": "TOTAL",
                              "ConsistentRead": consistent_read}
    if projection:
        wanted = list(dict.fromkeys((PARTITION_KEY, SORT_KEY, *ALL_FIELDS)))
        for i, name in enumerate(wanted):
            names[f"#a{i}"] = name
        kwargs["ProjectionExpression"] = ", ".join(f"#a{i}" for i in range(len(wanted)))
    kwargs["ExpressionAttributeNames"] = names
    if page_size is not None:
        kwargs["Limit"] = int(page_size)
    while True:
        page = client.query(**kwargs)
        units = float((page.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
        yield page.get("Items", []), units
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def _check_date(batch_date: str) -> None:
    if not isinstance(batch_date, str) or not _DATE.match(batch_date):
        raise DataError(f"batch date must be YYYY-MM-DD, got {batch_date!r}")


def query_jobs(batch_date: str, window: str | None = None, *, table: str = DEFAULT_TABLE,
               session=None, region: str | None = None, profile: str | None = None,
               endpoint_url: str | None = None, max_attempts: int | None = None,
               read_price: float = READ_PRICE_PER_MILLION, page_size: int | None = None,
               consistent_read: bool = False, client=None,
               projection: bool = True) -> QueryResult:
    """One night (or one requested window of it) from the table, as a raw polars frame.

    ``projection``: read only the job-record attributes (default); False reads every attribute
    (backtest needs the past runs' started_at/finished_at).

    ONE Query on ``batch_date = D`` (plus ``begins_with(window_job_id, "HH:MM#")``), every page
    followed, ``ReturnConsumedCapacity="TOTAL"``. The frame is not validated: pass it to
    ``mcqueue.schema.validate_jobs`` (or ``load_night``). ``page_size`` sets the Query ``Limit``
    (tests use it to force many pages); ``client`` reuses an existing low-level client.
    """
    _check_date(batch_date)
    if window is not None:
        parse_hhmm(window, "window")
    if read_price < 0 or not math.isfinite(read_price):
        raise DataError(f"read price must be a finite number >= 0, got {read_price!r}")
    if client is None:
        client = make_client("dynamodb", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts)
    items: list = []
    pages = 0
    units = 0.0
    with _service(client, "query", table):
        for page_items, page_units in _query_pages(client, table, batch_date, window,
                                                   page_size=page_size,
                                                   consistent_read=consistent_read,
                                                   projection=projection):
            items.extend(page_items)
            pages += 1
            units += page_units
    frame = items_to_frame(items)
    return QueryResult(frame=frame, items=len(items), pages=pages, consumed_read_units=units,
                       cost_usd=units * read_price / 1e6)


# --------------------------------------------------------------------------------------------
# table lifecycle


def _describe(client, table: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return client.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def _check_key_schema(client, table: str, desc: dict) -> None:
    got = sorted((k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", []))
    want = sorted((k["AttributeName"], k["KeyType"]) for k in KEY_SCHEMA)
    if got != want:
        shown = " + ".join(f"{n} {t}" for n, t in got) or "none"
        raise ServiceError(f"table {table!r} in {_where(client)} has key schema {shown}; "
                           "mcqueue needs batch_date HASH + window_job_id RANGE")


def _wait_status(client, table: str, *, want_gone: bool, timeout: float, poll: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        desc = _describe(client, table)
        if want_gone and desc is None:
            return
        if not want_gone and desc is not None and desc.get("TableStatus") == "ACTIVE":
            return
        if time.monotonic() > deadline:
            state = "deleted" if want_gone else "active"
            raise ServiceError(f"table {table!r} in {_where(client)} did not become {state} "
                               f"within {timeout:g} s")
        _sleep(poll)


def ensure_table(client, table: str = DEFAULT_TABLE, *, tags: Mapping[str, str] | None = None,
                 timeout: float = 600.0, poll: float = 0.5) -> bool:
    """Create the table (on-demand, the tutorial's key schema) if missing and wait until
    ACTIVE. Returns True if this call created it."""
    from botocore.exceptions import ClientError

    with _service(client, "create", table):
        desc = _describe(client, table)
        created = False
        if desc is None:
            tag_list = [{"Key": k, "Value": v} for k, v in (tags or DEFAULT_TAGS).items()]
            try:
                client.create_table(TableName=table, KeySchema=KEY_SCHEMA,
                                    AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
                                    BillingMode="PAY_PER_REQUEST", Tags=tag_list)
                created = True
            except ClientError as exc:  # someone else created it meanwhile
                if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                    raise
        elif desc.get("TableStatus") == "DELETING":
            raise ServiceError(f"table {table!r} in {_where(client)} is being deleted; "
                               "wait and try again")
        else:
            _check_key_schema(client, table, desc)
        _wait_status(client, table, want_gone=False, timeout=timeout, poll=poll)
    return created


def _existing(client, table: str, dates: Iterable[str]) -> tuple[dict, float]:
    """Every existing item of the given partitions, by key, and the read units it took."""
    found: dict[tuple[str, str], dict] = {}
    units = 0.0
    for date in dates:
        for page_items, page_units in _query_pages(client, table, date, None, projection=False,
                                                   consistent_read=True):
            units += page_units
            for it in page_items:
                found[(it[PARTITION_KEY]["S"], it[SORT_KEY]["S"])] = it
    return found, units


def _write_batches(client, table: str, items: list[dict], *, max_attempts: int,
                   base_delay: float, max_delay: float,
                   progress: Callable[[int, int], None] | None) -> tuple[int, int, float]:
    """BatchWriteItem in chunks of 25; UnprocessedItems retried with jittered exponential
    backoff, at most ``max_attempts`` rounds per chunk. Returns (batches, retried, units)."""
    batches = 0
    retried = 0
    units = 0.0
    done = 0
    for start in range(0, len(items), BATCH_WRITE_SIZE):
        pending = [{"PutRequest": {"Item": it}} for it in items[start:start + BATCH_WRITE_SIZE]]
        attempt = 0
        while pending:
            attempt += 1
            with _service(client, "write to", table):
                resp = client.batch_write_item(RequestItems={table: pending},
                                               ReturnConsumedCapacity="TOTAL")
            batches += 1
            for cc in resp.get("ConsumedCapacity") or []:
                units += float(cc.get("CapacityUnits") or 0.0)
            left = (resp.get("UnprocessedItems") or {}).get(table) or []
            done += len(pending) - len(left)
            if progress is not None:
                progress(done, len(items))
            if not left:
                break
            if attempt >= max_attempts:
                raise ServiceError(
                    f"DynamoDB left {len(left)} item(s) unprocessed in table {table!r} in "
                    f"{_where(client)} after {attempt} attempts (throttled); "
                    f"{done} of {len(items)} items were written; re-run to finish "
                    "(seeding is idempotent) or raise --max-attempts")
            retried += len(left)
            pending = left
            _sleep(random.random() * min(max_delay, base_delay * 2 ** (attempt - 1)))
    return batches, retried, units


def _read_file(path: str | Path) -> pl.DataFrame:
    """A local jobs file (CSV, Parquet, JSON, DynamoDB JSON) as a raw frame."""
    from .sources import read_jobs

    return read_jobs(path)


def seed_table(data, table: str = DEFAULT_TABLE, *, session=None, region: str | None = None,
               profile: str | None = None, endpoint_url: str | None = None,
               max_attempts: int | None = None, overwrite: bool = False, create: bool = True,
               tags: Mapping[str, str] | None = None,
               write_price: float = WRITE_PRICE_PER_MILLION,
               read_price: float = READ_PRICE_PER_MILLION, base_delay: float = 0.05,
               max_delay: float = 5.0, progress: Callable[[int, int], None] | None = None,
               client=None) -> SeedResult:
    """Write job records to the table, idempotently.

    ``data``: a polars frame, records (dicts) or a path to a local file. Every record is
    validated and converted first, so a bad file writes nothing. The table is created if missing
    (``create``) and waited for. Then each night's partition is read with one consistent Query
    and compared with the records: identical items are skipped, differing items are left alone
    (counted as ``conflicts``) unless ``overwrite``, new items are written with BatchWriteItem.
    Unprocessed items are retried with backoff up to ``max_attempts`` rounds (default 8).
    """
    for what, price in (("write price", write_price), ("read price", read_price)):
        if price < 0 or not math.isfinite(price):
            raise DataError(f"{what} must be a finite number >= 0, got {price!r}")
    if isinstance(data, (str, Path)):
        data = _read_file(data)
    validated = validate_jobs(data)
    if validated.height == 0:
        raise DataError("no job records to seed: the input holds none (nothing was written)")
    items = frame_to_items(validated)
    if client is None:
        client = make_client("dynamodb", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts)
    if create:
        created = ensure_table(client, table, tags=tags)
    else:
        created = False
        with _service(client, "write to", table):
            desc = _describe(client, table)
            if desc is None:
                raise ServiceError(f"DynamoDB table {table!r} not found in {_where(client)}")
            _check_key_schema(client, table, desc)
    read_units = 0.0
    existing: dict = {}
    if not created:
        dates = sorted({it[PARTITION_KEY]["S"] for it in items})
        with _service(client, "read", table):
            existing, read_units = _existing(client, table, dates)
    to_write = []
    skipped = conflicts = overwritten = 0
    for it in items:
        old = existing.get((it[PARTITION_KEY]["S"], it[SORT_KEY]["S"]))
        if old is None:
            to_write.append(it)
        elif _canonical(old) == _canonical(it):
            skipped += 1
        elif overwrite:
            overwritten += 1
            to_write.append(it)
        else:
            conflicts += 1
    batches, retried, write_units = _write_batches(
        client, table, to_write, max_attempts=int(max_attempts or 8), base_delay=base_delay,
        max_delay=max_delay, progress=progress)
    return SeedResult(
        table=table, endpoint=client.meta.endpoint_url, region=client.meta.region_name,
        created_table=created, items=len(items), written=len(to_write), skipped=skipped,
        conflicts=conflicts, overwritten=overwritten, batches=batches, retried_items=retried,
        consumed_write_units=write_units, consumed_read_units=read_units,
        cost_usd=write_units * write_price / 1e6 + read_units * read_price / 1e6)


def delete_table(table: str = DEFAULT_TABLE, *, session=None, region: str | None = None,
                 profile: str | None = None, endpoint_url: str | None = None,
                 max_attempts: int | None = None, wait: bool = True, timeout: float = 600.0,
                 poll: float = 0.5, client=None) -> DeleteResult:
    """Delete the table (ServiceError naming table and region/endpoint if it is missing)."""
    if client is None:
        client = make_client("dynamodb", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts)
    with _service(client, "delete", table):
        client.delete_table(TableName=table)
        if wait:
            _wait_status(client, table, want_gone=True, timeout=timeout, poll=poll)
    return DeleteResult("table", table, client.meta.region_name, client.meta.endpoint_url)


def delete_stack(stack_name: str, *, session=None, region: str | None = None,
                 profile: str | None = None, endpoint_url: str | None = None,
                 max_attempts: int | None = None, wait: bool = True, timeout: float = 1800.0,
                 poll: float = 5.0, client=None) -> DeleteResult:
    """Delete a CloudFormation stack (e.g. one made from infra/dynamodb_table.yaml) and wait.

    ``endpoint_url`` here is the CloudFormation endpoint (``AWS_ENDPOINT_URL_CLOUDFORMATION``
    works too); the DynamoDB one does not apply.
    """
    from botocore.exceptions import ClientError

    if client is None:
        client = make_client("cloudformation", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts)
    with _service(client, "delete", stack_name, kind="stack"):
        try:
            stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as exc:
            err = exc.response.get("Error", {})
            if err.get("Code") == "ValidationError" and "does not exist" in err.get("Message", ""):
                raise ServiceError(f"CloudFormation stack {stack_name!r} not found in "
                                   f"{_where(client)}") from None
            raise
        stack_id = stacks[0]["StackId"]
        client.delete_stack(StackName=stack_name)
        deadline = time.monotonic() + timeout
        while wait:
            status = client.describe_stacks(StackName=stack_id)["Stacks"][0]
            state = status.get("StackStatus", "")
            if state == "DELETE_COMPLETE":
                break
            if state == "DELETE_FAILED":
                raise ServiceError(f"deleting stack {stack_name!r} failed: "
                                   f"{status.get('StackStatusReason') or 'no reason given'}")
            if time.monotonic() > deadline:
                raise ServiceError(f"stack {stack_name!r} was not deleted within {timeout:g} s "
                                   f"(status {state})")
            _sleep(poll)
    return DeleteResult("stack", stack_name, client.meta.region_name, client.meta.endpoint_url)
