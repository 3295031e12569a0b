"""What a list asks of the store when its filter can be answered from keys, and what it gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only the list function parses queries: the other functions never load the query language.
    from approval_core.domain.models import Approval
    from approval_core.domain.query import Query, SortKey


@dataclass(frozen=True)
class ListRequest:
    """GET /approvals, parsed: the filter, the order, the page and whether a total is wanted."""

    query: Query
    sort: list[SortKey]
    page_number: int = 1
    page_size: int = 60
    with_total: bool = False
    default_sort: bool = True


@dataclass(frozen=True)
class KeyedSelection:
    """A customer's approvals of some statuses (None: all), created within a range, newest first.

    ``keep`` is the rest of the filter (the whole ``q`` on the approval as rule 13 shows it at
    ``now``); ``limit`` how many kept approvals the page ends at (None: all of them); at most
    ``max_read`` items are read.
    """

    statuses: frozenset[str] | None
    created_from: str | None
    created_to: str | None
    now: str
    keep: Callable[[Approval], bool]
    limit: int | None
    max_read: int


@dataclass(frozen=True)
class KeyedListing:
    """The kept approvals, newest first (up to the limit); ``total``: how many approvals of the
    selected statuses the customer has as of ``now`` (rule 13 applied), from the counts; ``read``:
    items read; ``truncated``: ``max_read`` was reached before the answer was complete."""

    approvals: list[Approval]
    total: int
    read: int
    truncated: bool
