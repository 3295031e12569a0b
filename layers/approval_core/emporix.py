"""Emporix webhook events as directory changes: the signature check and the mapping of each
event type onto the directory feed.

Shapes from Emporix's public event reference (customer, client-management and cart events). What
the events cannot tell the feed is in docs/directory.md ("What the events cannot tell").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from approval_core.directory_feed import DirectoryFeed
from approval_core.domain.directory import Kind, Outcome, revision_of

CUSTOMER_UPSERTS = frozenset({"customer.created", "customer.updated"})
COMPANY_UPSERTS = frozenset({"client-management.legalentity-created", "client-management.legalentity-updated"})
ASSIGNED = "client-management.user-assigned-to-legalentity"
UNASSIGNED = frozenset(
    {"client-management.user-unassigned-from-legalentity", "client-management.user-removed-from-legalentity"}
)
# Emporix's deletion events carry no version, and Emporix never gives a deleted customer's or legal
# entity's id to another: their deletion is final, above any version an update can carry.
FINAL = Decimal(10**16)
CART_UPSERTS = frozenset({"cart.created", "cart.updated", "cart.merged"})
CART_ITEM_SET = frozenset({"cart.item-added", "cart.item-updated"})
QUOTE_UPSERTS = frozenset({"quote.created", "quote.updated", "quote.status-changed"})
QUOTE_DELETIONS = frozenset({"quote.deleted"})
HANDLED = (
    CUSTOMER_UPSERTS
    | COMPANY_UPSERTS
    | UNASSIGNED
    | CART_UPSERTS
    | CART_ITEM_SET
    | QUOTE_UPSERTS
    | QUOTE_DELETIONS
    | {
        "customer.deleted",
        "client-management.legalentity-deleted",
        ASSIGNED,
        "cart.closed",
        "cart.item-deleted",
    }
)
# The cart fields the approval reads; an event that carries them (a richer payload than the
# reference shows) updates them.
CART_FIELDS = ("customerId", "siteCode", "currency", "items", "totalPrice", "subTotalPrice", "subtotalAggregate")
# A quote's: the cart's, and the legal entity Emporix names the quote's company by.
QUOTE_FIELDS = (*CART_FIELDS, "companyId")


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Base64 of HMAC-SHA256(secret, body), compared in constant time. Emporix's guide signs the
    body with its keys sorted; both the raw body and that form are accepted."""
    if not signature or not secret:
        return False
    key = secret.encode()
    candidates = [body]
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        canonical = None
    if canonical is not None and canonical != body:
        candidates.append(canonical)
    given = signature.strip().encode()
    matched = False
    for candidate in candidates:
        expected = base64.b64encode(hmac.new(key, candidate, hashlib.sha256).digest())
        matched |= hmac.compare_digest(expected, given)
    return matched


def payload_of(document: Any) -> dict[str, Any]:
    """The event's data: the body itself, or its ``payload`` when Emporix wraps it."""
    if isinstance(document, dict) and isinstance(document.get("payload"), dict):
        return dict(document["payload"])
    return dict(document) if isinstance(document, dict) else {}


def entity_of(event_type: str, payload: dict[str, Any]) -> str:
    """What the event is about: the changes of one entity are applied in the order they came."""
    if event_type.startswith("customer."):
        return f"customer#{payload.get('id') or payload.get('customerNumber') or ''}"
    if event_type in (ASSIGNED, *UNASSIGNED):
        return f"customer#{payload.get('userId') or ''}"
    if event_type.startswith("client-management."):
        return f"company#{payload.get('legalEntityId') or ''}"
    if event_type.startswith("cart."):
        return f"cart#{payload.get('cartId') or payload.get('id') or ''}"
    if event_type.startswith("quote."):
        return f"quote#{payload.get('quoteId') or payload.get('id') or ''}"
    return f"other#{event_type}"


@dataclass(frozen=True)
class Applied:
    event_type: str
    outcome: Outcome | None  # None: an event type the feed does not handle
    complete: bool = True  # a company's change has reached every member


def _always() -> bool:
    return True


