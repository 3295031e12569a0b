"""What `make e2e-aws` sets up in a deployed stack and removes again: customers in the stack's
user pool (admin APIs, signed in with ADMIN_USER_PASSWORD_AUTH, which the AllowAdminPasswordSignIn
parameter enables), their directory entries and the approvals they make. Every piece takes its
clients from the caller, so tests/integration/test_aws_customers.py runs them against moto."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from approval_core.adapters import keys


class SignInRefused(Exception):
    pass


@dataclass(frozen=True)
class Customer:
    username: str
    user_id: str  # Cognito's sub: the access token's subject, so the directory's customer id
    password: str
    first_name: str
    last_name: str
    groups: tuple[str, ...]

    def directory_entry(self, companies: Iterable[str]) -> dict[str, Any]:
        """The customer as the seed file (and the directory) writes them."""
        return {
            "id": self.user_id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "groups": list(self.groups),
            "companies": list(companies),
        }


@dataclass
class PoolCustomers:
    """Test customers of one tenant in one user pool; delete_all() removes every one created."""

    idp: Any
    pool_id: str
    client_id: str
    tenant: str | None
    prefix: str
    created: list[str] = field(default_factory=list)

    def create(self, name: str, groups: Iterable[str] = (), first_name: str = "", last_name: str = "") -> Customer:
        username = f"{self.prefix}-{name}"
        # Meets any password policy a pool can have: length, upper, lower, digit, symbol.
        password = f"Aa1!{secrets.token_urlsafe(24)}"
        attributes = [
            {"Name": "given_name", "Value": first_name or name.title()},
            {"Name": "family_name", "Value": last_name or "Test"},
        ]
        if self.tenant is not None:
            attributes.append({"Name": "custom:tenant", "Value": self.tenant})
        user = self.idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=username,
            UserAttributes=attributes,
            TemporaryPassword=password,
            MessageAction="SUPPRESS",  # no invitation e-mail for a test customer
        )["User"]
        self.created.append(username)
        # A permanent password skips the first sign-in's NEW_PASSWORD_REQUIRED challenge.
        self.idp.admin_set_user_password(UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True)
        for group in groups:
            self.idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=group)
        sub = next(attribute["Value"] for attribute in user["Attributes"] if attribute["Name"] == "sub")
        return Customer(username, sub, password, first_name or name.title(), last_name or "Test", tuple(groups))

    def sign_in(self, customer: Customer) -> str:
        """The customer's access token, as the pool (and its trigger) issues it."""
        answer = self.idp.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": customer.username, "PASSWORD": customer.password},
        )
        if "AuthenticationResult" not in answer:
            raise SignInRefused(f"{customer.username}: the pool asks for {answer.get('ChallengeName')}")
        return str(answer["AuthenticationResult"]["AccessToken"])

    def delete_all(self) -> list[str]:
        """Delete every customer created here (those already gone are skipped); returns them."""
        deleted = []
        for username in reversed(self.created):
            try:
                self.idp.admin_delete_user(UserPoolId=self.pool_id, Username=username)
            except self.idp.exceptions.UserNotFoundException:
                continue
            deleted.append(username)
        self.created.clear()
        return deleted


def directory_partitions(
    tenant: str, customers: Iterable[str], companies: Iterable[str], carts: Iterable[str]
) -> list[str]:
    """The directory table's partitions a seed of these entries writes (every item of each)."""
    return [
        *(keys.customer(tenant, customer)["PK"] for customer in customers),
        *(keys.company_partition(tenant, company) for company in companies),
        *(keys.cart(tenant, cart)["PK"] for cart in carts),
    ]


def approval_partitions(
    tenant: str, approval_ids: Iterable[str], users: Iterable[str], carts: Iterable[str]
) -> list[str]:
    """The approvals table's partitions these approvals live in: the approvals, their
    participants' list entries and the carts' locks."""
    return [
        *(keys.approval(tenant, approval_id)["PK"] for approval_id in approval_ids),
        *(keys.participant_partition(tenant, user) for user in users),
        *(keys.resource_lock(tenant, "CART", cart, "CHECKOUT")["PK"] for cart in carts),
    ]


def purge_partitions(dynamodb: Any, table: str, partitions: Iterable[str]) -> int:
    """Delete every item of these partitions (a test tenant's only); returns how many."""
    deleted = 0
    for partition in partitions:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
            ProjectionExpression="PK, SK",
        )
        for page in pages:
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
                deleted += 1
    return deleted
