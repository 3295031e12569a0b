"""Status-aware lists and counts, answered from keys (docs/data-model.md, "Status keys").

Each participant of an approval has, besides the copy under ``APPROVAL#{createdAt}#{id}``, a
status copy under ``STATUS#{bucket}#{createdAt}#{id}`` (PENDING and EXPIRED share the OPEN
bucket), a keys-only due marker while the approval is stored PENDING, and a counts item with
one number per stored status. Every transaction that changes an approval changes these too.

A status filter reads the buckets of its statuses, newest first, merged: each Query reads only
items that are certain to be in the page (see ``_merge``). Rule 13 is applied on the way: the
counts item and the customer's overdue due markers are one Query, so an overdue PENDING
approval is counted as EXPIRED, and the OPEN bucket tells PENDING from EXPIRED by expiryDate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import from_item, query_pages, to_item
from approval_core.domain.listing import KeyedListing, KeyedSelection
from approval_core.domain.models import Approval, Status
from approval_core.domain.rules import rule_13_status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUSES = tuple(status.value for status in Status)
# Above every character of a sort key's suffix ({createdAt}#{id}).
TOP = "\uffff"


def counter_names() -> dict[str, str]:
    return {f"#{status.lower()}": status for status in STATUSES} | {"#revision": "Revision"}


def counts_change(table: str, tenant: str, user_id: str, minus: str | None, plus: str) -> dict[str, Any]:
    """The counts item's part of a transaction: one approval leaves ``minus`` (None: it is new)
    for ``plus``. ``Revision`` moves with every change, so the backfill can tell it raced one."""
    additions = [f"#{plus.lower()} :one", "#revision :one"]
    if minus is not None:
        additions.append(f"#{minus.lower()} :minus")
    names = {f"#{plus.lower()}": plus, "#revision": "Revision"}
    if minus is not None:
        names[f"#{minus.lower()}"] = minus
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(keys.participant_counts(tenant, user_id)),
            "UpdateExpression": "ADD " + ", ".join(additions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item({":one": 1, **({":minus": -1} if minus is not None else {})}),
        }
    }


def watching_change(table: str, tenant: str, user_id: str) -> dict[str, Any]:
    """The counts item's part of the transaction that gives the customer a watch copy."""
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(keys.participant_counts(tenant, user_id)),
            "UpdateExpression": "ADD #watching :one, #revision :one",
            "ExpressionAttributeNames": {"#watching": keys.WATCHING_ATTRIBUTE, "#revision": "Revision"},
            "ExpressionAttributeValues": to_item({":one": 1}),
        }
    }


@dataclass
class _Stream:
    """One bucket of the customer's partition, read newest first."""

    prefix: str
    remaining: int | None  # matching items not read yet (from the counts); None: unknown
    upper: str | None = None  # every item whose suffix is >= upper has been read; None: none read
    done: bool = False
    items: list[tuple[str, Approval]] = field(default_factory=list)


