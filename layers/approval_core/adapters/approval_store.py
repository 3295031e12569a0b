"""ApprovalStore on DynamoDB. Item layout and keys: docs/data-model.md and ``keys``.

Every change writes the approval, its participants' copies and (for status changes) the
resource's lock in one ``TransactWriteItems``, so they never disagree; conditions in that
transaction, not reads before it, enforce rules 5, 7 and 9.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import batch_get, from_item, query_pages, to_item
from approval_core.adapters.item_limits import check_item
from approval_core.adapters.status_lists import StatusLists, backfill, counts_change, watching_change
from approval_core.domain.errors import (
    AlreadyApproved,
    ApprovalAlreadyExists,
    ApprovalFinished,
    ConcurrentModification,
    CreatedResourceAlreadySet,
    ServiceBusy,
    ValidationFailed,
)
from approval_core.domain.listing import KeyedListing, KeyedSelection
from approval_core.domain.models import (
    Approval,
    HistoryEntry,
    OverdueApproval,
    ResourceApproval,
    Status,
    flow_participants,
)
from approval_core.domain.order import fingerprint

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailed"
# Room every written item keeps below DynamoDB's limits for what the expiry sweep appends to it
# later (a history entry, the sweep's id), so that the sweep can never be refused.
EXPIRY_HEADROOM_BYTES = 512
# Cancellation reasons that say "not now" rather than "no": the same request can succeed later.
TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})

# A resource is free for a new approval when it never had one, when its latest finished without
# approval, when its latest is PENDING but overdue (rule 13: it reads as EXPIRED already), or when
# its latest is APPROVED but used (rule 19) or for other content than the resource has now (rule 18).
RESOURCE_IS_FREE = (
    "attribute_not_exists(PK) OR #status IN (:declined, :expired, :closed) "
    "OR (#status = :pending AND expiryDate <= :now) "
    "OR (#status = :approved AND (attribute_exists(createdResourceId) "
    "OR (attribute_exists(fingerprint) AND fingerprint <> :fingerprint)))"
)
# Rules 7 and 9: only a PENDING, not overdue approval at the version the change was based on.
STILL_AS_READ = "#status = :pending AND expiryDate > :now AND #metadata.#version = :expected"
# Rule 16: an APPROVED approval records its order once, at the version the change was based on.
USED_ONCE = "#status = :approved AND attribute_not_exists(createdResource) AND #metadata.#version = :expected"


class DynamoApprovalStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        # Once the table's status keys are complete they stay so: remembered for the container.
        self._status_keys_complete = False

    # ------------------------------------------------------------------ status keys
    def list_keyed(self, tenant: str, user_id: str, selection: KeyedSelection) -> KeyedListing | None:
        if not self.status_keys_complete():
            return None
        return StatusLists(self._client, self._table).select(tenant, user_id, selection)

    def status_keys_complete(self) -> bool:
        if not self._status_keys_complete:
            marker = self._client.get_item(
                TableName=self._table, Key=to_item(keys.status_keys_marker()), ConsistentRead=True
            ).get("Item")
            self._status_keys_complete = bool(marker and from_item(marker).get("Complete"))
        return self._status_keys_complete

    def backfill_status_keys(self, has_time: Callable[[], bool]) -> bool:
        complete = self.status_keys_complete() or backfill(self._client, self._table, has_time)
        self._status_keys_complete = complete
        return complete

    # ------------------------------------------------------------------ reads
    def get(self, tenant: str, approval_id: str) -> Approval | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(keys.approval(tenant, approval_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return Approval.model_validate(from_item(item)) if item else None

    def get_many(self, tenant: str, approval_ids: list[str]) -> dict[str, Approval]:
        if not approval_ids:
            return {}
        wanted = {"Keys": [to_item(keys.approval(tenant, approval_id)) for approval_id in approval_ids]}
        found = batch_get(self._client, {self._table: {**wanted, "ConsistentRead": True}})
        approvals = (Approval.model_validate(item) for _, item in found)
        return {approval.id: approval for approval in approvals}

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

    def overdue(self, now: str) -> Iterator[OverdueApproval]:
        for shard in range(keys.EXPIRY_SHARDS):
            for item in self._query_overdue(shard, now, {}):
                yield _overdue(item)

    def count_overdue(self, now: str) -> int:
        return sum(
            page["Count"]
            for shard in range(keys.EXPIRY_SHARDS)
            for page in self._overdue_pages(shard, now, {"Select": "COUNT"})
        )

    def _query_overdue(self, shard: int, now: str, extra: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for page in self._overdue_pages(shard, now, extra):
            yield from (from_item(item) for item in page.get("Items", []))

    def _overdue_pages(self, shard: int, now: str, extra: dict[str, Any]) -> Iterator[Any]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.EXPIRY_INDEX,
            "KeyConditionExpression": "ExpiryShard = :shard AND ExpiryKey < :bound",
            "ExpressionAttributeValues": to_item(
                {":shard": keys.expiry_shard(shard), ":bound": keys.overdue_bound(now)}
            ),
            **extra,
        }
        return query_pages(self._client, query)

    # ------------------------------------------------------------------ writes
    def load(self, tenant: str, approvals: list[Approval]) -> None:
        """Bulk import (a migration, a benchmark): each approval with its participants' copies,
        status keys and counts and its resource's lock, in batches, without the conditions of
        ``create``."""
        items = []
        counts: dict[str, dict[str, int]] = {}
        for approval in approvals:
            items.append(self._put_approval(tenant, approval)["Put"]["Item"])
            for write in self._participant_writes(tenant, approval, previous=None):
                if "Put" in write:
                    items.append(write["Put"]["Item"])
            for user_id in _participants(approval):
                mine = counts.setdefault(user_id, {})
                mine[approval.status] = mine.get(approval.status, 0) + 1
            for user_id in _watchers(approval):
                mine = counts.setdefault(user_id, {})
                mine[keys.WATCHING_ATTRIBUTE] = mine.get(keys.WATCHING_ATTRIBUTE, 0) + 1
            items.append(to_item(_lock(tenant, approval)))
        for item in items:
            check_item(item, headroom=EXPIRY_HEADROOM_BYTES)
        for start in range(0, len(items), 25):
            pending: Mapping[str, Any] = {
                self._table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        for user_id, by_status in counts.items():
            self._client.update_item(
                TableName=self._table,
                Key=to_item(keys.participant_counts(tenant, user_id)),
                UpdateExpression="ADD " + ", ".join(f"#{status.lower()} :{status.lower()}" for status in by_status),
                ExpressionAttributeNames={f"#{status.lower()}": status for status in by_status},
                ExpressionAttributeValues=to_item({f":{status.lower()}": count for status, count in by_status.items()}),
            )

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
                        ":approved": Status.APPROVED,
                        ":now": now,
                        ":fingerprint": fingerprint(approval.resource),
                    }
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        new_approval = self._put_approval(tenant, approval)
        new_approval["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        refused = self._transact([lock, new_approval, *self._participant_writes(tenant, approval, previous=None)])
        if refused:
            lock_reason = refused[0]
            if lock_reason.get("Code") == CONDITION_FAILED:
                holder = from_item(lock_reason.get("Item", {}))
                if holder.get("status") == Status.APPROVED:
                    raise AlreadyApproved(f"Approval {holder.get('approvalId')} already approved this resource")
                raise ApprovalAlreadyExists(f"Approval {holder.get('approvalId')} is already pending for this resource")
            raise ApprovalAlreadyExists(f"Approval {approval.id} already exists")

    def update(
        self,
        tenant: str,
        approval: Approval,
        expected_version: int,
        now: str,
        expected_status: Status = Status.PENDING,
    ) -> None:
        changed = self._put_approval(tenant, approval)
        if expected_status is Status.APPROVED:
            # Rule 16: the one change of an APPROVED approval, recording its order once.
            condition = USED_ONCE
            values: dict[str, Any] = {":approved": Status.APPROVED, ":expected": expected_version}
        else:
            condition = STILL_AS_READ
            values = {":pending": Status.PENDING, ":now": now, ":expected": expected_version}
        changed["Put"].update(
            {
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status", "#metadata": "metadata", "#version": "version"},
                "ExpressionAttributeValues": to_item(values),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        )
        # Only an approval of the expected status changes (the condition above).
        writes: list[Any] = [changed, *self._participant_writes(tenant, approval, previous=expected_status)]
        lock: dict[str, Any] = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_lock(tenant, approval)),
                # The lock still names this approval: it cannot have moved on while this one was
                # PENDING and not overdue, and the first condition holds that. An APPROVED one's
                # resource may have a newer approval (rules 18, 19): the lock is that one's then.
                "ConditionExpression": "approvalId = :id",
                "ExpressionAttributeValues": to_item({":id": approval.id}),
            }
        }
        if approval.status is not Status.PENDING:
            writes.append(lock)
        refused = self._transact(writes)
        if refused and expected_status is Status.APPROVED and refused[0].get("Code") != CONDITION_FAILED:
            writes.remove(lock)
            refused = self._transact(writes)
        if refused and expected_status is Status.APPROVED:
            stored = from_item(refused[0].get("Item", {}))
            if stored.get("createdResource"):
                raise CreatedResourceAlreadySet(f"Approval {approval.id} already records its order")
            if stored.get("status") != Status.APPROVED:
                raise ApprovalFinished()
            raise ConcurrentModification(
                f"Approval {approval.id} is at version {stored.get('metadata', {}).get('version')}, "
                f"not {expected_version}"
            )
        if refused:
            # Only the approval's condition can fail: the lock's holds while that one does.
            stored = from_item(refused[0].get("Item", {}))
            if stored.get("status") != Status.PENDING or str(stored.get("expiryDate", "")) <= now:
                raise ApprovalFinished()
            raise ConcurrentModification(
                f"Approval {approval.id} is at version {stored.get('metadata', {}).get('version')}, "
                f"not {expected_version}"
            )

    def expire(self, overdue: OverdueApproval, entry: HistoryEntry, sweep_id: str) -> bool:
        tenant, approval_id = overdue.tenant, overdue.approvalId
        change = {
            "UpdateExpression": "SET #status = :expired, #metadata.#version = :next, "
            "#metadata.#modifiedAt = :at, #history = list_append(#history, :entry)",
            "ExpressionAttributeNames": {
                "#status": "status",
                "#metadata": "metadata",
                "#version": "version",
                "#modifiedAt": "modifiedAt",
                "#history": "history",
            },
            "ExpressionAttributeValues": {
                ":expired": Status.EXPIRED,
                ":next": entry.version,
                ":at": entry.at,
                ":entry": [entry.model_dump(mode="python")],
            },
        }
        approval_change = _update(
            self._table,
            keys.approval(tenant, approval_id),
            change,
            remove="ExpiryShard, ExpiryKey, ExpiryRef",
            condition="#status = :pending AND expiryDate <= :at AND #metadata.#version = :version",
            return_old=True,
            values={":pending": Status.PENDING, ":version": overdue.version, ":sweep": sweep_id},
            also="ExpiredBy = :sweep",
        )
        participants = list(dict.fromkeys((overdue.requestorId, overdue.approverId)))
        copies = [
            _update(self._table, key, change, condition="attribute_exists(PK)")
            for key in (keys.participation(tenant, user_id, overdue.createdAt, approval_id) for user_id in participants)
        ]
        # The whole flow expires: every eligible approver's copies change with it.
        copies.extend(
            _update(self._table, key, change, condition="attribute_exists(PK)")
            for user_id in overdue.watchers
            for key in (
                keys.participation(tenant, user_id, overdue.createdAt, approval_id),
                keys.watch_copy(tenant, user_id, overdue.createdAt, approval_id),
            )
        )
        # PENDING and EXPIRED share a status bucket: the status copy changes in place, as the copy does.
        status_copies = [
            _update(self._table, key, change, condition="attribute_exists(PK)")
            for key in (
                keys.status_copy(tenant, user_id, Status.PENDING, overdue.createdAt, approval_id)
                for user_id in participants
            )
        ]
        status_keys = [
            *status_copies,
            *(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(
                            keys.participant_due(tenant, user_id, overdue.expiryDate, overdue.createdAt, approval_id)
                        ),
                    }
                }
                for user_id in participants
            ),
            *(counts_change(self._table, tenant, user_id, Status.PENDING, Status.EXPIRED) for user_id in participants),
        ]
        lock = {
            "Update": {
                "TableName": self._table,
                "Key": to_item(keys.resource_lock(tenant, overdue.resourceType, overdue.resourceId, overdue.action)),
                "UpdateExpression": "SET #status = :expired, version = :next",
                "ConditionExpression": "approvalId = :id",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {":expired": Status.EXPIRED, ":next": entry.version, ":id": approval_id}
                ),
            }
        }
        writes = [approval_change, *copies, *status_keys, lock]
        refused = self._transact(writes)
        if refused and refused[0].get("Code") != CONDITION_FAILED:
            failed = [
                write for write, reason in zip(writes, refused, strict=True) if reason.get("Code") == CONDITION_FAILED
            ]
            if any(write in status_copies for write in failed):
                # Written before status keys existed and not backfilled yet: the backfill writes
                # them from the expired copy (counts included).
                writes = [write for write in writes if write not in status_copies]
            if lock in failed:
                # A newer approval holds the resource (this one was overdue when it was created):
                # the lock is that one's now.
                writes.remove(lock)
            refused = self._transact(writes)
        if not refused:
            return True
        # A retried request whose first attempt was written (its answer lost to a timeout) finds
        # the item expired by this very sweep.
        return bool(from_item(refused[0].get("Item", {})).get("ExpiredBy") == sweep_id)

    def _transact(self, writes: list[Any]) -> list[dict[str, Any]]:
        """Write all or nothing. Returns [] when written, else the cancellation reasons, one per
        write: a condition that failed (ConditionalCheckFailed, with the item when asked for).
        Contention and throttling are ServiceBusy: the client retries shortly."""
        for write in writes:
            if "Put" in write:
                check_item(write["Put"]["Item"], headroom=EXPIRY_HEADROOM_BYTES)
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as cancelled:
            reasons: list[dict[str, Any]] = [dict(r) for r in cancelled.response.get("CancellationReasons", [])]
            if any(reason.get("Code") == "ValidationError" for reason in reasons):
                # DynamoDB refused what it was asked to store: the request's problem, never worth a retry.
                raise ValidationFailed("DynamoDB cannot store this approval") from None
            if not any(reason.get("Code") == CONDITION_FAILED for reason in reasons) or any(
                reason.get("Code") in TRANSIENT_CANCELLATIONS for reason in reasons
            ):
                raise ServiceBusy("The approval is being changed by another request; retry shortly") from None
            return reasons + [{}] * (len(writes) - len(reasons))
        return []

    def _put_approval(self, tenant: str, approval: Approval) -> dict[str, Any]:
        item = {**keys.approval(tenant, approval.id), **_document(approval)}
        if approval.status is Status.PENDING:
            item.update(keys.pending_expiry(tenant, approval.id, approval.expiryDate))
            item["ExpiryRef"] = _expiry_ref(approval)
        return {"Put": {"TableName": self._table, "Item": to_item(item)}}

    def _participant_writes(self, tenant: str, approval: Approval, previous: Status | None) -> list[Any]:
        """Each participant's copy, status copy, due marker and counts (``previous``: the status
        the approval leaves; None for a new one)."""
        document = _document(approval)
        created_at, status = approval.metadata.createdAt, approval.status
        writes: list[Any] = []
        for user_id in _participants(approval):
            copy = keys.participation(tenant, user_id, created_at, approval.id)
            status_copy = keys.status_copy(tenant, user_id, status, created_at, approval.id)
            writes.append({"Put": {"TableName": self._table, "Item": to_item({**copy, **document})}})
            writes.append({"Put": {"TableName": self._table, "Item": to_item({**status_copy, **document})}})
            if previous is not None and keys.status_bucket(previous) != keys.status_bucket(status):
                old = keys.status_copy(tenant, user_id, previous, created_at, approval.id)
                writes.append({"Delete": {"TableName": self._table, "Key": to_item(old)}})
            due = keys.participant_due(tenant, user_id, approval.expiryDate, created_at, approval.id)
            if status is Status.PENDING and previous is None:
                writes.append({"Put": {"TableName": self._table, "Item": to_item(due)}})
            elif status is not Status.PENDING and previous is Status.PENDING:
                writes.append({"Delete": {"TableName": self._table, "Key": to_item(due)}})
            if previous is not status:
                writes.append(counts_change(self._table, tenant, user_id, previous, status))
        for user_id in _watchers(approval):
            for key in (
                keys.participation(tenant, user_id, created_at, approval.id),
                keys.watch_copy(tenant, user_id, created_at, approval.id),
            ):
                writes.append({"Put": {"TableName": self._table, "Item": to_item({**key, **document})}})
            if previous is None:
                writes.append(watching_change(self._table, tenant, user_id))
        return writes


def changed_approval(key: Mapping[str, Any], new_image: Mapping[str, Any] | None) -> tuple[str, Approval] | None:
    """(tenant, approval) of a stream record of the approvals table; None for the other items
    (participants' copies and locks change with their approval) and for removals."""
    approval_key = keys.approval_of({name: str(value) for name, value in key.items()})
    if approval_key is None or not new_image:
        return None
    return approval_key[0], Approval.model_validate(new_image)


def _participants(approval: Approval) -> list[str]:
    """Each participant once (a customer may ask themself, where the rules allow it)."""
    return list(dict.fromkeys((approval.requestor.userId, approval.approver.userId)))


def _watchers(approval: Approval) -> list[str]:
    """The flow's approvers who are neither the requestor nor the ``approver`` (rule 27)."""
    participants = set(_participants(approval))
    return [user_id for user_id in flow_participants(approval.flow) if user_id not in participants]


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
        "fingerprint": fingerprint(approval.resource),
        "createdResourceId": approval.createdResource.id if approval.createdResource else None,
    }


