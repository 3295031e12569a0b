"""Directory and CartSource on DynamoDB (the directory table), and the writer that fills it.

The directory table is a read model of data the commerce platform owns. Each customer item
carries the companies the customer belongs to, approval limits included, so that one batch read
answers "who is this caller, and what may their company spend" (docs/data-model.md).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import from_item, query_pages, to_item
from approval_core.domain.clock import iso
from approval_core.domain.directory import (
    CartEntry,
    CompanyEntry,
    CustomerEntry,
    Kind,
    Outcome,
    Propagation,
    QuoteEntry,
    SettingsEntry,
    Stored,
    decide,
    decide_delete,
)
from approval_core.domain.models import Money
from approval_core.domain.reference import Cart, Company, Customer, Quote, TenantSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        ConditionCheckTypeDef,
        PutTypeDef,
        TransactWriteItemTypeDef,
        WriteRequestTypeDef,
    )

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25


class DynamoDirectory:
    """The directory (customers, companies) and the cart source on one table, so the use cases
    can read the customers and the cart they need in one batch."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get_customers(self, tenant: str, customer_ids: Iterable[str]) -> dict[str, Customer]:
        customers, _ = self.get_customers_and_cart(tenant, customer_ids, None)
        return customers

    def get_cart(self, tenant: str, cart_id: str) -> Cart | None:
        _, cart = self.get_customers_and_cart(tenant, (), cart_id)
        return cart

    def get_customers_and_cart(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str | None
    ) -> tuple[dict[str, Customer], Cart | None]:
        wanted = [keys.customer(tenant, cid) for cid in sorted(set(customer_ids))[: BATCH_GET_LIMIT - 1]]
        if cart_id is not None:
            wanted.append(keys.cart(tenant, cart_id))
        customers: dict[str, Customer] = {}
        cart: Cart | None = None
        for record in self._batch_get(wanted):
            if record.get("deleted"):
                continue  # the marker a deletion leaves
            if keys.is_cart(record):
                cart = Cart.model_validate(record)
            else:
                customer = customer_of(record)
                customers[customer.id] = customer
        return customers, cart

    def get_quote(self, tenant: str, quote_id: str) -> Quote | None:
        record = next(iter(self._batch_get([keys.quote(tenant, quote_id)])), None)
        return None if record is None or record.get("deleted") else Quote.model_validate(record)

    def get_tenant_settings(self, tenant: str) -> TenantSettings:
        record = next(iter(self._batch_get([keys.tenant_settings(tenant)])), None)
        return tenant_settings_of(record)

    def get_members(self, tenant: str, company_id: str) -> list[Customer]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :company AND begins_with(SK, :members)",
            "ExpressionAttributeValues": to_item(
                {":company": keys.company_partition(tenant, company_id), ":members": keys.MEMBER_PREFIX}
            ),
            "ConsistentRead": True,
        }
        return [
            member_of(from_item(item), company_id)
            for page in query_pages(self._client, query)
            for item in page.get("Items", [])
        ]

    def _batch_get(self, wanted: list[keys.Key]) -> Iterable[dict[str, Any]]:
        if not wanted:
            return
        request: Mapping[str, Any] = {self._table: {"Keys": [to_item(key) for key in wanted], "ConsistentRead": True}}
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                yield from_item(item)
            request = response.get("UnprocessedKeys") or {}


