"""Directory and CartSource on DynamoDB (the directory table), and the writer that fills it.

The directory table is a read model of data the commerce platform owns. Each customer item
carries the companies the customer belongs to, approval limits included, so that one batch read
answers "who is this caller, and what may their company spend" (docs/data-model.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.dynamodb import from_item, query_pages, to_item
from approval_core.domain.models import Money
from approval_core.domain.reference import Cart, Company, Customer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

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
            if keys.is_cart(record):
                cart = Cart.model_validate(record)
            else:
                customer = customer_of(record)
                customers[customer.id] = customer
        return customers, cart

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
            _member(from_item(item), company_id)
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
    """Writes a tenant's companies, customers and carts (local mode's seed; a directory sync)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(
        self,
        tenant: str,
        companies: Sequence[Company],
        customers: Sequence[Customer],
        carts: Sequence[Cart],
    ) -> int:
        """Write everything; returns the number of items written."""
        by_id = {company.id: company for company in companies}
        items: list[dict[str, Any]] = [
            {**keys.company(tenant, company.id), **_company_record(company)} for company in companies
        ]
        for customer in customers:
            items.append({**keys.customer(tenant, customer.id), **_customer_record(customer, by_id)})
            items.extend(
                {**keys.company_member(tenant, company_id, customer.id), **_member_record(customer)}
                for company_id in customer.company_ids
            )
        items.extend(
            {**keys.cart(tenant, cart.id), **cart.model_dump(mode="python", exclude_none=True)} for cart in carts
        )
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            self._write_batch(
                [{"PutRequest": {"Item": to_item(item)}} for item in items[start : start + BATCH_WRITE_LIMIT]]
            )
        return len(items)

    def _write_batch(self, requests: list[WriteRequestTypeDef]) -> None:
        pending: Mapping[str, Any] = {self._table: requests}
        while pending:
            response = self._client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}


def _company_record(company: Company) -> dict[str, Any]:
    limit = company.approval_limit.model_dump(mode="python") if company.approval_limit else None
    return {"id": company.id, "name": company.name, "approvalLimit": limit}


def _customer_record(customer: Customer, companies: dict[str, Company]) -> dict[str, Any]:
    return {
        "id": customer.id,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "groups": sorted(customer.groups),
        "companyIds": list(customer.company_ids),
        "companies": {cid: _company_record(companies[cid]) for cid in customer.company_ids if cid in companies},
    }


def _member_record(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "groups": sorted(customer.groups),
    }


def _member(record: dict[str, Any], company_id: str) -> Customer:
    return Customer(
        id=record["id"],
        first_name=record.get("firstName"),
        last_name=record.get("lastName"),
        groups=frozenset(record.get("groups", [])),
        company_ids=(company_id,),
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
    )
