"""The requests of two real clients, replayed against local mode as they send them (headers, bodies,
op spellings, encodings), checking the members each client reads from the answers.

- emporix/b2b-showcase, Emporix's React B2B storefront: its approval.service.js (with the axios
  instance of src/services/axios.js) and the pages that read the answers.
- viuteam/emporix-sdk, a TypeScript Emporix SDK: its client.approvals.* methods
  (packages/sdk/src/services/approval.ts, which also holds the approvalStatusPatch helper) over its
  HTTP client (packages/sdk/src/core/http.ts, which adds Emporix-Tenant to every request).

Each test runs in a tenant of its own holding the demo seed's company (ann requester, bob buyer,
carol admin, dan buyer; carts cart-ann-1, cart-ann-2, cart-bob-big, cart-bob-small), so the
journeys do not meet. Requests the service still refuses on purpose are replayed too, with the
reason the refusal stands.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from approvals_local.seed import DEMO_SEED
from tests.e2e.support import Mint, Serve, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

JOURNEYS = (
    "sf_checkout",
    "sf_approver",
    "sf_second_cart",
    "sf_buyer",
    "sdk_flow",
    "sdk_close",
    "sdk_examples",
    "sdk_decisions",
    "sdk_errors",
    "sdk_encoded_ids",
)


@pytest.fixture(scope="module")
def tenants(serve: Serve, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh tenant per journey, each a copy of the demo seed's tenant."""
    demo = json.loads(DEMO_SEED.read_text())["tenants"]["acme"]
    names = {journey: "rc" + uuid.uuid4().hex[:12] for journey in JOURNEYS}
    seed = tmp_path_factory.mktemp("real-clients") / "seed.json"
    seed.write_text(json.dumps({"tenants": {name: copy.deepcopy(demo) for name in names.values()}}))
    loaded = run_cli(serve.state_dir, "seed", str(seed))
    assert loaded.returncode == 0, loaded.stderr
    return names


class Client:
    """One client's requests in one tenant: the path as the client builds it, its headers as sent."""

    def __init__(self, base_url: str, tenant: str, token: Mint) -> None:
        self.base_url = base_url
        self.tenant = tenant
        self.token = token
        self.session = requests.Session()

    def send(
        self,
        method: str,
        path: str,
        user: str | None,
        headers: dict[str, str],
        body: Any = None,
        authorization: str | None = None,
    ) -> requests.Response:
        sent = dict(headers)
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user, tenant=self.tenant)}"
        if authorization is not None:
            sent["Authorization"] = authorization
        data = None if body is None else json.dumps(body)
        # The path goes out as written: requests keeps percent-escapes and "+" in the query.
        url = self.base_url + path.replace("{tenant}", self.tenant)
        return self.session.request(method, url, headers=sent, data=data, timeout=30)