def _expiry_ref(approval: Approval) -> dict[str, Any]:
    """What the sweep reads from the expiry index (its projection) to expire the approval."""
    return {
        "createdAt": approval.metadata.createdAt,
        "requestorId": approval.requestor.userId,
        "approverId": approval.approver.userId,
        "resourceType": approval.resourceType,
        "resourceId": approval.resource.id,
        "action": approval.action,
        "version": approval.metadata.version,
        **({"watchers": watchers} if (watchers := _watchers(approval)) else {}),
    }


def _overdue(item: dict[str, Any]) -> OverdueApproval:
    tenant, approval_id = keys.tenant_and_id_of_expiry_key(item["ExpiryKey"])
    return OverdueApproval.model_validate(
        {
            **item["ExpiryRef"],
            "tenant": tenant,
            "approvalId": approval_id,
            "expiryDate": item["ExpiryKey"].split("#", 1)[0],
        }
    )


def _update(
    table: str,
    key: keys.Key,
    change: dict[str, Any],
    condition: str,
    remove: str = "",
    values: dict[str, Any] | None = None,
    return_old: bool = False,
    also: str = "",
) -> dict[str, Any]:
    update = {
        "Update": {
            "TableName": table,
            "Key": to_item(key),
            "UpdateExpression": change["UpdateExpression"]
            + (f", {also}" if also else "")
            + (f" REMOVE {remove}" if remove else ""),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": change["ExpressionAttributeNames"],
            "ExpressionAttributeValues": to_item({**change["ExpressionAttributeValues"], **(values or {})}),
        }
    }
    if return_old:
        update["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return update
