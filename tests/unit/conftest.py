from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approval_core.adapters.reads import SeparateReads
from approval_core.domain.caller import Caller
from approval_core.domain.models import CreateApprovalRequest
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore, InMemoryCartSource, InMemoryDirectory
from tests.world import CARTS, CUSTOMERS, TENANT, create_body


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> InMemoryApprovalStore:
    return InMemoryApprovalStore()


@pytest.fixture
def service(store: InMemoryApprovalStore, clock: Clock) -> ApprovalService:
    directory = InMemoryDirectory(CUSTOMERS)
    carts = InMemoryCartSource(CARTS)
    return ApprovalService(
        store=store,
        directory=directory,
        carts=carts,
        reads=SeparateReads(directory, carts, store),
        expiry_seconds=3600,
        clock=clock,
    )


def caller(user_id: str, groups: list[str] | None = None) -> Caller:
    return Caller(tenant=TENANT, user_id=user_id, groups=None if groups is None else frozenset(groups))


def request(resource_id: str = "cart-req", approver: str = "admin", **extra: object) -> CreateApprovalRequest:
    return CreateApprovalRequest.model_validate(create_body(resource_id, approver, **extra))
