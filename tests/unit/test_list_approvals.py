"""Listing: rule 6 (only one's own approvals), rule 13, q, sort and pages."""

from __future__ import annotations

import pytest

from approval_core.domain.query import parse_query, parse_sort
from approval_core.service import ApprovalService, ListRequest
from tests.unit.conftest import Clock, caller, request


def listing(service: ApprovalService, user_id: str, q: str | None = None, sort: str | None = None, **page: int) -> list:
    result = service.list_approvals(
        caller(user_id), ListRequest(query=parse_query(q), sort=parse_sort(sort), default_sort=sort is None, **page)
    )
    return [document["id"] for document in result.approvals]


@pytest.fixture
def three(service: ApprovalService, clock: Clock) -> list[str]:
    ids = []
    for cart, approver in [("cart-req", "admin"), ("cart-req-2", "buyer"), ("cart-buyer-big", "admin")]:
        user = "buyer" if cart.startswith("cart-buyer") else "req"
        ids.append(service.create_approval(caller(user), request(cart, approver)))
        clock.advance(1)
    return ids


def test_rule_6_lists_only_approvals_the_caller_takes_part_in(service: ApprovalService, three: list[str]) -> None:
    assert listing(service, "req") == [three[1], three[0]]
    assert listing(service, "admin") == [three[2], three[0]]
    assert listing(service, "buyer2") == []


def test_default_order_is_newest_first_and_sort_can_reverse_it(service: ApprovalService, three: list[str]) -> None:
    assert listing(service, "req", sort="metadata.createdAt:asc") == [three[0], three[1]]


def test_q_filters_by_status_and_approver(service: ApprovalService, three: list[str]) -> None:
    assert listing(service, "req", q="approver.userId:buyer") == [three[1]]
    assert listing(service, "req", q="status:(PENDING,DECLINED) resource.siteCode:main") == [three[1], three[0]]


def test_rule_13_overdue_approvals_list_as_expired(service: ApprovalService, three: list[str], clock: Clock) -> None:
    clock.advance(3600)
    assert listing(service, "req", q="status:PENDING") == []
    assert listing(service, "req", q="status:EXPIRED") == [three[1], three[0]]


def test_pages_do_not_overlap(service: ApprovalService, three: list[str]) -> None:
    assert listing(service, "req", page_size=1, page_number=1) == [three[1]]
    assert listing(service, "req", page_size=1, page_number=2) == [three[0]]
    assert listing(service, "req", page_size=1, page_number=3) == []


def test_total_counts_all_matches(service: ApprovalService, three: list[str]) -> None:
    result = service.list_approvals(
        caller("req"), ListRequest(query=parse_query(None), sort=parse_sort(None), page_size=1, with_total=True)
    )
    assert (len(result.approvals), result.total) == (1, 2)
