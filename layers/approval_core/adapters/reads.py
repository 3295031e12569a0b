"""CustomersAndCart: what a use case reads before it decides.

``DynamoReads`` reads the customers, the cart and (for the permitted check) the resource's lock
in one ``BatchGetItem`` over the directory and the approvals tables. ``SeparateReads`` composes
the other ports for stores that cannot share a read (the in-memory fakes of the unit tests).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.directory import BATCH_GET_LIMIT, customer_of
from approval_core.adapters.dynamodb import from_item, to_item
from approval_core.adapters.policy_store import companies_with_policies_of
from approval_core.domain.errors import ServiceBusy
from approval_core.domain.models import ResourceApproval
from approval_core.domain.reference import Cart, Customer
from approval_core.ports import ApprovalStore, CartSource, Directory, PolicyStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# BatchGetItem answers with UnprocessedKeys when a partition is throttled: retried with jittered
# backoff (as the AWS SDKs advise), a few times, then the read fails as a throttled request would.
UNPROCESSED_ATTEMPTS = 5
UNPROCESSED_BASE_DELAY_S = 0.02


class DynamoReads:
    """CustomersAndCart on DynamoDB: one BatchGetItem per use case, over both tables."""

    def __init__(self, client: DynamoDBClient, directory_table: str, approvals_table: str) -> None:
        self._client = client
        self._directory = directory_table
        self._approvals = approvals_table

    def get_customers_and_cart(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str
    ) -> tuple[dict[str, Customer], Cart | None]:
        wanted = [keys.customer(tenant, cid) for cid in sorted(set(customer_ids))[: BATCH_GET_LIMIT - 1]]
        wanted.append(keys.cart(tenant, cart_id))
        customers, cart, _ = self._read({self._directory: wanted})
        return customers, cart

    def get_customers_cart_and_policy_companies(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str
    ) -> tuple[dict[str, Customer], Cart | None, frozenset[str]]:
        wanted = [keys.customer(tenant, cid) for cid in sorted(set(customer_ids))[: BATCH_GET_LIMIT - 2]]
        wanted += [keys.cart(tenant, cart_id), keys.companies_with_policies(tenant)]
        customers, cart, _, with_policies = self._read_all({self._directory: wanted})
        return customers, cart, with_policies

    def get_customer_cart_lock_and_policy_companies(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None, frozenset[str]]:
        customers, cart, lock, with_policies = self._read_all(
            {
                self._directory: [
                    keys.customer(tenant, customer_id),
                    keys.cart(tenant, cart_id),
                    keys.companies_with_policies(tenant),
                ],
                self._approvals: [keys.resource_lock(tenant, resource_type, cart_id, action)],
            }
        )
        return customers.get(customer_id), cart, lock, with_policies

    def get_customer_cart_and_lock(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None]:
        customers, cart, lock = self._read(
            {
                self._directory: [keys.customer(tenant, customer_id), keys.cart(tenant, cart_id)],
                self._approvals: [keys.resource_lock(tenant, resource_type, cart_id, action)],
            }
        )
        return customers.get(customer_id), cart, lock

    def _read(
        self, wanted: Mapping[str, list[keys.Key]]
    ) -> tuple[dict[str, Customer], Cart | None, ResourceApproval | None]:
        customers, cart, lock, _ = self._read_all(wanted)
        return customers, cart, lock

    def _read_all(
        self, wanted: Mapping[str, list[keys.Key]]
    ) -> tuple[dict[str, Customer], Cart | None, ResourceApproval | None, frozenset[str]]:
        customers: dict[str, Customer] = {}
        cart: Cart | None = None
        lock: ResourceApproval | None = None
        with_policies: frozenset[str] = frozenset()
        policy_counts = keys.companies_with_policies("")["SK"]
        for table, record in self._batch_get(wanted):
            if table == self._approvals:
                lock = ResourceApproval.model_validate(record)
            elif keys.is_cart(record):
                cart = Cart.model_validate(record)
            elif record.get("SK") == policy_counts:
                with_policies = companies_with_policies_of(record)
            else:
                customer = customer_of(record)
                customers[customer.id] = customer
        return customers, cart, lock, with_policies

    def _batch_get(self, wanted: Mapping[str, list[keys.Key]]) -> Iterator[tuple[str, dict[str, Any]]]:
        request: Mapping[str, Any] = {
            table: {"Keys": [to_item(key) for key in table_keys], "ConsistentRead": True}
            for table, table_keys in wanted.items()
            if table_keys
        }
        for attempt in range(UNPROCESSED_ATTEMPTS):
            if not request:
                return
            if attempt:
                time.sleep(random.uniform(0, UNPROCESSED_BASE_DELAY_S * 2**attempt))  # noqa: S311 (jitter)
            response = self._client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                for item in items:
                    yield table, from_item(item)
            request = response.get("UnprocessedKeys") or {}
        if request:
            raise ServiceBusy("DynamoDB is throttling reads; retry shortly")


class SeparateReads:
    """CustomersAndCart from a Directory, a CartSource and an ApprovalStore that cannot share a read."""

    def __init__(
        self, directory: Directory, carts: CartSource, store: ApprovalStore, policies: PolicyStore | None = None
    ) -> None:
        self._directory = directory
        self._carts = carts
        self._store = store
        self._policies = policies

    def get_customers_cart_and_policy_companies(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str
    ) -> tuple[dict[str, Customer], Cart | None, frozenset[str]]:
        customers, cart = self.get_customers_and_cart(tenant, customer_ids, cart_id)
        return customers, cart, self._policy_companies(tenant)

    def get_customer_cart_lock_and_policy_companies(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None, frozenset[str]]:
        customer, cart, lock = self.get_customer_cart_and_lock(tenant, customer_id, cart_id, resource_type, action)
        return customer, cart, lock, self._policy_companies(tenant)

    def _policy_companies(self, tenant: str) -> frozenset[str]:
        return frozenset() if self._policies is None else self._policies.companies_with_policies(tenant)

    def get_customers_and_cart(
        self, tenant: str, customer_ids: Iterable[str], cart_id: str
    ) -> tuple[dict[str, Customer], Cart | None]:
        return self._directory.get_customers(tenant, customer_ids), self._carts.get_cart(tenant, cart_id)

    def get_customer_cart_and_lock(
        self, tenant: str, customer_id: str, cart_id: str, resource_type: str, action: str
    ) -> tuple[Customer | None, Cart | None, ResourceApproval | None]:
        customers, cart = self.get_customers_and_cart(tenant, {customer_id}, cart_id)
        lock = self._store.latest_for_resource(tenant, resource_type, cart_id, action)
        return customers.get(customer_id), cart, lock
