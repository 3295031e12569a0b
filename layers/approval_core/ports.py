"""The ports the use cases depend on: interfaces only. DynamoDB implementations live in ``approval_core.adapters``;
tests use fakes of the same shape (tests/fakes.py), checked against the same contract tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # interfaces only: a function importing a port loads none of what it names
    from collections.abc import Callable, Iterable, Iterator
    from decimal import Decimal

    from approval_core.domain.directory import (
        CartEntry,
        CompanyEntry,
        CustomerEntry,
        Kind,
        Outcome,
        Propagation,
        QuoteEntry,
        SettingsEntry,
        Stored,
    )
    from approval_core.domain.events import ApprovalEvent
    from approval_core.domain.listing import KeyedListing, KeyedSelection
    from approval_core.domain.models import (
        Approval,
        HistoryEntry,
        OverdueApproval,
        ResourceApproval,
        Status,
    )
    from approval_core.domain.policies import Policy
    from approval_core.domain.reference import Cart, Customer, Quote, TenantSettings


class ApprovalStore(Protocol):
    def get(self, tenant: str, approval_id: str) -> Approval | None:
        """The stored approval, or None. One read."""
        ...

    def get_many(self, tenant: str, approval_ids: list[str]) -> dict[str, Approval]:
        """The stored approvals among ``approval_ids`` (at most 100), by id. One batch read
        (repeated only for the keys DynamoDB leaves unprocessed)."""
        ...

    def create(self, tenant: str, approval: Approval, now: str) -> None:
        """Store a new PENDING approval and take the resource's lock, atomically.

        Raises AlreadyApproved (rule 5: an APPROVED approval holds the resource) or
        ApprovalAlreadyExists (a PENDING one that is not overdue holds it, or the id is taken).
        """
        ...

    def update(
        self,
        tenant: str,
        approval: Approval,
        expected_version: int,
        now: str,
        expected_status: Status = ...,
    ) -> None:
        """Replace the approval with its next version, with its participants' copies and the
        resource's lock, atomically; only while the stored one is PENDING, not overdue at
        ``now`` (rule 7) and at ``expected_version`` (rule 9).

        ``expected_status`` APPROVED: the one change an APPROVED approval accepts (rule 16), only
        while it has no ``createdResource`` yet.

        Raises ApprovalFinished or ConcurrentModification, told apart from the item the failed
        condition returns, not from a second read.
        """
        ...

    def latest_for_resource(
        self, tenant: str, resource_type: str, resource_id: str, action: str
    ) -> ResourceApproval | None:
        """The resource's most recent approval. One read."""
        ...

    def list_for_participant(self, tenant: str, user_id: str, limit: int | None) -> list[Approval]:
        """The approvals the customer takes part in, newest first; the first ``limit`` of them,
        or all when ``limit`` is None."""
        ...

    def list_keyed(self, tenant: str, user_id: str, selection: KeyedSelection) -> KeyedListing | None:
        """The customer's approvals of the selected statuses and created range, newest first,
        read from keys (about one item read per approval returned, whatever the customer's
        history), with the count of those statuses; None while the store cannot answer from
        keys (a table whose status keys are not backfilled yet)."""
        ...

    def backfill_status_keys(self, has_time: Callable[[], bool]) -> bool:
        """Complete the keys ``list_keyed`` reads for approvals stored before they existed;
        idempotent, resumable. True once complete."""
        ...

    def overdue(self, now: str) -> Iterator[OverdueApproval]:
        """PENDING approvals whose expiryDate is at or before ``now``, read page by page as the
        caller consumes them (about one item read per approval)."""
        ...

    def count_overdue(self, now: str) -> int:
        """How many PENDING approvals are overdue at ``now``."""
        ...

    def expire(self, overdue: OverdueApproval, entry: HistoryEntry, sweep_id: str) -> bool:
        """Move the approval to EXPIRED with ``entry`` appended to its history, with its
        participants' copies and (while it still names it) its resource's lock, atomically; only
        if it is still PENDING, overdue at ``entry.at`` and at ``overdue.version``.

        False when that no longer holds (expired by another sweep, changed meanwhile): nothing
        is written then. ``sweep_id`` names the run, so a retried write the store had applied
        counts as this run's.
        """
        ...


