"""The order side (docs/api.md, rules 14 to 19): quote approvals, the legal entity, the order an
approval became, approving by ordering, and an approval that covers what was approved, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from approval_core.adapters.reads import SeparateReads
from approval_core.domain.caller import Caller
from approval_core.domain.errors import (
    AlreadyApproved,
    ApprovalAlreadyExists,
    ApprovalFinished,
    ApprovalNotFound,
    CreatedResourceAlreadySet,
    InvalidPatchOperation,
    ResourceTypeActionMismatch,
    StatusChangeNotAllowed,
    ValidationFailed,
)
from approval_core.domain.events import approval_changes
from approval_core.domain.models import CreateApprovalRequest, HistoryAction, ResourceQuery, Status
from approval_core.domain.order import fingerprint
from approval_core.domain.reference import Cart, Quote, TenantSettings
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore, InMemoryCartSource, InMemoryDirectory
from tests.unit.conftest import Clock, caller, request
from tests.world import CARTS, CUSTOMERS, TENANT

PLATFORM = Caller(
    tenant=TENANT,
    user_id="checkout-client",
    scopes=frozenset({"approval.approval_manage", "approval.directory_manage"}),
)


def quote(quote_id: str = "quote-req", owner: str = "req", version: int = 3, new_unit_price: str = "90") -> Quote:
    price = {"currency": "EUR", "netValue": Decimal("180"), "grossValue": Decimal("214.2"), "taxValue": Decimal("34.2")}
    return Quote.model_validate(
        {
            "id": quote_id,
            "customerId": owner,
            "companyId": "c1",
            "version": version,
            "items": [
                {
                    "itemId": "line-1",
                    "quantity": 2,
                    "unit": "pcs",
                    "unitPrice": {"currency": "EUR", "amount": Decimal("100")},
                    "newUnitPrice": {"currency": "EUR", "amount": Decimal(new_unit_price)},
                    "calculatedPrice": {"currency": "EUR", "netValue": Decimal("180"), "grossValue": Decimal("214.2")},
                }
            ],
            "totalPrice": {**price, "amount": Decimal("214.2")},
        }
    )


class World:
    def __init__(self, clock: Clock, quotes_on: bool = True) -> None:
        self.store = InMemoryApprovalStore()
        self.sources = InMemoryCartSource(CARTS, [quote()], TenantSettings(enable_quote_approval_process=quotes_on))
        directory = InMemoryDirectory(CUSTOMERS)
        self.service = ApprovalService(
            store=self.store,
            directory=directory,
            carts=self.sources,
            reads=SeparateReads(directory, self.sources, self.store, self.sources),
            expiry_seconds=3600,
            clock=clock,
        )

    def create_quote_approval(self, approver: str = "admin") -> str:
        body = {
            "resourceType": "QUOTE",
            "resourceId": "quote-req",
            "action": "CHECKOUT",
            "approver": {"userId": approver},
        }
        return self.service.create_approval(caller("req"), CreateApprovalRequest.model_validate(body))

    def permitted(self, user_id: str, resource_id: str = "cart-req", resource_type: str = "CART") -> dict[str, Any]:
        query = ResourceQuery.model_validate({"resourceType": resource_type, "resourceId": resource_id})
        return self.service.permitted(caller(user_id), query).model_dump(mode="json", exclude_none=True)

    def change_cart(self, cart_id: str, amount: str) -> None:
        cart = self.sources.carts[cart_id].model_dump()
        cart["items"][0]["quantity"] = Decimal(amount)
        self.sources.carts[cart_id] = Cart.model_validate(cart)


@pytest.fixture
def world(clock: Clock) -> World:
    return World(clock)


def approve(world: World, approval_id: str, by: str = "admin") -> None:
    world.service.update_approval(caller(by), approval_id, [{"op": "replace", "path": "/status", "value": "APPROVED"}])


def record(world: World, who: Caller, approval_id: str, order_id: str = "order-1") -> None:
    world.service.update_approval(
        who, approval_id, [{"op": "ADD", "path": "/createdResource", "value": {"id": order_id}}]
    )


# --------------------------------------------------------------------------- rule 14
def test_rule_14_quote_approval_reads_the_quote_without_details(world: World) -> None:
    approval = world.service.get_approval(caller("req"), world.create_quote_approval())
    assert approval.resourceType == "QUOTE"
    assert approval.details is None
    item = approval.resource.items[0]
    assert (item.itemId, item.unit, item.quantity) == ("line-1", "pcs", 2)
    assert (item.unitPrice, item.newUnitPrice) == (quote().items[0].unitPrice, quote().items[0].newUnitPrice)
    assert item.calculatedPrice is not None
    assert item.calculatedPrice.grossValue == Decimal("214.2")
    assert approval.resource.totalPrice is not None
    assert (approval.resource.totalPrice.netValue, approval.resource.totalPrice.taxValue) == (
        Decimal(180),
        Decimal("34.2"),
    )
    assert approval.resource.version == 3


def test_rule_14_quote_approvals_are_off_by_default_400004(clock: Clock) -> None:
    world = World(clock, quotes_on=False)
    with pytest.raises(ResourceTypeActionMismatch) as raised:
        world.create_quote_approval()
    assert raised.value.error_code == "APPROVAL-400004"
    assert "enableQuoteApprovalProcess" in raised.value.message


def test_rule_14_a_quote_create_without_an_approver_is_the_body_error_before_the_switch(clock: Clock) -> None:
    world = World(clock, quotes_on=False)
    body = {"resourceType": "QUOTE", "resourceId": "quote-req", "action": "CHECKOUT"}
    with pytest.raises(ValidationFailed) as raised:  # the contract's order: the body, then the rules
        world.service.create_approval(caller("req"), CreateApprovalRequest.model_validate(body))
    assert [detail.field for detail in raised.value.details] == ["approver"]


def test_rule_14_rules_1_to_13_hold_for_quotes(world: World) -> None:
    approval_id = world.create_quote_approval()
    with pytest.raises(ApprovalAlreadyExists):
        world.create_quote_approval(approver="buyer")
    assert world.permitted("req", "quote-req", "QUOTE")["permitted"] is False
    approve(world, approval_id)
    assert world.permitted("req", "quote-req", "QUOTE") == {
        "action": "CHECKOUT",
        "permitted": True,
        "status": "APPROVED",
        "approvalId": approval_id,
    }
    with pytest.raises(AlreadyApproved):
        world.create_quote_approval()


def test_rule_14_a_cart_create_without_details_stays_accepted(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    assert world.service.get_approval(caller("req"), approval_id).details is None


# --------------------------------------------------------------------------- rule 15
def test_rule_15_every_approval_names_its_legal_entity(world: World) -> None:
    approval = world.service.get_approval(caller("req"), world.service.create_approval(caller("req"), request()))
    assert approval.legalEntity is not None
    assert approval.legalEntity.id == "c1"


# --------------------------------------------------------------------------- rule 16
def test_rule_16_a_participant_records_the_order_once(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    record(world, caller("req"), approval_id)
    approval = world.service.get_approval(caller("admin"), approval_id)
    assert approval.status is Status.APPROVED
    assert approval.createdResource is not None
    assert approval.createdResource.id == "order-1"
    assert (approval.history[-1].action, approval.history[-1].by) == (HistoryAction.ORDERED, "req")
    assert approval.metadata.version == 3
    events = approval_changes(TENANT, approval, len(approval.history) - 1)
    assert [event.detail_type for event in events] == ["Approval Ordered"]


def test_rule_16_a_second_order_is_400015(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    record(world, caller("req"), approval_id)
    with pytest.raises(CreatedResourceAlreadySet) as raised:
        record(world, caller("admin"), approval_id, "order-2")
    assert raised.value.error_code == "APPROVAL-400015"


def test_rule_16_the_platform_records_the_order_and_strangers_learn_nothing(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    with pytest.raises(ApprovalNotFound):
        record(world, caller("buyer2"), approval_id)
    record(world, PLATFORM, approval_id)
    approval = world.service.get_approval(caller("req"), approval_id)
    assert approval.history[-1].by == "checkout-client"


def test_rule_16_it_is_the_only_change_an_approved_approval_accepts(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    with pytest.raises(ApprovalFinished):
        world.service.update_approval(caller("req"), approval_id, [{"op": "add", "path": "/comment", "value": "x"}])
    with pytest.raises(InvalidPatchOperation):
        world.service.update_approval(
            caller("req"),
            approval_id,
            [
                {"op": "ADD", "path": "/createdResource", "value": {"id": "order-1"}},
                {"op": "add", "path": "/comment", "value": "x"},
            ],
        )
    with pytest.raises(ValidationFailed):
        world.service.update_approval(
            caller("req"), approval_id, [{"op": "ADD", "path": "/createdResource", "value": {}}]
        )


def test_rule_16_a_declined_approval_records_no_order(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    world.store.approvals[(TENANT, approval_id)].status = Status.DECLINED
    with pytest.raises(ApprovalFinished):
        record(world, caller("admin"), approval_id)


# --------------------------------------------------------------------------- rule 17
@pytest.mark.parametrize(("who", "by"), [(caller("admin"), "admin"), (PLATFORM, "checkout-client")])
def test_rule_17_the_approver_approves_by_ordering(world: World, who: Caller, by: str) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    record(world, who, approval_id)
    assert world.store.requests == 3  # the create; then the approval's read and ONE conditional write
    approval = world.service.get_approval(caller("req"), approval_id)
    assert approval.status is Status.APPROVED
    assert approval.createdResource is not None
    assert approval.createdResource.id == "order-1"
    assert [(entry.action, entry.by, entry.version) for entry in approval.history[1:]] == [
        (HistoryAction.APPROVED, "admin", 2),
        (HistoryAction.ORDERED, by, 3),
    ]
    events = approval_changes(TENANT, approval, entries_before=1)
    assert [(event.detail_type, event.detail["version"]) for event in events] == [
        ("Approval Approved", 2),
        ("Approval Ordered", 3),
    ]


def test_rule_17_the_requestor_cannot_approve_by_ordering_400002(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    with pytest.raises(StatusChangeNotAllowed) as raised:
        record(world, caller("req"), approval_id)
    assert raised.value.error_code == "APPROVAL-400002"
    assert world.service.get_approval(caller("req"), approval_id).status is Status.PENDING


# --------------------------------------------------------------------------- rule 18
def test_rule_18_a_changed_cart_is_not_permitted(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    world.change_cart("cart-req", "10")
    assert world.permitted("req") == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "APPROVED",
        "approvalId": approval_id,
        "reason": "RESOURCE_CHANGED",
    }
    assert world.permitted("admin")["permitted"] is True  # admins need no approval (rule 11)


def test_rule_18_a_changed_cart_may_get_a_new_approval(world: World) -> None:
    approve(world, world.service.create_approval(caller("req"), request()))
    with pytest.raises(AlreadyApproved):
        world.service.create_approval(caller("req"), request())
    world.change_cart("cart-req", "10")
    second = world.service.create_approval(caller("req"), request())
    assert world.permitted("req")["status"] == "PENDING"
    approve(world, second)
    assert world.permitted("req")["permitted"] is True


def test_rule_18_a_changed_quote_version_is_not_permitted(world: World) -> None:
    approve(world, world.create_quote_approval())
    world.sources.quotes["quote-req"] = quote(version=4)
    assert world.permitted("req", "quote-req", "QUOTE")["reason"] == "RESOURCE_CHANGED"


def test_rule_18_the_fingerprint_counts_values_not_spelling() -> None:
    first, second = quote(new_unit_price="90"), quote(new_unit_price="90.00")
    assert fingerprint(first.snapshot()) == fingerprint(second.snapshot())
    assert fingerprint(first.snapshot()) != fingerprint(quote(new_unit_price="89.99").snapshot())


def test_rule_18_moving_the_delivery_window_changes_nothing(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    window = {"id": "dw2", "slotId": "s2", "deliveryDate": "2026-12-03T10:00:00.000Z"}
    world.service.update_approval(
        caller("req"), approval_id, [{"op": "replace", "path": "/resource/deliveryWindow", "value": window}]
    )
    approve(world, approval_id)
    assert world.permitted("req")["permitted"] is True


# --------------------------------------------------------------------------- rule 19
def test_rule_19_a_used_approval_is_not_permitted_twice(world: World) -> None:
    approval_id = world.service.create_approval(caller("req"), request())
    approve(world, approval_id)
    assert world.permitted("req")["permitted"] is True
    record(world, PLATFORM, approval_id)
    assert world.permitted("req") == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "APPROVED",
        "approvalId": approval_id,
        "reason": "ALREADY_USED",
    }


def test_rule_19_a_used_approval_frees_the_resource_for_a_new_one(world: World) -> None:
    first = world.service.create_approval(caller("req"), request())
    approve(world, first)
    record(world, caller("admin"), first)
    second = world.service.create_approval(caller("req"), request())
    assert world.permitted("req") == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "PENDING",
        "approvalId": second,
    }
