"""PATCH and DELETE: rules 7 to 10, 13, and the error codes they raise."""

from __future__ import annotations

from typing import Any

import pytest

from approval_core.domain.errors import (
    ApprovalFinished,
    ApprovalNotFound,
    ConcurrentModification,
    InvalidPatchOperation,
    InvalidStatusValue,
    NoPermission,
    PatchPathNotSupported,
    StatusChangeNotAllowed,
    ValidationFailed,
)
from approval_core.domain.models import HistoryAction, Status
from approval_core.service import ApprovalService
from tests.fakes import InMemoryApprovalStore
from tests.unit.conftest import Clock, caller, request

ADDRESS = {"street": "Main", "zipCode": "10115", "city": "Berlin", "country": "DE", "type": "SHIPPING"}


@pytest.fixture
def approval_id(service: ApprovalService) -> str:
    return service.create_approval(
        caller("req"), request(comment="first", details={"currency": "EUR", "addresses": [ADDRESS]})
    )


def op(operation: str, path: str, value: Any = ...) -> dict[str, Any]:
    return {"op": operation, "path": path} | ({} if value is ... else {"value": value})


def test_rule_8_approver_approves(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "APPROVED")])
    approval = service.get_approval(caller("req"), approval_id)
    assert approval.status is Status.APPROVED
    assert [entry.action for entry in approval.history] == [HistoryAction.CREATED, HistoryAction.APPROVED]
    assert approval.history[-1].by == "admin"


def test_rule_8_approver_declines_with_a_first_comment_added(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(
        caller("admin"), approval_id, [op("replace", "/status", "DECLINED"), op("add", "/approverComment", "Too much")]
    )
    approval = service.get_approval(caller("req"), approval_id)
    assert (approval.status, approval.approverComment) == (Status.DECLINED, "Too much")
    assert approval.history[-1].action is HistoryAction.DECLINED


def test_single_operation_object_is_taken_as_an_array(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(caller("req"), approval_id, op("Replace", "/comment", "second"))
    assert service.get_approval(caller("req"), approval_id).comment == "second"


def test_rule_8_requestor_edits_comment_details_and_delivery_window(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(
        caller("req"),
        approval_id,
        [
            op("REPLACE", "/comment", "second"),
            op("ADD", "/details/addresses/-", ADDRESS | {"type": "BILLING"}),
            op("REMOVE", "/details/currency"),
            op("REPLACE", "/resource/deliveryWindow/slotId", "s2"),
        ],
    )
    approval = service.get_approval(caller("req"), approval_id)
    assert approval.comment == "second"
    assert approval.details is not None
    assert approval.details.currency is None
    assert [address.type for address in approval.details.addresses or []] == ["SHIPPING", "BILLING"]
    assert approval.resource.deliveryWindow is not None
    assert approval.resource.deliveryWindow.slotId == "s2"
    assert approval.history[-1].action is HistoryAction.UPDATED


def test_rule_8_the_approver_moves_the_delivery_window_while_pending(
    service: ApprovalService, approval_id: str
) -> None:
    window = {"id": "dw2", "slotId": "s2", "deliveryDate": "2026-12-03T10:00:00.000Z", "deliveryDayLabel": "Thu"}
    service.update_approval(caller("admin"), approval_id, op("REPLACE", "/resource/deliveryWindow", window))
    service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/resource/deliveryWindow/slotId", "s3")])
    approval = service.get_approval(caller("req"), approval_id)
    assert approval.resource.deliveryWindow is not None
    assert approval.resource.deliveryWindow.model_dump(exclude_none=True) == {
        "id": "dw2",
        "slotId": "s3",
        "deliveryDate": "2026-12-03T10:00:00.000Z",
    }
    assert [(entry.action, entry.by) for entry in approval.history[1:]] == [
        (HistoryAction.UPDATED, "admin"),
        (HistoryAction.UPDATED, "admin"),
    ]
    assert approval.status is Status.PENDING


def test_rule_8_the_approver_replacing_an_absent_delivery_window_member_is_400010(
    service: ApprovalService, approval_id: str
) -> None:
    with pytest.raises(InvalidPatchOperation):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/resource/deliveryWindow/label", "x")])
    service.update_approval(caller("admin"), approval_id, [op("REMOVE", "/resource/deliveryWindow")])
    with pytest.raises(InvalidPatchOperation):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/resource/deliveryWindow", {"id": "x"})])


def test_rule_8_the_approver_may_not_change_the_rest_of_the_resource(
    service: ApprovalService, approval_id: str
) -> None:
    with pytest.raises(PatchPathNotSupported):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/resource/siteCode", "other")])


def test_rule_7_the_approver_cannot_move_the_delivery_window_once_finished(
    service: ApprovalService, approval_id: str
) -> None:
    service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "DECLINED")])
    with pytest.raises(ApprovalFinished):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/resource/deliveryWindow/slotId", "s2")])


