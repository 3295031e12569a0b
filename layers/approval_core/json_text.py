"""JSON text with exact decimals, for HTTP bodies and event details alike."""

from __future__ import annotations

from typing import Any

import simplejson


def dumps(value: Any) -> str:
    """An amount of 10.10 is written 10.10, never 10.1."""
    return simplejson.dumps(value, use_decimal=True, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """Numbers become ``Decimal``; NaN and Infinity are not JSON and are refused."""
    return simplejson.loads(text, use_decimal=True, allow_nan=False)