class DynamoDirectoryWriter:
    """The one write path of the directory table (``approval_core.ports.DirectoryWriter``): the
    directory API, the Emporix webhook consumer, the bulk import and local mode's seed all write
    through it.

    A customer item carries its companies' records (approval limits included) and each company
    partition lists its members, so a customer's write is one transaction over the customer item
    and the member items it adds or removes. Each entry item counts its writes (``seq``): a
    write reads the entry, decides, and writes only if nobody wrote in between, else it starts
    over. A deletion leaves a marker with the deleted revision, so a late older update cannot
    bring the entry back.
    """

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ----------------------------------------------------------------------- reading
    def read(self, tenant: str, kind: Kind, entry_id: str) -> Stored | None:
        record = self._get(_entry_key(tenant, kind, entry_id))
        return None if record is None else _stored(record)

    def customer_id_by_number(self, tenant: str, number: str) -> str | None:
        record = self._get(keys.customer_number(tenant, number))
        return None if record is None else str(record["customerId"])

    def _get(self, key: keys.Key) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True).get("Item")
        return None if item is None else from_item(item)

    # ----------------------------------------------------------------------- single writes
    def put_company(self, tenant: str, entry: CompanyEntry) -> Outcome:
        key = keys.company(tenant, entry.id)

        def attempt() -> Outcome:
            current = self._get(key)
            outcome = decide(_stored_or_none(current), entry.revision())
            if outcome is not Outcome.WRITTEN:
                return outcome
            record = {**key, **_company_record(entry.domain()), **_ordering(entry), "propagateAfter": ""}
            self._transact([self._put_after(record, current)])
            return outcome

        return self._retrying(attempt)

    def put_customer(self, tenant: str, entry: CustomerEntry, same_revision_applies: bool = False) -> Outcome:
        key = keys.customer(tenant, entry.id)
        customer = entry.domain()

        def attempt() -> Outcome:
            current = self._get(key)
            outcome = decide(_stored_or_none(current), entry.revision(), same_revision_applies)
            if outcome is not Outcome.WRITTEN:
                return outcome
            company_records = self._records([keys.company(tenant, cid) for cid in customer.company_ids])
            companies = {
                str(found["id"]): _company(found) for found in company_records.values() if not found.get("deleted")
            }
            record = {**key, **_customer_record(customer, companies), **_ordering(entry)}
            previous = _live_companies(current)
            writes: list[TransactWriteItemTypeDef] = [self._put_after(record, current)]
            # The companies' records as read: a company written meanwhile (its members being
            # brought up to date without this customer yet) makes this write start over.
            writes.extend(
                self._unchanged(company_key, company_records.get(_key_text(company_key)))
                for company_key in (keys.company(tenant, cid) for cid in customer.company_ids)
            )
            writes.extend(
                {"Put": {"TableName": self._table, "Item": to_item({**member_key, **_member_record(customer)})}}
                for member_key in (keys.company_member(tenant, cid, customer.id) for cid in customer.company_ids)
            )
            writes.extend(
                {"Delete": {"TableName": self._table, "Key": to_item(keys.company_member(tenant, cid, customer.id))}}
                for cid in previous
                if cid not in customer.company_ids
            )
            self._transact(writes)
            return outcome

        return self._retrying(attempt)

    def put_cart(self, tenant: str, entry: CartEntry, same_revision_applies: bool = False) -> Outcome:
        key = keys.cart(tenant, entry.id)

        def attempt() -> Outcome:
            current = self._get(key)
            outcome = decide(_stored_or_none(current), entry.revision(), same_revision_applies)
            if outcome is not Outcome.WRITTEN:
                return outcome
            record = {**key, **entry.cart().model_dump(mode="python", exclude_none=True), **_ordering(entry)}
            self._transact([self._put_after(record, current)])
            return outcome

        return self._retrying(attempt)

    def put_quote(self, tenant: str, entry: QuoteEntry, same_revision_applies: bool = False) -> Outcome:
        return self._put_entry(
            tenant, keys.quote(tenant, entry.id), quote_record(entry.quote()), entry, same_revision_applies
        )

    def put_settings(self, tenant: str, entry: SettingsEntry) -> Outcome:
        record = {"id": entry.id, "enableQuoteApprovalProcess": entry.enableQuoteApprovalProcess}
        return self._put_entry(tenant, keys.tenant_settings(tenant, entry.id), record, entry, False)

    def _put_entry(
        self, tenant: str, key: keys.Key, record: dict[str, Any], entry: Any, same_revision_applies: bool
    ) -> Outcome:
        """An entry that is one item (a quote, the settings), written as ``put_cart`` writes a cart."""

        def attempt() -> Outcome:
            current = self._get(key)
            outcome = decide(_stored_or_none(current), entry.revision(), same_revision_applies)
            if outcome is not Outcome.WRITTEN:
                return outcome
            self._transact([self._put_after({**key, **record, **_ordering(entry)}, current)])
            return outcome

        return self._retrying(attempt)

    def remember_customer_number(self, tenant: str, number: str, customer_id: str) -> None:
        item = {**keys.customer_number(tenant, number), "customerId": customer_id}
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def delete(self, tenant: str, kind: Kind, entry_id: str, revision: Decimal | None) -> Outcome:
        """Delete an entry, leaving a marker. A customer's member items go with it; their approvals
        stay (they live in the approvals table, which this never touches)."""
        key = _entry_key(tenant, kind, entry_id)

        def attempt() -> Outcome:
            current = self._get(key)
            outcome = decide_delete(_stored_or_none(current), revision)
            if outcome is not Outcome.WRITTEN:
                return outcome
            marker_revision = revision if revision is not None else (current or {}).get("revision")
            marker: dict[str, Any] = {**key, "id": entry_id, "deleted": True, "revision": marker_revision}
            if kind is Kind.COMPANY:
                marker["propagateAfter"] = ""
            writes: list[TransactWriteItemTypeDef] = [self._put_after(marker, current)]
            if kind is Kind.CUSTOMER:
                writes.extend(
                    {"Delete": {"TableName": self._table, "Key": to_item(keys.company_member(tenant, cid, entry_id))}}
                    for cid in _live_companies(current)
                )
            self._transact(writes)
            return outcome

        return self._retrying(attempt)

    # ----------------------------------------------------------------------- a company's members
    def propagate_company(self, tenant: str, company_id: str, time_left: Callable[[], bool]) -> Propagation:
        """Bring the company's record (or its absence) into its members' customer items, from where
        the last run stopped, while ``time_left()``; resumable, and each member's update is
        idempotent, so running it again is harmless."""
        company_key = keys.company(tenant, company_id)
        company = self._get(company_key)
        if company is None or "propagateAfter" not in company:
            return Propagation(members_updated=0, complete=True)
        seq = company.get("seq", 0)
        record = None if company.get("deleted") else _company_record(_company(company))
        partition, prefix = keys.company_members(tenant, company_id)
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :company AND begins_with(SK, :members)",
            "ExpressionAttributeValues": to_item({":company": partition, ":members": prefix}),
            "ProjectionExpression": "PK, SK",
            "ConsistentRead": True,
            "Limit": PROPAGATION_PAGE,
        }
        if company["propagateAfter"]:
            query["ExclusiveStartKey"] = to_item({"PK": partition, "SK": company["propagateAfter"]})
        updated = 0
        for page in query_pages(self._client, query):
            members = [from_item(item) for item in page.get("Items", [])]
            for member in members:
                self._update_member(tenant, keys.member_id(member), company_id, record)
                updated += 1
            if members:
                last = members[-1]["SK"]
                if not self._advance(company_key, seq, last):
                    return Propagation(members_updated=updated, complete=False)  # changed meanwhile
            if "LastEvaluatedKey" in page and not time_left():
                return Propagation(members_updated=updated, complete=False)
        self._finish(company_key, seq)
        return Propagation(members_updated=updated, complete=True)

    def _update_member(self, tenant: str, customer_id: str, company_id: str, record: dict[str, Any] | None) -> None:
        # seq counts this write too: a put of the customer that read the item before it starts over.
        update = "ADD seq :one " + (
            "REMOVE companies.#company" if record is None else "SET companies.#company = :record"
        )
        values: dict[str, Any] = {":company": company_id, ":one": 1}
        if record is not None:
            values[":record"] = record
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            # Not (or no longer) a member: nothing to bring up to date.
            self._client.update_item(
                TableName=self._table,
                Key=to_item(keys.customer(tenant, customer_id)),
                UpdateExpression=update,
                # Only a live customer that still names the company: never re-create a deleted one.
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(deleted) "
                "AND contains(companyIds, :company)",
                ExpressionAttributeNames={"#company": company_id},
                ExpressionAttributeValues=to_item(values),
            )

    def _advance(self, key: keys.Key, seq: int, last: str) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression="SET propagateAfter = :last",
                ConditionExpression="seq = :seq",
                ExpressionAttributeValues=to_item({":last": last, ":seq": seq}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _finish(self, key: keys.Key, seq: int) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            # Failing means a newer write has started a propagation of its own.
            self._client.update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression="REMOVE propagateAfter",
                ConditionExpression="seq = :seq",
                ExpressionAttributeValues=to_item({":seq": seq}),
            )

    # ----------------------------------------------------------------------- plumbing
    def _unchanged(self, key: keys.Key, record: dict[str, Any] | None) -> TransactWriteItemTypeDef:
        check: dict[str, Any] = {"TableName": self._table, "Key": to_item(key)}
        if record is None:
            check["ConditionExpression"] = NEW_ENTRY
        elif "seq" not in record:
            check["ConditionExpression"] = "attribute_exists(PK) AND attribute_not_exists(seq)"
        else:
            check["ConditionExpression"] = "seq = :seq"
            check["ExpressionAttributeValues"] = to_item({":seq": record["seq"]})
        return {"ConditionCheck": cast("ConditionCheckTypeDef", check)}

    def _put_after(self, record: dict[str, Any], current: dict[str, Any] | None) -> TransactWriteItemTypeDef:
        """Put ``record`` as the entry's next write: only if nobody wrote since ``current`` was read."""
        seq = 0 if current is None else int(current.get("seq", 0))
        item = {**record, "seq": seq + 1}
        if current is None:
            return {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        condition = "seq = :seq" if "seq" in current else "attribute_not_exists(seq)"
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(item), "ConditionExpression": condition}
        if "seq" in current:
            put["ExpressionAttributeValues"] = to_item({":seq": seq})
        return {"Put": cast("PutTypeDef", put)}

    def _transact(self, writes: list[TransactWriteItemTypeDef]) -> None:
        # The token makes the client's own retry of a transaction that did commit (its answer
        # timed out) a success instead of a failed condition.
        self._client.transact_write_items(TransactItems=writes, ClientRequestToken=uuid.uuid4().hex)

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        for _ in range(WRITE_ATTEMPTS - 1):
            try:
                return attempt()
            except self._client.exceptions.TransactionCanceledException as error:
                if not _lost_race(error):
                    raise
        return attempt()

    # ----------------------------------------------------------------------- many at once
    def load(
        self,
        tenant: str,
        companies: Sequence[Company],
        customers: Sequence[Customer],
        carts: Sequence[Cart],
        quotes: Sequence[Quote] = (),
        settings: TenantSettings | None = None,
    ) -> int:
        """Write everything unconditionally, in batches (local mode's seed, tests); returns the
        number of items written."""
        by_id = {company.id: company for company in companies}
        items: list[dict[str, Any]] = [
            {**keys.company(tenant, company.id), **_company_record(company)} for company in companies
        ]
        for customer in customers:
            items.extend(customer_items(tenant, customer, by_id))
        items.extend(
            {**keys.cart(tenant, cart.id), **cart.model_dump(mode="python", exclude_none=True)} for cart in carts
        )
        items.extend({**keys.quote(tenant, quote.id), **quote_record(quote)} for quote in quotes)
        if settings is not None:
            items.append(settings_item(tenant, settings))
        self.write_items(items)
        return len(items)

    def write_many(
        self, entries: Sequence[tuple[str, Entry]], named_before: Collection[tuple[str, str]] = ()
    ) -> list[Outcome]:
        """Write many (tenant, entry) pairs with batch writes (the bulk import), by the same rules
        as one at a time: one batch read of what is stored, ``decide`` per entry, the same items,
        memberships a customer leaves deleted. Returns each entry's outcome, in order.

        An entry's id must appear once per call. Companies that already existed, or that customers
        written earlier named (``named_before``: (tenant, company id)), are marked for
        ``propagate_company``, which the caller runs once the import is done (``pending_companies``).
        """
        wanted = [_entry_key(tenant, _kind_of(entry), entry.id) for tenant, entry in entries]
        stored = self._records(wanted)
        companies = self._known_companies(entries, stored)
        requests: list[WriteRequestTypeDef] = []
        outcomes = []
        for (tenant, entry), key in zip(entries, wanted, strict=True):
            current = stored.get(_key_text(key))
            outcome = decide(_stored_or_none(current), entry.revision())
            outcomes.append(outcome)
            if outcome is not Outcome.WRITTEN:
                continue
            seq = {"seq": int((current or {}).get("seq", 0)) + 1}
            if isinstance(entry, CompanyEntry):
                item = {**key, **_company_record(entry.domain()), **_ordering(entry), **seq}
                if current is not None or (tenant, entry.id) in named_before:
                    item["propagateAfter"] = ""  # its members' items may hold the previous record
                requests.append({"PutRequest": {"Item": to_item(item)}})
            elif isinstance(entry, CustomerEntry):
                customer = entry.domain()
                own = {
                    cid: company
                    for cid in customer.company_ids
                    if (company := companies.get((tenant, cid))) is not None
                }
                items = customer_items(tenant, customer, own)
                items[0].update({**_ordering(entry), **seq})
                requests.extend({"PutRequest": {"Item": to_item(item)}} for item in items)
                requests.extend(
                    {"DeleteRequest": {"Key": to_item(keys.company_member(tenant, cid, customer.id))}}
                    for cid in _live_companies(current)
                    if cid not in customer.company_ids
                )
            elif isinstance(entry, QuoteEntry):
                item = {**key, **quote_record(entry.quote()), **_ordering(entry), **seq}
                requests.append({"PutRequest": {"Item": to_item(item)}})
            elif isinstance(entry, SettingsEntry):
                item = {**settings_item(tenant, entry.domain()), **_ordering(entry), **seq}
                requests.append({"PutRequest": {"Item": to_item(item)}})
            else:
                item = {**key, **entry.cart().model_dump(mode="python", exclude_none=True), **_ordering(entry), **seq}
                requests.append({"PutRequest": {"Item": to_item(item)}})
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            self._write_batch(requests[start : start + BATCH_WRITE_LIMIT])
        return outcomes

    def pending_companies(self, tenant: str, company_ids: Iterable[str]) -> list[str]:
        """Those of the companies whose members' items still wait for their last write."""
        records = self._records([keys.company(tenant, cid) for cid in company_ids])
        return [str(record["id"]) for record in records.values() if "propagateAfter" in record]

    def _records(self, wanted: Sequence[keys.Key]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        unique = list({_key_text(key): key for key in wanted}.values())
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: Mapping[str, Any] = {
                self._table: {
                    "Keys": [to_item(key) for key in unique[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    record = from_item(item)
                    found[_key_text(record)] = record
                request = response.get("UnprocessedKeys") or {}
        return found

    def _known_companies(
        self, entries: Sequence[tuple[str, Entry]], stored: Mapping[str, dict[str, Any]]
    ) -> dict[tuple[str, str], Company | None]:
        """The companies the customers among ``entries`` name: from the entries themselves (the
        import's newer word), else from the table."""
        known: dict[tuple[str, str], Company | None] = {}
        for tenant, entry in entries:
            if isinstance(entry, CompanyEntry):
                known[(tenant, entry.id)] = entry.domain()
        named = {
            (tenant, cid)
            for tenant, entry in entries
            if isinstance(entry, CustomerEntry)
            for cid in entry.companies
            if (tenant, cid) not in known
        }
        records = self._records([keys.company(tenant, cid) for tenant, cid in named])
        for tenant, cid in named:
            record = records.get(_key_text(keys.company(tenant, cid)))
            known[(tenant, cid)] = None if record is None or record.get("deleted") else _company(record)
        return known

    def write_items(self, items: Sequence[dict[str, Any]]) -> None:
        """Put the items in batches of 25, retrying what DynamoDB leaves unprocessed."""
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            self._write_batch(
                [{"PutRequest": {"Item": to_item(item)}} for item in items[start : start + BATCH_WRITE_LIMIT]]
            )

    def _write_batch(self, requests: list[WriteRequestTypeDef]) -> None:
        pending: Mapping[str, Any] = {self._table: requests}
        attempt = 0
        while pending:
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 2.0))  # DynamoDB asks for backoff on unprocessed items
            response = self._client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            attempt += 1


PROPAGATION_PAGE = 100
NEW_ENTRY = "attribute_not_exists(PK)"
WRITE_ATTEMPTS = 4


def customer_items(tenant: str, customer: Customer, companies: Mapping[str, Company]) -> list[dict[str, Any]]:
    """A customer's item and its member items, as the batch loads write them."""
    return [
        {**keys.customer(tenant, customer.id), **_customer_record(customer, companies)},
        *(
            {**keys.company_member(tenant, company_id, customer.id), **_member_record(customer)}
            for company_id in customer.company_ids
        ),
    ]


def company_item(tenant: str, company: Company) -> dict[str, Any]:
    return {**keys.company(tenant, company.id), **_company_record(company)}


def cart_item(tenant: str, cart: Cart) -> dict[str, Any]:
    return {**keys.cart(tenant, cart.id), **cart.model_dump(mode="python", exclude_none=True)}


def quote_record(quote: Quote) -> dict[str, Any]:
    return quote.model_dump(mode="python", exclude_none=True)


def settings_item(tenant: str, settings: TenantSettings) -> dict[str, Any]:
    return {
        **keys.tenant_settings(tenant),
        "id": "approval",
        "enableQuoteApprovalProcess": settings.enable_quote_approval_process,
    }


def tenant_settings_of(record: dict[str, Any] | None) -> TenantSettings:
    """The stored settings; none stored (or deleted) is Emporix's default: quote approvals off."""
    if record is None or record.get("deleted"):
        return TenantSettings()
    return TenantSettings(enable_quote_approval_process=bool(record.get("enableQuoteApprovalProcess")))


Entry = CompanyEntry | CustomerEntry | CartEntry | QuoteEntry | SettingsEntry


def _kind_of(entry: Entry) -> Kind:
    if isinstance(entry, CompanyEntry):
        return Kind.COMPANY
    if isinstance(entry, QuoteEntry):
        return Kind.QUOTE
    if isinstance(entry, SettingsEntry):
        return Kind.SETTINGS
    return Kind.CUSTOMER if isinstance(entry, CustomerEntry) else Kind.CART


def _key_text(key: Mapping[str, Any]) -> str:
    return f"{key['PK']}|{key['SK']}"


def _entry_key(tenant: str, kind: Kind, entry_id: str) -> keys.Key:
    return {
        Kind.COMPANY: keys.company,
        Kind.CUSTOMER: keys.customer,
        Kind.CART: keys.cart,
        Kind.QUOTE: keys.quote,
        Kind.SETTINGS: keys.tenant_settings,
    }[kind](tenant, entry_id)


def _ordering(entry: Any) -> dict[str, Any]:
    modified = entry.modifiedAt
    return {
        "revision": entry.revision(),
        "version": entry.version,
        "modifiedAt": None if modified is None else iso(modified),
    }


def _stored(record: dict[str, Any]) -> Stored:
    document = {name: value for name, value in record.items() if name not in INTERNAL_ATTRIBUTES}
    return Stored(revision=record.get("revision"), deleted=bool(record.get("deleted")), document=document)


def _stored_or_none(record: dict[str, Any] | None) -> Stored | None:
    return None if record is None else _stored(record)


def _live_companies(record: dict[str, Any] | None) -> list[str]:
    if record is None or record.get("deleted"):
        return []
    return list(record.get("companyIds", []))


def _lost_race(error: Exception) -> bool:
    reasons = getattr(error, "response", {}).get("CancellationReasons") or []
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


INTERNAL_ATTRIBUTES = frozenset({"PK", "SK", "seq", "revision", "deleted", "propagateAfter", "companies"})


def _company_record(company: Company) -> dict[str, Any]:
    limit = company.approval_limit.model_dump(mode="python") if company.approval_limit else None
    return {"id": company.id, "name": company.name, "approvalLimit": limit}


def _customer_record(customer: Customer, companies: Mapping[str, Company]) -> dict[str, Any]:
    return {
        "id": customer.id,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "groups": sorted(customer.groups),
        "companyIds": list(customer.company_ids),
        "companies": {cid: _company_record(companies[cid]) for cid in customer.company_ids if cid in companies},
        **_own_limit(customer),
    }


def _member_record(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "groups": sorted(customer.groups),
        **_own_limit(customer),
    }


def _own_limit(customer: Customer) -> dict[str, Any]:
    """Only a customer with a limit of their own carries one: other items stay as they were."""
    if customer.approval_limit is None:
        return {}
    return {"approvalLimit": customer.approval_limit.model_dump(mode="python")}


def _own_limit_of(record: dict[str, Any]) -> Money | None:
    limit = record.get("approvalLimit")
    return Money.model_validate(limit) if limit else None


def member_of(record: dict[str, Any], company_id: str) -> Customer:
    return Customer(
        id=record["id"],
        first_name=record.get("firstName"),
        last_name=record.get("lastName"),
        groups=frozenset(record.get("groups", [])),
        company_ids=(company_id,),
        approval_limit=_own_limit_of(record),
    )


def _company(record: dict[str, Any]) -> Company:
    limit = record.get("approvalLimit")
    return Company(
        id=record["id"],
        name=record.get("name"),
        approval_limit=Money.model_validate(limit) if limit else None,
    )


def customer_of(record: dict[str, Any]) -> Customer:
    return Customer(
        id=record["id"],
        first_name=record.get("firstName"),
        last_name=record.get("lastName"),
        groups=frozenset(record.get("groups", [])),
        company_ids=tuple(record.get("companyIds", [])),
        companies={cid: _company(value) for cid, value in record.get("companies", {}).items()},
        approval_limit=_own_limit_of(record),
    )
