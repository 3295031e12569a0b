"""The ports the use cases depend on. DynamoDB implementations live in ``approval_core.adapters``;
tests use fakes of the same shape (tests/fakes.py), checked against the same contract tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from approval_core.domain.models import Approval
from approval_core.domain.reference import Cart, Customer


class ApprovalStore(Protocol):
    def get(self, tenant: str, approval_id: str) -> Approval | None:
        """The stored approval, or None. One read."""
        ...

    def create(self, tenant: str, approval: Approval, now: str) -> None:
        """Store a new PENDING approval and take the resource's lock, atomically.

        Raises AlreadyApproved (rule 5: an APPROVED approval holds the resource) or
        ApprovalAlreadyExists (a PENDING one that is not overdue holds it, or the id is taken).
        """
        ...


class Directory(Protocol):
    def get_customers(self, tenant: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
        """The customers the directory knows among ``customer_ids``, by id, with their companies.
        One batch read."""
        ...


class CartSource(Protocol):
    def get_cart(self, tenant: str, cart_id: str) -> Cart | None: ...
