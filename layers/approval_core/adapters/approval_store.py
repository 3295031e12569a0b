"""ApprovalStore on DynamoDB. Item layout and keys: docs/data-model.md and ``keys``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import from_item, to_item
from approval_core.domain.errors import AlreadyApproved, ApprovalAlreadyExists
from approval_core.domain.models import Approval, Status

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


class DynamoApprovalStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, tenant: str, approval_id: str) -> Approval | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(keys.approval(tenant, approval_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return Approval.model_validate(from_item(item)) if item else None

    def _put(self, item: dict[str, Any]) -> TransactWriteItemTypeDef:
        return {"Put": {"TableName": self._table, "Item": item}}

    def create(self, tenant: str, approval: Approval, now: str) -> None:
        document = _document(approval)
        approval_key = keys.approval(tenant, approval.id)
        lock_key = keys.resource_lock(tenant, approval.resourceType, approval.resource.id, approval.action)
        lock = {
            **lock_key,
            "approvalId": approval.id,
            "status": approval.status,
            "expiryDate": approval.expiryDate,
            "requestorId": approval.requestor.userId,
            "approverId": approval.approver.userId,
            "version": approval.metadata.version,
        }
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(lock),
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
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            **approval_key,
                            **keys.pending_expiry(tenant, approval.id, approval.expiryDate),
                            **document,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            *(self._put(to_item({**copy_key, **document})) for copy_key in _participation_keys(tenant, approval)),
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as cancelled:
            reasons: list[Any] = list(cancelled.response.get("CancellationReasons", []))
            lock_reason, approval_reason = [*reasons, {}, {}][:2]
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


def _document(approval: Approval) -> dict[str, Any]:
    return approval.model_dump(mode="python", exclude_none=True)


def _participation_keys(tenant: str, approval: Approval) -> list[keys.Key]:
    created_at = approval.metadata.createdAt
    return [
        keys.participation(tenant, user_id, created_at, approval.id)
        for user_id in (approval.requestor.userId, approval.approver.userId)
    ]
