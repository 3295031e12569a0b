"""The directory feed's documents and rules: what a company, a customer and a cart look like when
the commerce platform sends them (directory API, Emporix webhooks, bulk import, seed files), and
how a write is ordered against what is stored.

Every way in validates with these models and writes through one ``DirectoryWriter`` port, so the
three of them cannot store the same thing differently.

Ordering: a document may carry ``version`` (a whole number) or ``modifiedAt`` (an ISO-8601
instant). Either becomes its ``revision``. A write whose revision is below the stored one is
stale; one whose revision equals the stored one is a repeat and changes nothing. A write without
either always applies (last writer wins) and leaves no revision behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from approval_core.domain.models import Identifier, Money, Text
from approval_core.domain.reference import Cart, Company, Customer, Quote, TenantSettings

GroupName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# A customer item, its member items (added and removed) and a check of each company's record are
# written in one transaction of at most 100 items.
MAX_COMPANIES_PER_CUSTOMER = 30


class _Ordered(BaseModel):
    # Built on first use, not at import: most functions never validate a directory entry.
    model_config = ConfigDict(defer_build=True)

    version: Annotated[int, Field(ge=0, le=10**15)] | None = None
    modifiedAt: datetime | None = None

    @field_validator("modifiedAt")
    @classmethod
    def _with_zone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must name its time zone (Z or an offset)")
        return value

    def revision(self) -> Decimal | None:
        return revision_of(self.version, self.modifiedAt)


class RevisionQuery(_Ordered):
    """The ``version`` / ``modifiedAt`` query parameters of a DELETE."""

    model_config = ConfigDict(extra="ignore")


def revision_of(version: int | None, modified_at: datetime | None) -> Decimal | None:
    """``version`` wins; else ``modifiedAt`` in epoch milliseconds; else None."""
    if version is not None:
        return Decimal(version)
    if modified_at is not None:
        return Decimal(int(modified_at.astimezone(UTC).timestamp() * 1000))
    return None


class CompanyEntry(_Ordered):
    # A misspelt field would silently go missing: refuse what is not known.
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    name: Text | None = None
    approvalLimit: Money | None = None

    def domain(self) -> Company:
        return Company(id=self.id, name=self.name, approval_limit=self.approvalLimit)


class CustomerEntry(_Ordered):
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    firstName: Text | None = None
    lastName: Text | None = None
    groups: list[GroupName] = []
    # May name companies the directory does not describe yet: a directory that lags (APPROVAL-404003).
    companies: Annotated[list[Identifier], Field(max_length=MAX_COMPANIES_PER_CUSTOMER)] = []
    # The customer's own limit as an approver (rule 28): above it they are not an eligible approver.
    approvalLimit: Money | None = None

    def domain(self) -> Customer:
        return Customer(
            id=self.id,
            first_name=self.firstName,
            last_name=self.lastName,
            groups=frozenset(self.groups),
            company_ids=tuple(dict.fromkeys(self.companies)),
            approval_limit=self.approvalLimit,
        )


class CartEntry(Cart, _Ordered):
    """A cart: carts come from the commerce platform, so unknown fields are ignored."""

    def cart(self) -> Cart:
        return Cart.model_validate(self.model_dump(exclude={"version", "modifiedAt"}))


class QuoteEntry(Quote, _Ordered):
    """A quote: a cart's shape with ``itemId`` per line; its ``version`` is both its ordering
    and the version an approval's fingerprint holds (rule 18). Unknown fields are ignored."""

    version: Annotated[int, Field(ge=0, le=10**15)] | None = None

    def quote(self) -> Quote:
        return Quote.model_validate(self.model_dump(exclude={"modifiedAt"}))


# The tenant's approval settings are one entry, ``settings/approval``: Emporix's ``approval.*``
# system preferences.
APPROVAL_SETTINGS_ID: Literal["approval"] = "approval"


class SettingsEntry(_Ordered):
    """``approval.enableQuoteApprovalProcess`` (rule 14): off unless set, as in Emporix."""

    model_config = ConfigDict(extra="forbid")

    id: Literal["approval"] = APPROVAL_SETTINGS_ID
    enableQuoteApprovalProcess: bool = False

    def domain(self) -> TenantSettings:
        return TenantSettings(enable_quote_approval_process=self.enableQuoteApprovalProcess)


class Kind(StrEnum):
    COMPANY = "companies"
    CUSTOMER = "customers"
    CART = "carts"
    QUOTE = "quotes"
    SETTINGS = "settings"


ENTRY_MODELS: dict[Kind, type[_Ordered]] = {
    Kind.COMPANY: CompanyEntry,
    Kind.CUSTOMER: CustomerEntry,
    Kind.CART: CartEntry,
    Kind.QUOTE: QuoteEntry,
    Kind.SETTINGS: SettingsEntry,
}


class Outcome(StrEnum):
    WRITTEN = "WRITTEN"  # stored (or deleted) now
    UNCHANGED = "UNCHANGED"  # the same revision is stored already: a repeat
    STALE = "STALE"  # a newer revision is stored: nothing written
    NOT_FOUND = "NOT_FOUND"  # a delete of what is not there


@dataclass(frozen=True)
class Stored:
    """What the directory holds for one entry: its revision and whether it is a deletion marker."""

    revision: Decimal | None
    deleted: bool
    document: dict[str, Any]


def decide(stored: Stored | None, revision: Decimal | None, same_revision_applies: bool = False) -> Outcome:
    """Whether a write with ``revision`` applies over ``stored``.

    A deletion leaves a marker with its revision, so an older update that arrives after the
    delete does not bring the entry back. ``same_revision_applies``: a change that is not a newer
    version of the entry (a membership, an item) applies at the stored revision.
    """
    if stored is None or revision is None or stored.revision is None:
        return Outcome.WRITTEN
    if revision < stored.revision:
        return Outcome.STALE
    if revision == stored.revision:
        if stored.deleted:
            return Outcome.STALE
        return Outcome.WRITTEN if same_revision_applies else Outcome.UNCHANGED
    return Outcome.WRITTEN


def decide_delete(stored: Stored | None, revision: Decimal | None) -> Outcome:
    """Deleting what was never there is NOT_FOUND; deleting again is UNCHANGED (idempotent)."""
    if stored is None:
        return Outcome.NOT_FOUND
    if stored.deleted:
        return Outcome.UNCHANGED
    if revision is not None and stored.revision is not None and revision < stored.revision:
        return Outcome.STALE
    return Outcome.WRITTEN


@dataclass(frozen=True)
class Propagation:
    """How far a company's change has reached its members' items."""

    members_updated: int
    complete: bool
