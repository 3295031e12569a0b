"""The directory feed's use cases: write, read and delete customers, companies, carts, quotes and
the tenant's approval settings, whoever
sends them (the directory API, the Emporix webhook consumer, the bulk import). Nothing here knows
about Lambda, HTTP, SQS or DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from approval_core.domain.directory import (
    CartEntry,
    CompanyEntry,
    CustomerEntry,
    Kind,
    Outcome,
    Propagation,
    QuoteEntry,
    SettingsEntry,
)
from approval_core.domain.errors import DirectoryEntryNotFound, ErrorDetail, StaleDirectoryWrite, ValidationFailed
from approval_core.domain.models import Item
from approval_core.domain.validation import validate
from approval_core.ports import DirectoryWriter

TimeLeft = Callable[[], bool]


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    propagation: Propagation | None = None  # companies: how far the change reached the members

    @property
    def complete(self) -> bool:
        return self.propagation is None or self.propagation.complete


def _always() -> bool:
    return True


@dataclass
class DirectoryFeed:
    writer: DirectoryWriter

    # ----------------------------------------------------------------------- the directory API
    def put(self, tenant: str, kind: Kind, entry_id: str, document: Any, time_left: TimeLeft = _always) -> WriteResult:
        """Store the document as the entry ``entry_id``. A stale one raises StaleDirectoryWrite;
        a repeat is UNCHANGED (and resumes a company's unfinished propagation)."""
        if not isinstance(document, dict):
            raise ValidationFailed(details=[ErrorDetail(field="body", message="body: must be a JSON object")])
        if "id" in document and document["id"] != entry_id:
            message = f"id: '{str(document['id'])[:128]}' is not the id of the path ('{entry_id}')"
            raise ValidationFailed(message, [ErrorDetail(field="id", message=message)])
        document = {**document, "id": entry_id}
        if kind is Kind.COMPANY:
            return self.put_company(tenant, validate(document, CompanyEntry), time_left)
        if kind is Kind.CUSTOMER:
            return self._checked(self.writer.put_customer(tenant, validate(document, CustomerEntry)))
        if kind is Kind.QUOTE:
            return self._checked(self.writer.put_quote(tenant, validate(document, QuoteEntry)))
        if kind is Kind.SETTINGS:
            return self._checked(self.writer.put_settings(tenant, validate(document, SettingsEntry)))
        return self._checked(self.writer.put_cart(tenant, validate(document, CartEntry)))

    def put_company(self, tenant: str, entry: CompanyEntry, time_left: TimeLeft = _always) -> WriteResult:
        outcome = self.writer.put_company(tenant, entry)
        self._checked(outcome)
        return WriteResult(outcome, self.writer.propagate_company(tenant, entry.id, time_left))

    def put_company_event(
        self, tenant: str, company_id: str, document: dict[str, Any], time_left: TimeLeft = _always
    ) -> WriteResult:
        """A company from an event: a stale one is STALE, not an error."""
        entry = validate({**document, "id": company_id}, CompanyEntry)
        outcome = self.writer.put_company(tenant, entry)
        if outcome is Outcome.STALE:
            return WriteResult(outcome)
        return WriteResult(outcome, self.writer.propagate_company(tenant, company_id, time_left))

    def get(self, tenant: str, kind: Kind, entry_id: str) -> dict[str, Any]:
        stored = self.writer.read(tenant, kind, entry_id)
        if stored is None or stored.deleted:
            raise DirectoryEntryNotFound(f"No {kind.value[:-1]} '{entry_id}' in the directory")
        if kind is Kind.CUSTOMER:  # the seed shape: the ids of the customer's companies
            document = {name: value for name, value in stored.document.items() if name != "companyIds"}
            return {**document, "companies": stored.document.get("companyIds", [])}
        return stored.document

    def delete(
        self, tenant: str, kind: Kind, entry_id: str, revision: Decimal | None, time_left: TimeLeft = _always
    ) -> WriteResult:
        outcome = self.writer.delete(tenant, kind, entry_id, revision)
        if outcome is Outcome.NOT_FOUND:
            raise DirectoryEntryNotFound(f"No {kind.value[:-1]} '{entry_id}' in the directory")
        self._checked(outcome)
        if kind is Kind.COMPANY:
            return WriteResult(outcome, self.writer.propagate_company(tenant, entry_id, time_left))
        return WriteResult(outcome)

    def delete_event(
        self, tenant: str, kind: Kind, entry_id: str, revision: Decimal | None, time_left: TimeLeft = _always
    ) -> WriteResult:
        """A deletion from an event: deleting what is not there, or a stale deletion, is no error.
        A deleted company's record leaves its members' items while ``time_left()``."""
        outcome = self.writer.delete(tenant, kind, entry_id, revision)
        if kind is Kind.COMPANY and outcome in (Outcome.WRITTEN, Outcome.UNCHANGED):
            return WriteResult(outcome, self.writer.propagate_company(tenant, entry_id, time_left))
        return WriteResult(outcome)

    @staticmethod
    def _checked(outcome: Outcome) -> WriteResult:
        if outcome is Outcome.STALE:
            raise StaleDirectoryWrite()
        return WriteResult(outcome)

    # ----------------------------------------------------------------------- partial changes (events)
    def update_customer(
        self,
        tenant: str,
        customer_id: str,
        profile: dict[str, Any],
        groups: list[str] | None,
        number: str | None = None,
    ) -> Outcome:
        """Apply a customer's profile (names, version) over what is stored: their companies and,
        unless ``groups`` is given, their groups stay as they are."""
        stored = self.writer.read(tenant, Kind.CUSTOMER, customer_id)
        current = stored.document if stored is not None and not stored.deleted else {}
        document = {
            "id": customer_id,
            "groups": current.get("groups", []) if groups is None else groups,
            "companies": current.get("companyIds", []),
            **profile,
        }
        outcome = self.writer.put_customer(tenant, validate(document, CustomerEntry))
        if number and outcome is Outcome.WRITTEN:
            self.writer.remember_customer_number(tenant, number, customer_id)
        return outcome

    def change_membership(self, tenant: str, customer_id: str, company_id: str, member: bool) -> Outcome:
        """Add the customer to the company or take them out, keeping everything else (their
        revision too: a membership change is not a newer profile)."""
        stored = self.writer.read(tenant, Kind.CUSTOMER, customer_id)
        if stored is not None and stored.deleted:
            return Outcome.STALE  # a deleted customer is not brought back by an assignment
        current = {} if stored is None else stored.document
        companies = [cid for cid in current.get("companyIds", []) if cid != company_id]
        if member:
            companies.append(company_id)
        if companies == list(current.get("companyIds", [])) and stored is not None:
            return Outcome.UNCHANGED
        document = {
            "id": customer_id,
            "firstName": current.get("firstName"),
            "lastName": current.get("lastName"),
            "groups": current.get("groups", []),
            "companies": companies,
            # Written again as stored: a membership is not a newer version of the customer.
            "version": current.get("version"),
            "modifiedAt": current.get("modifiedAt"),
        }
        entry = validate({key: value for key, value in document.items() if value is not None}, CustomerEntry)
        return self.writer.put_customer(tenant, entry, same_revision_applies=True)

    def update_cart(self, tenant: str, cart_id: str, fields: dict[str, Any]) -> Outcome:
        """Apply a cart's fields over what is stored (its items stay unless ``fields`` has them)."""
        stored = self.writer.read(tenant, Kind.CART, cart_id)
        current = stored.document if stored is not None and not stored.deleted else {}
        return self.writer.put_cart(tenant, validate({**current, **fields, "id": cart_id}, CartEntry))

    def update_quote(self, tenant: str, quote_id: str, fields: dict[str, Any]) -> Outcome:
        """Apply a quote's fields over what is stored (as ``update_cart``)."""
        stored = self.writer.read(tenant, Kind.QUOTE, quote_id)
        current = stored.document if stored is not None and not stored.deleted else {}
        return self.writer.put_quote(tenant, validate({**current, **fields, "id": quote_id}, QuoteEntry))

    def change_cart_item(self, tenant: str, cart_id: str, item_id: str, quantity: Decimal | None) -> Outcome:
        """Set an item's quantity (adding it when new), or remove it (``quantity`` None). The item
        is known by its ``itemYrn``; Emporix's item events carry no price."""
        stored = self.writer.read(tenant, Kind.CART, cart_id)
        if stored is None or stored.deleted:
            return Outcome.NOT_FOUND
        items = [item for item in stored.document.get("items", []) if item.get("itemYrn") != item_id]
        if quantity is not None:
            previous: dict[str, Any] = next(
                (i for i in stored.document.get("items", []) if i.get("itemYrn") == item_id), {}
            )
            items.append(
                Item.model_validate({**previous, "itemYrn": item_id, "quantity": quantity}).model_dump(
                    mode="python", exclude_none=True
                )
            )
        document = {**stored.document, "items": items}
        entry = validate(document, CartEntry)
        return self.writer.put_cart(tenant, entry, same_revision_applies=True)

    def customer_id_by_number(self, tenant: str, number: str) -> str | None:
        return self.writer.customer_id_by_number(tenant, number)
