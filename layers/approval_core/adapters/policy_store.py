"""PolicyStore on the directory table (docs/data-model.md, "Approval policies").

Each policy is stored twice in one transaction: in the tenant's policies partition (read by id,
listed by operators) and in its company's partition, after the members, so that creating an
approval reads the company's members and policies in one Query. A counts item says which
companies have policies at all: it is read with the customers and the cart, so a company
without policies pays no request for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from approval_core.adapters import keys
from approval_core.adapters.directory import member_of
from approval_core.adapters.dynamodb import from_item, query_pages, to_item
from approval_core.domain.errors import ConcurrentModification, PolicyAlreadyExists, PolicyNotFound
from approval_core.domain.reference import Customer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from approval_core.domain.policies import Policy


def companies_with_policies_of(record: dict[str, Any] | None) -> frozenset[str]:
    """The companies a counts item names with at least one policy."""
    prefix = keys.policy_count_attribute("")
    return frozenset(
        name.removeprefix(prefix)
        for name, count in (record or {}).items()
        if name.startswith(prefix) and int(count) > 0
    )


class DynamoPolicyStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, tenant: str, policy_id: str) -> Policy | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(keys.tenant_policy(tenant, policy_id)), ConsistentRead=True
        ).get("Item")
        return None if item is None else _policy(from_item(item))

    def of_companies(self, tenant: str, company_ids: Iterable[str] | None) -> list[Policy]:
        if company_ids is None:
            partitions = [keys.tenant_policies_partition(tenant)]
        else:
            partitions = [keys.company_partition(tenant, cid) for cid in sorted(set(company_ids))]
        found: list[Policy] = []
        for partition in partitions:
            query = {
                "TableName": self._table,
                "KeyConditionExpression": "PK = :partition AND begins_with(SK, :policies)",
                "ExpressionAttributeValues": to_item({":partition": partition, ":policies": keys.POLICY_PREFIX}),
                "ConsistentRead": True,
            }
            found.extend(
                _policy(from_item(item)) for page in query_pages(self._client, query) for item in page["Items"]
            )
        return sorted(found, key=lambda policy: policy.id)

    def create(self, tenant: str, policy: Policy) -> None:
        by_id = self._put(keys.tenant_policy(tenant, policy.id), policy)
        by_id["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        try:
            self._transact(
                [
                    by_id,
                    self._put(keys.company_policy(tenant, policy.companyId, policy.id), policy),
                    self._count(tenant, policy.companyId, 1),
                ]
            )
        except self._client.exceptions.TransactionCanceledException as cancelled:
            if _condition_failed(cancelled.response):
                raise PolicyAlreadyExists(f"Policy {policy.id} exists") from None
            raise

    def replace(self, tenant: str, policy: Policy, expected_version: int) -> None:
        by_id = self._put(keys.tenant_policy(tenant, policy.id), policy)
        by_id["Put"].update(
            {
                "ConditionExpression": "attribute_exists(PK) AND #metadata.#version = :expected",
                "ExpressionAttributeNames": {"#metadata": "metadata", "#version": "version"},
                "ExpressionAttributeValues": to_item({":expected": expected_version}),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        )
        try:
            self._transact([by_id, self._put(keys.company_policy(tenant, policy.companyId, policy.id), policy)])
        except self._client.exceptions.TransactionCanceledException as cancelled:
            reasons = cancelled.response.get("CancellationReasons", [])
            if not _condition_failed(cancelled.response):
                raise
            if not reasons or "Item" not in reasons[0]:
                raise PolicyNotFound(f"Policy {policy.id} does not exist") from None
            raise ConcurrentModification(f"Policy {policy.id} is not at version {expected_version}") from None

    def delete(self, tenant: str, policy: Policy) -> None:
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": to_item(keys.tenant_policy(tenant, policy.id)),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": to_item(keys.company_policy(tenant, policy.companyId, policy.id)),
                        }
                    },
                    self._count(tenant, policy.companyId, -1),
                ]
            )
        except self._client.exceptions.TransactionCanceledException as cancelled:
            if _condition_failed(cancelled.response):
                raise PolicyNotFound(f"Policy {policy.id} does not exist") from None
            raise

    def company_members_and_policies(self, tenant: str, company_id: str) -> tuple[list[Customer], list[Policy]]:
        partition, members_prefix = keys.company_members(tenant, company_id)
        query = {
            "TableName": self._table,
            # Members ("MEMBER#...") and policies ("POLICY#...") sort next to each other.
            "KeyConditionExpression": "PK = :company AND SK BETWEEN :members AND :policies",
            "ExpressionAttributeValues": to_item(
                {":company": partition, ":members": members_prefix, ":policies": keys.POLICY_PREFIX + "\uffff"}
            ),
            "ConsistentRead": True,
        }
        members: list[Customer] = []
        policies: list[Policy] = []
        for page in query_pages(self._client, query):
            for item in page["Items"]:
                record = from_item(item)
                if str(record["SK"]).startswith(keys.POLICY_PREFIX):
                    policies.append(_policy(record))
                elif str(record["SK"]).startswith(members_prefix):
                    members.append(member_of(record, company_id))
        return members, sorted(policies, key=lambda policy: policy.id)

    def companies_with_policies(self, tenant: str) -> frozenset[str]:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(keys.companies_with_policies(tenant)), ConsistentRead=True
        ).get("Item")
        return companies_with_policies_of(None if item is None else from_item(item))

    def _transact(self, writes: list[Any]) -> None:
        self._client.transact_write_items(TransactItems=writes)

    def _put(self, key: keys.Key, policy: Policy) -> dict[str, Any]:
        document = policy.model_dump(mode="python", exclude_none=True)
        return {"Put": {"TableName": self._table, "Item": to_item({**key, **document})}}

    def _count(self, tenant: str, company_id: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item(keys.companies_with_policies(tenant)),
                "UpdateExpression": "ADD #company :delta",
                "ExpressionAttributeNames": {"#company": keys.policy_count_attribute(company_id)},
                "ExpressionAttributeValues": to_item({":delta": delta}),
            }
        }


def _condition_failed(response: Any) -> bool:
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in response.get("CancellationReasons", []))


def _policy(record: dict[str, Any]) -> Policy:
    # Here, not at the top: a policy's condition is a query, and most functions read no policy.
    from approval_core.domain.policies import Policy

    return Policy.model_validate({name: value for name, value in record.items() if name not in ("PK", "SK")})
