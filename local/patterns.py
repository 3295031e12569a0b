"""Event patterns as EventBridge rules and Lambda's FilterCriteria write them, matched against a
JSON document (a Lambda stream record, say).

A pattern mirrors the document: objects nest, and each leaf is a list of what the value there may
be; the value matches when it matches any entry. Entries are exact values (a string, number,
boolean or null) or one of the comparison objects below. A document value that is a list matches
when any of its elements does. Fields a pattern does not name do not matter.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()  # a field the document does not have ({"exists": false} matches it)

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPERATORS = ("prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "wildcard")


def check(pattern: Any) -> None:
    """Raise ValueError for a pattern local mode would not match as AWS does."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValueError("a pattern is a non-empty JSON object")
    for name, value in pattern.items():
        if isinstance(value, dict):
            check(value)
        elif isinstance(value, list) and value:
            for entry in value:
                _check_entry(entry, name)
        else:
            raise ValueError(f"{name}: expected an object or a non-empty list of values")


def _check_entry(entry: Any, name: str) -> None:
    if not isinstance(entry, dict):
        if isinstance(entry, list):
            raise ValueError(f"{name}: a list inside a list")
        return
    if len(entry) != 1 or next(iter(entry)) not in _OPERATORS:
        raise ValueError(f"{name}: local mode matches only {', '.join(_OPERATORS)}, not {entry}")
    ((kind, argument),) = entry.items()
    if kind == "numeric":
        if not (isinstance(argument, list) and len(argument) in (2, 4)):
            raise ValueError(f"{name}: numeric takes [op, number] or [op, number, op, number]")
        for op, bound in zip(argument[::2], argument[1::2], strict=True):
            if op not in _NUMERIC or not _is_number(bound):
                raise ValueError(f"{name}: numeric takes operators {', '.join(_NUMERIC)} and numbers")
    elif kind == "exists" and not isinstance(argument, bool):
        raise ValueError(f"{name}: exists takes true or false")
    elif kind in ("prefix", "suffix") and not isinstance(argument, str | dict):
        raise ValueError(f"{name}: {kind} takes a string")


def matches(pattern: Mapping[str, Any], document: Any) -> bool:
    """Whether ``document`` matches ``pattern`` (one that passed ``check``)."""
    if not isinstance(document, Mapping):
        return False
    for name, wanted in pattern.items():
        value = document.get(name, _MISSING)
        if isinstance(wanted, Mapping):
            if not matches(wanted, value):
                return False
        elif not _leaf_matches(wanted, value):
            return False
    return True


def _leaf_matches(entries: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(entry, dict) and entry.get("exists") is False for entry in entries)
    values = value if isinstance(value, list) else [value]
    return any(_entry_matches(entry, item) for entry in entries for item in values)


def _entry_matches(entry: Any, value: Any) -> bool:
    if not isinstance(entry, dict):
        return _equal(entry, value)
    ((kind, argument),) = entry.items()
    if kind == "exists":
        return bool(argument)  # the value is there
    if kind == "prefix":
        return _affix(argument, value, str.startswith)
    if kind == "suffix":
        return _affix(argument, value, str.endswith)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and isinstance(argument, str) and value.casefold() == argument.casefold()
    if kind == "wildcard":
        text = ".*".join(re.escape(part) for part in str(argument).split("*"))
        return isinstance(value, str) and re.fullmatch(text, value, re.DOTALL) is not None
    if kind == "anything-but":
        if isinstance(argument, dict):
            return isinstance(value, str) and not _entry_matches(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_equal(item, value) for item in excluded)
    if kind == "numeric":
        return _is_number(value) and all(
            _NUMERIC[op](float(value), float(bound)) for op, bound in zip(argument[::2], argument[1::2], strict=True)
        )
    return False


def _affix(argument: Any, value: Any, test: Callable[[str, str], bool]) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(argument, dict):  # {"prefix": {"equals-ignore-case": "abc"}}
        text = str(argument.get("equals-ignore-case", ""))
        return test(value.casefold(), text.casefold())
    return test(value, str(argument))


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    # True is not 1 in a pattern: compare types as JSON sees them.
    return type(expected) is type(value) and bool(expected == value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
