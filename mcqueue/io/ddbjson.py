"""DynamoDB attribute values ({"S": ...}, {"N": ...}, ...), checked strictly.

Used for DynamoDB JSON files (an S3 export) and for the items a live table returns, so both
read exactly the same way:

- ``S`` must hold a JSON string; ``N`` a decimal string (at most ``MAX_NUMBER_CHARS``
  characters, at most 38 significant digits, magnitude from 1e-130 to below 1e126: DynamoDB's
  own limits); ``BOOL`` a JSON boolean (``{"BOOL": "false"}`` is an error, never "true");
  ``NULL`` must be ``true``.
- ``L`` (of ``S`` values) and ``SS`` are accepted for the list fields ``depends_on`` and
  ``locks`` only (issues 12/13, ``schema.LIST_FIELDS``) and become a list of strings;
  ``M``, ``NS``, ``BS`` and ``B`` are DynamoDB types that no job field accepts, and any other
  descriptor is not a DynamoDB type. Both are errors naming the field and the row.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import DataError, quote
from .schema import LIST_FIELDS

MAX_NUMBER_CHARS = 200  # characters of one N value (38 digits, a sign, a point, an exponent)
MAX_DIGITS = 38  # DynamoDB: up to 38 digits of precision
MIN_EXPONENT = -130  # smallest positive magnitude 1e-130
MAX_EXPONENT = 125  # largest magnitude 9.99...e125
TYPES = ("S", "N", "BOOL", "NULL", "L", "M", "SS", "NS", "BS", "B")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")


def significant_digits(d: Decimal) -> int:
    """Digits of ``d`` without leading and trailing zeros (exact: no context rounding)."""
    digits = "".join(map(str, d.as_tuple().digits)).strip("0")
    return max(1, len(digits))


def number_problem(text: Any) -> str | None:
    """Why ``text`` is not a DynamoDB number (a string), or None when it is one."""
    if not isinstance(text, str):
        return "must be a number written as a string"
    if len(text) > MAX_NUMBER_CHARS:
        return f"is a number of {len(text):,} characters (at most {MAX_NUMBER_CHARS})"
    if not _NUMBER.match(text.strip()):
        return "must be a decimal number"
    try:
        d = Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return "must be a decimal number"
    if d.is_zero():
        return None
    digits = significant_digits(d)
    if digits > MAX_DIGITS:
        return f"has {digits} significant digits (DynamoDB keeps at most {MAX_DIGITS})"
    if not MIN_EXPONENT <= d.adjusted() <= MAX_EXPONENT:
        return "is out of DynamoDB's number range (1e-130 to 9.99e125 in magnitude)"
    return None


def attribute_value(value: Any, field: str, where: str) -> Any:
    """One DynamoDB attribute value -> a plain value (str for S and N, bool, None).

    ``where`` names the record in errors, e.g. "'x.ddb.json' line 3" or "item 12".
    """
    if not isinstance(value, dict) or len(value) != 1:
        raise DataError(f"{where}: field {quote(field)} is not a DynamoDB attribute value "
                        f"like {{\"S\": \"...\"}}, got {quote(value)}")
    (kind, v), = value.items()
    if kind == "S":
        if not isinstance(v, str):
            raise DataError(f"{where}: field {quote(field)} is of DynamoDB type S but holds "
                            f"{type(v).__name__} {quote(v)}, not a string")
        return v
    if kind == "N":
        problem = number_problem(v)
        if problem:
            raise DataError(f"{where}: field {quote(field)} (DynamoDB type N) {problem}, "
                            f"got {quote(v)}")
        return v.strip()
    if kind == "BOOL":
        if not isinstance(v, bool):
            raise DataError(f"{where}: field {quote(field)} is of DynamoDB type BOOL but holds "
                            f"{quote(v)}; a BOOL must be the JSON value true or false")
        return v
    if kind == "NULL":
        if v is not True:
            raise DataError(f"{where}: field {quote(field)} is of DynamoDB type NULL but holds "
                            f"{quote(v)}; NULL must be true")
        return None
    if kind in ("L", "SS") and field in LIST_FIELDS:
        return _string_list(kind, v, field, where)
    if kind in TYPES:
        extra = f" (L of S or SS for {', '.join(LIST_FIELDS)})"
        raise DataError(f"{where}: field {quote(field)} has DynamoDB type {quote(kind)}; job records "
                        f"use S, N, BOOL or NULL{extra}")
    raise DataError(f"{where}: field {quote(field)} has an unknown DynamoDB type descriptor "
                    f"{quote(kind)}; DynamoDB types are {', '.join(TYPES)}")


def _string_list(kind: str, v: Any, field: str, where: str) -> list[str]:
    """An L of S values or an SS as a list of strings."""
    if not isinstance(v, list):
        raise DataError(f"{where}: field {quote(field)} is of DynamoDB type {kind} but holds "
                        f"{quote(v)}, not a list")
    out = []
    for e in v:
        if kind == "SS":
            ok = isinstance(e, str)
            text = e
        else:
            ok = isinstance(e, dict) and len(e) == 1 and isinstance(e.get("S"), str)
            text = e.get("S") if ok else None
        if not ok:
            raise DataError(f"{where}: field {quote(field)} (DynamoDB type {kind}) must hold "
                            f"strings{' (S values)' if kind == 'L' else ''}, got {quote(e)}")
        out.append(text)
    return out


def item_values(item: Any, where: str) -> dict[str, Any]:
    """A whole item (attribute name -> attribute value) -> plain values."""
    if not isinstance(item, dict):
        raise DataError(f"{where}: a DynamoDB item must be an object, got {quote(item)}")
    return {k: attribute_value(v, k, where) for k, v in item.items()}