def ok(response: requests.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


def refused(response: requests.Response, status: int, error_code: str) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    assert body["errorCode"] == error_code, body
    return body


# --------------------------------------------------------------------------- the storefront
# emporix/b2b-showcase src/services/axios.js: the `api` instance's headers (list, get, patch, and
# the CheckoutPage's permitted and search users calls).
AXIOS = {
    "accept": "application/json, text/plain, */*",
    "content-type": "application/json",
    "accept-language": "en",
    "content-language": "en",
}
# approval.service.js getPendingAndDeclinedApprovals and getApproval add X-Version.
AXIOS_V2 = AXIOS | {"x-version": "v2"}
# approval.service.js triggerApproval: its own headers, the saas-token of the session.
TRIGGER = {"accept": "application/json", "content-type": "application/json"}
# approval.service.js getPendingAndDeclinedApprovals, with the site "main", as axios encodes it.
STOREFRONT_LIST = "/approval/{tenant}/approvals?q=status:(PENDING,DECLINED)%20resource.siteCode:main"


def address_book_entry(address_type: str) -> dict[str, Any]:
    """An address as the storefront puts it into details.addresses: the customer's address-book
    entry (id, name, contactDetails, metadata ...) with the approval's fields added
    (src/pages/checkout/CheckoutPage.js)."""
    return {
        "id": "loc-berlin",
        "name": "Berlin HQ",
        "type": address_type,
        "contactDetails": {
            "emails": ["ann@acme.test"],
            "phones": ["+49 30 1234"],
            "addressLine1": "Hauptstr.",
            "addressLine2": "1",
            "city": "Berlin",
            "state": "BE",
            "postcode": "10115",
            "countryCode": "DE",
            "tags": ["SHIPPING", "BILLING"],
        },
        "metadata": {"version": 1, "createdAt": "2026-01-01T00:00:00.000Z", "modifiedAt": "2026-01-01T00:00:00.000Z"},
        "street": "Hauptstr.",
        "streetNumber": "1",
        "streetAppending": "",
        "city": "Berlin",
        "zipCode": "10115",
        "country": "DE",
        "state": "DE",
    }


SHIPPING = {
    "zoneId": "zone-de",
    "methodId": "dhl-standard",
    "methodName": "DHL Standard",
    "shippingTaxCode": "STANDARD",
    "amount": 5.9,
}
INVOICE_BY_GATEWAY = {
    "provider": "payment-gateway",
    "method": "invoice",
    "displayName": "Invoice",
    "customAttributes": {"modeId": "mode-inv", "customer": "ann"},
}
DEFAULT_PAYMENT = {"provider": "stripe", "customAttributes": {"paymentType": "paymentByInvoice"}, "method": "invoice"}
CARD_BY_GATEWAY = {
    "provider": "payment-gateway",
    "method": "card",
    "displayName": "Credit cart",
    "paymentMode": {"id": "mode-cc", "provider": "SPREEDLY"},
    "customAttributes": {"token": "tok_1", "modeId": "mode-cc", "customer": "bob", "browserInfo": None},
}


def trigger_approval(cart: str, approver: str, comment: str | None, payment: dict[str, Any]) -> dict[str, Any]:
    """approval.service.js triggerApproval's payload."""
    return {
        "resourceId": cart,
        "resourceType": "CART",
        "action": "CHECKOUT",
        "approver": {"userId": approver},
        "comment": comment,
        "details": {
            "currency": "EUR",
            "paymentMethods": [payment],
            "shipping": SHIPPING,
            "addresses": [address_book_entry("SHIPPING"), address_book_entry("BILLING")],
        },
    }


def cart_question(cart: str) -> dict[str, str]:
    """The CheckoutPage's body of permitted and search users."""
    return {"resourceId": cart, "resourceType": "CART", "action": "CHECKOUT"}


def check_saved_carts_row(row: dict[str, Any]) -> None:
    """What src/pages/account/AccountSavedCarts.js reads of each listed approval."""
    assert isinstance(row["id"], str)
    assert row["status"] in ("PENDING", "DECLINED")
    assert row["approver"]["userId"]
    assert row["metadata"]["createdAt"]
    for person in (row["requestor"], row["approver"]):
        assert person["firstName"]
        assert person["lastName"]
    # calculateTotalPrice: gross value plus shipping, both numbers.
    assert isinstance(row["resource"]["subtotalAggregate"]["grossValue"], int | float)
    assert isinstance(row["details"]["shipping"]["amount"], int | float)


def check_approval_checkout_page(approval: dict[str, Any]) -> None:
    """What src/pages/approval/ApprovalAddressProvider.js and ApprovalCheckoutSummary.js read of
    the approval the approver opens, and approval.service.js getApproval (resource.items)."""
    addresses = approval["details"]["addresses"]
    shipping = next(address for address in addresses if address["type"] == "SHIPPING")
    billing = next(address for address in addresses if address["type"] == "BILLING")
    # The address drop-down's value is the address's id; its label street, number, city, zip.
    assert shipping["id"] == billing["id"] == "loc-berlin"
    for address in (shipping, billing):
        assert (address["street"], address["streetNumber"], address["city"], address["zipCode"]) == (
            "Hauptstr.",
            "1",
            "Berlin",
            "10115",
        )
        assert address["country"] == "DE"
    assert approval["details"]["shipping"]["methodId"] == "dhl-standard"
    assert approval["details"]["shipping"]["shippingTaxCode"] == "STANDARD"
    assert approval["details"]["shipping"]["amount"] == 5.9
    assert approval["details"]["currency"] == "EUR"
    resource = approval["resource"]
    assert resource["siteCode"] == "main"
    assert resource["totalPrice"]["amount"] == 250.10
    assert resource["deliveryWindow"]["id"]
    assert {"netValue", "grossValue", "taxValue"} <= set(resource["subtotalAggregate"])
    assert all(item["itemYrn"] for item in resource["items"])
    # handleViewOrder hands these to the checkout as the approver.
    assert approval["details"]["paymentMethods"]
    assert approval["requestor"]["userId"] == "ann"


def test_storefront_requester_asks_with_a_payment_gateway_method_and_sees_it_listed(
    base_url: str, token: Mint, tenants: dict[str, str]
) -> None:
    """emporix/b2b-showcase src/pages/checkout/CheckoutPage.js (permitted, search users,
    triggerApproval with the payment method chosen in the UI), then
    src/pages/account/AccountSavedCarts.js (getPendingAndDeclinedApprovals)."""
    storefront = Client(base_url, tenants["sf_checkout"], token)

    permitted = ok(
        storefront.send("POST", "/approval/{tenant}/approval/permitted", "ann", AXIOS, cart_question("cart-ann-1")), 200
    )
    assert permitted["permitted"] is False
    approvers = ok(
        storefront.send("POST", "/approval/{tenant}/search/users", "ann", AXIOS, cart_question("cart-ann-1")), 200
    )
    assert {"userId": "carol", "firstName": "Carol", "lastName": "Diaz"} in approvers

    # Refused with 400 (displayName: not a known property) before unknown members were ignored.
    body = trigger_approval("cart-ann-1", "carol", "Please approve the drills", INVOICE_BY_GATEWAY)
    headers = TRIGGER | {"saas-token": "saas-token-of-ann"}
    approval_id = ok(storefront.send("POST", "/approval/{tenant}/approvals", "ann", headers, body), 201)["id"]

    listed = ok(storefront.send("GET", STOREFRONT_LIST, "ann", AXIOS_V2), 200)
    assert [row["id"] for row in listed] == [approval_id]
    check_saved_carts_row(listed[0])

    # The address id, which the approver's page uses as its drop-down value, reads back.
    approval = ok(storefront.send("GET", f"/approval/{{tenant}}/approvals/{approval_id}", "carol", AXIOS_V2), 200)
    check_approval_checkout_page(approval)
    assert approval["details"]["paymentMethods"] == [
        {
            "provider": "payment-gateway",
            "method": "invoice",
            "customAttributes": {"modeId": "mode-inv", "customer": "ann"},
        }
    ]


def test_storefront_approver_moves_the_delivery_window_then_declines(
    base_url: str, token: Mint, tenants: dict[str, str]
) -> None:
    """emporix/b2b-showcase approval.service.js updateDeliveryWindow and declineApproval, as
    src/pages/approval (ApprovalCheckoutShipmentContent.js, ApprovalCheckoutSummary.js) call them
    with the approver's token; then src/pages/account/AccountSavedCartDetails.js as ann, who asks
    again with the default payment."""
    storefront = Client(base_url, tenants["sf_approver"], token)
    body = trigger_approval("cart-ann-1", "carol", "Please approve the drills", INVOICE_BY_GATEWAY)
    headers = TRIGGER | {"saas-token": "saas-token-of-ann"}
    approval_id = ok(storefront.send("POST", "/approval/{tenant}/approvals", "ann", headers, body), 201)["id"]
    path = f"/approval/{{tenant}}/approvals/{approval_id}"

    listed = ok(storefront.send("GET", STOREFRONT_LIST, "carol", AXIOS_V2), 200)
    assert [row["id"] for row in listed] == [approval_id]
    check_saved_carts_row(listed[0])
    check_approval_checkout_page(ok(storefront.send("GET", path, "carol", AXIOS_V2), 200))

    # One operation, unwrapped, not awaited by the page: it was 400008 and silently lost.
    window = {
        "id": "dw2",
        "slotId": "s2",
        "deliveryDate": "2026-12-03T10:00:00.000Z",
        "deliveryDayLabel": "Thursday 12/3/2026",
        "deliveryTimeLabel": "10:00 - 12:00",
    }
    move = {"op": "REPLACE", "path": "/resource/deliveryWindow", "value": window}
    assert storefront.send("PATCH", path, "carol", AXIOS, move).status_code == 204
    moved = ok(storefront.send("GET", path, "carol", AXIOS_V2), 200)
    # The labels are not stored: the page computes them again from the delivery-window service.
    assert moved["resource"]["deliveryWindow"] == {
        "id": "dw2",
        "slotId": "s2",
        "deliveryDate": "2026-12-03T10:00:00.000Z",
    }
    assert (moved["status"], moved["history"][-1]["by"]) == ("PENDING", "carol")

    decline = [
        {"op": "REPLACE", "path": "/status", "value": "DECLINED"},
        {"op": "ADD", "path": "/approverComment", "value": "Too expensive this quarter"},
    ]
    assert storefront.send("PATCH", path, "carol", AXIOS, decline).status_code == 204

    declined = ok(storefront.send("GET", path, "ann", AXIOS_V2), 200)
    assert (declined["status"], declined["approverComment"]) == ("DECLINED", "Too expensive this quarter")
    assert declined["resource"]["deliveryWindow"]["id"] == "dw2"
    assert {address["type"] for address in declined["details"]["addresses"]} == {"SHIPPING", "BILLING"}
    assert declined["details"]["shipping"]["amount"] == 5.9

    # After a decline ann may ask again; this time with no payment item selected.
    again = trigger_approval("cart-ann-1", "carol", "Please approve the drills", DEFAULT_PAYMENT)
    second = ok(storefront.send("POST", "/approval/{tenant}/approvals", "ann", headers, again), 201)["id"]
    assert second != approval_id
    read = ok(storefront.send("GET", f"/approval/{{tenant}}/approvals/{second}", "ann", AXIOS_V2), 200)
    assert read["details"]["paymentMethods"] == [DEFAULT_PAYMENT]


def test_storefront_second_cart_with_empty_comments(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """emporix/b2b-showcase approval.service.js: triggerApproval with the comment left empty
    (null), updateDeliveryWindow by the requestor, declineApproval with no comment typed (null)."""
    storefront = Client(base_url, tenants["sf_second_cart"], token)
    ok(storefront.send("POST", "/approval/{tenant}/approval/permitted", "ann", AXIOS, cart_question("cart-ann-2")), 200)
    approvers = ok(
        storefront.send("POST", "/approval/{tenant}/search/users", "ann", AXIOS, cart_question("cart-ann-2")), 200
    )
    assert "dan" in [user["userId"] for user in approvers]

    body = trigger_approval("cart-ann-2", "dan", None, DEFAULT_PAYMENT)
    headers = TRIGGER | {"saas-token": "saas-token-of-ann"}
    approval_id = ok(storefront.send("POST", "/approval/{tenant}/approvals", "ann", headers, body), 201)["id"]
    path = f"/approval/{{tenant}}/approvals/{approval_id}"

    # Still refused on purpose: cart-ann-2 has no delivery window, and JSON Patch's replace needs
    # an existing target (RFC 6902; the contract keeps it, 400010). The page would need "add".
    window = {"id": "dw3", "slotId": "s3", "deliveryDate": "2026-12-04T10:00:00.000Z", "deliveryDayLabel": "Friday"}
    move = {"op": "REPLACE", "path": "/resource/deliveryWindow", "value": window}
    refused(storefront.send("PATCH", path, "ann", AXIOS, move), 400, "APPROVAL-400010")
    unchanged = ok(storefront.send("GET", path, "ann", AXIOS_V2), 200)
    assert "deliveryWindow" not in unchanged["resource"]
    assert unchanged["metadata"]["version"] == 1
    assert "comment" not in unchanged

    decline = [
        {"op": "REPLACE", "path": "/status", "value": "DECLINED"},
        {"op": "ADD", "path": "/approverComment", "value": None},
    ]
    assert storefront.send("PATCH", path, "dan", AXIOS, decline).status_code == 204
    declined = ok(storefront.send("GET", path, "dan", AXIOS_V2), 200)
    assert declined["status"] == "DECLINED"
    assert "approverComment" not in declined


def test_storefront_buyer_above_the_limit_asks_with_a_card(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """emporix/b2b-showcase src/pages/checkout/CheckoutPage.js for bob, a B2B_BUYER: a cart above
    the company limit needs an admin's approval (paid by card through the payment gateway), a cart
    within it is permitted."""
    storefront = Client(base_url, tenants["sf_buyer"], token)
    permitted = ok(
        storefront.send("POST", "/approval/{tenant}/approval/permitted", "bob", AXIOS, cart_question("cart-bob-big")),
        200,
    )
    assert permitted["permitted"] is False
    approvers = ok(
        storefront.send("POST", "/approval/{tenant}/search/users", "bob", AXIOS, cart_question("cart-bob-big")), 200
    )
    assert [user["userId"] for user in approvers] == ["carol"]

    # Refused with 400 (paymentMode, displayName) before unknown members were ignored.
    body = trigger_approval("cart-bob-big", "carol", "Lathes for the new plant", CARD_BY_GATEWAY)
    headers = TRIGGER | {"saas-token": "saas-token-of-bob"}
    approval_id = ok(storefront.send("POST", "/approval/{tenant}/approvals", "bob", headers, body), 201)["id"]
    approval = ok(storefront.send("GET", f"/approval/{{tenant}}/approvals/{approval_id}", "carol", AXIOS_V2), 200)
    assert approval["details"]["paymentMethods"] == [
        {
            "provider": "payment-gateway",
            "method": "card",
            "customAttributes": {"token": "tok_1", "modeId": "mode-cc", "customer": "bob", "browserInfo": None},
        }
    ]
    assert [address["id"] for address in approval["details"]["addresses"]] == ["loc-berlin", "loc-berlin"]

    small = ok(
        storefront.send("POST", "/approval/{tenant}/approval/permitted", "bob", AXIOS, cart_question("cart-bob-small")),
        200,
    )
    assert small["permitted"] is True


# --------------------------------------------------------------------------- the SDK
def sdk_headers(tenant: str, body: bool = False) -> dict[str, str]:
    """viuteam/emporix-sdk packages/sdk/src/core/http.ts: Emporix-Tenant on every request,
    Content-Type with a body."""
    return {"Emporix-Tenant": tenant} | ({"Content-Type": "application/json"} if body else {})


def approval_status_patch(status: str, approver_comment: str | None = None) -> list[dict[str, Any]]:
    """viuteam/emporix-sdk packages/sdk/src/services/approval.ts approvalStatusPatch: lower-case
    ops, the comment by add."""
    comment = (approver_comment or "").strip()
    return [{"op": "replace", "path": "/status", "value": status}] + (
        [{"op": "add", "path": "/approverComment", "value": comment}] if comment else []
    )


def encode_uri_component(text: str) -> str:
    """JavaScript's encodeURIComponent, as the SDK applies it to approval ids in paths."""
    return quote(text, safe="-_.!~*'()")


SDK_CREATE = {
    "action": "CHECKOUT",
    "resourceType": "CART",
    "resourceId": "cart-ann-1",
    "approver": {"userId": "carol"},
    "comment": "Please approve the drills",
    "details": {
        "currency": "EUR",
        "shipping": {
            "zoneId": "zone-de",
            "methodId": "dhl-standard",
            "methodName": "DHL Standard",
            "amount": 5.99,
            "shippingTaxCode": "STANDARD",
        },
        "payment": {"paymentId": "pay-1", "customAttributes": {"note": "x"}},
        "paymentMethods": [
            {
                "provider": "none",
                "method": "invoice",
                "amount": 256.09,
                "customAttributes": {"paymentType": "paymentByInvoice"},
            }
        ],
        "addresses": [
            {
                "contactName": "Ann Lee",
                "companyName": "ACME Europe",
                "street": "Hauptstr.",
                "streetNumber": "1",
                "streetAppendix": "2nd floor",
                "zipCode": "10115",
                "city": "Berlin",
                "country": "DE",
                "state": "BE",
                "contactPhone": "+49 30 1234",
                "type": "SHIPPING",
            },
            {
                "contactName": "Ann Lee",
                "companyName": "ACME Europe",
                "street": "Hauptstr.",
                "streetNumber": "1",
                "zipCode": "10115",
                "city": "Berlin",
                "country": "DE",
                "type": "BILLING",
            },
        ],
    },
}


def test_sdk_creates_reads_lists_approves_and_checks_permitted(
    base_url: str, token: Mint, tenants: dict[str, str]
) -> None:
    """viuteam/emporix-sdk packages/sdk/src/services/approval.ts: createApproval, getApproval,
    listApprovals (the storefront's filter, paging and sort, encoded as the SDK's query builder
    does), updateApproval with approvalStatusPatch, checkPermitted."""
    tenant = tenants["sdk_flow"]
    sdk = Client(base_url, tenant, token)
    created = ok(sdk.send("POST", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant, True), SDK_CREATE), 201)
    assert list(created) == ["id"]
    path = f"/approval/{{tenant}}/approvals/{encode_uri_component(created['id'])}"

    approval = ok(sdk.send("GET", path, "ann", sdk_headers(tenant)), 200)
    assert approval["id"] == created["id"]
    assert (approval["status"], approval["resourceType"], approval["action"]) == ("PENDING", "CART", "CHECKOUT")
    assert approval["resource"]["id"] == "cart-ann-1"
    assert approval["approver"] == {"userId": "carol", "firstName": "Carol", "lastName": "Diaz"}
    assert approval["details"] == SDK_CREATE["details"]  # everything the SDK's type names is kept
    assert approval["expiryDate"].endswith("Z")

    pending = ok(sdk.send("GET", "/approval/{tenant}/approvals?q=status%3APENDING", "carol", sdk_headers(tenant)), 200)
    assert [row["id"] for row in pending] == [created["id"]]
    paged = (
        "/approval/{tenant}/approvals?q=status%3A%28PENDING%2CDECLINED%29+resource.siteCode%3Amain"
        "&pageNumber=1&pageSize=10&sort=metadata.createdAt%3Adesc"
    )
    assert [row["id"] for row in ok(sdk.send("GET", paged, "carol", sdk_headers(tenant)), 200)] == [created["id"]]

    decision = approval_status_patch("APPROVED", "Fine, within budget")
    assert sdk.send("PATCH", path, "carol", sdk_headers(tenant, True), decision).status_code == 204
    approved = ok(sdk.send("GET", path, "carol", sdk_headers(tenant)), 200)
    assert (approved["status"], approved["approverComment"]) == ("APPROVED", "Fine, within budget")
    assert approved["metadata"]["version"] == 2

    question = {"resourceType": "CART", "resourceId": "cart-ann-1", "action": "CHECKOUT"}
    answer = ok(
        sdk.send("POST", "/approval/{tenant}/approval/permitted", "ann", sdk_headers(tenant, True), question), 200
    )
    assert answer == {"action": "CHECKOUT", "permitted": True, "status": "APPROVED", "approvalId": created["id"]}


def test_sdk_searches_an_approver_creates_and_deletes(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """viuteam/emporix-sdk packages/sdk/src/services/approval.ts: searchApprovers, createApproval
    with the approver it found, deleteApproval, getApproval, and a second deleteApproval."""
    tenant = tenants["sdk_close"]
    sdk = Client(base_url, tenant, token)
    question = {"resourceType": "CART", "resourceId": "cart-ann-2", "action": "CHECKOUT"}
    users = ok(sdk.send("POST", "/approval/{tenant}/search/users", "ann", sdk_headers(tenant, True), question), 200)
    dan = next(user for user in users if user["userId"] == "dan")
    body = {
        "action": "CHECKOUT",
        "resourceType": "CART",
        "resourceId": "cart-ann-2",
        "approver": {"userId": dan["userId"]},
        "details": {"currency": "EUR"},
    }
    approval_id = ok(sdk.send("POST", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant, True), body), 201)[
        "id"
    ]
    path = f"/approval/{{tenant}}/approvals/{encode_uri_component(approval_id)}"

    assert sdk.send("DELETE", path, "ann", sdk_headers(tenant)).status_code == 204
    closed = ok(sdk.send("GET", path, "ann", sdk_headers(tenant)), 200)
    assert closed["status"] == "CLOSED"
    # Still refused on purpose: only a PENDING approval can be closed (rule 10).
    refused(sdk.send("DELETE", path, "ann", sdk_headers(tenant)), 400, "APPROVAL-400001")


def test_sdk_documented_examples(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """viuteam/emporix-sdk docs/approval.md: permitted and search users without action (also its
    unit test's body), and the core example's create with a nested resource."""
    tenant = tenants["sdk_examples"]
    sdk = Client(base_url, tenant, token)
    without_action = {"resourceType": "CART", "resourceId": "cart-ann-1"}
    answer = ok(
        sdk.send("POST", "/approval/{tenant}/approval/permitted", "ann", sdk_headers(tenant, True), without_action), 200
    )
    assert answer == {"action": "CHECKOUT", "permitted": False}
    users = ok(
        sdk.send(
            "POST",
            "/approval/{tenant}/search/users",
            "ann",
            sdk_headers(tenant, True),
            without_action | {"resourceId": "cart-ann-2"},
        ),
        200,
    )
    assert {"carol", "bob", "dan"} <= {user["userId"] for user in users}

    # Still refused on purpose: the Emporix API has no nested form, and the example names no
    # approver; which cart, for what and who approves are required (400001 names each).
    nested = {"resource": {"resourceType": "CART", "resourceId": "cart-ann-2"}}
    body = refused(
        sdk.send("POST", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant, True), nested),
        400,
        "APPROVAL-400001",
    )
    assert {"resourceType", "resourceId", "action", "approver"} <= {detail.get("field") for detail in body["details"]}


def test_sdk_decisions_including_the_requestors_close(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """viuteam/emporix-sdk packages/sdk/src/services/approval.ts approvalStatusPatch with each
    ApprovalDecision: DECLINED with a reason, a second decision, CLOSED by the requestor."""
    tenant = tenants["sdk_decisions"]
    sdk = Client(base_url, tenant, token)
    body = {"action": "CHECKOUT", "resourceType": "CART", "resourceId": "cart-ann-2", "approver": {"userId": "carol"}}
    first = ok(sdk.send("POST", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant, True), body), 201)["id"]
    path = f"/approval/{{tenant}}/approvals/{encode_uri_component(first)}"
    assert (
        sdk.send(
            "PATCH", path, "carol", sdk_headers(tenant, True), approval_status_patch("DECLINED", "Over budget")
        ).status_code
        == 204
    )
    # Still refused on purpose: a decision is final (rule 7, 400009).
    refused(
        sdk.send("PATCH", path, "carol", sdk_headers(tenant, True), approval_status_patch("APPROVED")),
        400,
        "APPROVAL-400009",
    )

    # Was 400002: the requestor's CLOSED is now the DELETE's change.
    second = ok(sdk.send("POST", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant, True), body), 201)["id"]
    path = f"/approval/{{tenant}}/approvals/{encode_uri_component(second)}"
    assert sdk.send("PATCH", path, "ann", sdk_headers(tenant, True), approval_status_patch("CLOSED")).status_code == 204
    closed = ok(sdk.send("GET", path, "ann", sdk_headers(tenant)), 200)
    assert closed["status"] == "CLOSED"
    assert [(entry["action"], entry["by"]) for entry in closed["history"]] == [("CREATED", "ann"), ("CLOSED", "ann")]
    # Like a second DELETE: only a PENDING approval can be closed (rule 10).
    refused(
        sdk.send("PATCH", path, "ann", sdk_headers(tenant, True), approval_status_patch("CLOSED")),
        400,
        "APPROVAL-400001",
    )


def test_sdk_error_answers_and_a_plain_list(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """viuteam/emporix-sdk packages/sdk/src/services/approval.ts getApproval of an unknown id,
    listApprovals with a bad token, with the pageSize of the SDK's other facades, and with no query
    (the React useApprovals() default)."""
    tenant = tenants["sdk_errors"]
    sdk = Client(base_url, tenant, token)
    refused(
        sdk.send("GET", "/approval/{tenant}/approvals/does-not-exist", "ann", sdk_headers(tenant)),
        404,
        "APPROVAL-404001",
    )
    bad_token = sdk.send(
        "GET", "/approval/{tenant}/approvals", None, sdk_headers(tenant), authorization="Bearer not-a-token"
    )
    assert bad_token.status_code == 401
    # Still refused on purpose: the contract's page size is 1 to 60; a silent cap would hide pages.
    body = refused(
        sdk.send("GET", "/approval/{tenant}/approvals?pageSize=100", "ann", sdk_headers(tenant)), 400, "APPROVAL-400001"
    )
    assert body["details"][0]["field"] == "pageSize"
    assert ok(sdk.send("GET", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant)), 200) == []


@pytest.mark.parametrize(
    ("approval_id", "cart"),
    [("ann:order-1", "cart-ann-1"), ("ann order 2", "cart-ann-2"), ("bestellung-müller-3", "cart-ann-1")],
)
def test_sdk_reads_changes_and_closes_an_approval_by_an_id_it_encodes(
    base_url: str, token: Mint, tenants: dict[str, str], approval_id: str, cart: str
) -> None:
    """viuteam/emporix-sdk packages/sdk/src/services/approval.ts: createApproval with an id of the
    client's, then getApproval, updateApproval and deleteApproval, which encodeURIComponent it."""
    tenant = tenants["sdk_encoded_ids"]
    sdk = Client(base_url, tenant, token)
    body = {
        "id": approval_id,
        "action": "CHECKOUT",
        "resourceType": "CART",
        "resourceId": cart,
        "approver": {"userId": "carol"},
    }
    assert ok(sdk.send("POST", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant, True), body), 201) == {
        "id": approval_id
    }
    path = f"/approval/{{tenant}}/approvals/{encode_uri_component(approval_id)}"
    assert "%" in path  # sent encoded, as the SDK sends it

    assert ok(sdk.send("GET", path, "carol", sdk_headers(tenant)), 200)["id"] == approval_id
    comment = [{"op": "add", "path": "/comment", "value": "by encoded id"}]
    assert sdk.send("PATCH", path, "ann", sdk_headers(tenant, True), comment).status_code == 204
    assert sdk.send("DELETE", path, "ann", sdk_headers(tenant)).status_code == 204
    closed = ok(sdk.send("GET", path, "ann", sdk_headers(tenant)), 200)
    assert (closed["id"], closed["status"], closed["comment"]) == (approval_id, "CLOSED", "by encoded id")
    listed = ok(sdk.send("GET", "/approval/{tenant}/approvals", "ann", sdk_headers(tenant)), 200)
    assert approval_id in [row["id"] for row in listed]


