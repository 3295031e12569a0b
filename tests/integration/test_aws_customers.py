"""The pieces `make e2e-aws` runs against a deployed stack (tests/aws/customers.py), here against
moto's Cognito and DynamoDB: customers made with the admin APIs carry the tenant and groups, sign in
with the test auth flow, and everything created is deleted again, nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from approvals_local.seed import Seed, load_seed
from approvals_local.template import load_template
from tests import moto_process
from tests.aws.customers import PoolCustomers, approval_partitions, directory_partitions, purge_partitions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_process.moto_server() as running:
        yield running


@pytest.fixture(scope="module")
def pool(endpoint: str) -> tuple[str, str]:
    """A pool shaped as the template's: custom:tenant, the three groups, an app client with the
    admin password flow (AllowAdminPasswordSignIn=true)."""
    idp = moto_process.client(endpoint, "cognito-idp")
    pool_id = idp.create_user_pool(
        PoolName="customers",
        Schema=[{"Name": "tenant", "AttributeDataType": "String", "Mutable": False}],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    for group in ("B2B_ADMIN", "B2B_BUYER", "B2B_REQUESTER"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="storefront",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def customers(endpoint: str, pool: tuple[str, str], tenant: str | None = "acme") -> PoolCustomers:
    return PoolCustomers(moto_process.client(endpoint, "cognito-idp"), *pool, tenant=tenant, prefix="e2e-test")


def test_a_customer_has_the_tenant_and_groups_and_signs_in(endpoint: str, pool: tuple[str, str]) -> None:
    made = customers(endpoint, pool)
    try:
        ann = made.create("ann", ["B2B_REQUESTER"], "Ann", "Lee")
        idp = made.idp
        user = idp.admin_get_user(UserPoolId=pool[0], Username=ann.username)
        attributes = {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}
        assert attributes["custom:tenant"] == "acme"
        assert attributes["sub"] == ann.user_id
        assert user["UserStatus"] == "CONFIRMED"  # permanent password: no challenge at sign-in
        groups = idp.admin_list_groups_for_user(UserPoolId=pool[0], Username=ann.username)["Groups"]
        assert [group["GroupName"] for group in groups] == ["B2B_REQUESTER"]

        claims = jwt.decode(made.sign_in(ann), options={"verify_signature": False})
        assert claims["sub"] == ann.user_id
        assert claims["client_id"] == pool[1]
        assert claims["token_use"] == "access"
        assert ann.directory_entry(["c1"]) == {
            "id": ann.user_id,
            "firstName": "Ann",
            "lastName": "Lee",
            "groups": ["B2B_REQUESTER"],
            "companies": ["c1"],
        }
    finally:
        made.delete_all()


def test_a_customer_without_tenant_is_made_without_the_attribute(endpoint: str, pool: tuple[str, str]) -> None:
    made = customers(endpoint, pool, tenant=None)
    try:
        nobody = made.create("nobody")
        user = made.idp.admin_get_user(UserPoolId=pool[0], Username=nobody.username)
        assert "custom:tenant" not in {attribute["Name"] for attribute in user["UserAttributes"]}
    finally:
        made.delete_all()


def test_delete_all_removes_exactly_what_was_created(endpoint: str, pool: tuple[str, str]) -> None:
    idp = moto_process.client(endpoint, "cognito-idp")
    idp.admin_create_user(UserPoolId=pool[0], Username="real-customer", MessageAction="SUPPRESS")
    made = customers(endpoint, pool)
    first, second = made.create("one", ["B2B_BUYER"]), made.create("two", ["B2B_ADMIN"])
    idp.admin_delete_user(UserPoolId=pool[0], Username=second.username)  # gone already: skipped

    assert made.delete_all() == [first.username]
    assert made.delete_all() == []
    left = [user["Username"] for user in idp.list_users(UserPoolId=pool[0])["Users"]]
    assert left == ["real-customer"]


def items(dynamodb: Any, table: str) -> set[str]:
    return {
        item["PK"]["S"] for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]
    }


def test_purge_removes_the_test_tenants_directory_entries_and_nothing_else(endpoint: str) -> None:
    dynamodb = moto_process.client(endpoint, "dynamodb")
    definition = load_template(ROOT / "template.yaml").tables["DirectoryTable"]
    dynamodb.create_table(TableName="directory", **definition)
    seed = {
        tenant: {
            "companies": [{"id": "c1", "name": "C", "approvalLimit": {"amount": 100, "currency": "EUR"}}],
            "customers": [
                {"id": "u1", "firstName": "U", "lastName": "One", "groups": ["B2B_REQUESTER"], "companies": ["c1"]},
                {"id": "u2", "firstName": "U", "lastName": "Two", "groups": ["B2B_ADMIN"], "companies": ["c1"]},
            ],
            "carts": [
                {
                    "id": "k1",
                    "customerId": "u1",
                    "companyId": "c1",
                    "currency": "EUR",
                    "items": [],
                    "totalPrice": {"currency": "EUR", "amount": 5},
                }
            ],
        }
        for tenant in ("e2etest", "keepme")
    }
    load_seed(dynamodb, "directory", Seed.model_validate({"tenants": seed}))
    assert any(pk.startswith("TENANT#e2etest#") for pk in items(dynamodb, "directory"))

    deleted = purge_partitions(dynamodb, "directory", directory_partitions("e2etest", ["u1", "u2"], ["c1"], ["k1"]))

    assert deleted > 0
    left = items(dynamodb, "directory")
    assert not any(pk.startswith("TENANT#e2etest#") for pk in left), left
    assert {pk for pk in left if pk.startswith("TENANT#keepme#")} == {
        "TENANT#keepme#CUSTOMER#u1",
        "TENANT#keepme#CUSTOMER#u2",
        "TENANT#keepme#COMPANY#c1",
        "TENANT#keepme#CART#k1",
    }


def test_approval_partitions_are_those_the_store_writes() -> None:
    from approval_core.adapters import keys

    partitions = approval_partitions("e2etest", ["a1"], ["u1", "u2"], ["k1"])
    assert partitions == [
        keys.approval("e2etest", "a1")["PK"],
        keys.participation("e2etest", "u1", "2026-01-01T00:00:00.000Z", "a1")["PK"],
        keys.participation("e2etest", "u2", "2026-01-01T00:00:00.000Z", "a1")["PK"],
        keys.resource_lock("e2etest", "CART", "k1", "CHECKOUT")["PK"],
    ]
