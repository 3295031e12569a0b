"""Input chosen to hurt the service: regexes that backtrack, numbers that cannot be compared,
endless queries, large ids, paging through ties, PATCH bodies with several errors at once.
Every one ends in an answer (a result or the contract's 400), quickly and with a short message."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approval_core.adapters.item_limits import MAX_NESTING_DEPTH, item_size, nesting_depth, storable_number
from approval_core.domain.errors import (
    ApprovalError,
    ApprovalNotFound,
    ConcurrentModification,
    InvalidPatchOperation,
    InvalidStatusValue,
    NoPermission,
    PatchPathNotSupported,
    StatusChangeNotAllowed,
    ValidationFailed,
)
from approval_core.domain.query import (
    MAX_PATTERN_LENGTH,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    QueryError,
    parse_query,
    parse_sort,
)
from approval_core.service import ApprovalService, ListRequest
from tests.fakes import InMemoryApprovalStore
from tests.unit.conftest import caller, request
from tests.world import TENANT

CRAFTED_COMMENT = "a" * 40 + "!"
CATASTROPHIC_PATTERNS = ["(a|aa)+$", "^(a+)+$", "(a*)*$", "(a|a?)+$", "^(a|a)*$", "(.*a){20}$", "(a+){10}b"]
# What a backtracking engine needs seconds to minutes for on CRAFTED_COMMENT; RE2 microseconds.
GENEROUS_BOUND_SECONDS = 2.0


# --------------------------------------------------------------------------- regular expressions
@pytest.mark.parametrize("pattern", CATASTROPHIC_PATTERNS)
def test_catastrophic_regex_answers_quickly(pattern: str) -> None:
    query = parse_query(f"comment:~{pattern}")
    started = time.monotonic()
    query.matches({"comment": CRAFTED_COMMENT})
    assert time.monotonic() - started < GENEROUS_BOUND_SECONDS


def test_regex_still_matches_as_a_search() -> None:
    assert parse_query("comment:~^a+!$").matches({"comment": CRAFTED_COMMENT})
    assert parse_query("status:~^(PENDING|DECLINED)$").matches({"status": "DECLINED"})
    assert not parse_query("status:~^(PENDING|DECLINED)$").matches({"status": "APPROVED"})


def test_regex_longer_than_the_cap_is_refused_naming_q_and_the_position() -> None:
    pattern = "a" * (MAX_PATTERN_LENGTH + 1)
    with pytest.raises(QueryError, match=rf"^q: regular expression longer than {MAX_PATTERN_LENGTH} .* position 9$"):
        parse_query(f"comment:~{pattern}")
    assert parse_query(f"comment:~{'a' * MAX_PATTERN_LENGTH}").terms


@pytest.mark.parametrize(
    ("pattern", "position"),
    [("(a)\\1", 24), ("(?=a)b", 24), ("(?<!a)b", 24), ("a(?!b)", 24)],
    ids=["backreference", "lookahead", "lookbehind", "negative-lookahead"],
)
def test_what_re2_cannot_do_is_refused_naming_q_and_the_position(pattern: str, position: int) -> None:
    with pytest.raises(QueryError, match=rf"^q: invalid regular expression .*RE2 .* at position {position}$"):
        parse_query(f"status:PENDING comment:~{pattern}")


# --------------------------------------------------------------------------- values parsed once
@pytest.mark.parametrize(
    "value", ["1e-99999999999999999999", "9e99999999999999999999", "(>=1 AND <=1e-9999999999999999999)"]
)
def test_a_number_that_cannot_be_compared_is_refused_when_q_is_parsed(value: str) -> None:
    with pytest.raises(QueryError, match=r"^q: the number .* is out of range at position \d+$"):
        parse_query(f"status:{value}")


def test_large_but_representable_numbers_compare_without_error() -> None:
    document = {"resource": {"totalPrice": {"amount": 10}}}
    assert parse_query("resource.totalPrice.amount:<1e999999").matches(document)
    assert not parse_query("resource.totalPrice.amount:1e-999999").matches(document)


def test_q_longer_than_the_cap_is_refused() -> None:
    with pytest.raises(QueryError, match=rf"^q: longer than {MAX_QUERY_LENGTH} characters"):
        parse_query("status:" + "A" * MAX_QUERY_LENGTH)


def test_more_terms_than_the_cap_are_refused() -> None:
    assert len(parse_query(" ".join(["status:PENDING"] * MAX_TERMS)).terms) == MAX_TERMS
    with pytest.raises(QueryError, match=rf"^q: more than {MAX_TERMS} terms"):
        parse_query(" ".join(["status:PENDING"] * (MAX_TERMS + 1)))


@pytest.mark.parametrize(
    "build",
    [
        lambda big: parse_query(f"{big}!:x"),
        lambda big: parse_query(f"status:~({big}"),
        lambda big: parse_sort(f"{big}!"),
        lambda big: parse_sort(f"status:{big}"),
    ],
    ids=["q-field", "q-regex", "sort-field", "sort-direction"],
)
def test_error_messages_quote_only_a_short_prefix_of_the_input(build: Any) -> None:
    with pytest.raises(QueryError) as raised:
        build("x" * 1500)
    assert len(str(raised.value)) < 300


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_as_q_parses_or_is_a_query_error(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as error:
        refusal = str(error)
    else:
        # A parsed query can be matched against any document without an exception.
        refusal = "q: "
        query.matches({"status": "PENDING", "comment": text, "resource": {"items": [{"quantity": 1}]}})
    assert refusal.startswith("q: ")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_sort_parses_or_is_a_query_error(text: str) -> None:
    try:
        parse_sort(text)
    except QueryError as error:
        refusal = str(error)
    else:
        refusal = "sort: "
    assert refusal.startswith("sort: ")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["status", "comment", "resource.totalPrice.amount", "metadata.createdAt", "x"]),
            st.sampled_from([":", ":(", ")", ",", " AND ", "~", ">", "<=", '"', "\\", " ", "null", "exists"]),
            st.from_regex(r"[0-9eE.+-]{1,12}", fullmatch=True),
            st.text(max_size=8),
        ),
        max_size=12,
    )
)
def test_query_like_text_parses_or_is_a_query_error(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        query = parse_query(text)
    except QueryError:
        return
    query.matches({"status": "PENDING", "resource": {"totalPrice": {"amount": 10}}, "metadata": {"createdAt": "x"}})


# --------------------------------------------------------------------------- bounded lists
def test_a_filtered_list_reads_at_most_the_scan_bound_and_then_refuses(
    service: ApprovalService, store: InMemoryApprovalStore
) -> None:
    bounded = ApprovalService(
        store=store,
        directory=service.directory,
        carts=service.carts,
        reads=service.reads,
        clock=service.clock,
        list_scan_limit=1,
    )
    service.create_approval(caller("req"), request("cart-req"))
    filtered = ListRequest(query=parse_query("status:PENDING"), sort=parse_sort(None), default_sort=True)
    assert len(bounded.list_approvals(caller("req"), filtered).approvals) == 1
    service.create_approval(caller("req"), request("cart-req-2"))
    with pytest.raises(ValidationFailed, match="at most 1 approvals"):
        bounded.list_approvals(caller("req"), filtered)
    # Unfiltered newest-first pages read only what the page needs, and so are never refused.
    unfiltered = ListRequest(query=parse_query(None), sort=parse_sort(None), page_size=1)
    assert len(bounded.list_approvals(caller("req"), unfiltered).approvals) == 1


def test_pages_in_the_default_order_never_overlap_or_skip_when_created_at_ties(
    service: ApprovalService, store: InMemoryApprovalStore
) -> None:
    # The clock stands still: every approval has the same createdAt, as in one busy millisecond.
    created = {service.create_approval(caller("req"), request(cart)) for cart in ("cart-req", "cart-req-2")}
    first = store.approvals[(TENANT, next(iter(created)))]
    for number in range(4):
        store.approvals[(TENANT, f"tie-{number}")] = first.model_copy(update={"id": f"tie-{number}"})
        created.add(f"tie-{number}")
    seen = []
    for page_number in range(1, 10):
        page = service.list_approvals(
            caller("req"),
            ListRequest(query=parse_query(None), sort=parse_sort(None), page_number=page_number, page_size=1),
        ).approvals
        seen.extend(document["id"] for document in page)
    everything = service.list_approvals(caller("req"), ListRequest(query=parse_query(None), sort=parse_sort(None)))
    assert seen == [document["id"] for document in everything.approvals]
    assert sorted(seen) == sorted(created)


# --------------------------------------------------------------------------- PATCH error order
def op(operation: str, path: str, value: Any = ...) -> dict[str, Any]:
    return {"op": operation, "path": path} | ({} if value is ... else {"value": value})


# One operation per failure, each failing alone with its code when the requestor sends it, in
# the contract's order ("Which error comes first", PATCH).
FAILURES_IN_ORDER: list[tuple[str, dict[str, Any], type[ApprovalError]]] = [
    ("400010-absent", op("REMOVE", "/comment"), InvalidPatchOperation),  # created without a comment
    ("400010-op", op("MOVE", "/comment", "x"), InvalidPatchOperation),
    ("400007", op("REPLACE", "/id", "other"), PatchPathNotSupported),
    ("400008", op("ADD", "/approverComment", "mine"), NoPermission),
    ("400003", op("REPLACE", "/status", "BOGUS"), InvalidStatusValue),
    ("400002", op("REPLACE", "/status", "APPROVED"), StatusChangeNotAllowed),
]
PAIRS = [
    (first, second)
    for index, first in enumerate(FAILURES_IN_ORDER)
    for second in FAILURES_IN_ORDER[index + 1 :]
    if first[2] is not second[2]
]


@pytest.mark.parametrize(("name", "operation", "error"), FAILURES_IN_ORDER, ids=[f[0] for f in FAILURES_IN_ORDER])
def test_each_patch_failure_alone_has_its_code(
    service: ApprovalService, name: str, operation: dict[str, Any], error: type[ApprovalError]
) -> None:
    approval_id = service.create_approval(caller("req"), request())
    with pytest.raises(error):
        service.update_approval(caller("req"), approval_id, [operation], if_match="99")


@pytest.mark.parametrize(("earlier", "later"), PAIRS, ids=[f"{a[0]}-before-{b[0]}" for a, b in PAIRS])
@pytest.mark.parametrize("order", ["earlier-first", "later-first"])
def test_patch_errors_come_in_the_contracts_order(
    service: ApprovalService, earlier: tuple[Any, ...], later: tuple[Any, ...], order: str
) -> None:
    approval_id = service.create_approval(caller("req"), request())
    operations = [earlier[1], later[1]] if order == "earlier-first" else [later[1], earlier[1]]
    # A wrong If-Match (409002) ranks after every one of them.
    with pytest.raises(earlier[2]):
        service.update_approval(caller("req"), approval_id, operations, if_match="99")


def test_the_version_comes_last(service: ApprovalService) -> None:
    approval_id = service.create_approval(caller("req"), request())
    with pytest.raises(ConcurrentModification):
        service.update_approval(caller("req"), approval_id, [op("ADD", "/comment", "x")], if_match="99")


# --------------------------------------------------------------------------- path ids
# An id that breaks the rules is 400001 naming approvalId; one holding "/" (a client's encoded
# %2F, decoded by API Gateway) names no approval: the contract's 404001. Neither reaches the store.
IMPOSSIBLE_IDS = [
    ("x" * 3000, ValidationFailed),
    ("a#b", ValidationFailed),
    ("tab\there", ValidationFailed),
    ("nul\x00", ValidationFailed),
    ("", ValidationFailed),
    ("a/b", ApprovalNotFound),
    ("ann:order-1/", ApprovalNotFound),
    ("/" + "x" * 3000, ApprovalNotFound),
]


@pytest.mark.parametrize(
    ("approval_id", "error"),
    IMPOSSIBLE_IDS,
    ids=["3000-chars", "hash", "tab", "nul", "empty", "slash", "trailing-slash", "slash-3000"],
)
def test_an_id_no_approval_can_have_is_refused_before_any_read(
    service: ApprovalService, store: InMemoryApprovalStore, approval_id: str, error: type[ApprovalError]
) -> None:
    before = store.requests
    for attempt in (
        lambda: service.get_approval(caller("req"), approval_id),
        lambda: service.update_approval(caller("req"), approval_id, [op("ADD", "/comment", "x")]),
        lambda: service.close_approval(caller("req"), approval_id),
    ):
        with pytest.raises(error) as raised:
            attempt()
        if error is ValidationFailed:
            assert raised.value.details[0].field == "approvalId"
        assert len(raised.value.message) < 120
    assert store.requests == before


# --------------------------------------------------------------------------- DynamoDB's measures
def typed(value: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer().serialize(value)  # type: ignore[return-value]


def test_item_size_follows_dynamodbs_published_rules() -> None:
    # Strings: UTF-8 bytes of name and value; numbers: 1 byte per 2 significant digits + 1;
    # booleans and nulls: 1; lists and maps: 3 + 1 per element (+ member names).
    assert item_size({"name": typed("Anna")}) == 4 + 4
    assert item_size({"ü": typed("ßß")}) == 2 + 4
    assert item_size({"n": {"N": "12345"}}) == 1 + 3 + 1
    assert item_size({"n": {"N": "10.10"}}) == item_size({"n": {"N": "10.1"}}) == 1 + 3  # zeros trimmed
    assert item_size({"b": typed(True), "z": typed(None)}) == 2 + 2
    assert item_size({"l": typed(["ab", "c"])}) == 1 + 3 + (1 + 2) + (1 + 1)
    assert item_size({"m": typed({"k": "v"})}) == 1 + 3 + (1 + 1 + 1)


def test_nesting_depth_counts_maps_and_lists() -> None:
    assert nesting_depth({"s": typed("flat")}) == 0
    assert nesting_depth({"m": typed({"a": {"b": [1]}})}) == 3
    deep: Any = "bottom"
    for _ in range(MAX_NESTING_DEPTH + 5):
        deep = {"d": deep}
    assert nesting_depth({"m": typed(deep)}) == MAX_NESTING_DEPTH + 5


@pytest.mark.parametrize(
    ("text", "storable"),
    [("0", True), ("1E+125", True), ("1E+126", False), ("1E-130", True), ("1E-131", False), ("1" * 38, True)],
)
def test_storable_numbers_are_dynamodbs(text: str, storable: bool) -> None:
    from decimal import Decimal

    assert storable_number(Decimal(text)) is storable
    assert storable_number(Decimal("1" * 39)) is False


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.none() | st.booleans() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)))
def test_nesting_depth_of_any_document_is_its_list_depth(document: Any) -> None:
    def depth(value: Any) -> int:
        return 1 + max((depth(element) for element in value), default=0) if isinstance(value, list) else 0

    assert nesting_depth({"a": typed(document)}) == depth(document)