def test_an_encoded_slash_in_an_id_is_the_contracts_404(base_url: str, token: Mint, tenants: dict[str, str]) -> None:
    """viuteam/emporix-sdk encodes a "/" in an id as %2F: no id holds one, so none is found."""
    tenant = tenants["sdk_encoded_ids"]
    sdk = Client(base_url, tenant, token)
    path = f"/approval/{{tenant}}/approvals/{encode_uri_component('ann/order-1')}"
    assert path.endswith("ann%2Forder-1")
    for method, body in (("GET", None), ("PATCH", [{"op": "add", "path": "/comment", "value": "x"}]), ("DELETE", None)):
        answer = refused(
            sdk.send(method, path, "ann", sdk_headers(tenant, body is not None), body), 404, "APPROVAL-404001"
        )
        assert "ann/order-1" in answer["message"]


# --------------------------------------------------------------------------- in a browser
PREFLIGHTS = [
    # (client code, method, path, the headers the browser asks for)
    (
        "b2b-showcase approval.service.js triggerApproval",
        "POST",
        "/approval/acme/approvals",
        "authorization,content-type,saas-token",
    ),
    (
        "b2b-showcase approval.service.js getPendingAndDeclinedApprovals",
        "GET",
        "/approval/acme/approvals",
        "authorization,content-type,x-version",
    ),
    (
        "b2b-showcase approval.service.js getApproval",
        "GET",
        "/approval/acme/approvals/a1",
        "authorization,content-type,x-version",
    ),
    (
        "b2b-showcase approval.service.js updateDeliveryWindow",
        "PATCH",
        "/approval/acme/approvals/a1",
        "authorization,content-type",
    ),
    (
        "b2b-showcase CheckoutPage.js permitted",
        "POST",
        "/approval/acme/approval/permitted",
        "authorization,content-type",
    ),
    (
        "emporix-sdk approval.ts createApproval",
        "POST",
        "/approval/acme/approvals",
        "authorization,content-type,emporix-tenant",
    ),
    ("emporix-sdk approval.ts listApprovals", "GET", "/approval/acme/approvals", "authorization,emporix-tenant"),
    (
        "emporix-sdk approval.ts updateApproval",
        "PATCH",
        "/approval/acme/approvals/ann%3Aorder-1",
        "authorization,content-type,emporix-tenant",
    ),
    ("emporix-sdk approval.ts deleteApproval", "DELETE", "/approval/acme/approvals/a1", "authorization,emporix-tenant"),
    (
        "emporix-sdk approval.ts searchApprovers",
        "POST",
        "/approval/acme/search/users",
        "authorization,content-type,emporix-tenant",
    ),
]


@pytest.mark.parametrize(("client", "method", "path", "asked"), PREFLIGHTS, ids=[case[0] for case in PREFLIGHTS])
def test_a_browser_lets_each_client_request_through_its_preflight(
    base_url: str, client: str, method: str, path: str, asked: str
) -> None:
    origin = "https://b2b.shop.example"
    preflight = requests.options(
        base_url + path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": asked},
        timeout=30,
    )
    assert preflight.status_code == 204, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
    assert method in preflight.headers["Access-Control-Allow-Methods"].split(",")
    # Accept, Accept-Language and Content-Language are safelisted: a browser asks only for the rest.
    allowed = {name.strip().lower() for name in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert set(asked.split(",")) <= allowed, (client, allowed)
