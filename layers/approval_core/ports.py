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


class CustomersAndCart(Protocol):
    """The customers and the cart a use case needs, in one read where the directory and the cart
    source live in one store (the DynamoDB defaults do). ``SeparateReads`` serves the others."""

    def get_customers_and_cart(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str
    ) -> tuple[dict[str, Customer], Cart | None]: ...


class SeparateReads:
    """CustomersAndCart from a Directory and a CartSource that cannot share a read."""

    def __init__(self, directory: Directory, carts: CartSource) -> None:
        self._directory = directory
        self._carts = carts

    def get_customers_and_cart(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str
    ) -> tuple[dict[str, Customer], Cart | None]:
        return self._directory.get_customers(tenant, customer_ids), self._carts.get_cart(tenant, cart_id)