def test_unknown_members_of_patched_values_are_ignored_not_refused(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(
        caller("req"),
        approval_id,
        [
            op("ADD", "/details/paymentMethods", [{"provider": "payment-gateway", "displayName": "Invoice"}]),
            op("ADD", "/details/shipping", {"amount": 5, "carrier": "DHL"}),
            op("ADD", "/details/addresses/-", ADDRESS | {"id": "loc-2", "tags": ["HQ"], "type": "BILLING"}),
        ],
    )
    details = service.get_approval(caller("req"), approval_id).model_dump(mode="json", exclude_none=True)["details"]
    assert details["paymentMethods"] == [{"provider": "payment-gateway"}]
    assert details["shipping"] == {"amount": "5"}
    assert details["addresses"][-1] == ADDRESS | {"id": "loc-2", "type": "BILLING"}


def test_rule_9_every_change_increments_version_and_sets_modified_at(
    service: ApprovalService, approval_id: str, clock: Clock
) -> None:
    clock.advance(10)
    service.update_approval(caller("req"), approval_id, [op("REPLACE", "/comment", "x")])
    approval = service.get_approval(caller("req"), approval_id)
    assert approval.metadata.version == 2
    assert approval.metadata.modifiedAt == "2026-11-24T12:00:10.123Z"
    assert approval.metadata.createdAt == "2026-11-24T12:00:00.123Z"
    assert approval.history[-1].version == 2


def test_rule_9_if_match_with_another_version_is_409002(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(ConcurrentModification):
        service.update_approval(caller("req"), approval_id, [op("REPLACE", "/comment", "x")], if_match="7")
    service.update_approval(caller("req"), approval_id, [op("REPLACE", "/comment", "x")], if_match='"1"')


def test_rule_6_non_participant_patch_is_404001(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(ApprovalNotFound):
        service.update_approval(caller("buyer"), approval_id, [op("REPLACE", "/comment", "x")])


def test_rule_7_finished_approval_is_400009(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "APPROVED")])
    with pytest.raises(ApprovalFinished):
        service.update_approval(caller("req"), approval_id, [op("REPLACE", "/comment", "x")])


def test_rule_13_overdue_approval_is_finished_before_the_sweep(
    service: ApprovalService, approval_id: str, clock: Clock
) -> None:
    clock.advance(3600)
    with pytest.raises(ApprovalFinished):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "APPROVED")])


@pytest.mark.parametrize(
    "body",
    [[], {}, "x", [op("MOVE", "/comment", "x")], [op("REPLACE", "/comment")], [{"path": "/comment"}], [op("add", "")]],
    ids=["empty-array", "empty-object", "string", "unknown-op", "missing-value", "missing-op", "empty-path"],
)
def test_malformed_operations_are_400010(service: ApprovalService, approval_id: str, body: Any) -> None:
    with pytest.raises(InvalidPatchOperation):
        service.update_approval(caller("req"), approval_id, body)


@pytest.mark.parametrize(
    "operation",
    [
        op("REPLACE", "/approverComment", "x"),
        op("REMOVE", "/details/payment"),
        op("ADD", "/details/addresses/5", ADDRESS),
    ],
    ids=["replace-absent-member", "remove-absent-member", "index-out-of-range"],
)
def test_absent_targets_are_400010(service: ApprovalService, approval_id: str, operation: dict[str, Any]) -> None:
    who = "admin" if "approver" in operation["path"] else "req"
    with pytest.raises(InvalidPatchOperation):
        service.update_approval(caller(who), approval_id, [operation])


@pytest.mark.parametrize(
    "operation",
    [
        op("REPLACE", "/requestor/userId", "x"),
        op("REMOVE", "/status"),
        op("REPLACE", "/metadata/version", 9),
        op("REPLACE", "/resource/totalPrice/amount", 1),
        op("ADD", "/history/-", {}),
    ],
)
def test_paths_that_are_not_patchable_are_400007(
    service: ApprovalService, approval_id: str, operation: dict[str, Any]
) -> None:
    with pytest.raises(PatchPathNotSupported):
        service.update_approval(caller("admin"), approval_id, [operation])


