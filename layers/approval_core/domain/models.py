"""The approval document and the requests, as the API reference (docs/api.md) describes them.

Field names are the wire names (camelCase) on purpose: the document is stored, patched (RFC 6902
paths) and returned under these names, so one spelling serves all three.

Amounts are ``Decimal``: request bodies are parsed with ``parse_float=Decimal`` and DynamoDB
returns ``Decimal``, so no binary float ever touches money.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
)

MAX_COMMENT_LENGTH = 4000

Text = Annotated[str, StringConstraints(max_length=1000)]
Comment = Annotated[str, StringConstraints(max_length=MAX_COMMENT_LENGTH)]
Amount = Annotated[Decimal, Field(allow_inf_nan=False)]
# Ids end up inside DynamoDB keys, where "#" separates the parts of a key, and in URL paths, where
# "/" separates segments (a client sends it encoded, and API Gateway hands the function a decoded
# path, so such an id could not be read). Spaces between other characters and non-ASCII letters
# are fine (clients percent-encode them); other whitespace, whitespace at either end (it would not
# survive a copy and paste) and control characters are not.
MAX_IDENTIFIER_LENGTH = 128
_ID_CHARACTER = r"[^#/\s\x00-\x1f\x7f]"
IDENTIFIER_PATTERN = rf"^{_ID_CHARACTER}(?:(?:{_ID_CHARACTER}| )*{_ID_CHARACTER})?$"
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_LENGTH, pattern=IDENTIFIER_PATTERN)
]
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def is_identifier(text: str) -> bool:
    """Whether ``text`` could be an id (of an approval, a customer, a cart): what the models accept."""
    return len(text) <= MAX_IDENTIFIER_LENGTH and _IDENTIFIER.fullmatch(text) is not None


class Status(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    CLOSED = "CLOSED"


class ResourceType(StrEnum):
    CART = "CART"
    QUOTE = "QUOTE"


class Action(StrEnum):
    CHECKOUT = "CHECKOUT"


class HistoryAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"
    # Rule 16: the order the approved checkout created was recorded (``createdResource``).
    ORDERED = "ORDERED"
    # One approver's approval on an approval with a flow that leaves it PENDING (rule 26).
    TIER_APPROVED = "TIER_APPROVED"


class Model(BaseModel):
    """Objects ignore properties they do not know and do not keep them (contract, "document"): real
    storefronts send more than the published schema lists, and an unknown member is never a reason
    to refuse a request. What a client reads back is declared, so it is kept."""

    # Built on first use, not at import: a function pays only for the models it touches (cold start).
    model_config = ConfigDict(extra="ignore", validate_assignment=False, defer_build=True)


# --------------------------------------------------------------------------- the cart snapshot
class Money(Model):
    currency: Text
    amount: Amount

    def value(self) -> Decimal:
        """What a limit compares, as ``Price.value``."""
        return self.amount


class Price(Model):
    """A price of the current Emporix API: ``netValue``/``grossValue``/``taxValue``, and the
    deprecated ``amount`` that older clients read (kept whenever the source sends it)."""

    currency: Text
    amount: Amount | None = None
    netValue: Amount | None = None
    grossValue: Amount | None = None
    taxValue: Amount | None = None

    def value(self) -> Decimal | None:
        """What rule 4 compares with a limit: ``amount``, else the gross value."""
        return self.amount if self.amount is not None else self.grossValue


class Item(Model):
    """A cart's or a quote's line: quotes name their line by ``itemId`` and price it with
    ``unitPrice``, the negotiated ``newUnitPrice`` and the line's ``calculatedPrice``."""

    quantity: Amount
    itemId: Text | None = None
    itemPrice: Price | None = None
    unitPrice: Price | None = None
    newUnitPrice: Price | None = None
    calculatedPrice: Price | None = None
    itemYrn: Text | None = None
    unit: Text | None = None


class SubtotalAggregate(Model):
    currency: Text | None = None
    netValue: Amount | None = None
    grossValue: Amount | None = None
    taxValue: Amount | None = None


