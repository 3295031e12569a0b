"""Approval policies and flows, the pure part: rules 22 to 29 (docs/api.md, "Approval policies")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from approval_core.domain.errors import (
    AlreadyDecided,
    ApproverAboveOwnLimit,
    ApproverNotAssignable,
    TierNotCurrent,
    ValidationFailed,
)
from approval_core.domain.flow import (
    approval_to_be,
    completes_approval,
    pending_approvers,
    rule_24_build_flow,
    rule_26_decide,
)
from approval_core.domain.models import Approval, Money, Status
from approval_core.domain.policies import MAX_ELIGIBLE_APPROVERS, Policy, PolicyBody, rule_23_validate
from approval_core.domain.reference import Customer
from approval_core.domain.validation import validate

AT = "2026-11-24T12:00:00.000Z"
EUR = "EUR"


def member(user_id: str, *groups: str, limit: int | None = None) -> Customer:
    return Customer(
        id=user_id,
        groups=frozenset(groups),
        company_ids=("acme",),
        approval_limit=None if limit is None else Money(currency=EUR, amount=Decimal(limit)),
    )


MEMBERS = {
    c.id: c
    for c in [
        member("ann", "B2B_REQUESTER"),
        member("bob", "B2B_BUYER"),
        member("dan", "B2B_BUYER"),
        member("eve", "B2B_BUYER"),
        member("ada", "B2B_ADMIN"),
    ]
}


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "big",
        "companyId": "acme",
        "name": "Big orders",
        "appliesTo": {"groups": ["B2B_REQUESTER"]},
        "condition": "resource.totalPrice.amount:>=5000 resource.totalPrice.currency:EUR",
        "tiers": [
            {"name": "Buyers", "approvers": [{"userId": "bob"}, {"userId": "dan"}], "required": 1},
            {"name": "Admin", "approvers": [{"group": "B2B_ADMIN"}]},
        ],
        **overrides,
    }


def policy(**overrides: Any) -> Policy:
    document = body(**overrides)
    return Policy.model_validate(
        {"active": True, **document, "metadata": {"version": 1, "createdAt": AT, "modifiedAt": AT}}
    )


def cart_document(amount: str, currency: str = EUR, items: int = 1) -> dict[str, Any]:
    return approval_to_be(
        {
            "resource": {
                "id": "c1",
                "items": [{"quantity": 1}] * items,
                "totalPrice": {"currency": currency, "amount": Decimal(amount)},
            }
        }
    )


# --------------------------------------------------------------------------- rule 22: matching
def test_rule_22_policy_matches_its_group_above_its_amount() -> None:
    assert policy().matches(MEMBERS["ann"], cart_document("6000"))


def test_rule_22_policy_does_not_match_below_its_amount() -> None:
    assert not policy().matches(MEMBERS["ann"], cart_document("4999.99"))


def test_rule_22_policy_does_not_apply_to_another_group() -> None:
    assert not policy().matches(MEMBERS["bob"], cart_document("6000"))


def test_rule_22_condition_on_another_currency_does_not_match() -> None:
    assert not policy().matches(MEMBERS["ann"], cart_document("6000", currency="USD"))


def test_rule_22_empty_applies_to_means_every_requester_and_no_condition_means_always() -> None:
    everyone = policy(appliesTo={}, condition=None)
    assert everyone.matches(MEMBERS["bob"], cart_document("1"))


def test_rule_22_named_customer_matches_and_inactive_policy_never_does() -> None:
    assert policy(appliesTo={"customerIds": ["bob"]}).matches(MEMBERS["bob"], cart_document("6000"))
    assert not policy(active=False).matches(MEMBERS["ann"], cart_document("6000"))


def test_rule_22_condition_on_the_item_count() -> None:
    many = policy(condition="resource.itemCount:>10")
    assert many.matches(MEMBERS["ann"], cart_document("1", items=11))
    assert not many.matches(MEMBERS["ann"], cart_document("1", items=10))


# --------------------------------------------------------------------------- rule 23: validation
def test_rule_23_a_valid_policy_passes() -> None:
    rule_23_validate(validate(body(), PolicyBody), MEMBERS.values())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"condition": "resource.totalPrice.amount:(>=1"}, "condition"),
        ({"tiers": [{"name": "x", "approvers": [{"userId": "nobody"}]}]}, "tiers.0.approvers.0.userId"),
        ({"tiers": [{"name": "x", "approvers": [{"group": "B2B_NOBODY"}]}]}, "tiers.0.approvers.0.group"),
        ({"tiers": [{"name": "x", "approvers": [{"userId": "bob"}], "required": 2}]}, "tiers.0.required"),
    ],
)
def test_rule_23_invalid_policy_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rule_23_validate(validate(body(**overrides), PolicyBody), MEMBERS.values())
    assert field in [detail.field for detail in refused.value.details]


@pytest.mark.parametrize(
    "tiers",
    [
        [],
        [{"name": f"t{n}", "approvers": [{"userId": "bob"}]} for n in range(6)],
        [{"name": "x", "approvers": [{"userId": "bob", "group": "B2B_ADMIN"}]}],
        [{"name": "x", "approvers": [{"userId": "bob"}], "required": 0}],
    ],
)
def test_rule_23_tiers_are_one_to_five_with_one_kind_of_approver_and_a_positive_quorum(
    tiers: list[dict[str, Any]],
) -> None:
    with pytest.raises(ValidationFailed):
        validate(body(tiers=tiers), PolicyBody)


def test_rule_23_a_policy_naming_more_approvers_than_an_approval_holds_is_refused() -> None:
    crowd = {f"b{n}": member(f"b{n}", "B2B_BUYER") for n in range(MAX_ELIGIBLE_APPROVERS + 1)}
    with pytest.raises(ValidationFailed) as refused:
        rule_23_validate(
            validate(body(tiers=[{"name": "all", "approvers": [{"group": "B2B_BUYER"}]}]), PolicyBody),
            crowd.values(),
        )
    assert "tiers" in [detail.field for detail in refused.value.details]


# --------------------------------------------------------------------------- rule 24: the flow
def test_rule_24_flow_resolves_groups_and_never_includes_the_requestor() -> None:
    everyone = policy(tiers=[{"name": "All buyers", "approvers": [{"group": "B2B_BUYER"}], "required": 2}])
    flow = rule_24_build_flow([everyone], MEMBERS, MEMBERS["bob"], None)
    assert [p.userId for p in flow[0].tiers[0].approvers] == ["dan", "eve"]
    assert flow[0].currentTier == 1


def test_rule_24_a_tier_without_enough_eligible_approvers_refuses_the_approval() -> None:
    only_bob = policy(tiers=[{"name": "Bob", "approvers": [{"userId": "bob"}]}])
    with pytest.raises(ApproverNotAssignable):
        rule_24_build_flow([only_bob], MEMBERS, MEMBERS["bob"], None)


# --------------------------------------------------------------------------- rule 26: deciding
def two_tier_flow() -> list[Any]:
    return rule_24_build_flow([policy()], MEMBERS, MEMBERS["ann"], None)


def test_rule_26_a_buyer_approves_tier_1_and_the_admin_tier_2_approves_the_approval() -> None:
    after_bob = rule_26_decide(two_tier_flow(), "bob", Status.APPROVED, AT)
    assert after_bob.status is Status.PENDING
    assert after_bob.flow[0].currentTier == 2
    assert [p.userId for p in pending_approvers(after_bob.flow)] == ["ada"]
    assert [(s.policyId, s.tier) for s in after_bob.steps] == [("big", 1)]
    after_ada = rule_26_decide(after_bob.flow, "ada", Status.APPROVED, AT)
    assert after_ada.status is Status.APPROVED
    assert after_ada.flow[0].currentTier is None


def test_rule_26_a_later_tier_cannot_act_before_its_tier() -> None:
    with pytest.raises(TierNotCurrent):
        rule_26_decide(two_tier_flow(), "ada", Status.APPROVED, AT)


def test_rule_26_the_other_buyer_cannot_act_once_tier_1_is_done() -> None:
    after_bob = rule_26_decide(two_tier_flow(), "bob", Status.APPROVED, AT)
    with pytest.raises(TierNotCurrent):
        rule_26_decide(after_bob.flow, "dan", Status.APPROVED, AT)


def test_rule_26_nobody_approves_twice() -> None:
    quorum = policy(tiers=[{"name": "Buyers", "approvers": [{"group": "B2B_BUYER"}], "required": 2}])
    flow = rule_26_decide(rule_24_build_flow([quorum], MEMBERS, MEMBERS["ann"], None), "bob", Status.APPROVED, AT)
    with pytest.raises(AlreadyDecided):
        rule_26_decide(flow.flow, "bob", Status.APPROVED, AT)


def test_rule_26_quorum_2_of_3_needs_two_distinct_approvals() -> None:
    quorum = policy(tiers=[{"name": "Buyers", "approvers": [{"group": "B2B_BUYER"}], "required": 2}])
    flow = rule_24_build_flow([quorum], MEMBERS, MEMBERS["ann"], None)
    first = rule_26_decide(flow, "bob", Status.APPROVED, AT)
    assert first.status is Status.PENDING
    assert rule_26_decide(first.flow, "eve", Status.APPROVED, AT).status is Status.APPROVED


def test_rule_26_decline_at_tier_2_after_approval_at_tier_1() -> None:
    after_bob = rule_26_decide(two_tier_flow(), "bob", Status.APPROVED, AT)
    declined = rule_26_decide(after_bob.flow, "ada", Status.DECLINED, AT)
    assert declined.status is Status.DECLINED
    assert [(s.policyId, s.tier) for s in declined.steps] == [("big", 2)]


def test_rule_26_every_matched_policy_must_be_satisfied() -> None:
    buyers = policy(id="buyers", tiers=[{"name": "Buyers", "approvers": [{"userId": "bob"}]}])
    admins = policy(id="admins", tiers=[{"name": "Admin", "approvers": [{"userId": "ada"}]}])
    flow = rule_24_build_flow([buyers, admins], MEMBERS, MEMBERS["ann"], None)
    after_bob = rule_26_decide(flow, "bob", Status.APPROVED, AT)
    assert after_bob.status is Status.PENDING
    assert rule_26_decide(after_bob.flow, "ada", Status.APPROVED, AT).status is Status.APPROVED


# --------------------------------------------------------------------------- rule 28: own limits
def test_rule_28_an_approver_above_their_own_limit_is_not_eligible_and_is_refused() -> None:
    members = {**MEMBERS, "dan": member("dan", "B2B_BUYER", limit=1000)}
    total = Money(currency=EUR, amount=Decimal(6000))
    flow = rule_24_build_flow([policy()], members, MEMBERS["ann"], total)
    assert [p.userId for p in pending_approvers(flow)] == ["bob"]
    with pytest.raises(ApproverAboveOwnLimit):
        rule_26_decide(flow, "dan", Status.APPROVED, AT)


def test_rule_28_an_approver_within_their_own_limit_stays_eligible() -> None:
    members = {**MEMBERS, "dan": member("dan", "B2B_BUYER", limit=10000)}
    flow = rule_24_build_flow([policy()], members, MEMBERS["ann"], Money(currency=EUR, amount=Decimal(6000)))
    assert {p.userId for p in pending_approvers(flow)} == {"bob", "dan"}


# --------------------------------------------------------------------------- the one question of ordering
def approval_with(flow: list[Any] | None, approver: str = "bob") -> Approval:
    return Approval.model_validate(
        {
            "id": "a1",
            "status": "PENDING",
            "resourceType": "CART",
            "action": "CHECKOUT",
            "resource": {"id": "c1"},
            "requestor": {"userId": "ann"},
            "approver": {"userId": approver},
            "expiryDate": "2026-12-01T00:00:00.000Z",
            "metadata": {"createdAt": AT, "modifiedAt": AT, "version": 1},
            "flow": None if flow is None else [policy.model_dump() for policy in flow],
        }
    )


def test_rule_26_completes_approval_without_a_flow_is_the_approver_alone() -> None:
    approval = approval_with(None)
    assert completes_approval(approval, "bob")
    assert not completes_approval(approval, "dan")


def test_rule_26_completes_approval_with_a_flow_only_for_the_last_missing_decision() -> None:
    flow = two_tier_flow()
    assert not completes_approval(approval_with(flow), "bob")  # tier 2 still to come
    after_bob = rule_26_decide(flow, "bob", Status.APPROVED, AT).flow
    assert completes_approval(approval_with(after_bob), "ada")
    assert not completes_approval(approval_with(after_bob), "dan")
