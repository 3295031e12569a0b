"""Seed files: the directory (companies, customers) and the carts local mode serves, per tenant.

A seed is validated whole before anything is written: one that breaks the format is refused with
the bad field named, and nothing of it is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator

from approval_core.adapters.directory import DynamoDirectoryWriter
from approval_core.domain.directory import CartEntry, CompanyEntry, CustomerEntry, QuoteEntry, SettingsEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEMO_SEED = Path(__file__).with_name("demo-seed.json")
TENANT_PATTERN = r"^[a-z][a-z0-9]{2,15}$"

TenantName = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]


class SeedError(Exception):
    pass


class _Strict(BaseModel):
    # A misspelt field in a seed would silently go missing: refuse what is not known.
    model_config = ConfigDict(extra="forbid")


# The entries are the directory feed's own documents: a seed, the directory API and the bulk
# import accept the same shapes, validated by the same models.
SeedCompany = CompanyEntry
SeedCustomer = CustomerEntry


class SeedTenant(_Strict):
    companies: list[SeedCompany] = []
    customers: list[SeedCustomer] = []
    carts: list[CartEntry] = []  # carts come from the commerce platform: unknown fields are ignored
    quotes: list[QuoteEntry] = []  # a cart's shape with itemId per item; unknown fields are ignored
    # The tenant's approval settings: {"enableQuoteApprovalProcess": true} switches quote approvals on.
    settings: SettingsEntry | None = None

    @field_validator("companies", "customers", "carts", "quotes")
    @classmethod
    def _unique_ids(cls, entries: list[Any]) -> list[Any]:
        ids = [entry.id for entry in entries]
        for index, value in enumerate(ids):
            if value in ids[:index]:
                raise ValueError(f"the id '{value}' appears twice (entries {ids.index(value)} and {index})")
        return entries


class Seed(_Strict):
    tenants: dict[TenantName, SeedTenant]


def read_seed(path: Path) -> Seed:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SeedError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        # Amounts stay exact: 250.10 is Decimal("250.10"), never a binary float.
        document = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as error:
        raise SeedError(f"{path}: not JSON: {error}") from None
    try:
        return Seed.model_validate(document)
    except ValidationError as error:
        raise SeedError("\n".join(f"{path}: {problem}" for problem in _problems(error.errors()))) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _problems(errors: Iterable[Any]) -> Iterable[str]:
    for error in errors:
        location = [str(part) for part in error["loc"]]
        if location and location[-1] == "[key]":
            yield f"{'.'.join(location[:-1])}: a tenant name must match ^[a-z][a-z0-9]+$, 3 to 16 characters"
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a field of the seed format"
        yield f"{'.'.join(location) or 'seed'}: {message}"


def load_seed(client: DynamoDBClient, table_name: str, seed: Seed) -> int:
    """Write every tenant of the seed; returns the number of items written."""
    writer = DynamoDirectoryWriter(client, table_name)
    return sum(
        writer.load(
            tenant,
            [company.domain() for company in content.companies],
            [customer.domain() for customer in content.customers],
            [cart.cart() for cart in content.carts],
            [quote.quote() for quote in content.quotes],
            content.settings.domain() if content.settings else None,
        )
        for tenant, content in seed.tenants.items()
    )


def summary(seed: Seed) -> str:
    return ", ".join(
        f"{tenant} ({len(content.companies)} companies, {len(content.customers)} customers, {len(content.carts)} carts"
        + (f", {len(content.quotes)} quotes" if content.quotes else "")
        + ")"
        for tenant, content in seed.tenants.items()
    )