def test_rule_8_approver_editing_the_comment_is_400008(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(NoPermission):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/comment", "x")])


def test_rule_8_requestor_editing_the_approver_comment_is_400008(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(NoPermission):
        service.update_approval(caller("req"), approval_id, [op("ADD", "/approverComment", "x")])


def test_rule_8_unknown_status_value_is_400003(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(InvalidStatusValue):
        service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "MAYBE")])


@pytest.mark.parametrize(
    ("who", "status"), [("req", "APPROVED"), ("admin", "EXPIRED"), ("admin", "CLOSED"), ("admin", "PENDING")]
)
def test_rule_8_status_changes_rule_8_does_not_allow_are_400002(
    service: ApprovalService, approval_id: str, who: str, status: str
) -> None:
    with pytest.raises(StatusChangeNotAllowed):
        service.update_approval(caller(who), approval_id, [op("REPLACE", "/status", status)])


def test_wrong_value_type_for_a_path_is_400001_and_changes_nothing(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        service.update_approval(
            caller("req"), approval_id, [op("REPLACE", "/comment", "ok"), op("REPLACE", "/details", "not an object")]
        )
    assert raised.value.details[0].field == "details"
    approval = service.get_approval(caller("req"), approval_id)
    assert (approval.comment, approval.metadata.version) == ("first", 1)


def test_patch_is_atomic_a_failing_operation_undoes_the_earlier_ones(
    service: ApprovalService, approval_id: str
) -> None:
    with pytest.raises(InvalidPatchOperation):
        service.update_approval(
            caller("req"), approval_id, [op("REPLACE", "/comment", "changed"), op("REMOVE", "/details/payment")]
        )
    assert service.get_approval(caller("req"), approval_id).comment == "first"


# --------------------------------------------------------------------------- DELETE
def test_rule_10_requestor_closes_a_pending_approval_and_the_document_stays(
    service: ApprovalService, approval_id: str
) -> None:
    service.close_approval(caller("req"), approval_id)
    approval = service.get_approval(caller("admin"), approval_id)
    assert approval.status is Status.CLOSED
    assert approval.history[-1].action is HistoryAction.CLOSED
    assert approval.metadata.version == 2


def test_rule_10_closing_frees_the_resource(service: ApprovalService, approval_id: str) -> None:
    service.close_approval(caller("req"), approval_id)
    assert service.create_approval(caller("req"), request()) != approval_id


def test_rule_10_only_the_requestor_closes_400008(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(NoPermission):
        service.close_approval(caller("admin"), approval_id)


def test_rule_10_closing_a_finished_approval_is_400001(service: ApprovalService, approval_id: str) -> None:
    service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "DECLINED")])
    with pytest.raises(ValidationFailed):
        service.close_approval(caller("req"), approval_id)


@pytest.mark.parametrize("spelling", ["replace", "REPLACE", "add"])
def test_rule_10_the_requestors_patch_to_closed_closes_as_delete_does(
    service: ApprovalService, approval_id: str, spelling: str
) -> None:
    service.update_approval(caller("req"), approval_id, [op(spelling, "/status", "CLOSED")])
    approval = service.get_approval(caller("admin"), approval_id)
    assert approval.status is Status.CLOSED
    assert [(entry.action, entry.by, entry.status) for entry in approval.history[1:]] == [
        (HistoryAction.CLOSED, "req", Status.CLOSED)
    ]
    assert approval.metadata.version == 2
    assert service.create_approval(caller("req"), request()) != approval_id  # the resource is free again


def test_rule_10_the_requestors_patch_to_closed_of_a_finished_approval_is_400001(
    service: ApprovalService, approval_id: str
) -> None:
    service.update_approval(caller("admin"), approval_id, [op("REPLACE", "/status", "DECLINED")])
    with pytest.raises(ValidationFailed):
        service.update_approval(caller("req"), approval_id, [op("replace", "/status", "CLOSED")])
    with pytest.raises(ApprovalFinished):  # any other change of a finished approval stays 400009
        service.update_approval(caller("req"), approval_id, [op("replace", "/comment", "x")])


def test_rule_10_non_participant_close_is_404001(service: ApprovalService, approval_id: str) -> None:
    with pytest.raises(ApprovalNotFound):
        service.close_approval(caller("buyer"), approval_id)


def test_store_refusal_of_a_stale_version_is_409002(
    service: ApprovalService, store: InMemoryApprovalStore, approval_id: str
) -> None:
    stale = store.get("acme", approval_id)
    assert stale is not None
    service.update_approval(caller("req"), approval_id, [op("REPLACE", "/comment", "x")])
    with pytest.raises(ConcurrentModification):
        store.update("acme", stale, expected_version=1, now="2026-11-24T12:00:00.123Z")
