"""The list filter ``q``, the ``sort`` order and paging (contract: "List query parameters")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from approval_core.domain.query import (
    AllOf,
    AnyOf,
    Compare,
    Equals,
    QueryError,
    SortKey,
    paginate,
    parse_query,
    parse_sort,
    sort_documents,
)


def approval(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "a1",
        "status": "PENDING",
        "resourceType": "CART",
        "resource": {
            "id": "cart1",
            "siteCode": "main",
            "totalPrice": {"currency": "EUR", "amount": Decimal("10.10")},
            "items": [
                {"quantity": 1, "itemYrn": "urn:yaas:saasag:caasproduct:product:myshop;abc"},
                {"quantity": 5, "itemYrn": "urn:yaas:saasag:caasproduct:product:myshop;xyz"},
            ],
        },
        "requestor": {"userId": "u1", "firstName": "Ann"},
        "approver": {"userId": "u2"},
        "comment": None,
        "expiryDate": "2026-12-01T12:00:00.000Z",
        "metadata": {"createdAt": "2026-11-24T12:00:00.123Z", "version": 1},
    }
    document.update(overrides)
    return document


def matches(q: str, document: dict[str, Any] | None = None) -> bool:
    return parse_query(q).matches(approval() if document is None else document)


# --------------------------------------------------------------------------- the storefront's query
def test_storefront_query_status_any_of_and_site_code() -> None:
    query = parse_query("status:(PENDING,DECLINED) resource.siteCode:main")
    assert query.matches(approval())
    assert query.matches(approval(status="DECLINED"))
    assert not query.matches(approval(status="APPROVED"))
    assert not query.matches(approval(resource={"id": "cart1", "siteCode": "other"}))


@pytest.mark.parametrize("q", [None, "", "   ", "\t\n"])
def test_empty_query_matches_everything(q: str | None) -> None:
    query = parse_query(q)
    assert query.terms == ()
    assert query.matches(approval())
    assert query.matches({})


def test_terms_separated_by_any_whitespace_are_anded() -> None:
    assert matches("  status:PENDING \t requestor.userId:u1  ")
    assert not matches("status:PENDING requestor.userId:u2")


# --------------------------------------------------------------------------- equality
def test_equality_is_case_sensitive() -> None:
    assert matches("status:PENDING")
    assert not matches("status:pending")
    assert not matches("requestor.firstName:ann")


def test_number_equality_is_exact_decimal_not_text() -> None:
    assert matches("resource.totalPrice.amount:10.1")
    assert matches("resource.totalPrice.amount:10.10")
    assert matches("resource.totalPrice.amount:1.010e1")
    assert not matches("resource.totalPrice.amount:10.100001")
    assert not matches("resource.totalPrice.amount:10")


def test_number_equality_against_integer_field() -> None:
    assert matches("metadata.version:1")
    assert matches("metadata.version:1.0")
    assert not matches("metadata.version:2")


def test_text_field_that_looks_numeric_compares_as_text() -> None:
    assert matches("resource.id:007", approval(resource={"id": "007"}))
    assert not matches("resource.id:7", approval(resource={"id": "007"}))


def test_booleans_match_true_and_false() -> None:
    document = approval(flag=True)
    assert matches("flag:true", document)
    assert not matches("flag:True", document)
    assert not matches("flag:1", document)


def test_quoted_value_may_hold_spaces_commas_parentheses_colons_and_escapes() -> None:
    document = approval(comment='Ok, (see "note": 2)\\')
    assert matches(r'comment:"Ok, (see \"note\": 2)\\"', document)


def test_unquoted_value_may_contain_colons() -> None:
    assert matches("resource.items.itemYrn:urn:yaas:saasag:caasproduct:product:myshop;abc")


def test_quoted_keywords_are_plain_text() -> None:
    assert matches('comment:"null"', approval(comment="null"))
    assert not matches('comment:"null"')  # comment is None: only the keyword null matches it


# --------------------------------------------------------------------------- any of
def test_any_of_allows_spaces_and_quoted_members() -> None:
    assert matches('status:( APPROVED , "PENDING" )')
    assert not matches("status:(APPROVED,DECLINED)")


def test_any_of_may_include_null() -> None:
    assert matches("comment:(null,hello)")
    assert matches("comment:(null,hello)", approval(comment="hello"))
    assert not matches("comment:(null,hello)", approval(comment="bye"))


# --------------------------------------------------------------------------- comparisons and ranges
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("resource.totalPrice.amount:>10", True),
        ("resource.totalPrice.amount:>10.1", False),
        ("resource.totalPrice.amount:>=10.1", True),
        ("resource.totalPrice.amount:<10.2", True),
        ("resource.totalPrice.amount:<10.10", False),
        ("resource.totalPrice.amount:<=10.1", True),
        ("resource.totalPrice.amount:>9", True),  # numerically: as text "10.10" < "9"
    ],
)
def test_number_comparisons(q: str, expected: bool) -> None:
    assert matches(q) is expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('metadata.createdAt:>="2026-11-01T00:00:00.000Z"', True),
        ('metadata.createdAt:>="2026-11-24T12:00:00.123Z"', True),
        ('metadata.createdAt:>"2026-11-24T12:00:00.123Z"', False),
        ('metadata.createdAt:<"2026-12-01T00:00:00.000Z"', True),
        ('expiryDate:<="2026-11-30T23:59:59.999Z"', False),
        ("expiryDate:>2026-11-30T23:59:59.999Z", True),  # quotes are optional without spaces
    ],
)
def test_date_comparisons_with_quoted_instants(q: str, expected: bool) -> None:
    assert matches(q) is expected


def test_comparison_of_number_field_with_text_does_not_match() -> None:
    assert not matches("resource.totalPrice.amount:>abc")
    assert not matches("resource.totalPrice.amount:<abc")


def test_range_matches_inclusive_bounds() -> None:
    q = 'metadata.createdAt:(>="2026-11-24T00:00:00.000Z" AND <"2026-11-25T00:00:00.000Z")'
    assert matches(q)
    assert not matches(q, approval(metadata={"createdAt": "2026-11-25T00:00:00.000Z"}))
    assert matches("resource.totalPrice.amount:(>=10.1 AND <=10.1)")
    assert not matches("resource.totalPrice.amount:(>10 AND <10.1)")


def test_range_parses_to_all_of_comparisons() -> None:
    (term,) = parse_query("metadata.version:(>=1 AND <=3)").terms
    assert term.field == "metadata.version"
    assert term.condition == AllOf((Compare(">=", "1", Decimal(1)), Compare("<=", "3", Decimal(3))))


def test_comparison_and_regex_never_match_missing_or_null() -> None:
    assert not matches("comment:>a")
    assert not matches("missing.path:<=5")
    assert not matches("comment:~.*")
    assert not matches("missing:(>=1 AND <=3)")


# --------------------------------------------------------------------------- null and exists
@pytest.mark.parametrize(
    ("document", "is_null"),
    [
        (approval(comment="hi"), False),
        (approval(comment=""), False),
        (approval(comment=None), True),
        ({k: v for k, v in approval().items() if k != "comment"}, True),
    ],
    ids=["present", "empty-string", "explicit-None", "absent"],
)
def test_null_and_exists(document: dict[str, Any], is_null: bool) -> None:
    assert matches("comment:null", document) is is_null
    assert matches("comment:exists", document) is not is_null


def test_absent_path_matches_only_null() -> None:
    assert matches("nothing.here:null")
    assert not matches("nothing.here:exists")
    assert not matches("nothing.here:x")
    assert not matches("status.deeper:PENDING")  # a path through a text value is absent
    assert matches("status.deeper:null")


def test_object_exists_but_equals_nothing() -> None:
    assert matches("resource:exists")
    assert not matches("resource:cart1")


# --------------------------------------------------------------------------- regex
def test_regex_uses_search_and_is_case_sensitive() -> None:
    assert matches("requestor.firstName:~nn")
    assert matches("requestor.firstName:~^A")
    assert not matches("requestor.firstName:~^a")
    assert matches("status:~^(PENDING|DECLINED)$")


def test_quoted_regex_keeps_backslashes() -> None:
    assert matches(r'expiryDate:~"^\d{4}-12"')
    assert matches(r'comment:~"a b\.c"', approval(comment="xa b.c"))
    assert not matches(r'comment:~"a b\.c"', approval(comment="xa bxc"))


def test_regex_on_numbers_uses_their_text() -> None:
    assert matches(r"resource.totalPrice.amount:~^10\.10$")


def test_regexes_in_any_of() -> None:
    assert matches("requestor.firstName:(~^B,~^A)")


# --------------------------------------------------------------------------- paths through lists
def test_path_through_list_matches_any_element() -> None:
    assert matches("resource.items.itemYrn:~xyz$")
    assert matches("resource.items.quantity:5")
    assert not matches("resource.items.quantity:2")
    assert matches("resource.items.quantity:>4")


def test_group_conditions_hold_for_the_same_list_element() -> None:
    # quantities are 1 and 5: each bound alone is met by some item, both together by none.
    assert not matches("resource.items.quantity:(>1 AND <5)")
    assert matches("resource.items.quantity:(>=1 AND <5)")


def test_empty_list_counts_as_absent() -> None:
    document = approval(resource={"id": "cart1", "items": []})
    assert matches("resource.items.itemYrn:null", document)
    assert not matches("resource.items.itemYrn:exists", document)


# --------------------------------------------------------------------------- status narrowing
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("status:PENDING", frozenset({"PENDING"})),
        ("status:(PENDING,DECLINED) resource.siteCode:main", frozenset({"PENDING", "DECLINED"})),
        ("resource.siteCode:main", None),
        ("status:~PEND", None),
        ("status:(PENDING,null)", None),
        ("status:PENDING status:DECLINED", None),
        ("", None),
    ],
)
def test_status_values_for_store_narrowing(q: str, expected: frozenset[str] | None) -> None:
    assert parse_query(q).status_values() == expected


def test_parse_model_of_storefront_query() -> None:
    terms = parse_query("status:(PENDING,DECLINED) resource.siteCode:main").terms
    assert [term.field for term in terms] == ["status", "resource.siteCode"]
    assert terms[0].condition == AnyOf((Equals("PENDING"), Equals("DECLINED")))
    assert terms[1].path == ("resource", "siteCode")


# --------------------------------------------------------------------------- parse errors
@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("status:PENDING)", "q: unexpected ')' at position 14"),
        ("status:(PENDING,DECLINED", "q: missing ')' for '(' at position 7"),
        ("status:(PENDING", "q: missing ')' for '(' at position 7"),
        ("(status:PENDING)", "q: unexpected '(' at position 0"),
        ("status", "q: missing ':' after 'status' at position 6"),
        ("status PENDING", "q: missing ':' after 'status' at position 6"),
        (":PENDING", "q: missing field name before ':' at position 0"),
        ("status:", "q: missing value for 'status' at position 7"),
        ("status: resource.siteCode:main", "q: missing value for 'status' at position 7"),
        ("status:(PENDING,)", "q: missing value for 'status' at position 16"),
        ("status:()", "q: missing value for 'status' at position 8"),
        ("amount:>=", "q: missing value for 'amount' at position 9"),
        ('comment:"abc', "q: unterminated quoted value starting at position 8"),
        ('comment:"abc\\"', "q: unterminated quoted value starting at position 8"),
        ("a..b:x", "q: invalid field name 'a..b' at position 0"),
        ("first-name:x", "q: unexpected '-' after 'first'"),
        ("status:A,B", "q: unexpected ','"),
        ('status:"A"B', "q: unexpected 'B' at position 10"),
        ("x:(>=1, AND <=2)", "q: expected ',' or 'AND' or ')' in the group for 'x', found '<' at position 12"),
        ("x:(>=1 AND <=2, 3)", "q: cannot mix ',' and 'AND' in one group for 'x' at position 14"),
        ("x:(a b)", "q: expected ',' or 'AND' or ')' in the group for 'x', found 'b' at position 5"),
        ("x:((a))", "q: unexpected '(' (groups do not nest) at position 3"),
    ],
)
def test_syntax_errors_say_what_and_where(q: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_query(q)
    assert str(raised.value).startswith(message)


def test_invalid_regex_is_a_parse_error_with_position() -> None:
    with pytest.raises(QueryError, match=r"^q: invalid regular expression '\(unclosed' .* at position 18$"):
        parse_query("status:PENDING x:~(unclosed")


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


# --------------------------------------------------------------------------- sort parsing
def test_default_sort_is_newest_first() -> None:
    assert parse_sort(None) == [SortKey("metadata.createdAt", descending=True)]
    assert parse_sort("") == [SortKey("metadata.createdAt", descending=True)]
    assert parse_sort("  ") == [SortKey("metadata.createdAt", descending=True)]


def test_sort_directions() -> None:
    assert parse_sort("metadata.createdAt:desc,status") == [
        SortKey("metadata.createdAt", descending=True),
        SortKey("status"),
    ]
    assert parse_sort("a:DESC, b:asc ,c:ASC") == [SortKey("a", descending=True), SortKey("b"), SortKey("c")]


@pytest.mark.parametrize(
    ("sort", "message"),
    [
        ("status:down", "sort: direction of 'status' must be asc or desc, not 'down' at position 0"),
        ("status:Desc", "sort: direction of 'status' must be asc or desc"),
        ("status:", "sort: direction of 'status' must be asc or desc, not ''"),
        ("a,status:desc:x", "sort: direction of 'status' must be asc or desc, not 'desc:x' at position 2"),
        ("status,,id", "sort: missing field name at position 7"),
        ("status,", "sort: missing field name at position 7"),
        (":desc", "sort: missing field name at position 0"),
        ("a b", "sort: invalid field name 'a b' at position 0"),
    ],
)
def test_bad_sort_is_a_query_error_naming_sort(sort: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_sort(sort)
    assert str(raised.value).startswith(message)


# --------------------------------------------------------------------------- sorting
def ids(documents: list[dict[str, Any]]) -> list[str]:
    return [document["id"] for document in documents]


def test_sort_newest_first_by_default() -> None:
    documents = [
        approval(id="old", metadata={"createdAt": "2026-11-01T00:00:00.000Z"}),
        approval(id="new", metadata={"createdAt": "2026-11-03T00:00:00.000Z"}),
        approval(id="mid", metadata={"createdAt": "2026-11-02T00:00:00.000Z"}),
    ]
    assert ids(sort_documents(documents, parse_sort(None))) == ["new", "mid", "old"]
    assert ids(sort_documents(documents, parse_sort("metadata.createdAt:asc"))) == ["old", "mid", "new"]


def test_sort_by_several_keys() -> None:
    documents = [
        approval(id="1", status="PENDING", expiryDate="2026-12-02"),
        approval(id="2", status="APPROVED", expiryDate="2026-12-01"),
        approval(id="3", status="PENDING", expiryDate="2026-12-03"),
        approval(id="4", status="APPROVED", expiryDate="2026-12-04"),
    ]
    assert ids(sort_documents(documents, parse_sort("status,expiryDate:desc"))) == ["4", "2", "3", "1"]
    assert ids(sort_documents(documents, parse_sort("status:desc,expiryDate"))) == ["1", "3", "2", "4"]


def test_ties_are_broken_by_id_in_the_direction_of_the_first_sort_field() -> None:
    # The default order (createdAt desc) must break ties as DynamoDB orders the participants'
    # copies (createdAt#id, read newest first): id descending. One rule covers every sort.
    documents = [approval(id=i, status="PENDING") for i in ("c", "a", "b")]
    assert ids(sort_documents(documents, parse_sort("status"))) == ["a", "b", "c"]
    assert ids(sort_documents(documents, parse_sort("status:desc"))) == ["c", "b", "a"]
    assert ids(sort_documents(documents, parse_sort(None))) == ["c", "b", "a"]


def test_numbers_sort_numerically() -> None:
    documents = [
        approval(id="ten", resource={"totalPrice": {"amount": Decimal("10.10")}}),
        approval(id="nine", resource={"totalPrice": {"amount": 9}}),
        approval(id="hundred", resource={"totalPrice": {"amount": Decimal("100")}}),
    ]
    assert ids(sort_documents(documents, parse_sort("resource.totalPrice.amount"))) == ["nine", "ten", "hundred"]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_missing_and_null_values_sort_last_in_both_directions(direction: str) -> None:
    documents = [
        approval(id="none", comment=None),
        approval(id="b", comment="b"),
        {k: v for k, v in approval(id="absent").items() if k != "comment"},
        approval(id="a", comment="a"),
    ]
    present = ["a", "b"] if direction == "asc" else ["b", "a"]
    missing = ["absent", "none"] if direction == "asc" else ["none", "absent"]  # tied: by id, same direction
    assert ids(sort_documents(documents, parse_sort(f"comment:{direction}"))) == [*present, *missing]


def test_mixed_types_sort_numbers_before_text_without_error() -> None:
    documents = [
        approval(id="text", comment="abc"),
        approval(id="num", comment=Decimal("5")),
        approval(id="obj", comment={"x": 1}),
        approval(id="bool", comment=True),
    ]
    assert ids(sort_documents(documents, parse_sort("comment"))) == ["num", "text", "bool", "obj"]


def test_sort_does_not_change_its_input() -> None:
    documents = [approval(id="b"), approval(id="a")]
    sort_documents(documents, parse_sort("id"))
    assert ids(documents) == ["b", "a"]


# --------------------------------------------------------------------------- pagination
@pytest.mark.parametrize(
    ("page_number", "page_size", "expected"),
    [
        (1, 2, [0, 1]),
        (2, 2, [2, 3]),
        (3, 2, [4]),  # the last page is partial
        (4, 2, []),  # past the end is empty, not an error
        (1, 60, [0, 1, 2, 3, 4]),
        (5, 1, [4]),
    ],
)
def test_paginate_slices_one_based_pages(page_number: int, page_size: int, expected: list[int]) -> None:
    assert paginate([0, 1, 2, 3, 4], page_number, page_size) == expected


@pytest.mark.parametrize(("page_number", "page_size"), [(0, 10), (1, 0)])
def test_paginate_rejects_pages_below_one(page_number: int, page_size: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        paginate([], page_number, page_size)


def test_sorted_pages_never_overlap_or_skip() -> None:
    documents = [approval(id=f"{n:02d}", status="PENDING") for n in range(7)]
    ordered = sort_documents(documents, parse_sort("status"))
    pages = [paginate(ordered, number, 3) for number in (1, 2, 3)]
    assert [ids(page) for page in pages] == [["00", "01", "02"], ["03", "04", "05"], ["06"]]
