"""What the service reads from request bodies: unknown members anywhere are ignored (real
storefronts send more than the published schema), what clients read back is kept, wrong types of
known members are still APPROVAL-400001, and the defaults the contract gives."""

from __future__ import annotations

from typing import Any

import pytest

from approval_core.domain.errors import ValidationFailed
from approval_core.domain.models import Action, CreateApprovalRequest, ResourceQuery
from approval_core.domain.validation import validate
from approval_core.service import ApprovalService
from tests.unit.conftest import caller
from tests.world import create_body

# An address as the storefront sends it: straight from the customer's address book.
ADDRESS_BOOK_ENTRY = {
    "id": "loc-berlin",
    "name": "Berlin HQ",
    "type": "SHIPPING",
    "contactDetails": {"emails": ["ann@acme.test"], "tags": ["SHIPPING", "BILLING"]},
    "metadata": {"version": 1, "createdAt": "2026-01-01T00:00:00.000Z"},
    "street": "Hauptstr.",
    "streetNumber": "1",
    "streetAppending": "",
    "city": "Berlin",
    "zipCode": "10115",
    "country": "DE",
}
# A payment-gateway method as the storefront sends it for a card.
CARD = {
    "provider": "payment-gateway",
    "method": "card",
    "displayName": "Credit card",
    "paymentMode": {"id": "mode-cc", "provider": "SPREEDLY"},
    "customAttributes": {"token": "tok_1", "modeId": "mode-cc", "browserInfo": None},
}


def created(service: ApprovalService, **extra: Any) -> dict[str, Any]:
    request = validate(create_body() | extra, CreateApprovalRequest)
    approval = service.get_approval(caller("req"), service.create_approval(caller("req"), request))
    return approval.model_dump(mode="json", exclude_none=True)


def test_unknown_members_anywhere_in_a_create_are_ignored_not_refused(service: ApprovalService) -> None:
    document = created(
        service,
        channel="web",
        approver={"userId": "admin", "firstName": "Admin", "lastName": "Tester", "email": "a@acme.test"},
        details={
            "currency": "EUR",
            "loyalty": {"points": 3},
            "paymentMethods": [CARD],
            "shipping": {"zoneId": "eu", "amount": "4.90", "carrier": "DHL"},
            "payment": {"paymentId": "p1", "card": "4111"},
            "addresses": [ADDRESS_BOOK_ENTRY],
        },
    )
    details = document["details"]
    assert set(details) == {"currency", "paymentMethods", "shipping", "payment", "addresses"}
    assert details["paymentMethods"] == [
        {
            "provider": "payment-gateway",
            "method": "card",
            "customAttributes": {"token": "tok_1", "modeId": "mode-cc", "browserInfo": None},
        }
    ]
    assert details["shipping"] == {"zoneId": "eu", "amount": "4.90"}
    assert details["payment"] == {"paymentId": "p1"}
    assert document["approver"]["userId"] == "admin"
    assert "channel" not in document


def test_an_address_keeps_its_id_and_drops_the_address_books_own_members(service: ApprovalService) -> None:
    document = created(service, details={"addresses": [ADDRESS_BOOK_ENTRY]})
    assert document["details"]["addresses"] == [
        {
            "id": "loc-berlin",
            "street": "Hauptstr.",
            "streetNumber": "1",
            "zipCode": "10115",
            "city": "Berlin",
            "country": "DE",
            "type": "SHIPPING",
        }
    ]


def test_one_address_book_entry_as_shipping_and_billing_address_is_no_duplicate(service: ApprovalService) -> None:
    billing = ADDRESS_BOOK_ENTRY | {"type": "BILLING"}
    document = created(service, details={"addresses": [ADDRESS_BOOK_ENTRY, billing]})
    assert [(a["id"], a["type"]) for a in document["details"]["addresses"]] == [
        ("loc-berlin", "SHIPPING"),
        ("loc-berlin", "BILLING"),
    ]


@pytest.mark.parametrize(
    "details",
    [None, {}, {"currency": "EUR"}, {"paymentMethods": []}, {"addresses": None}],
    ids=["none", "empty", "currency-only", "no-payment-methods", "null-addresses"],
)
def test_details_and_each_of_its_members_are_optional(service: ApprovalService, details: Any) -> None:
    extra = {} if details is None else {"details": details}
    assert created(service, **extra)["status"] == "PENDING"


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"addresses": []}, "details.addresses"),
        ({"addresses": [ADDRESS_BOOK_ENTRY | {"id": 7}]}, "details.addresses.0.id"),
        ({"addresses": [ADDRESS_BOOK_ENTRY | {"zipCode": 10115}]}, "details.addresses.0.zipCode"),
        ({"addresses": [ADDRESS_BOOK_ENTRY | {"type": "HOME"}]}, "details.addresses.0.type"),
        ({"paymentMethods": [CARD | {"customAttributes": "tok_1"}]}, "details.paymentMethods.0.customAttributes"),
        ({"paymentMethods": [CARD | {"amount": "a lot"}]}, "details.paymentMethods.0.amount"),
        ({"paymentMethods": CARD}, "details.paymentMethods"),
        ({"shipping": {"amount": -1}}, "details.shipping.amount"),
        ({"payment": "p1"}, "details.payment"),
        ({"currency": ["EUR"]}, "details.currency"),
    ],
    ids=[
        "no-addresses",
        "address-id-type",
        "zip-type",
        "address-type-value",
        "custom-attributes-type",
        "amount-type",
        "methods-not-a-list",
        "negative-shipping",
        "payment-type",
        "currency-type",
    ],
)
def test_wrong_types_of_known_members_are_still_400001(details: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(create_body(details=details), CreateApprovalRequest)
    assert field in [detail.field for detail in raised.value.details]


def test_the_approver_may_be_the_whole_user_object_from_search_users() -> None:
    candidate = {"userId": "admin", "firstName": "Admin", "lastName": "Tester"}
    assert validate(create_body() | {"approver": candidate}, CreateApprovalRequest).approver.userId == "admin"


@pytest.mark.parametrize("resource_id", ["ann:order-1", "order 4711", "bestellung-müller-äöü", "注文-1"])
def test_ids_clients_must_percent_encode_are_valid(resource_id: str) -> None:
    assert validate(create_body(id=resource_id), CreateApprovalRequest).id == resource_id


@pytest.mark.parametrize(
    "bad_id",
    ["a/b", "a#b", " leading", "trailing ", "tab\there", "new\nline", "nbsp\u00a0", "nul\x00", "", "x" * 129],
    ids=["slash", "hash", "leading-space", "trailing-space", "tab", "newline", "nbsp", "nul", "empty", "too-long"],
)
def test_ids_no_path_segment_or_key_can_carry_are_400001(bad_id: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(create_body(id=bad_id), CreateApprovalRequest)
    assert [detail.field for detail in raised.value.details] == ["id"]


def test_permitted_and_search_users_default_the_action_to_checkout() -> None:
    query = validate({"resourceType": "CART", "resourceId": "cart-req"}, ResourceQuery)
    assert query.action is Action.CHECKOUT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resourceId": "cart-req"}, "resourceType"),
        ({"resourceType": "CART"}, "resourceId"),
        ({"resourceType": "CART", "resourceId": "cart-req", "action": "PAY"}, "action"),
    ],
)
def test_permitted_and_search_users_still_need_type_and_id_and_a_known_action(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(body, ResourceQuery)
    assert [detail.field for detail in raised.value.details] == [field]
