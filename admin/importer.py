"""The bulk import: a seed-format JSON file, or JSON Lines for large exports, into a stack's
directory through the directory's write path (``DynamoDirectoryWriter.write_many``).

JSON Lines hold one entry a line: ``{"tenant": "acme", "kind": "customer", "id": "ann", ...}``
with the seed's fields (``kind``: company, customer, cart, quote, or settings with
``enableQuoteApprovalProcess``). They are read a chunk at a time, so a
file of any size loads in constant memory. After each chunk the import notes how far it got in a
state file next to the input; an interrupted import started again resumes there (every write is
idempotent, so the chunk that was under way is simply written again).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from approval_core.adapters.directory import DynamoDirectoryWriter, Entry
from approval_core.domain.directory import CartEntry, CompanyEntry, CustomerEntry, Outcome, QuoteEntry, SettingsEntry

TENANT = re.compile(r"^[a-z][a-z0-9]{2,15}$")
CHUNK = 100  # entries per batch read (BatchGetItem's limit)
EntryModel = type[CompanyEntry] | type[CustomerEntry] | type[CartEntry] | type[QuoteEntry] | type[SettingsEntry]
KINDS: dict[str, EntryModel] = {
    "company": CompanyEntry,
    "customer": CustomerEntry,
    "cart": CartEntry,
    "quote": QuoteEntry,
    "setting": SettingsEntry,
}
SEED_KINDS = {"companies": "company", "customers": "customer", "carts": "cart", "quotes": "quote"}


class UnreadableInput(Exception):
    """The input cannot be read at all (as opposed to a refused entry)."""


@dataclass(frozen=True)
class ImportRefusal:
    """A line that is not even an entry (not JSON, not an object)."""

    reason: str


@dataclass(frozen=True)
class Record:
    position: int  # the line (JSON Lines) or the entry's ordinal (seed JSON), from 1
    where: str  # how a person finds it: "line 12" or "tenants.acme.customers[3]"
    tenant: str
    kind: str
    document: Any


@dataclass
class Summary:
    read: int = 0
    written: int = 0
    skipped: int = 0
    refused: int = 0
    resumed_from: int = 0
    companies_updated: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)


def read_records(path: Path) -> Iterator[Record]:
    if _is_json_lines(path):
        yield from _json_lines(path)
    else:
        yield from _seed(path)


def _is_json_lines(path: Path) -> bool:
    if path.suffix in (".jsonl", ".ndjson"):
        return True
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    try:
        document = json.loads(first)
    except ValueError:
        return False
    return isinstance(document, dict) and "kind" in document


def _json_lines(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                document = json.loads(line, parse_float=Decimal)
            except ValueError as error:
                yield Record(number, where, "", "", ImportRefusal(f"not JSON: {error}"))
                continue
            if not isinstance(document, dict):
                yield Record(number, where, "", "", ImportRefusal("not a JSON object"))
                continue
            tenant, kind = document.pop("tenant", None), str(document.pop("kind", "")).removesuffix("s")
            if kind == "compani":
                kind = "company"
            yield Record(number, where, tenant if isinstance(tenant, str) else "", kind, document)


def _seed(path: Path) -> Iterator[Record]:
    # A seed file is one JSON document: it is read whole (exports too large for that are JSON Lines).
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except ValueError as error:
        raise UnreadableInput(f"{path}: neither JSON Lines nor a seed JSON document: {error}") from None
    tenants = document.get("tenants") if isinstance(document, dict) else None
    if not isinstance(tenants, dict):
        raise UnreadableInput(f'{path}: a seed file is {{"tenants": {{TENANT: {{companies, customers, carts}}}}}}')
    position = 0
    for tenant, content in tenants.items():
        for plural, kind in SEED_KINDS.items():
            entries = content.get(plural, []) if isinstance(content, dict) else []
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                position += 1
                yield Record(position, f"tenants.{tenant}.{plural}[{index}]", str(tenant), kind, entry)
        settings = content.get("settings") if isinstance(content, dict) else None
        if settings is not None:  # the tenant's approval settings: one entry
            position += 1
            yield Record(position, f"tenants.{tenant}.settings", str(tenant), "setting", settings)


def validate(record: Record) -> Entry | str:
    """The record's entry, or why it is refused."""
    if isinstance(record.document, ImportRefusal):
        return record.document.reason
    if not TENANT.match(record.tenant):
        return f"tenant: '{record.tenant[:40]}' must match ^[a-z][a-z0-9]+$, 3 to 16 characters"
    model = KINDS.get(record.kind)
    if model is None:
        return f"kind: '{record.kind[:40]}' must be company, customer, cart, quote or settings"
    try:
        return model.model_validate(record.document)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            location = ".".join(str(part) for part in problem["loc"]) or "entry"
            message = "is not a field of the format" if problem["type"] == "extra_forbidden" else problem["msg"]
            problems.append(f"{location}: {str(message).removeprefix('Value error, ')}")
        return "; ".join(problems)


