"""CustomersAndCart: what a use case reads before it decides.

``DynamoReads`` reads the customers, the cart and (for the permitted check) the resource's lock
in one ``BatchGetItem`` over the directory and the approvals tables. ``SeparateReads`` composes
the other ports for stores that cannot share a read (the in-memory fakes of the unit tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.directory import BATCH_GET_LIMIT, customer_of, tenant_settings_of
from approval_core.adapters.dynamodb import batch_get, to_item
from approval_core.adapters.policy_store import companies_with_policies_of
from approval_core.domain.models import ResourceApproval, ResourceType
from approval_core.domain.reference import Cart, Customer, Quote, TenantSettings
from approval_core.ports import ApprovalStore, CartSource, Directory, PolicyStore, QuoteSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoReads:
    """CustomersAndCart on DynamoDB: one BatchGetItem per use case, over both tables."""

    def __init__(self, client: DynamoDBClient, directory_table: str, approvals_table: str) -> None:
        self._client = client
        self._directory = directory_table
        self._approvals = approvals_table

    def get_customers_cart_and_policy_companies(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str, resource_type: str = ResourceType.CART
    ) -> tuple[dict[str, Customer], Cart | None, frozenset[str]]:
        wanted = [keys.customer(tenant, cid) for cid in sorted(set(customer_ids))[: BATCH_GET_LIMIT - 2]]
        wanted += [keys.resource(tenant, resource_type, cart_id), keys.companies_with_policies(tenant)]
        read = self._read({self._directory: wanted})
        return read.customers, read.cart, read.policy_companies

    def get_customers_quote_and_settings(
        self, tenant: str, customer_ids: Iterable[str], quote_id: str
    ) -> tuple[dict[str, Customer], Quote | None, TenantSettings, frozenset[str]]:
        wanted = [keys.customer(tenant, cid) for cid in sorted(set(customer_ids))[: BATCH_GET_LIMIT - 3]]
        wanted += [keys.quote(tenant, quote_id), keys.tenant_settings(tenant), keys.companies_with_policies(tenant)]
        read = self._read({self._directory: wanted})
        quote = read.cart if isinstance(read.cart, Quote) else None
        return read.customers, quote, tenant_settings_of(read.settings), read.policy_companies

    def get_customer_cart_lock_and_policy_companies(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None, frozenset[str]]:
        read = self._read(
            {
                self._directory: [
                    keys.customer(tenant, customer_id),
                    keys.resource(tenant, resource_type, cart_id),
                    keys.companies_with_policies(tenant),
                ],
                self._approvals: [keys.resource_lock(tenant, resource_type, cart_id, action)],
            }
        )
        return read.customers.get(customer_id), read.cart, read.lock, read.policy_companies

    def _read(self, wanted: Mapping[str, list[keys.Key]]) -> _Read:
        read = _Read()
        policy_counts = keys.companies_with_policies("")["SK"]
        for table, record in self._batch_get(wanted):
            if table == self._approvals:
                read.lock = ResourceApproval.model_validate(record)
            elif keys.is_cart(record):
                read.cart = Cart.model_validate(record)
            elif keys.is_quote(record):
                read.cart = None if record.get("deleted") else Quote.model_validate(record)
            elif keys.is_tenant_settings(record):
                read.settings = record
            elif record.get("SK") == policy_counts:
                read.policy_companies = companies_with_policies_of(record)
            else:
                customer = customer_of(record)
                read.customers[customer.id] = customer
        return read

    def _batch_get(self, wanted: Mapping[str, list[keys.Key]]) -> Iterator[tuple[str, dict[str, Any]]]:
        request: Mapping[str, Any] = {
            table: {"Keys": [to_item(key) for key in table_keys], "ConsistentRead": True}
            for table, table_keys in wanted.items()
            if table_keys
        }
        return batch_get(self._client, request)


@dataclass
class _Read:
    customers: dict[str, Customer] = field(default_factory=dict)
    cart: Cart | None = None  # the cart, or the quote
    lock: ResourceApproval | None = None
    settings: dict[str, Any] | None = None
    policy_companies: frozenset[str] = frozenset()  # the companies that have approval policies


class SeparateReads:
    """CustomersAndCart from a Directory, a CartSource, a QuoteSource, a PolicyStore and an
    ApprovalStore that cannot share a read. Without a quote source there are no quotes, and quote
    approvals are off; without a policy store no company has policies."""

    def __init__(
        self,
        directory: Directory,
        carts: CartSource,
        store: ApprovalStore,
        quotes: QuoteSource | None = None,
        policies: PolicyStore | None = None,
    ) -> None:
        self._directory = directory
        self._carts = carts
        self._store = store
        self._quotes = quotes
        self._policies = policies

    def get_customers_cart_and_policy_companies(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str, resource_type: str = ResourceType.CART
    ) -> tuple[dict[str, Customer], Cart | None, frozenset[str]]:
        customers, cart = self._customers_and_cart(tenant, customer_ids, cart_id, resource_type)
        return customers, cart, self._policy_companies(tenant)

    def get_customer_cart_lock_and_policy_companies(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None, frozenset[str]]:
        customer, cart, lock = self._customer_cart_and_lock(tenant, customer_id, cart_id, resource_type, action)
        return customer, cart, lock, self._policy_companies(tenant)

    def _policy_companies(self, tenant: str) -> frozenset[str]:
        return frozenset() if self._policies is None else self._policies.companies_with_policies(tenant)

    def _customers_and_cart(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str, resource_type: str = ResourceType.CART
    ) -> tuple[dict[str, Customer], Cart | None]:
        customers = self._directory.get_customers(tenant, customer_ids)
        if resource_type == ResourceType.QUOTE:
            return customers, self._quotes.get_quote(tenant, cart_id) if self._quotes else None
        return customers, self._carts.get_cart(tenant, cart_id)

    def get_customers_quote_and_settings(
        self, tenant: str, customer_ids: Iterable[str], quote_id: str
    ) -> tuple[dict[str, Customer], Quote | None, TenantSettings, frozenset[str]]:
        customers = self._directory.get_customers(tenant, customer_ids)
        if self._quotes is None:
            return customers, None, TenantSettings(), self._policy_companies(tenant)
        quote, settings = self._quotes.get_quote(tenant, quote_id), self._quotes.get_tenant_settings(tenant)
        return customers, quote, settings, self._policy_companies(tenant)

    def _customer_cart_and_lock(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None]:
        customers, cart = self._customers_and_cart(tenant, {customer_id}, cart_id, resource_type)
        lock = self._store.latest_for_resource(tenant, resource_type, cart_id, action)
        return customers.get(customer_id), cart, lock
