"""The directory feed's pure rules: how a write is ordered against what is stored, and how an
Emporix delivery is authenticated and read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from approval_core.domain.directory import (
    CartEntry,
    CompanyEntry,
    CustomerEntry,
    Outcome,
    Stored,
    decide,
    decide_delete,
    revision_of,
)
from approval_core.emporix import entity_of, groups_of, payload_of, signature_matches

SECRET = "tenant-secret"


def stored(revision: int | None, deleted: bool = False) -> Stored:
    return Stored(revision=None if revision is None else Decimal(revision), deleted=deleted, document={})


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# --------------------------------------------------------------------------- ordering
@pytest.mark.parametrize(
    ("current", "revision", "outcome"),
    [
        (None, Decimal(1), Outcome.WRITTEN),
        (stored(3), Decimal(4), Outcome.WRITTEN),
        (stored(3), Decimal(3), Outcome.UNCHANGED),
        (stored(3), Decimal(2), Outcome.STALE),
        (stored(3), None, Outcome.WRITTEN),  # no version: the last writer wins
        (stored(None), Decimal(1), Outcome.WRITTEN),
        (stored(5, deleted=True), Decimal(5), Outcome.STALE),  # a repeat never revives a deletion
        (stored(5, deleted=True), Decimal(4), Outcome.STALE),
        (stored(5, deleted=True), Decimal(6), Outcome.WRITTEN),
    ],
)
def test_a_write_applies_only_over_an_older_revision(
    current: Stored | None, revision: Decimal | None, outcome: Outcome
) -> None:
    assert decide(current, revision) is outcome


def test_a_change_that_is_no_new_version_applies_at_the_stored_revision() -> None:
    assert decide(stored(3), Decimal(3), same_revision_applies=True) is Outcome.WRITTEN
    assert decide(stored(3), Decimal(2), same_revision_applies=True) is Outcome.STALE


def test_deleting_is_idempotent_and_ordered() -> None:
    assert decide_delete(None, None) is Outcome.NOT_FOUND
    assert decide_delete(stored(2, deleted=True), None) is Outcome.UNCHANGED
    assert decide_delete(stored(5), Decimal(4)) is Outcome.STALE
    assert decide_delete(stored(5), Decimal(6)) is Outcome.WRITTEN
    assert decide_delete(stored(5), None) is Outcome.WRITTEN


def test_version_wins_over_modified_at_which_counts_in_milliseconds() -> None:
    instant = datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert revision_of(7, instant) == Decimal(7)
    assert revision_of(None, instant) == Decimal(int(instant.timestamp() * 1000))
    assert revision_of(None, None) is None


def test_modified_at_must_name_its_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CompanyEntry.model_validate({"id": "c", "modifiedAt": "2026-11-01T10:00:00"})


def test_companies_and_customers_refuse_unknown_fields_carts_ignore_them() -> None:
    with pytest.raises(ValueError, match="approvalLimits"):
        CompanyEntry.model_validate({"id": "c", "approvalLimits": {}})
    with pytest.raises(ValueError, match="group"):
        CustomerEntry.model_validate({"id": "u", "group": ["B2B_ADMIN"]})
    assert CartEntry.model_validate({"id": "k", "lineItems": []}).cart().id == "k"


def test_a_customer_belongs_to_at_most_thirty_companies() -> None:
    with pytest.raises(ValueError, match="companies"):
        CustomerEntry.model_validate({"id": "u", "companies": [f"c{n}" for n in range(31)]})


# --------------------------------------------------------------------------- the signature
def test_the_signature_of_the_raw_body_with_the_tenant_secret_matches() -> None:
    body = b'{"id": "nora", "firstName": "Nora"}'
    assert signature_matches(SECRET, body, sign(body))


def test_the_signature_of_the_body_with_sorted_keys_matches_too() -> None:
    body = b'{"id": "nora", "firstName": "Nora"}'
    canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    assert signature_matches(SECRET, body, sign(canonical))


@pytest.mark.parametrize(
    "signature",
    [None, "", "not base64", sign(b"{}"), sign(b'{"id": "nora"}', "other-secret"), sign(b'{"id": "nora"}').lower()],
)
def test_any_other_signature_does_not(signature: str | None) -> None:
    assert not signature_matches(SECRET, b'{"id": "nora"}', signature)


def test_an_empty_secret_matches_nothing() -> None:
    assert not signature_matches("", b"{}", sign(b"{}", ""))


# --------------------------------------------------------------------------- reading events
def test_the_payload_is_the_body_or_its_payload_member() -> None:
    assert payload_of({"id": "x"}) == {"id": "x"}
    assert payload_of({"type": "customer.created", "payload": {"id": "x"}}) == {"id": "x"}
    assert payload_of(["not", "an", "object"]) == {}


@pytest.mark.parametrize(
    ("event_type", "payload", "entity"),
    [
        ("customer.updated", {"id": "nora"}, "customer#nora"),
        ("customer.deleted", {"customerNumber": "C-1"}, "customer#C-1"),
        ("client-management.user-assigned-to-legalentity", {"userId": "nora", "legalEntityId": "nw"}, "customer#nora"),
        ("client-management.legalentity-updated", {"legalEntityId": "nw"}, "company#nw"),
        ("cart.item-added", {"cartId": "k1", "itemId": "i"}, "cart#k1"),
        ("cart.closed", {"id": "k1"}, "cart#k1"),
    ],
)
def test_an_events_entity_orders_it_with_the_entitys_other_events(
    event_type: str, payload: dict[str, str], entity: str
) -> None:
    assert entity_of(event_type, payload) == entity


def test_groups_come_from_the_payload_or_a_mixin_and_are_otherwise_unknown() -> None:
    assert groups_of({"groups": ["B2B_BUYER", "B2B_BUYER"]}) == ["B2B_BUYER"]
    assert groups_of({"mixins": {"approvalGroups": {"groups": [{"code": "B2B_ADMIN"}]}}}) == ["B2B_ADMIN"]
    assert groups_of({"mixins": {"other": {"x": 1}}}) is None
    assert groups_of({}) is None
