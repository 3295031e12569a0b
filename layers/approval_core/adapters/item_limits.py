"""DynamoDB's limits on what it stores, measured as DynamoDB measures them, so that a write it
would refuse is refused here first, as the client's problem (APPROVAL-400001), never as a 500.

The rules (DynamoDB developer guide, "Item sizes and formats" and "Service quotas"):

* an item is at most 400 KB: the UTF-8 bytes of every attribute name plus its value's size;
  strings count their UTF-8 bytes, numbers about one byte per two significant digits plus one,
  booleans and nulls 1 byte, a list or map 3 bytes plus 1 byte per element (and a map's member
  names);
* maps and lists nest at most 32 levels deep;
* a number has at most 38 significant digits, with a magnitude from 1E-130 to below 1E+126.

moto stores items beyond all three limits; these functions are what the adapters (and the tests
that hold moto to DynamoDB's rules) measure with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from approval_core.domain.errors import ErrorDetail, ValidationFailed

MAX_ITEM_BYTES = 400 * 1024
MAX_NESTING_DEPTH = 32
MAX_NUMBER_DIGITS = 38
SMALLEST_EXPONENT = -130
LARGEST_EXPONENT = 125


# --------------------------------------------------------------------------- measures
def value_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value in DynamoDB's typed form ({"S": ...}, {"N": ...}, ...)."""
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return number_size(str(content))
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(text).encode()) for text in content)
    if kind == "NS":
        return sum(number_size(str(number)) for number in content)
    if kind == "BS":
        return sum(len(blob) for blob in content)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in content.items())
    raise ValueError(f"unknown attribute type {kind}")


def number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) or 1
    return math.ceil(significant / 2) + 1 + (1 if text.startswith("-") else 0)


def item_size(item: Mapping[str, Any] | None) -> int:
    """Size of an item in DynamoDB's typed form: names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def nesting_depth(item: Mapping[str, Any]) -> int:
    """How deep maps and lists nest in a typed item: 1 for a top-level map or list attribute."""
    deepest = 0
    pending: list[tuple[Mapping[str, Any], int]] = [(value, 0) for value in item.values()]
    while pending:  # iterative: no nesting can overflow the interpreter's stack
        value, depth = pending.pop()
        (kind, content), *_ = value.items()
        if kind == "L":
            pending.extend((element, depth + 1) for element in content)
        elif kind == "M":
            pending.extend((element, depth + 1) for element in content.values())
        deepest = max(deepest, depth + (kind in ("L", "M")))
    return deepest


def storable_number(number: Decimal) -> bool:
    """Whether DynamoDB can store ``number`` exactly (no arithmetic: the default context's 28
    digits would round it)."""
    if number == 0:
        return True
    if not number.is_finite():
        return False
    digits = len("".join(map(str, number.as_tuple().digits)).rstrip("0"))
    return digits <= MAX_NUMBER_DIGITS and SMALLEST_EXPONENT <= number.adjusted() <= LARGEST_EXPONENT


NUMBER_LIMITS = "numbers have at most 38 digits, between 1E-130 and 1E+126"


# --------------------------------------------------------------------------- the check
def check_item(item: Mapping[str, Any], headroom: int = 0) -> None:
    """APPROVAL-400001 when DynamoDB would refuse to store ``item`` (typed form), or when it would
    have less than ``headroom`` bytes left for what later writes append to it."""
    if nesting_depth(item) > MAX_NESTING_DEPTH:
        message = f"body: the approval would nest more than {MAX_NESTING_DEPTH} levels deep"
        raise ValidationFailed("The approval would nest deeper than DynamoDB stores", [ErrorDetail(message=message)])
    if item_size(item) + headroom > MAX_ITEM_BYTES:
        raise ValidationFailed(
            "The approval would grow beyond DynamoDB's 400 KB item size",
            [ErrorDetail(message="body: the approval would be too large")],
        )