class StatusLists:
    """The read side: counts, and lists merged from status buckets."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self.items_read = 0
        # Watch copies the customer has (approvals with a flow they only approve in), from the counts.
        self.watching = 0

    def counts(self, tenant: str, user_id: str, now: str) -> dict[str, int]:
        """The customer's approvals by status as of ``now`` (rule 13), in one Query: the counts
        item and the overdue due markers sort next to each other."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :partition AND SK BETWEEN :counts AND :due",
            "ExpressionAttributeValues": to_item(
                {
                    ":partition": keys.participant_partition(tenant, user_id),
                    ":counts": keys.COUNTS_SORT_KEY,
                    ":due": keys.due_bound(now),
                }
            ),
            "ConsistentRead": True,
        }
        stored = dict.fromkeys(STATUSES, 0)
        overdue = 0
        for page in query_pages(self._client, query):
            self.items_read += page.get("ScannedCount", len(page.get("Items", [])))
            for item in page.get("Items", []):
                record = from_item(item)
                if record["SK"] == keys.COUNTS_SORT_KEY:
                    stored.update({status: int(record.get(status, 0)) for status in STATUSES})
                    self.watching = int(record.get(keys.WATCHING_ATTRIBUTE, 0))
                else:
                    overdue += 1
        # Rule 13: stored PENDING but overdue reads as EXPIRED until the sweep writes it.
        return stored | {
            Status.PENDING.value: stored[Status.PENDING] - overdue,
            Status.EXPIRED.value: stored[Status.EXPIRED] + overdue,
        }

    def select(self, tenant: str, user_id: str, selection: KeyedSelection) -> KeyedListing:
        self.items_read = 0
        counts = self.counts(tenant, user_id, selection.now)
        statuses = [status for status in STATUSES if selection.statuses is None or status in selection.statuses]
        total = sum(counts[status] for status in statuses)
        partition = keys.participant_partition(tenant, user_id)
        watched: list[_Stream] = []
        if selection.statuses is None:
            # Watch copies have participation copies too, counted apart from the statuses.
            total += self.watching
            streams = [_Stream(keys.PARTICIPATION_PREFIX, total)]
        else:
            buckets: dict[str, int] = {}
            for status in statuses:
                prefix = keys.status_prefix(status)
                buckets[prefix] = buckets.get(prefix, 0) + counts[status]
            streams = [_Stream(prefix, remaining) for prefix, remaining in buckets.items()]
            if self.watching:
                # Watch copies keep one bucket whatever the status: read whole (they are few:
                # approvals the customer only approves in), and counted by their effective status.
                watch = _Stream(keys.WATCH_PREFIX, None)
                while not watch.done and self.items_read <= selection.max_read:
                    self._fetch(partition, watch, selection, None, selection.max_read - self.items_read + 1)
                total += sum(
                    1
                    for _, approval in watch.items
                    if rule_13_status(approval.status, approval.expiryDate, selection.now) in statuses
                )
                watch.done = True
                watched.append(watch)
            streams.extend(watched)
        for stream in streams:
            if stream.remaining is not None and stream.remaining <= 0:
                stream.done = True

        def fetch(stream: _Stream, lower: str | None, limit: int | None) -> None:
            self._fetch(partition, stream, selection, lower, limit)

        if selection.limit is None:
            for stream in streams:
                while not stream.done and self.items_read <= selection.max_read:
                    fetch(stream, None, selection.max_read - self.items_read + 1)
            found = sorted(
                (item for stream in streams for item in stream.items), key=lambda pair: pair[0], reverse=True
            )
            kept = [approval for _, approval in found if selection.keep(approval)]
        else:
            kept = _merge(streams, selection, fetch, lambda: self.items_read)
        truncated = self.items_read > selection.max_read
        return KeyedListing(approvals=kept, total=total, read=self.items_read, truncated=truncated)

    def _fetch(
        self, partition: str, stream: _Stream, selection: KeyedSelection, lower: str | None, limit: int | None
    ) -> None:
        """Read the stream's next items below ``stream.upper`` and at or above ``lower`` (and the
        created range), at most ``limit``; moves ``stream.upper`` down to what has been read."""
        low = max(filter(None, (lower, selection.created_from)), default="")
        high = selection.created_to or TOP
        if stream.upper is not None:
            high = min(high, _just_below(stream.upper))
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :partition AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": to_item(
                {":partition": partition, ":low": stream.prefix + low, ":high": stream.prefix + high}
            ),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if limit is not None:
            query["Limit"] = limit
        response: dict[str, Any] = dict(self._client.query(**query)) if low <= high else {"Items": []}
        items = response.get("Items", [])
        self.items_read += response.get("ScannedCount", len(items))
        for item in items:
            record = from_item(item)
            suffix = keys.sort_suffix(record["SK"])
            approval = Approval.model_validate(record)
            stream.items.append((suffix, approval))
            stream.upper = suffix
            effective = rule_13_status(approval.status, approval.expiryDate, selection.now)
            if stream.remaining is not None and (selection.statuses is None or effective in selection.statuses):
                stream.remaining -= 1
        if "LastEvaluatedKey" not in response:
            # Nothing more in [low, high]: everything at or above ``lower`` has been read.
            if lower is not None and (selection.created_from is None or lower > selection.created_from):
                stream.upper = lower
            else:
                stream.done = True
        if stream.remaining is not None and stream.remaining <= 0:
            stream.done = True


