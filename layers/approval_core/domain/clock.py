"""Times are UTC instants written ISO-8601 with milliseconds and ``Z``: that fixed shape also
makes them sort and compare correctly as strings (in DynamoDB keys and conditions too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# How long an approval stays PENDING unless configured otherwise (ApprovalExpirySeconds).
DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def iso_after(instant: datetime, seconds: int) -> str:
    return iso(instant + timedelta(seconds=seconds))