def apply_event(
    feed: DirectoryFeed, tenant: str, event_type: str, payload: dict[str, Any], time_left: Callable[[], bool] = _always
) -> Applied:
    """Apply one event to the directory; idempotent, and a stale event changes nothing. A company's
    change reaches its members while ``time_left()``; ``complete`` False: apply it again later."""
    metadata: dict[str, Any] = payload["metadata"] if isinstance(payload.get("metadata"), dict) else {}
    ordering = {key: metadata[key] for key in ("version", "modifiedAt") if metadata.get(key) is not None}
    if event_type in CUSTOMER_UPSERTS:
        profile = {key: payload[key] for key in ("firstName", "lastName") if payload.get(key) is not None}
        outcome = feed.update_customer(
            tenant, _text(payload, "id"), {**profile, **ordering}, groups_of(payload), payload.get("customerNumber")
        )
        return Applied(event_type, outcome)
    if event_type == "customer.deleted":
        number = _text(payload, "customerNumber")
        customer_id = feed.customer_id_by_number(tenant, number) or number
        return Applied(event_type, feed.delete_event(tenant, Kind.CUSTOMER, customer_id, FINAL).outcome)
    if event_type in COMPANY_UPSERTS:
        document: dict[str, Any] = {**ordering}
        if payload.get("name") is not None:
            document["name"] = payload["name"]
        if isinstance(payload.get("accountLimit"), dict):
            limit = payload["accountLimit"]
            document["approvalLimit"] = {
                "amount": limit.get("amount", limit.get("value")),
                "currency": limit.get("currency"),
            }
        result = feed.put_company_event(tenant, _text(payload, "legalEntityId"), document, time_left)
        return Applied(event_type, result.outcome, result.complete)
    if event_type == "client-management.legalentity-deleted":
        result = feed.delete_event(tenant, Kind.COMPANY, _text(payload, "legalEntityId"), FINAL, time_left)
        return Applied(event_type, result.outcome, result.complete)
    if event_type == ASSIGNED or event_type in UNASSIGNED:
        outcome = feed.change_membership(
            tenant, _text(payload, "userId"), _text(payload, "legalEntityId"), member=event_type == ASSIGNED
        )
        return Applied(event_type, outcome)
    if event_type in CART_UPSERTS:
        fields = {key: payload[key] for key in CART_FIELDS if payload.get(key) is not None}
        return Applied(event_type, feed.update_cart(tenant, _text(payload, "id"), {**fields, **ordering}))
    if event_type == "cart.closed":
        revision = revision_of(metadata.get("version"), None) if "version" in metadata else None
        return Applied(event_type, feed.delete_event(tenant, Kind.CART, _text(payload, "id"), revision).outcome)
    if event_type in CART_ITEM_SET or event_type == "cart.item-deleted":
        quantity = None if event_type == "cart.item-deleted" else Decimal(str(payload.get("quantity", 0)))
        outcome = feed.change_cart_item(tenant, _text(payload, "cartId"), _text(payload, "itemId"), quantity)
        return Applied(event_type, outcome)
    if event_type in QUOTE_UPSERTS:
        quote = {**payload}
        # Emporix names a quote's owner and company by reference as well as by id.
        if quote.get("companyId") is None and isinstance(quote.get("legalEntity"), dict):
            quote["companyId"] = quote["legalEntity"].get("id")
        if quote.get("customerId") is None and isinstance(quote.get("customer"), dict):
            quote["customerId"] = quote["customer"].get("id")
        fields = {key: quote[key] for key in QUOTE_FIELDS if quote.get(key) is not None}
        quote_id = str(payload.get("quoteId") or _text(payload, "id"))
        return Applied(event_type, feed.update_quote(tenant, quote_id, {**fields, **ordering}))
    if event_type in QUOTE_DELETIONS:
        revision = revision_of(metadata.get("version"), None) if "version" in metadata else None
        quote_id = str(payload.get("quoteId") or _text(payload, "id"))
        return Applied(event_type, feed.delete_event(tenant, Kind.QUOTE, quote_id, revision).outcome)
    return Applied(event_type, None)


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: missing from the event")
    return value


def groups_of(payload: dict[str, Any]) -> list[str] | None:
    """B2B groups where the payload carries them: ``groups`` (names, or objects with a ``code``,
    ``name`` or ``id``), directly or in a mixin. None: the event says nothing about groups."""
    sources: list[Any] = [payload.get("groups")]
    mixins = payload.get("mixins")
    if isinstance(mixins, dict):
        sources.extend(mixin.get("groups") for mixin in mixins.values() if isinstance(mixin, dict))
    for source in sources:
        if isinstance(source, list):
            return sorted(set(_names(source)))
    return None


def _names(entries: Iterable[Any]) -> Iterable[str]:
    for entry in entries:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            name = entry.get("code") or entry.get("name") or entry.get("id")
            if isinstance(name, str):
                yield name