def _merge(
    streams: list[_Stream],
    selection: KeyedSelection,
    fetch: Callable[[_Stream, str | None, int | None], None],
    items_read: Callable[[], int],
) -> list[Approval]:
    """The first ``selection.limit`` kept approvals of the streams' union, newest first.

    An item is *settled* once no stream can still hold a newer one (its suffix is at or above
    every open stream's ``upper``). Each step reads from the stream with the highest ``upper``
    only the items above the next stream's ``upper``, at most as many as the page still needs:
    all of them are settled, so none is read in vain. Only a read at a tie (a stream's first,
    or one whose items above the next stream's run out) reads past what is settled: a few
    items, so that at most a tenth of the page is read beyond it, over all streams.
    """
    assert selection.limit is not None
    verdicts: dict[str, bool] = {}

    def keep(suffix: str, approval: Approval) -> bool:
        if suffix not in verdicts:
            verdicts[suffix] = selection.keep(approval)
        return verdicts[suffix]

    while True:
        open_streams = [stream for stream in streams if not stream.done]
        ceiling = max((_rank(stream.upper) for stream in open_streams), default=(0, ""))
        settled = sorted(
            (item for stream in streams for item in stream.items if ceiling[0] < 2 and item[0] >= ceiling[1]),
            key=lambda pair: pair[0],
            reverse=True,
        )
        kept = [approval for suffix, approval in settled if keep(suffix, approval)]
        if not open_streams or len(kept) >= selection.limit or items_read() > selection.max_read:
            return kept[: selection.limit]
        open_streams.sort(key=lambda stream: _rank(stream.upper), reverse=True)
        first, others = open_streams[0], open_streams[1:]
        below = _rank(others[0].upper) if others else (0, "")
        if below == _rank(first.upper):
            # A tie (at the start: nothing read yet): its next few items, a share of the tenth of
            # the page the items read may exceed it by, so that alternating statuses do not cost
            # a request per item; never past the stream's last item of the selected statuses.
            probe = max(1, selection.limit // 10 // len(streams))
            fetch(first, None, probe if first.remaining is None else max(1, min(probe, first.remaining)))
        else:
            fetch(first, below[1] if others else None, selection.limit - len(kept))


def _rank(upper: str | None) -> tuple[int, str]:
    """``upper`` in order, None (nothing read yet) above every suffix."""
    return (2, "") if upper is None else (1, upper)


def _just_below(text: str) -> str:
    """The greatest string (of the characters sort keys use) below ``text``: the last character
    one lower, then the top character."""
    return text[:-1] + chr(ord(text[-1]) - 1) + TOP if text else ""


def participation_items(client: DynamoDBClient, table: str, partition: str, prefix: str) -> Iterator[dict[str, Any]]:
    query = {
        "TableName": table,
        "KeyConditionExpression": "PK = :partition AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": to_item({":partition": partition, ":prefix": prefix}),
        "ConsistentRead": True,
    }
    for page in query_pages(client, query):
        yield from (from_item(item) for item in page.get("Items", []))


# --------------------------------------------------------------------------- the backfill
PARTITION_ATTEMPTS = 5


def backfill(client: DynamoDBClient, table: str, has_time: Callable[[], bool]) -> bool:
    """Give every participation copy written before status keys existed its status copy, due
    marker and counts; True once the whole table is done (the marker says so from then on).

    Idempotent and resumable: it walks the table with a Scan whose position is kept in the
    marker item after each page, so a run cut off (``has_time`` false) is continued by the next;
    a customer partition is recounted under a condition on its counts item's ``Revision``, so a
    change committed meanwhile makes it count again rather than count wrong.
    """
    marker = client.get_item(TableName=table, Key=to_item(keys.status_keys_marker()), ConsistentRead=True).get("Item")
    record = from_item(marker) if marker else {}
    if record.get("Complete"):
        return True
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(SK, :copies)",
        "ProjectionExpression": "PK",
        "ExpressionAttributeValues": to_item({":copies": keys.PARTICIPATION_PREFIX}),
        "ConsistentRead": True,
    }
    if record.get("ResumeKey"):
        scan["ExclusiveStartKey"] = to_item(record["ResumeKey"])
    done: set[str] = set()
    while has_time():
        page = client.scan(**scan)
        for partition in dict.fromkeys(from_item(item)["PK"] for item in page.get("Items", [])):
            if partition not in done:
                _backfill_partition(client, table, partition)
                done.add(partition)
        resume = page.get("LastEvaluatedKey")
        progress = {"Complete": not resume, "ResumeKey": from_item(resume) if resume else None}
        client.put_item(TableName=table, Item=to_item({**keys.status_keys_marker(), **progress}))
        if not resume:
            return True
        scan["ExclusiveStartKey"] = resume
    return False


