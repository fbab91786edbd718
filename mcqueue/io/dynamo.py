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
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import polars as pl

from ..errors import (DataError, McqueueError, ServiceError, UsageError, first_line, plain,
                      quote, redact)
from .ddbjson import attribute_value, number_problem, significant_digits
from .schema import ALL_FIELDS, LIST_FIELDS, list_cell, parse_hhmm, validate_jobs

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
_REGION = re.compile(r"[a-z0-9][a-z0-9\-]{0,62}")
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


DEFAULT_TIMEOUT = 30.0  # seconds: the deadline of one operation (all its pages and retries)
MAX_CONNECT_TIMEOUT = 10.0  # seconds: one TCP/TLS connect (never more than the deadline)


class _DeadlineExceeded(Exception):
    """Raised from botocore's event hooks when an operation has used up its time."""


class _Deadline:
    """The time left of the current operation of one client (None: no operation running)."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.until: float | None = None
        self.what = ""

    def remaining(self) -> float:
        if self.until is None:
            return self.seconds
        return self.until - time.monotonic()


def _check_timeout(timeout) -> float:
    try:
        t = float(timeout)
    except (TypeError, ValueError):
        t = math.nan
    if not (math.isfinite(t) and t > 0):
        raise UsageError(f"timeout must be a number of seconds > 0, got {quote(timeout)}")
    return t


def _install_deadline(client, seconds: float) -> None:
    """Hooks that keep every request of ``client`` inside the deadline of the operation that
    ``_operation`` opened: no new attempt or retry once it has passed, and each attempt's read
    timeout cut to the time left (botocore's per-request ``read_timeout`` context)."""
    deadline = _Deadline(seconds)
    client._mcqueue_deadline = deadline

    def before_send(request=None, **kwargs):
        left = deadline.remaining()
        if left <= 0:
            raise _DeadlineExceeded()
        context = getattr(request, "context", None)
        if isinstance(context, dict):
            context["read_timeout"] = max(0.05, min(left, deadline.seconds))
        return None

    def needs_retry(caught_exception=None, **kwargs):
        if isinstance(caught_exception, _DeadlineExceeded):
            raise caught_exception
        if deadline.remaining() <= 0.5:  # no time left for another attempt
            if caught_exception is not None:
                raise _DeadlineExceeded() from caught_exception
            return None
        return None

    client.meta.events.register_first("before-send", before_send)
    client.meta.events.register_first("needs-retry", needs_retry)


@contextmanager
def _operation(client, what: str):
    """Open the deadline of one operation (``--timeout`` seconds from now) on ``client``."""
    deadline = getattr(client, "_mcqueue_deadline", None)
    if deadline is None or deadline.until is not None:  # foreign client, or nested: keep outer
        yield
        return
    deadline.until = time.monotonic() + deadline.seconds
    deadline.what = what
    try:
        yield
    finally:
        deadline.until = None


def make_client(service: str = "dynamodb", *, session=None, region: str | None = None,
                profile: str | None = None, endpoint_url: str | None = None,
                max_attempts: int | None = None, timeout: float | None = None):
    """A low-level boto3 client with botocore's standard retry mode and time limits.

    With ``endpoint_url`` None botocore applies ``AWS_ENDPOINT_URL_DYNAMODB`` /
    ``AWS_ENDPOINT_URL`` itself. A local endpoint (flag or variable) with no region configured
    anywhere gets ``us-east-1`` so that ``--endpoint-url`` alone is enough. ``timeout``
    (default ``DEFAULT_TIMEOUT``) is the deadline of each operation of the client, retries and
    pages included; each connect is limited to min(timeout, 10 s) and each read to what is left.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    if max_attempts is not None and int(max_attempts) < 1:
        raise ServiceError(f"max attempts must be at least 1, got {quote(max_attempts)}")
    seconds = _check_timeout(DEFAULT_TIMEOUT if timeout is None else timeout)
    if region is not None and not (isinstance(region, str) and _REGION.fullmatch(region)):
        raise UsageError(f"invalid AWS region {quote(region)}: give a region like eu-west-1 "
                         "(lower-case letters, digits and hyphens)")
    shown = quote(endpoint_url) if endpoint_url else "the default endpoint"
    try:
        if session is None:
            session = boto3.session.Session(profile_name=profile, region_name=region)
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
        config = Config(retries=retries, connect_timeout=min(seconds, MAX_CONNECT_TIMEOUT),
                        read_timeout=seconds)
        client = session.client(service, region_name=region, endpoint_url=endpoint_url,
                                config=config)
    except ProfileNotFound:
        raise ServiceError(f"AWS profile {quote(profile)} not found in the AWS config files "
                           "(AWS_CONFIG_FILE, default ~/.aws/config): check --profile or "
                           "AWS_PROFILE") from None
    except Exception as exc:  # botocore's configuration errors, an invalid endpoint or region
        err = _botocore_error(exc, None, "connect to", None, service)
        if err is not None:
            raise err from None
        if isinstance(exc, ValueError):  # "Invalid endpoint: ...", "Port out of range ..."
            raise ServiceError(f"invalid endpoint URL {shown}: {first_line(exc)}; give "
                               "http(s)://host[:port] with a port up to 65535") from None
        raise
    _install_deadline(client, seconds)
    return client


def _where(client) -> str:
    if client is None:
        return "(no client)"
    return f"region {client.meta.region_name} (endpoint {redact(str(client.meta.endpoint_url))})"


def _service_name(service: str) -> str:
    return {"dynamodb": "DynamoDB", "cloudformation": "CloudFormation"}.get(service, service)


def _botocore_error(exc, client, action: str, name: str | None,
                    service: str = "dynamodb") -> ServiceError | None:
    """A botocore failure that is not a ClientError as a ServiceError naming what to fix, or
    None when ``exc`` is not a botocore/configuration failure."""
    from botocore import exceptions as bx

    svc = _service_name(service)
    target = f" {quote(name)}" if name else ""
    doing = f"while trying to {action}{target}"
    url = None
    if client is not None:
        url = client.meta.endpoint_url
    url = getattr(exc, "kwargs", {}).get("endpoint_url") or url or "?"
    endpoint = f"the {svc} endpoint {plain(str(url))}"
    if isinstance(exc, _DeadlineExceeded):
        deadline = getattr(client, "_mcqueue_deadline", None)
        limit = f" within {deadline.seconds:g} s" if deadline is not None else ""
        return ServiceError(f"no answer from {endpoint}{limit} {doing} (--timeout); is the "
                            "server running and the URL right? Raise --timeout for a slow link")
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return ServiceError(
            "no AWS credentials found: set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run 'aws configure'")
    if isinstance(exc, bx.NoRegionError):
        return ServiceError("no AWS region configured: pass --region or set AWS_REGION")
    if isinstance(exc, bx.InvalidRegionError):
        return ServiceError(f"invalid AWS region {quote(exc.kwargs.get('region_name'))}: "
                            "give --region like eu-west-1 (letters, digits and hyphens)")
    if isinstance(exc, bx.ConfigParseError):
        return ServiceError(f"cannot parse the AWS config file {quote(exc.kwargs.get('path'))}:"
                            " fix its syntax, or point AWS_CONFIG_FILE / "
                            "AWS_SHARED_CREDENTIALS_FILE at a valid file")
    if isinstance(exc, bx.CredentialRetrievalError):
        return ServiceError(f"AWS credentials could not be retrieved from "
                            f"{quote(exc.kwargs.get('provider'))} "
                            f"({quote(exc.kwargs.get('error_msg') or 'no detail', 120)}): fix "
                            "the profile's credential_process or choose another --profile")
    if isinstance(exc, (bx.SSOError, bx.TokenRetrievalError)):
        return ServiceError(f"AWS SSO login needed ({first_line(exc)}): run 'aws sso login' "
                            "for this profile, or choose another --profile")
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return ServiceError(f"timed out talking to {endpoint} {doing}; is the server running "
                            "and the URL right? Raise --timeout for a slow link")
    if isinstance(exc, (bx.EndpointConnectionError, bx.HTTPClientError)):
        return ServiceError(f"cannot reach {endpoint} {doing}; is the server running and the "
                            "URL right?")
    if isinstance(exc, bx.ParamValidationError):
        return ServiceError(f"{svc} request to {action}{target} is invalid: {first_line(exc)}")
    if isinstance(exc, bx.BotoCoreError) or type(exc).__module__.startswith(("botocore",
                                                                            "urllib3")):
        what = type(exc).__name__
        if what == "ResponseParserError":
            return ServiceError(f"{endpoint} answered {doing} with something that is not a "
                                f"{svc} response; is --endpoint-url the right service?")
        return ServiceError(f"{svc} failure {doing} ({what}: {first_line(exc)}); check the AWS "
                            "configuration and --endpoint-url")
    if isinstance(exc, UnicodeError):
        return ServiceError(f"{endpoint} answered {doing} with bytes that are not UTF-8 text; "
                            f"is --endpoint-url the right service?")
    return None


def _client_error(exc, client, action: str, name: str, kind: str = "table") -> ServiceError:
    """A ClientError as a ServiceError by its code (never the response body)."""
    err = exc.response.get("Error", {})
    code = str(err.get("Code", ""))
    message = quote((err.get("Message") or "").strip() or "no detail", 160)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    where = _where(client)
    shown = quote(name)
    if code == "ResourceNotFoundException":
        return ServiceError(f"DynamoDB {kind} {shown} not found in {where}; "
                            "create it with 'mcqueue seed' or check --table/--region")
    if code in _ACCESS:
        return ServiceError(f"access denied when trying to {action} {kind} {shown} in {where} "
                            f"({quote(code)}: {message}); check the credentials and their "
                            "permissions")
    if code in _THROTTLING:
        return ServiceError(f"DynamoDB throttled the request to {action} {kind} {shown} in "
                            f"{where} and it still failed after {attempts} attempts "
                            f"({quote(code)}); retry later or raise --max-attempts")
    if code == "ValidationException" and kind == "table":
        return ServiceError(f"DynamoDB rejected the request to {action} table {shown} in "
                            f"{where}: {message} (the table needs key schema batch_date HASH + "
                            "window_job_id RANGE, both strings)")
    if not code.isidentifier() or (code.isdigit() and status is not None):
        # not a service error document (an HTML page from a proxy, a bare status): name the
        # HTTP status only, never the body
        return ServiceError(f"the endpoint answered HTTP {status or code} when trying to "
                            f"{action} {kind} {shown} in {where} after {attempts} attempt(s); "
                            "is --endpoint-url a DynamoDB endpoint, and is it healthy?")
    if code in _SERVER or (status is not None and status >= 500):
        return ServiceError(f"DynamoDB service error while trying to {action} {kind} {shown} "
                            f"in {where} after {attempts} attempts ({quote(code)}: {message}); "
                            "retry later")
    return ServiceError(f"the service refused the request to {action} {kind} {shown} in {where} "
                        f"({quote(code)}, HTTP {status}: {message})")


@contextmanager
def _service(client, action: str, name: str, kind: str = "table"):
    """Map every failure inside the block (botocore, the deadline, a broken answer) to one
    ServiceError line; the operation runs within the client's deadline."""
    from botocore.exceptions import ClientError

    service = "cloudformation" if kind == "stack" else "dynamodb"
    try:
        with _operation(client, f"{action} {kind} {name}"):
            yield
    except (McqueueError, KeyboardInterrupt):
        raise
    except ClientError as exc:
        raise _client_error(exc, client, action, name, kind) from None
    except Exception as exc:
        mapped = _botocore_error(exc, client, action, name, service)
        if mapped is None:
            mapped = ServiceError(f"unexpected failure talking to {_where(client)} while trying "
                                  f"to {action} {kind} {quote(name)} ({type(exc).__name__}: "
                                  f"{first_line(exc)})")
        raise mapped from None


# --------------------------------------------------------------------------------------------
# AttributeValue <-> columns


def _scalar(av: Any, name: str, i: int) -> Any:
    """One AttributeValue as a plain string (or None), checked strictly: the slow path."""
    if av is None:
        return None
    value = attribute_value(av, name, f"item {i + 1} of the query")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


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
        kind = next(iter(first)) if isinstance(first, dict) and len(first) == 1 else None
        series = None
        if kind in ("S", "N", "BOOL"):
            try:
                values = [it[name][kind] for it in items]
            except (KeyError, TypeError):
                values = None
            want = bool if kind == "BOOL" else str
            # the fast path only when every value has the right JSON type (and every N is a
            # DynamoDB number): anything else takes the strict per-value path for its error
            if values is not None and all(type(v) is want for v in values) and (
                    kind != "N" or not any(map(number_problem, values))):
                series = pl.Series(name, values,
                                   dtype=pl.Boolean if kind == "BOOL" else pl.String)
        if series is None and name in LIST_FIELDS and any(
                isinstance(it.get(name), dict) and ("L" in it[name] or "SS" in it[name])
                for it in items):
            # issues 12/13: a list field given as L or SS anywhere: every value as its list
            series = pl.Series(name, [list_cell(_scalar(it.get(name), name, i))
                                      for i, it in enumerate(items)],
                               dtype=pl.List(pl.String))
        if series is None:
            series = pl.Series(name, [_scalar(it.get(name), name, i)
                                      for i, it in enumerate(items)], dtype=pl.String)
        columns.append(series)
    return pl.DataFrame(columns)


# DynamoDB's limits, checked on every item before the first write
MAX_ITEM_BYTES = 400 * 1024  # item size: attribute names + values
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_KEY_NAME_BYTES = 255
MAX_ATTRIBUTE_NAME_BYTES = 65535
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9\-]{0,127}$")