class DeliveryWindow(Model):
    """The storefront's labels (``deliveryDayLabel``, ``deliveryTimeLabel``) are ignored: it
    computes them again from the delivery-window service when it shows the approval."""

    id: Text | None = None
    slotId: Text | None = None
    deliveryDate: Text | None = None


class Resource(Model):
    id: Identifier
    items: list[Item] = Field(default_factory=list)
    totalPrice: Price | None = None
    subTotalPrice: Price | None = None
    subtotalAggregate: SubtotalAggregate | None = None
    siteCode: Text | None = None
    deliveryWindow: DeliveryWindow | None = None
    # A quote's version when the approval was asked (rule 18: part of what the approver saw).
    version: Annotated[int, Field(ge=0, le=10**15)] | None = None


class Reference(Model):
    """``{id}`` of another entity: the approval's legal entity, the order it became."""

    id: Identifier


# --------------------------------------------------------------------------- people
class Person(Model):
    userId: Identifier
    firstName: Text | None = None
    lastName: Text | None = None


class UserRef(Model):
    """The approver as a create request names them: only ``userId`` counts (storefronts send the
    whole user object from search users)."""

    userId: Identifier


# --------------------------------------------------------------------------- details
class PaymentMethod(Model):
    """A storefront's UI members (``displayName``, ``paymentMode``) are ignored: the checkout reads
    ``provider``, ``method``, ``amount`` and ``customAttributes`` (kept whole)."""

    provider: Text | None = None
    customAttributes: dict[str, Any] | None = None
    method: Text | None = None
    amount: Amount | None = None


class Shipping(Model):
    zoneId: Text | None = None
    methodId: Text | None = None
    amount: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    methodName: Text | None = None
    shippingTaxCode: Text | None = None


class Payment(Model):
    paymentId: Text | None = None
    customAttributes: dict[str, Any] | None = None


class Address(Model):
    """An address-book entry's own members (``name``, ``tags``, ``contactDetails``, ``metadata``
    ...) are ignored; its ``id`` is kept: the storefront uses it as the value of its address
    drop-down when it shows the approval."""

    id: Text | None = None
    contactName: Text | None = None
    companyName: Text | None = None
    street: Text | None = None
    streetNumber: Text | None = None
    streetAppendix: Text | None = None
    zipCode: Annotated[str, StringConstraints(max_length=11)] | None = None
    city: Text | None = None
    country: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    state: Text | None = None
    contactPhone: Text | None = None
    type: Literal["SHIPPING", "BILLING"] | None = None


class Details(Model):
    currency: Text | None = None
    paymentMethods: list[PaymentMethod] | None = None
    shipping: Shipping | None = None
    payment: Payment | None = None
    addresses: list[Address] | None = Field(default=None, min_length=1)

    @field_validator("addresses")
    @classmethod
    def _no_duplicate_addresses(cls, addresses: list[Address] | None) -> list[Address] | None:
        if addresses is not None:
            seen = [address.model_dump() for address in addresses]
            if any(entry in seen[:index] for index, entry in enumerate(seen)):
                raise ValueError("contains duplicate addresses")
        return addresses


# --------------------------------------------------------------------------- the approval
class Metadata(Model):
    createdAt: str
    modifiedAt: str
    version: Annotated[int, Field(ge=1)]


class FlowStep(Model):
    """A tier one decision acted on (1-based ``tier``), as history entries and events name it."""

    policyId: str
    tier: int
    tierName: str | None = None


