"""approvals-admin import against DynamoDB: seed JSON and JSON Lines through the directory's
write path, with what it writes, skips and refuses, and a resumed interrupted run."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from approval_core.adapters.directory import DynamoDirectory, DynamoDirectoryWriter
from approval_core.api.wiring import dynamodb_client
from approval_core.directory_feed import DirectoryFeed
from approval_core.domain.directory import Kind
from approvals_admin import importer
from approvals_admin.cli import main
from approvals_admin.importer import run_import, state_path


@pytest.fixture
def fresh() -> str:
    return "i" + uuid.uuid4().hex[:12]


@pytest.fixture
def writer(tables: dict[str, str]) -> DynamoDirectoryWriter:
    return DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])


def reader(tables: dict[str, str]) -> DynamoDirectory:
    return DynamoDirectory(dynamodb_client(), tables["DirectoryTable"])


def lines(path: Path, *entries: Any) -> Path:
    path.write_text("".join((entry if isinstance(entry, str) else json.dumps(entry)) + "\n" for entry in entries))
    return path


def test_a_seed_file_imports_through_the_console_script(
    tmp_path: Path, fresh: str, tables: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    seed = {
        "tenants": {
            fresh: {
                "companies": [{"id": "co", "name": "Co", "approvalLimit": {"amount": 250.5, "currency": "EUR"}}],
                "customers": [{"id": "ann", "groups": ["B2B_REQUESTER"], "companies": ["co"]}],
                "carts": [{"id": "cart", "customerId": "ann", "companyId": "co"}],
            }
        }
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    endpoint = dynamodb_client().meta.endpoint_url
    assert main(["import", str(path), "--table", tables["DirectoryTable"], "--endpoint", endpoint]) == 0
    assert "3 written, 0 skipped, 0 refused" in capsys.readouterr().out
    ann = reader(tables).get_customers(fresh, ["ann"])["ann"]
    assert ann.companies["co"].approval_limit.amount == Decimal("250.5")  # type: ignore[union-attr]
    assert reader(tables).get_cart(fresh, "cart") is not None
    assert not state_path(path).exists()  # finished: nothing to resume


def test_json_lines_refuses_bad_lines_naming_the_line_and_writes_the_rest(
    tmp_path: Path, fresh: str, writer: DynamoDirectoryWriter, tables: dict[str, str]
) -> None:
    path = lines(
        tmp_path / "export.jsonl",
        {"tenant": fresh, "kind": "company", "id": "co"},
        "{not json",
        {"tenant": fresh, "kind": "customer", "id": "bob", "group": ["B2B_ADMIN"]},
        {"tenant": "NO", "kind": "customer", "id": "x"},
        {"tenant": fresh, "kind": "order", "id": "o"},
        {"tenant": fresh, "kind": "customer", "id": "cy", "companies": ["co"]},
    )
    refusals: list[str] = []
    summary = run_import(path, writer, "test", report=refusals.append)
    assert (summary.written, summary.skipped, summary.refused) == (2, 0, 4)
    assert [refusal.split(":")[0] for refusal in refusals] == [
        "refused line 2",
        "refused line 3",
        "refused line 4",
        "refused line 5",
    ]
    assert "group: is not a field of the format" in refusals[1]
    assert reader(tables).get_customers(fresh, ["cy"])["cy"].company_ids == ("co",)


def test_versions_skip_what_is_already_stored_or_newer(
    tmp_path: Path, fresh: str, writer: DynamoDirectoryWriter, tables: dict[str, str]
) -> None:
    DirectoryFeed(writer).put(fresh, Kind.CUSTOMER, "ann", {"lastName": "Newer", "version": 9})
    path = lines(
        tmp_path / "v.jsonl",
        {"tenant": fresh, "kind": "customer", "id": "ann", "lastName": "Older", "version": 3},
        {"tenant": fresh, "kind": "customer", "id": "bob", "lastName": "Bob", "version": 1},
    )
    first = run_import(path, writer, "test")
    assert (first.written, first.skipped) == (1, 1)
    assert first.skipped_reasons == {"older than stored": 1}
    again = run_import(path, writer, "test")
    assert (again.written, again.skipped) == (0, 2)
    assert reader(tables).get_customers(fresh, ["ann"])["ann"].last_name == "Newer"


def test_a_customer_before_its_company_and_an_existing_companys_members_get_its_record(
    tmp_path: Path, fresh: str, writer: DynamoDirectoryWriter, tables: dict[str, str]
) -> None:
    feed = DirectoryFeed(writer)
    feed.put(fresh, Kind.COMPANY, "old", {"approvalLimit": {"amount": 1, "currency": "EUR"}})
    feed.put(fresh, Kind.CUSTOMER, "member", {"companies": ["old"]})
    path = lines(
        tmp_path / "order.jsonl",
        {"tenant": fresh, "kind": "customer", "id": "early", "companies": ["later"]},
        {"tenant": fresh, "kind": "company", "id": "later", "approvalLimit": {"amount": 7, "currency": "EUR"}},
        {"tenant": fresh, "kind": "company", "id": "old", "approvalLimit": {"amount": 2, "currency": "EUR"}},
    )
    run_import(path, writer, "test")
    found = reader(tables).get_customers(fresh, ["early", "member"])
    assert found["early"].companies["later"].approval_limit.amount == 7  # type: ignore[union-attr]
    assert found["member"].companies["old"].approval_limit.amount == 2  # type: ignore[union-attr]


class Interrupted(Exception):
    pass


def test_an_interrupted_import_resumes_where_it_stopped(
    tmp_path: Path, fresh: str, writer: DynamoDirectoryWriter, tables: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 10)
    entries = [{"tenant": fresh, "kind": "customer", "id": f"c{n:03d}", "version": 1} for n in range(35)]
    path = lines(tmp_path / "big.jsonl", *entries)
    calls = {"count": 0}
    real = writer.write_many

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == 3:
            raise Interrupted
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_many", failing)
    with pytest.raises(Interrupted):
        run_import(path, writer, "test")
    assert json.loads(state_path(path).read_text())["done"] == 20
    monkeypatch.setattr(writer, "write_many", real)
    resumed = run_import(path, writer, "test")
    assert resumed.resumed_from == 20
    assert (resumed.written, resumed.skipped) == (35, 0)
    assert len(reader(tables).get_customers(fresh, [entry["id"] for entry in entries])) == 35