def check_table_name(table: Any) -> str:
    """UsageError unless ``table`` is a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -): an
    empty or blank name never reaches the service."""
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise UsageError(f"table name must be 1 to 255 letters, digits, '_', '-' or '.', got "
                         f"{quote(table)}")
    return table


def check_stack_name(name: Any) -> str:
    """UsageError unless ``name`` is a CloudFormation stack name."""
    if not isinstance(name, str) or not _STACK_NAME.fullmatch(name):
        raise UsageError(f"stack name must be a letter followed by letters, digits or '-' (at "
                         f"most 128), got {quote(name)}")
    return name


def _number(x: float | int, what: str, job: str) -> str:
    """A number as the string DynamoDB stores (via Decimal(str(x))); NaN/inf and numbers outside
    DynamoDB's range or precision refused."""
    if isinstance(x, float):
        if not math.isfinite(x):
            raise DataError(f"job_id {plain(job)}: field {quote(what)} must be a finite number, "
                            f"got {quote(x)} (nothing was written)")
        if x.is_integer() and abs(x) < 2**53:
            return str(int(x))
    try:
        text = str(Decimal(str(x)))
    except InvalidOperation:
        raise DataError(f"job_id {plain(job)}: field {quote(what)} must be a number, got "
                        f"{quote(x)} (nothing was written)") from None
    problem = number_problem(text)
    if problem:
        raise DataError(f"job_id {plain(job)}: field {quote(what)} {problem}, got "
                        f"{quote(x)}; DynamoDB cannot store it (nothing was written)")
    return text