def _backfill_partition(client: DynamoDBClient, table: str, partition: str) -> None:
    tenant, user_id = keys.participant_of(partition)
    counts_key = to_item(keys.participant_counts(tenant, user_id))
    for _ in range(PARTITION_ATTEMPTS):
        counts_item = client.get_item(TableName=table, Key=counts_key, ConsistentRead=True).get("Item")
        revision = from_item(counts_item).get("Revision") if counts_item else None
        copies = list(participation_items(client, table, partition, keys.PARTICIPATION_PREFIX))
        present = {
            item["SK"]
            for prefix in (keys.STATUS_PREFIX, keys.DUE_PREFIX)
            for item in participation_items(client, table, partition, prefix)
        }
        if all(_status_keys_of(client, table, tenant, user_id, copy, present) for copy in copies):
            tally = dict.fromkeys(STATUSES, 0)
            for copy in copies:
                tally[copy["status"]] += 1
            put: dict[str, Any] = {
                "TableName": table,
                "Item": to_item({**keys.participant_counts(tenant, user_id), **tally, "Revision": revision or 0}),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
            if revision is not None:
                put["ConditionExpression"] = "Revision = :revision"
                put["ExpressionAttributeValues"] = to_item({":revision": revision})
            try:
                client.put_item(**put)
                return
            except client.exceptions.ConditionalCheckFailedException:
                pass  # changed while counted: count again
    raise RuntimeError(f"{partition} kept changing during the backfill; run it again")


def _status_keys_of(
    client: DynamoDBClient, table: str, tenant: str, user_id: str, copy: dict[str, Any], present: set[str]
) -> bool:
    """Write the copy's missing status copy (and due marker), only while the copy is as read.
    False when it changed meanwhile."""
    approval_id, created_at = copy["id"], copy["metadata"]["createdAt"]
    document = {name: value for name, value in copy.items() if name not in ("PK", "SK")}
    wanted = [{**keys.status_copy(tenant, user_id, copy["status"], created_at, approval_id), **document}]
    if copy["status"] == Status.PENDING:
        wanted.append(keys.participant_due(tenant, user_id, copy["expiryDate"], created_at, approval_id))
    missing = [item for item in wanted if item["SK"] not in present]
    if not missing:
        return True
    writes: list[Any] = [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": to_item({"PK": copy["PK"], "SK": copy["SK"]}),
                "ConditionExpression": "#metadata.#version = :version",
                "ExpressionAttributeNames": {"#metadata": "metadata", "#version": "version"},
                "ExpressionAttributeValues": to_item({":version": copy["metadata"]["version"]}),
            }
        },
        *({"Put": {"TableName": table, "Item": to_item(item)}} for item in missing),
    ]
    try:
        client.transact_write_items(TransactItems=writes)
    except client.exceptions.TransactionCanceledException:
        return False
    return True