class HistoryEntry(Model):
    at: str
    by: str
    action: HistoryAction
    status: Status
    version: int
    # A decision on an approval with a flow: the tiers it acted on (rule 27).
    tiers: list[FlowStep] | None = None

    @model_serializer(mode="wrap")
    def _without_tiers_outside_flows(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Entries of approvals without a flow keep the shape they always had.
        dumped: dict[str, Any] = handler(self)
        if dumped.get("tiers") is None:
            dumped.pop("tiers", None)
        return dumped


# --------------------------------------------------------------------------- the flow (rules 24-29)
class FlowApproval(Model):
    userId: str
    at: str


class FlowTier(Model):
    """One tier of a matched policy: its eligible approvers as resolved when the approval was
    created, and those named but above their own limit (rule 28), and who approved when."""

    name: str
    required: int
    approvers: list[Person]
    aboveOwnLimit: list[Person] | None = None
    approvals: list[FlowApproval] = Field(default_factory=list)


class FlowPolicy(Model):
    """A matched policy's snapshot; ``currentTier`` (1-based) is None once its last tier is done."""

    policyId: str
    name: str
    version: int
    tiers: list[FlowTier]
    currentTier: int | None = None


def flow_participants(flow: Sequence[FlowPolicy] | None) -> list[str]:
    """Every customer a flow names (eligible or above their own limit), each once, in order."""
    found: dict[str, None] = {}
    for policy in flow or ():
        for tier in policy.tiers:
            for person in [*tier.approvers, *(tier.aboveOwnLimit or ())]:
                found.setdefault(person.userId)
    return list(found)


class Approval(Model):
    id: Identifier
    status: Status
    resourceType: ResourceType
    action: Action
    resource: Resource
    requestor: Person
    approver: Person
    comment: Comment | None = None
    approverComment: Comment | None = None
    expiryDate: str
    details: Details | None = None
    # Rule 14: the company the approval belongs to (rule 3's company).
    legalEntity: Reference | None = None
    # Rule 16: the order the approved checkout created; set once.
    createdResource: Reference | None = None
    metadata: Metadata
    history: list[HistoryEntry] = Field(default_factory=list)
    # Set when approval policies matched (rules 24-29): the flow, and who can act on it now.
    flow: list[FlowPolicy] | None = None
    pendingApprovers: list[Person] | None = None

    def is_participant(self, user_id: str) -> bool:
        if user_id in (self.requestor.userId, self.approver.userId):
            return True
        return any(
            person.userId == user_id
            for policy in self.flow or ()
            for tier in policy.tiers
            for person in [*tier.approvers, *(tier.aboveOwnLimit or ())]
        )


# --------------------------------------------------------------------------- requests
class CreateApprovalRequest(Model):
    id: Identifier | None = None
    resourceType: ResourceType
    resourceId: Identifier
    action: Action
    # Optional where an approval policy matches (rule 25); else required (APPROVAL-400001).
    approver: UserRef | None = None
    comment: Comment | None = None
    details: Details | None = None


class ResourceQuery(Model):
    """Body of the permitted check and of search users. ``action`` may be left out: CHECKOUT is
    the only one (the SDK's documented example sends none)."""

    resourceType: ResourceType
    resourceId: Identifier
    action: Action = Action.CHECKOUT


class ResourceApproval(Model):
    """The most recent approval of a resource, as the resource's lock records it."""

    approvalId: str
    status: Status
    expiryDate: str
    requestorId: str
    approverId: str
    # Rule 18: what the approver saw; absent on locks written before fingerprints existed.
    fingerprint: str | None = None
    # Rule 19: the order recorded on the approval, once it is used.
    createdResourceId: str | None = None

    def is_participant(self, user_id: str) -> bool:
        return user_id in (self.requestorId, self.approverId)


class PermittedReason(StrEnum):
    """Why an APPROVED approval does not permit the checkout (rules 18 and 19)."""

    RESOURCE_CHANGED = "RESOURCE_CHANGED"
    ALREADY_USED = "ALREADY_USED"


class PermittedAnswer(Model):
    action: Action
    permitted: bool
    status: Status | None = None
    approvalId: str | None = None
    reason: PermittedReason | None = None


class ApproverCandidate(Model):
    userId: str
    firstName: str | None = None
    lastName: str | None = None


class OverdueApproval(Model):
    """What the expiry sweep knows of an overdue PENDING approval without reading it: enough to
    write its expiry (the approval, its participants' copies, its resource's lock)."""

    tenant: str
    approvalId: str
    expiryDate: str
    createdAt: str
    requestorId: str
    approverId: str
    resourceType: ResourceType
    resourceId: str
    action: Action
    version: int
    # The flow's other approvers (rule 27), whose copies expire with the approval.
    watchers: list[str] = Field(default_factory=list)