class PolicyStore(Protocol):
    """Approval policies (rules 22-29), kept in the directory table next to the companies."""

    def get(self, tenant: str, policy_id: str) -> Policy | None:
        """One read."""
        ...

    def of_companies(self, tenant: str, company_ids: Iterable[str] | None) -> list[Policy]:
        """The policies of these companies (None: of every company), ordered by id."""
        ...

    def create(self, tenant: str, policy: Policy) -> None:
        """Raises PolicyAlreadyExists when the id is taken in the tenant."""
        ...

    def replace(self, tenant: str, policy: Policy, expected_version: int) -> None:
        """Raises PolicyNotFound, or ConcurrentModification when not at ``expected_version``."""
        ...

    def delete(self, tenant: str, policy: Policy) -> None: ...

    def company_members_and_policies(self, tenant: str, company_id: str) -> tuple[list[Customer], list[Policy]]:
        """The company's members and policies, in one Query."""
        ...

    def companies_with_policies(self, tenant: str) -> frozenset[str]:
        """The companies of the tenant with at least one policy."""
        ...


class EventPublisher(Protocol):
    def publish(self, event: ApprovalEvent) -> None:
        """Deliver one event; raise if it was not accepted (the caller retries)."""
        ...


class Directory(Protocol):
    def get_customers(self, tenant: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
        """The customers the directory knows among ``customer_ids``, by id, with their companies.
        One batch read."""
        ...

    def get_members(self, tenant: str, company_id: str) -> list[Customer]:
        """The customers of a company, with their groups. One query."""
        ...


class CartSource(Protocol):
    def get_cart(self, tenant: str, cart_id: str) -> Cart | None: ...


class QuoteSource(Protocol):
    """Quotes (rule 14) and the tenant's approval settings, from the commerce platform."""

    def get_quote(self, tenant: str, quote_id: str) -> Quote | None: ...

    def get_tenant_settings(self, tenant: str) -> TenantSettings:
        """The settings stored for the tenant; none stored: quote approvals off."""
        ...


class CustomersAndCart(Protocol):
    """What a use case reads before it decides, in as few requests as the stores allow: the
    DynamoDB adapter (``adapters.reads.DynamoReads``) reads each group in one BatchGetItem over
    both tables; ``adapters.reads.SeparateReads`` composes the other ports."""

    def get_customers_quote_and_settings(
        self, tenant: str, customer_ids: Iterable[str], quote_id: str
    ) -> tuple[dict[str, Customer], Quote | None, TenantSettings, frozenset[str]]:
        """What a quote approval's create reads: the customers, the quote, the tenant's settings
        and the companies that have approval policies."""
        ...

    def get_customers_cart_and_policy_companies(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str, resource_type: str = ...
    ) -> tuple[dict[str, Customer], Cart | None, frozenset[str]]:
        """The customers the directory knows among ``customer_ids``, by id, the cart (or, for
        ``resource_type`` QUOTE, the quote) and the companies that have approval policies."""
        ...

    def get_customer_cart_lock_and_policy_companies(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None, frozenset[str]]:
        """The customer, the cart, the resource's most recent approval (its lock) and the
        companies that have approval policies, for the permitted check."""
        ...


class DirectoryWriter(Protocol):
    """The one way into the directory (customers, companies, carts, quotes, settings): the directory API, the
    webhook consumer and the bulk import all write through it. Each write reads the entry,
    applies ``domain.directory.decide`` and writes only if nothing changed in between."""

    def read(self, tenant: str, kind: Kind, entry_id: str) -> Stored | None:
        """The stored entry (a deletion marker included), or None. One read."""
        ...

    def put_company(self, tenant: str, entry: CompanyEntry) -> Outcome:
        """Store the company; its members see the change once ``propagate_company`` has run."""
        ...

    def put_customer(self, tenant: str, entry: CustomerEntry, same_revision_applies: bool = False) -> Outcome:
        """Store the customer with their companies' records, and the member items of the
        companies they join or leave, atomically."""
        ...

    def put_cart(self, tenant: str, entry: CartEntry, same_revision_applies: bool = False) -> Outcome: ...

    def put_quote(self, tenant: str, entry: QuoteEntry, same_revision_applies: bool = False) -> Outcome: ...

    def put_settings(self, tenant: str, entry: SettingsEntry) -> Outcome: ...

    def delete(self, tenant: str, kind: Kind, entry_id: str, revision: Decimal | None) -> Outcome:
        """Delete the entry, leaving a marker that keeps older writes out. Never touches approvals."""
        ...

    def propagate_company(self, tenant: str, company_id: str, time_left: Callable[[], bool]) -> Propagation:
        """Bring the company's last write into its members' items, from where the last run
        stopped, while ``time_left()``."""
        ...

    def customer_id_by_number(self, tenant: str, number: str) -> str | None: ...

    def remember_customer_number(self, tenant: str, number: str, customer_id: str) -> None: ...
