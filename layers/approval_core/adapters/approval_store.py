"""ApprovalStore on DynamoDB. Item layout and keys: docs/data-model.md and ``keys``.

Every change writes the approval, its participants' copies and (for status changes) the
resource's lock in one ``TransactWriteItems``, so they never disagree; conditions in that
transaction, not reads before it, enforce rules 5, 7 and 9.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import from_item, to_item
from approval_core.domain.errors import (
    AlreadyApproved,
    ApprovalAlreadyExists,
    ApprovalFinished,
    ConcurrentModification,
)
from approval_core.domain.models import Approval, ResourceApproval, Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

CONDITION_FAILED = "ConditionalCheckFailed"

# A resource is free for a new approval when it never had one, when its latest finished without
# approval, or when its latest is PENDING but overdue (rule 13: it reads as EXPIRED already).
RESOURCE_IS_FREE = (
    "attribute_not_exists(PK) OR #status IN (:declined, :expired, :closed) "
    "OR (#status = :pending AND expiryDate <= :now)"
)
# Rules 7 and 9: only a PENDING, not overdue approval at the version the change was based on.
STILL_AS_READ = "#status = :pending AND expiryDate > :now AND #metadata.#version = :expected"


class DynamoApprovalStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ------------------------------------------------------------------ reads
    def get(self, tenant: str, approval_id: str) -> Approval | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(keys.approval(tenant, approval_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return Approval.model_validate(from_item(item)) if item else None

    def latest_for_resource(
        self, tenant: str, resource_type: str, resource_id: str, action: str
    ) -> ResourceApproval | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(keys.resource_lock(tenant, resource_type, resource_id, action)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return ResourceApproval.model_validate(from_item(item)) if item else None

    def list_for_participant(self, tenant: str, user_id: str, limit: int | None) -> list[Approval]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :partition AND begins_with(SK, :approvals)",
            "ExpressionAttributeValues": to_item(
                {":partition": keys.participant_partition(tenant, user_id), ":approvals": keys.PARTICIPATION_PREFIX}
            ),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        approvals: list[Approval] = []
        while True:
            if limit is not None:
                query["Limit"] = limit - len(approvals)
            response = self._client.query(**query)
            approvals.extend(Approval.model_validate(from_item(item)) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key or (limit is not None and len(approvals) >= limit):
                return approvals
            query["ExclusiveStartKey"] = last_key

    # ------------------------------------------------------------------ writes
    def create(self, tenant: str, approval: Approval, now: str) -> None:
        lock = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_lock(tenant, approval)),
                "ConditionExpression": RESOURCE_IS_FREE,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {
                        ":declined": Status.DECLINED,
                        ":expired": Status.EXPIRED,
                        ":closed": Status.CLOSED,
                        ":pending": Status.PENDING,
                        ":now": now,
                    }
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        new_approval = self._put_approval(tenant, approval)
        new_approval["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        try:
            self._client.transact_write_items(
                TransactItems=[lock, new_approval, *self._put_copies(tenant, approval)]  # type: ignore[list-item]
            )
        except self._client.exceptions.TransactionCanceledException as cancelled:
            lock_reason, approval_reason = _reasons(cancelled.response, 2)
            if lock_reason.get("Code") == CONDITION_FAILED:
                holder = from_item(lock_reason.get("Item", {}))
                if holder.get("status") == Status.APPROVED:
                    raise AlreadyApproved(
                        f"Approval {holder.get('approvalId')} already approved this resource"
                    ) from None
                raise ApprovalAlreadyExists(
                    f"Approval {holder.get('approvalId')} is already pending for this resource"
                ) from None
            if approval_reason.get("Code") == CONDITION_FAILED:
                raise ApprovalAlreadyExists(f"Approval {approval.id} already exists") from None
            raise

    def update(self, tenant: str, approval: Approval, expected_version: int, now: str) -> None:
        changed = self._put_approval(tenant, approval)
        changed["Put"].update(
            {
                "ConditionExpression": STILL_AS_READ,
                "ExpressionAttributeNames": {"#status": "status", "#metadata": "metadata", "#version": "version"},
                "ExpressionAttributeValues": to_item(
                    {":pending": Status.PENDING, ":now": now, ":expected": expected_version}
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        )
        writes: list[Any] = [changed, *self._put_copies(tenant, approval)]
        if approval.status is not Status.PENDING:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(_lock(tenant, approval)),
                        # The lock still names this approval: it cannot have moved on while this
                        # one was PENDING and not overdue, and the first condition holds that.
                        "ConditionExpression": "approvalId = :id",
                        "ExpressionAttributeValues": to_item({":id": approval.id}),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as cancelled:
            (approval_reason,) = _reasons(cancelled.response, 1)
            if approval_reason.get("Code") != CONDITION_FAILED:
                raise
            stored = from_item(approval_reason.get("Item", {}))
            if stored.get("status") != Status.PENDING or str(stored.get("expiryDate", "")) <= now:
                raise ApprovalFinished() from None
            raise ConcurrentModification(
                f"Approval {approval.id} is at version {stored.get('metadata', {}).get('version')}, "
                f"not {expected_version}"
            ) from None

    def _put_approval(self, tenant: str, approval: Approval) -> dict[str, Any]:
        expiry_entry = (
            keys.pending_expiry(tenant, approval.id, approval.expiryDate) if approval.status is Status.PENDING else {}
        )
        item = {**keys.approval(tenant, approval.id), **expiry_entry, **_document(approval)}
        return {"Put": {"TableName": self._table, "Item": to_item(item)}}

    def _put_copies(self, tenant: str, approval: Approval) -> list[TransactWriteItemTypeDef]:
        document = _document(approval)
        return [
            {"Put": {"TableName": self._table, "Item": to_item({**key, **document})}}
            for key in (
                keys.participation(tenant, user_id, approval.metadata.createdAt, approval.id)
                for user_id in (approval.requestor.userId, approval.approver.userId)
            )
        ]


def _document(approval: Approval) -> dict[str, Any]:
    return approval.model_dump(mode="python", exclude_none=True)


def _lock(tenant: str, approval: Approval) -> dict[str, Any]:
    return {
        **keys.resource_lock(tenant, approval.resourceType, approval.resource.id, approval.action),
        "approvalId": approval.id,
        "status": approval.status,
        "expiryDate": approval.expiryDate,
        "requestorId": approval.requestor.userId,
        "approverId": approval.approver.userId,
        "version": approval.metadata.version,
    }


def _reasons(response: Any, count: int) -> list[dict[str, Any]]:
    """The first ``count`` cancellation reasons of a cancelled transaction, padded with {}."""
    reasons = list(response.get("CancellationReasons", []))
    return [*reasons, *([{}] * count)][:count]