def _value_bytes(av: Mapping[str, Any]) -> int:
    """DynamoDB's size of one attribute value (an upper bound for numbers)."""
    (kind, value), = av.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "N":
        digits = significant_digits(Decimal(value))
        return (digits + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_bytes(v) for v in value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_bytes(v) for k, v in value.items())
    if kind in ("SS", "NS"):
        return sum(len(str(v).encode("utf-8")) for v in value)
    return len(value) if isinstance(value, (bytes, str)) else 0


def item_problem(item: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why DynamoDB would refuse ``item`` (key sizes, item size, attribute names, number
    format), or None: checked for every item before seeding writes anything."""
    total = 0
    for name, av in item.items():
        nb = len(name.encode("utf-8"))
        if not 1 <= nb <= MAX_ATTRIBUTE_NAME_BYTES:
            return f"attribute name {quote(name, 40)} has {nb:,} bytes (1 to 65,535)"
        if not isinstance(av, Mapping) or len(av) != 1:
            return f"attribute {quote(name, 40)} is not one DynamoDB value"
        (kind, value), = av.items()
        if kind == "N":
            problem = number_problem(value)
            if problem:
                return f"field {quote(name, 40)} {problem}: {quote(value, 40)}"
        total += nb + _value_bytes(av)
    for key, most in ((PARTITION_KEY, MAX_PARTITION_KEY_BYTES), (SORT_KEY, MAX_SORT_KEY_BYTES)):
        key_value = item.get(key)
        if not key_value or not isinstance(key_value.get("S"), str):
            return f"key attribute {key!r} is missing or not a string"
        size = len(key_value["S"].encode("utf-8"))
        if not 1 <= size <= most:
            return (f"key {key!r} is {size:,} bytes long; DynamoDB keys hold 1 to {most:,} "
                    f"bytes: {quote(key_value['S'], 60)}")
    if total > MAX_ITEM_BYTES:
        return (f"the item is {total:,} bytes; DynamoDB items hold at most {MAX_ITEM_BYTES:,} "
                "bytes (400 KB)")
    return None


def frame_to_items(validated: pl.DataFrame) -> list[dict[str, dict[str, Any]]]:
    """Validated records -> low-level PutRequest items (nulls and empty optional strings
    omitted, numbers as N strings), each checked against DynamoDB's limits."""
    cols = {name: validated[name].to_list() for name in
            ("batch_date", "window_job_id", "job_id", "requested_window", "submitted_at",
             "workload_class", "estimated_runtime_minutes", "priority",
             "requires_exclusive_lock", "status", "arrival_minute")}
    # optional fields present in the input: issue 14's and those of issues 12/13 (lists as L)
    optional = {name: validated[name].to_list() for name in
                ("job_name", "runtime_cv", "depends_on", "deadline", "slots", "locks",
                 "started_at", "finished_at")
                if name in validated.columns}
    rows = validated["__row"].to_list() if "__row" in validated.columns else None
    items = []
    for i in range(validated.height):
        job = cols["job_id"][i]
        key = cols["window_job_id"][i]
        row = rows[i] if rows else i + 1
        if key is None:
            raise DataError(f"row {row} (job_id {plain(job)}): field 'window_job_id' is missing "
                            "and there is no requested_window to build the sort key from")
        item = {"batch_date": {"S": cols["batch_date"][i]}, "window_job_id": {"S": key},
                "job_id": {"S": job}, "workload_class": {"S": cols["workload_class"][i]},
                "estimated_runtime_minutes": {
                    "N": _number(cols["estimated_runtime_minutes"][i],
                                 "estimated_runtime_minutes", job)},
                "priority": {"N": _number(int(cols["priority"][i]), "priority", job)},
                "requires_exclusive_lock": {"BOOL": bool(cols["requires_exclusive_lock"][i])}}
        for name in ("requested_window", "submitted_at", "status"):
            if cols[name][i] not in (None, ""):
                item[name] = {"S": cols[name][i]}
        if cols["arrival_minute"][i] is not None:
            item["arrival_minute"] = {"N": _number(cols["arrival_minute"][i], "arrival_minute",
                                                   job)}
        for name, values in optional.items():
            v = values[i]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if name in LIST_FIELDS:
                if v:  # an empty list is no value
                    item[name] = {"L": [{"S": e} for e in v]}
            elif name in ("runtime_cv", "slots"):
                item[name] = {"N": _number(v, name, job)}
            elif v != "":
                item[name] = {"S": str(v)}
        problem = item_problem(item)
        if problem:
            raise DataError(f"row {row} (job_id {plain(job, 60)}): DynamoDB would refuse this "
                            f"item: {problem} (nothing was written)")
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
                 consistent_read: bool = False, cancel: threading.Event | None = None):
    """Yield (items, consumed units) per page of the one Query on the partition; stops before
    the next page once ``cancel`` is set."""
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
        if cancel is not None and cancel.is_set():
            raise ServiceError("query cancelled")
        page = client.query(**kwargs)
        items = page.get("Items", [])
        if not isinstance(items, list) or not all(isinstance(it, dict) for it in items):
            raise ServiceError(f"the endpoint {quote(str(client.meta.endpoint_url))} answered "
                               f"a query of table {quote(table)} with a malformed page (Items "
                               "is not a list of items); is --endpoint-url a DynamoDB endpoint?")
        try:
            units = float((page.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
        except (TypeError, ValueError, AttributeError):
            units = 0.0
        yield items, units
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def _check_date(batch_date: str) -> None:
    if not isinstance(batch_date, str) or not _DATE.fullmatch(batch_date):
        raise DataError(f"batch date must be YYYY-MM-DD, got {quote(batch_date)}")


def query_jobs(batch_date: str, window: str | None = None, *, table: str = DEFAULT_TABLE,
               session=None, region: str | None = None, profile: str | None = None,
               endpoint_url: str | None = None, max_attempts: int | None = None,
               read_price: float = READ_PRICE_PER_MILLION, page_size: int | None = None,
               consistent_read: bool = False, client=None, timeout: float | None = None,
               cancel: threading.Event | None = None, projection: bool = True) -> QueryResult:
    """One night (or one requested window of it) from the table, as a raw polars frame.

    ``projection``: read only the job-record attributes (default); False reads every attribute
    (backtest needs the past runs' started_at/finished_at).

    ONE Query on ``batch_date = D`` (plus ``begins_with(window_job_id, "HH:MM#")``), every page
    followed, ``ReturnConsumedCapacity="TOTAL"``. The frame is not validated: pass it to
    ``mcqueue.schema.validate_jobs`` (or ``load_night``). ``page_size`` sets the Query ``Limit``
    (tests use it to force many pages); ``client`` reuses an existing low-level client.
    The whole query, all pages and retries, must finish within ``timeout`` seconds (default
    ``DEFAULT_TIMEOUT``); ``cancel`` stops it before its next page.
    """
    _check_date(batch_date)
    check_table_name(table)
    if window is not None:
        parse_hhmm(window, "window")
    if read_price < 0 or not math.isfinite(read_price):
        raise DataError(f"read price must be a finite number >= 0, got {quote(read_price)}")
    if client is None:
        client = make_client("dynamodb", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts,
                             timeout=timeout)
    items: list = []
    pages = 0
    units = 0.0
    with _service(client, "query", table):
        for page_items, page_units in _query_pages(client, table, batch_date, window,
                                                   page_size=page_size,
                                                   consistent_read=consistent_read,
                                                   cancel=cancel, projection=projection):
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
        desc = client.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    if not isinstance(desc, dict):
        raise ServiceError(f"the endpoint {quote(str(client.meta.endpoint_url))} answered "
                           f"DescribeTable of {quote(table)} with a malformed table description")
    return desc


def _check_key_schema(client, table: str, desc: dict) -> None:
    try:
        got = sorted((str(k["AttributeName"]), str(k["KeyType"]))
                     for k in desc.get("KeySchema", []))
    except (KeyError, TypeError):
        got = [("?", "?")]
    want = sorted((k["AttributeName"], k["KeyType"]) for k in KEY_SCHEMA)
    if got != want:
        shown = " + ".join(f"{plain(n, 60)} {plain(t, 20)}" for n, t in got) or "none"
        raise ServiceError(f"table {quote(table)} in {_where(client)} has key schema {shown}; "
                           "mcqueue needs batch_date HASH + window_job_id RANGE")


def _wait_status(client, table: str, *, want_gone: bool, timeout: float, poll: float) -> None:
    """Poll until the table is ACTIVE (or gone), at most ``timeout`` seconds; each poll is one
    operation with its own --timeout deadline."""
    deadline = time.monotonic() + timeout
    while True:
        with _service(client, "describe", table):
            desc = _describe(client, table)
        if want_gone and desc is None:
            return
        if not want_gone and desc is not None and desc.get("TableStatus") == "ACTIVE":
            return
        if time.monotonic() > deadline:
            state = "deleted" if want_gone else "active"
            raise ServiceError(f"table {quote(table)} in {_where(client)} did not become {state} "
                               f"within {timeout:g} s")
        _sleep(poll)


def ensure_table(client, table: str = DEFAULT_TABLE, *, tags: Mapping[str, str] | None = None,
                 wait_timeout: float = 600.0, poll: float = 0.5) -> bool:
    """Create the table (on-demand, the tutorial's key schema) if missing and wait until
    ACTIVE (at most ``wait_timeout`` seconds). Returns True if this call created it."""
    from botocore.exceptions import ClientError

    check_table_name(table)
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
            raise ServiceError(f"table {quote(table)} in {_where(client)} is being deleted; "
                               "wait and try again")
        else:
            _check_key_schema(client, table, desc)
    _wait_status(client, table, want_gone=False, timeout=wait_timeout, poll=poll)
    return created


def _existing(client, table: str, dates: Iterable[str]) -> tuple[dict, float]:
    """Every existing item of the given partitions, by key, and the read units it took (one
    operation, with its own deadline, per partition)."""
    found: dict[tuple[str, str], dict] = {}
    units = 0.0
    for date in dates:
        with _service(client, "read", table):
            for page_items, page_units in _query_pages(client, table, date, None,
                                                       projection=False, consistent_read=True):
                units += page_units
                for it in page_items:
                    try:
                        found[(it[PARTITION_KEY]["S"], it[SORT_KEY]["S"])] = it
                    except (KeyError, TypeError):
                        continue
    return found, units


class _PartialWrite(Exception):
    """A write failed after ``done`` items were stored."""

    def __init__(self, error: McqueueError, done: int):
        super().__init__(str(error))
        self.error = error
        self.done = done


def _write_batches(client, table: str, items: list[dict], *, max_attempts: int,
                   base_delay: float, max_delay: float,
                   progress: Callable[[int, int], None] | None) -> tuple[int, int, float]:
    """BatchWriteItem in chunks of 25; UnprocessedItems retried with jittered exponential
    backoff, at most ``max_attempts`` rounds per chunk (each chunk one operation with its own
    deadline). Returns (batches, retried, units); a failure raises _PartialWrite with the number
    of items stored before it."""
    batches = 0
    retried = 0
    units = 0.0
    done = 0
    for start in range(0, len(items), BATCH_WRITE_SIZE):
        pending = [{"PutRequest": {"Item": it}} for it in items[start:start + BATCH_WRITE_SIZE]]
        attempt = 0
        while pending:
            attempt += 1
            try:
                with _service(client, "write to", table):
                    resp = client.batch_write_item(RequestItems={table: pending},
                                                   ReturnConsumedCapacity="TOTAL")
            except McqueueError as exc:
                raise _PartialWrite(exc, done) from None
            batches += 1
            for cc in resp.get("ConsumedCapacity") or []:
                try:
                    units += float(cc.get("CapacityUnits") or 0.0)
                except (TypeError, ValueError, AttributeError):
                    pass
            left = (resp.get("UnprocessedItems") or {}).get(table) or []
            done += len(pending) - len(left)
            if progress is not None:
                progress(done, len(items))
            if not left:
                break
            if attempt >= max_attempts:
                raise _PartialWrite(ServiceError(
                    f"DynamoDB left {len(left)} item(s) unprocessed in table {quote(table)} in "
                    f"{_where(client)} after {attempt} attempts (throttled)"), done)
            retried += len(left)
            pending = left
            _sleep(random.random() * min(max_delay, base_delay * 2 ** (attempt - 1)))
    return batches, retried, units


def _read_file(path: str | Path) -> pl.DataFrame:
    """A local jobs file (CSV, Parquet, JSON, DynamoDB JSON) as a raw frame."""
    from .sources import read_jobs

    return read_jobs(path)


def prepare_items(data) -> list[dict[str, dict[str, Any]]]:
    """The ONLY way seeding gets its items, before anything is written: every record validated,
    every night built (so night-level checks, e.g. the dependency cycles of issue 12, run here
    too), every item converted and checked against DynamoDB's limits. Raises DataError for the
    first problem; returns the items in input order."""
    from .schema import nights_from_frame

    if isinstance(data, (str, Path)):
        data = _read_file(data)
    try:
        validated = validate_jobs(data)
        if validated.height == 0:
            raise DataError("no job records to seed: the input holds none")
        nights_from_frame(validated)  # every night built: a cycle of depends_on is refused here
    except DataError as exc:
        raise DataError(f"{exc} (nothing was written)") from None
    return frame_to_items(validated)


def seed_table(data, table: str = DEFAULT_TABLE, *, session=None, region: str | None = None,
               profile: str | None = None, endpoint_url: str | None = None,
               max_attempts: int | None = None, overwrite: bool = False, create: bool = True,
               tags: Mapping[str, str] | None = None,
               write_price: float = WRITE_PRICE_PER_MILLION,
               read_price: float = READ_PRICE_PER_MILLION, base_delay: float = 0.05,
               max_delay: float = 5.0, progress: Callable[[int, int], None] | None = None,
               client=None, timeout: float | None = None) -> SeedResult:
    """Write job records to the table, idempotently.

    ``data``: a polars frame, records (dicts) or a path to a local file. Every record is
    validated, converted and checked against DynamoDB's limits first (``prepare_items``), so a
    bad file writes nothing. The table is created if missing (``create``) and waited for. Then
    each night's partition is read with one consistent Query and compared with the records:
    identical items are skipped, differing items are left alone (counted as ``conflicts``)
    unless ``overwrite``, new items are written with BatchWriteItem. Unprocessed items are
    retried with backoff up to ``max_attempts`` rounds (default 8). Each request has the
    ``timeout`` deadline. A failure midway is a ServiceError saying how many items were stored;
    running the same seed again completes the load.
    """
    for what, price in (("write price", write_price), ("read price", read_price)):
        if price < 0 or not math.isfinite(price):
            raise DataError(f"{what} must be a finite number >= 0, got {quote(price)}")
    check_table_name(table)
    items = prepare_items(data)
    if client is None:
        client = make_client("dynamodb", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts,
                             timeout=timeout)
    if create:
        created = ensure_table(client, table, tags=tags)
    else:
        created = False
        with _service(client, "write to", table):
            desc = _describe(client, table)
            if desc is None:
                raise ServiceError(f"DynamoDB table {quote(table)} not found in "
                                   f"{_where(client)}")
            _check_key_schema(client, table, desc)
    read_units = 0.0
    existing: dict = {}
    if not created:
        dates = sorted({it[PARTITION_KEY]["S"] for it in items})
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
    try:
        batches, retried, write_units = _write_batches(
            client, table, to_write, max_attempts=int(max_attempts or 8),
            base_delay=base_delay, max_delay=max_delay, progress=progress)
    except _PartialWrite as exc:
        stored = skipped + exc.done
        raise ServiceError(
            f"{exc.error}; {exc.done:,} of {len(to_write):,} items were written by this run "
            f"({stored:,} of the input's {len(items):,} are stored now); run the same seed "
            "again to finish (it skips the items already stored), with a larger --timeout or "
            "--max-attempts if the service is slow") from None
    return SeedResult(
        table=table, endpoint=client.meta.endpoint_url, region=client.meta.region_name,
        created_table=created, items=len(items), written=len(to_write), skipped=skipped,
        conflicts=conflicts, overwritten=overwritten, batches=batches, retried_items=retried,
        consumed_write_units=write_units, consumed_read_units=read_units,
        cost_usd=write_units * write_price / 1e6 + read_units * read_price / 1e6)


def delete_table(table: str = DEFAULT_TABLE, *, session=None, region: str | None = None,
                 profile: str | None = None, endpoint_url: str | None = None,
                 max_attempts: int | None = None, wait: bool = True,
                 wait_timeout: float = 600.0, poll: float = 0.5, client=None,
                 timeout: float | None = None) -> DeleteResult:
    """Delete the table named ``table`` (a valid, non-empty name: UsageError otherwise;
    ServiceError naming table and region/endpoint if it is missing)."""
    check_table_name(table)
    if client is None:
        client = make_client("dynamodb", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts,
                             timeout=timeout)
    with _service(client, "delete", table):
        client.delete_table(TableName=table)
    if wait:
        _wait_status(client, table, want_gone=True, timeout=wait_timeout, poll=poll)
    return DeleteResult("table", table, client.meta.region_name, client.meta.endpoint_url)


def delete_stack(stack_name: str, *, session=None, region: str | None = None,
                 profile: str | None = None, endpoint_url: str | None = None,
                 max_attempts: int | None = None, wait: bool = True,
                 wait_timeout: float = 1800.0, poll: float = 5.0, client=None,
                 timeout: float | None = None) -> DeleteResult:
    """Delete a CloudFormation stack (e.g. one made from infra/dynamodb_table.yaml) and wait.

    Only the stack named: an empty or invalid name is a UsageError, never a fallback to the
    table. ``endpoint_url`` here is the CloudFormation endpoint
    (``AWS_ENDPOINT_URL_CLOUDFORMATION`` works too); the DynamoDB one does not apply.
    """
    from botocore.exceptions import ClientError

    check_stack_name(stack_name)
    if client is None:
        client = make_client("cloudformation", session=session, region=region, profile=profile,
                             endpoint_url=endpoint_url, max_attempts=max_attempts,
                             timeout=timeout)

    def status(of: str) -> dict:
        stacks = client.describe_stacks(StackName=of).get("Stacks")
        if not isinstance(stacks, list) or not stacks or not isinstance(stacks[0], dict):
            raise ServiceError(f"the endpoint {quote(str(client.meta.endpoint_url))} answered "
                               f"DescribeStacks of {quote(stack_name)} without the stack; is "
                               "--endpoint-url a CloudFormation endpoint?")
        return stacks[0]

    with _service(client, "delete", stack_name, kind="stack"):
        try:
            stack_id = status(stack_name).get("StackId") or stack_name
        except ClientError as exc:
            err = exc.response.get("Error", {})
            if err.get("Code") == "ValidationError" and "does not exist" in str(
                    err.get("Message", "")):
                raise ServiceError(f"CloudFormation stack {quote(stack_name)} not found in "
                                   f"{_where(client)}") from None
            raise
        client.delete_stack(StackName=stack_name)
    deadline = time.monotonic() + wait_timeout
    while wait:
        with _service(client, "describe", stack_name, kind="stack"):
            current = status(stack_id)
        state = str(current.get("StackStatus", ""))
        if state == "DELETE_COMPLETE":
            break
        if state == "DELETE_FAILED":
            raise ServiceError(f"deleting stack {quote(stack_name)} failed: "
                               f"{quote(current.get('StackStatusReason') or 'no reason given')}")
        if time.monotonic() > deadline:
            raise ServiceError(f"stack {quote(stack_name)} was not deleted within "
                               f"{wait_timeout:g} s (status {quote(state)})")
        _sleep(poll)
    return DeleteResult("stack", stack_name, client.meta.region_name, client.meta.endpoint_url)