# --------------------------------------------------------------------------- resuming
def state_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.import-state.json")


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"file": str(path.resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns}


def load_state(path: Path, target: str) -> dict[str, Any] | None:
    try:
        state = json.loads(state_path(path).read_text())
    except (OSError, ValueError):
        return None
    if state.get("input") != _fingerprint(path) or state.get("target") != target:
        return None  # another file, or the file changed, or another table: start over
    return state if isinstance(state.get("done"), int) else None


def save_state(path: Path, target: str, done: int, summary: Summary) -> None:
    state = {"input": _fingerprint(path), "target": target, "done": done, "summary": vars(summary)}
    temporary = state_path(path).with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, state_path(path))


# --------------------------------------------------------------------------- the import
Report = Callable[[str], None]


def run_import(
    path: Path,
    writer: DynamoDirectoryWriter,
    target: str,
    *,
    restart: bool = False,
    report: Report = print,
    progress: TextIO | None = None,
) -> Summary:
    summary = Summary()
    state = None if restart else load_state(path, target)
    if state is not None:
        summary = Summary(**{**state["summary"], "skipped_reasons": dict(state["summary"].get("skipped_reasons", {}))})
        summary.resumed_from = state["done"]
    done = summary.resumed_from
    written_companies: set[tuple[str, str]] = set()
    named: set[tuple[str, str]] = set()
    chunk: list[tuple[Record, Entry]] = []
    ids: set[tuple[str, str, str]] = set()
    meter = _Progress(progress)

    def flush() -> None:
        nonlocal done
        if chunk:
            outcomes = writer.write_many(
                [(record.tenant, entry) for record, entry in chunk],
                named_before=named - written_companies,
            )
            for (record, entry), outcome in zip(chunk, outcomes, strict=True):
                if outcome is Outcome.WRITTEN:
                    summary.written += 1
                    if isinstance(entry, CompanyEntry):
                        written_companies.add((record.tenant, entry.id))
                    elif isinstance(entry, CustomerEntry):
                        named.update((record.tenant, cid) for cid in entry.companies)
                else:
                    summary.skipped += 1
                    reason = "older than stored" if outcome is Outcome.STALE else "already stored"
                    summary.skipped_reasons[reason] = summary.skipped_reasons.get(reason, 0) + 1
            done = chunk[-1][0].position
            chunk.clear()
            ids.clear()
        save_state(path, target, done, summary)
        meter.show(summary)

    for record in read_records(path):
        if record.position <= done and summary.resumed_from:
            continue
        summary.read += 1
        entry = validate(record)
        if isinstance(entry, str):
            summary.refused += 1
            report(f"refused {record.where}: {entry}")
            continue
        identity = (record.tenant, record.kind, entry.id)
        if identity in ids:  # one batch may not write an item twice: the earlier one goes first
            flush()
        chunk.append((record, entry))
        ids.add(identity)
        if len(chunk) >= CHUNK:
            flush()
    flush()
    # Companies whose members' items may hold an older record of them (they existed, or customers
    # were imported before them): bring the members up to date.
    by_tenant: dict[str, list[str]] = {}
    for tenant, company_id in written_companies:
        by_tenant.setdefault(tenant, []).append(company_id)
    for tenant, company_ids in by_tenant.items():
        for company_id in writer.pending_companies(tenant, company_ids):
            while not (propagation := writer.propagate_company(tenant, company_id, lambda: True)).complete:
                summary.companies_updated += propagation.members_updated
            summary.companies_updated += propagation.members_updated
    meter.finish(summary)
    state_path(path).unlink(missing_ok=True)
    return summary


class _Progress:
    """One status line on a terminal, rewritten at most twice a second."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._started = time.monotonic()
        self._shown = 0.0

    def show(self, summary: Summary, force: bool = False) -> None:
        now = time.monotonic()
        if self._stream is None or (not force and now - self._shown < 0.5):
            return
        self._shown = now
        rate = summary.read / max(now - self._started, 1e-6)
        self._stream.write(
            f"\r{summary.read:,} read, {summary.written:,} written, {summary.skipped:,} skipped, "
            f"{summary.refused:,} refused ({rate:,.0f}/s)"
        )
        self._stream.flush()

    def finish(self, summary: Summary) -> None:
        self.show(summary, force=True)
        if self._stream is not None:
            self._stream.write("\n")
            self._stream.flush()
