"""The ``q`` filter, the ``sort`` order and paging of GET /approval/{tenant}/approvals.

Reference: docs/api.md, "Lists: paging, sorting, filtering". Pure functions over the approval as a
JSON-like dict (nested dicts and lists, ``str``, ``int``, ``Decimal``, ``bool``, ``None``); no I/O.

Grammar of ``q`` (terms are ANDed; positions in error messages are 0-based offsets into ``q``)::

    query     := { whitespace } { term { whitespace } }     terms separated by whitespace
    term      := field ':' condition
    field     := segment { '.' segment }                    segment: letters, digits, '_'
    condition := group | single
    group     := '(' single { ',' single } ')'              any of
               | '(' single { 'AND' single } ')'            all of, e.g. (>=a AND <=b)
    single    := 'null' | 'exists' | '~' regex | ( '>' | '>=' | '<' | '<=' ) value | value
    value     := '"' chars with \\" and \\\\ escapes '"' | bare

A bare value ends at whitespace and must not contain ``( ) , "`` (quote it if it must); it may
contain ':' so item YRNs (``urn:yaas:...``) work unquoted. A bare regex ends only at whitespace at the
top level (so ``~^(PENDING|DECLINED)$`` works), and at ``,`` or ``)`` inside a group. Quoted text is
always a literal: ``"null"`` is the word null, ``">5"`` is the text >5.

The lexer is driven by the parser (it is asked for "a field" or "a value" at each point) rather
than running ahead on its own, because what counts as one token depends on where we are: after ':'
a value may contain '.', ':' or '>', and a bare regex may contain parentheses.

Matching: a path absent from the document, or null, matches only ``null``. A path through a list
(``resource.items.itemYrn``) matches when any element matches (an empty list counts as absent),
and a group's conditions must all hold for the same element. Numbers are compared as ``Decimal``, never as floats.

Bounded work: every value is parsed once, here, so matching cannot fail; ``q`` has at most
``MAX_QUERY_LENGTH`` characters and ``MAX_TERMS`` terms; a regex has at most ``MAX_PATTERN_LENGTH``
characters and runs on RE2, whose time is linear in the text it scans (no backtracking, so no
pattern can make it run away). Matching one document therefore costs at most
terms x values at the path x (pattern size x text size), and the text of a stored approval is
bounded by DynamoDB's 400 KB item.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, cmp_to_key
from typing import Any, Literal, TypeVar

from approval_core.domain.errors import excerpt

DEFAULT_SORT_FIELD = "metadata.createdAt"
CREATED_AT_FIELD = "metadata.createdAt"
CREATED_AT_LENGTH = len("2026-01-01T00:00:00.000Z")
TIE_BREAK_FIELD = "id"

MAX_QUERY_LENGTH = 2048
MAX_TERMS = 20
MAX_PATTERN_LENGTH = 256

_FIELD = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_FIELD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
# What the query accepts as a number: plain decimal notation, no NaN/Infinity (Decimal would take them).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Characters that end a bare value (besides whitespace); inside a value they need quotes.
_VALUE_STOPS = '(),"'
_GROUP_REGEX_STOPS = ",)"

Operator = Literal[">", ">=", "<", "<="]


class QueryError(ValueError):
    """``q`` or ``sort`` is malformed; the message names the parameter and the position."""


# --------------------------------------------------------------------------- reading values
def _number(value: Any) -> Decimal | None:
    """The document value as a Decimal when it is a number (bool is not), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):  # not expected in documents; convert via text, never compute in float
        number = Decimal(repr(value))
        return number if number.is_finite() else None
    return None


def _query_number(text: str) -> Decimal | None:
    """The query value as a number, when it is written as one; None for text. Raises
    InvalidOperation for numerals Decimal cannot hold (an exponent beyond its range)."""
    return Decimal(text) if _NUMBER.fullmatch(text) else None


@cache
def _regex_options() -> Any:
    """RE2, imported with the first regex: a function that never filters by one never loads it."""
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is the client's 400, not a line on stderr
    return options


def _text(value: Any) -> str | None:
    """The document value as the text a query compares it with; None for objects and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    number = _number(value)
    return None if number is None else str(number)


def _resolve(value: Any, path: Sequence[str]) -> Iterator[Any]:
    """Every value at ``path``: lists along the way fan out, a missing step yields None."""
    if isinstance(value, list | tuple):
        for element in value:
            yield from _resolve(element, path)
    elif not path:
        yield value
    elif isinstance(value, Mapping):
        yield from _resolve(value.get(path[0]), path[1:])
    else:
        yield None  # a step into a scalar or into nothing: absent


# --------------------------------------------------------------------------- the query model
class Condition(ABC):
    """What one value at a term's path must satisfy (``None`` = absent or null)."""

    @abstractmethod
    def test(self, value: Any) -> bool: ...


@dataclass(frozen=True)
class IsNull(Condition):
    """``field:null``: absent or null."""

    def test(self, value: Any) -> bool:
        return value is None


@dataclass(frozen=True)
class Exists(Condition):
    """``field:exists``: present and not null."""

    def test(self, value: Any) -> bool:
        return value is not None


@dataclass(frozen=True)
class Equals(Condition):
    """``field:value``: numerically when both sides are numbers (10.1 equals 10.10), else as text."""

    text: str
    number: Decimal | None = None  # the value as a number, parsed with the query

    def test(self, value: Any) -> bool:
        document_number = _number(value)
        if document_number is not None and self.number is not None:
            return document_number == self.number
        return _text(value) == self.text


@dataclass(frozen=True)
class Compare(Condition):
    """``field:>value`` and friends: numbers numerically, text lexicographically (ISO-8601 instants
    of one fixed format order correctly as text). A number against non-numeric text has no order
    and does not match; neither does an absent value."""

    operator: Operator
    text: str
    number: Decimal | None = None  # the value as a number, parsed with the query

    def test(self, value: Any) -> bool:
        document_number = _number(value)
        if document_number is not None:
            return self.number is not None and _holds(self.operator, document_number, self.number)
        document_text = _text(value)
        return document_text is not None and _holds(self.operator, document_text, self.text)


def _holds(operator: Operator, left: Any, right: Any) -> bool:
    if operator == ">":
        return bool(left > right)
    if operator == ">=":
        return bool(left >= right)
    if operator == "<":
        return bool(left < right)
    return bool(left <= right)


@dataclass(frozen=True)
class Matches(Condition):
    """``field:~regex``: an RE2 search on the value's text; never matches an absent value."""

    pattern: Any  # a compiled RE2 pattern (the module has no type hints)

    def test(self, value: Any) -> bool:
        text = _text(value)
        return text is not None and self.pattern.search(text) is not None


@dataclass(frozen=True)
class AnyOf(Condition):
    """``field:(a,b)``."""

    options: tuple[Condition, ...]

    def test(self, value: Any) -> bool:
        return any(option.test(value) for option in self.options)


@dataclass(frozen=True)
class AllOf(Condition):
    """``field:(>=a AND <=b)``."""

    conditions: tuple[Condition, ...]

    def test(self, value: Any) -> bool:
        return all(condition.test(value) for condition in self.conditions)


@dataclass(frozen=True)
class Term:
    field: str  # dotted path, validated by the parser
    condition: Condition

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))

    def matches(self, document: Mapping[str, Any]) -> bool:
        # An absent path (or an empty list on the way) is tested as None, so it matches only null.
        values = list(_resolve(document, self.path)) or [None]
        return any(self.condition.test(value) for value in values)


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...] = ()

    def matches(self, document: Mapping[str, Any]) -> bool:
        return all(term.matches(document) for term in self.terms)

    def status_values(self) -> frozenset[str] | None:
        """The statuses a matching document must have, when the query says so plainly (one
        ``status`` term, equality or any-of of values), so a store can narrow its read; else None.
        A narrowed read must still be filtered with ``matches``."""
        status_terms = [term for term in self.terms if term.field == "status"]
        if len(status_terms) != 1:
            return None
        condition = status_terms[0].condition
        options = condition.options if isinstance(condition, AnyOf) else (condition,)
        values = [option.text for option in options if isinstance(option, Equals)]
        return frozenset(values) if len(values) == len(options) else None

    def only_status(self) -> bool:
        """True when the query is nothing but a plain status filter (or empty): its matches are
        then exactly the approvals of those statuses."""
        return all(term.field == "status" for term in self.terms) and (
            not self.terms or self.status_values() is not None
        )

    def created_range(self) -> tuple[str | None, str | None] | None:
        """Bounds (inclusive, as text) that every matching ``metadata.createdAt`` lies within,
        from terms of plain comparisons; None when the query sets none. A superset: a store may
        narrow its read to it, and the result must still be filtered with ``matches``."""
        low: str | None = None
        high: str | None = None
        bounded = False
        for term in self.terms:
            if term.field != CREATED_AT_FIELD:
                continue
            conditions = term.condition.conditions if isinstance(term.condition, AllOf) else (term.condition,)
            for condition in conditions:
                if isinstance(condition, Equals) or (isinstance(condition, Compare) and condition.operator[0] == ">"):
                    low = condition.text if low is None else max(low, condition.text)
                    bounded = True
                if (
                    isinstance(condition, Equals) or (isinstance(condition, Compare) and condition.operator[0] == "<")
                ) and (len(condition.text) <= CREATED_AT_LENGTH):
                    # A createdAt (always this long) at most the value sorts at most value + any suffix.
                    candidate = condition.text + "\uffff"
                    high = candidate if high is None else min(high, candidate)
                    bounded = True
        return (low, high) if bounded else None


# --------------------------------------------------------------------------- parsing q
@dataclass(frozen=True)
class _Value:
    text: str
    start: int
    quoted: bool


class _Parser:
    """Recursive descent over ``q``; one method per grammar rule (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # ---- lexing helpers
    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _skip_whitespace(self) -> None:
        while not self._at_end() and self.text[self.pos].isspace():
            self.pos += 1

    def _error(self, message: str, position: int | None = None) -> QueryError:
        return QueryError(f"q: {message} at position {self.pos if position is None else position}")

    def _unexpected(self) -> QueryError:
        return self._error(f"unexpected {self._peek()!r}")

    def _read_field(self) -> str:
        start = self.pos
        while self._peek() and self._peek() in _FIELD_CHARS:
            self.pos += 1
        field = self.text[start : self.pos]
        if not field:
            if self._peek() == ":":
                raise self._error("missing field name before ':'")
            raise self._unexpected()
        if not _FIELD.fullmatch(field):
            raise self._error(f"invalid field name {excerpt(field)}", start)
        if self._peek() != ":":
            if self._at_end() or self._peek().isspace():
                raise self._error(f"missing ':' after {excerpt(field)}")
            raise self._error(
                f"unexpected {self._peek()!r} after {excerpt(field)}; field names are letters, digits, '_', '.'"
            )
        return field

    def _read_value(self, field: str, stops: str = _VALUE_STOPS) -> _Value:
        start = self.pos
        if self._peek() == '"':
            return _Value(self._read_quoted(), start, quoted=True)
        while not self._at_end() and not self._peek().isspace() and self._peek() not in stops:
            self.pos += 1
        if self.pos == start:
            raise self._error(f"missing value for {field!r}")
        return _Value(self.text[start : self.pos], start, quoted=False)

    def _read_quoted(self) -> str:
        # Only \" and \\ are escapes; any other backslash stays, so "\d+" reaches a regex intact.
        opening = self.pos
        self.pos += 1
        chars: list[str] = []
        while not self._at_end():
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(chars)
            if char == "\\" and self.text[self.pos + 1 : self.pos + 2] in ('"', "\\"):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            chars.append(char)
            self.pos += 1
        raise self._error("unterminated quoted value starting", opening)

    # ---- grammar rules
    def query(self) -> Query:
        if len(self.text) > MAX_QUERY_LENGTH:
            raise QueryError(f"q: longer than {MAX_QUERY_LENGTH} characters at position {MAX_QUERY_LENGTH}")
        terms: list[Term] = []
        self._skip_whitespace()
        while not self._at_end():
            if len(terms) == MAX_TERMS:
                raise self._error(f"more than {MAX_TERMS} terms")
            terms.append(self._term())
            if not self._at_end() and not self._peek().isspace():
                if self._peek() == ",":
                    raise self._error("unexpected ','; quote a value with commas or write field:(a,b) for any of")
                raise self._unexpected()
            self._skip_whitespace()
        return Query(tuple(terms))

    def _term(self) -> Term:
        field = self._read_field()
        self.pos += 1  # the ':' that _read_field saw
        if self._peek() == "(":
            return Term(field, self._group(field))
        return Term(field, self._single(field, in_group=False))

    def _group(self, field: str) -> Condition:
        opening = self.pos
        self.pos += 1
        conditions: list[Condition] = []
        separator: str | None = None  # ',' or 'AND', whichever the group uses first
        while True:
            self._skip_whitespace()
            conditions.append(self._single(field, in_group=True))
            self._skip_whitespace()
            if self._at_end():
                raise self._error("missing ')' for '('", opening)
            if self._peek() == ")":
                self.pos += 1
                break
            found = "," if self._peek() == "," else "AND" if self._at_and() else None
            if found is None:
                raise self._error(f"expected ',' or 'AND' or ')' in the group for {field!r}, found {self._peek()!r}")
            if separator not in (None, found):
                raise self._error(f"cannot mix ',' and 'AND' in one group for {field!r}")
            separator = found
            self.pos += len(found)
        if len(conditions) == 1:
            return conditions[0]
        return AllOf(tuple(conditions)) if separator == "AND" else AnyOf(tuple(conditions))

    def _at_and(self) -> bool:
        after = self.text[self.pos + 3 : self.pos + 4]
        return self.text.startswith("AND", self.pos) and after.isspace()

    def _single(self, field: str, *, in_group: bool) -> Condition:
        char = self._peek()
        if char in ("<", ">"):
            operator: Operator = ">" if char == ">" else "<"
            self.pos += 1
            if self._peek() == "=":
                operator = ">=" if operator == ">" else "<="
                self.pos += 1
            value = self._read_value(field)
            return Compare(operator, value.text, self._number(value))
        if char == "~":
            self.pos += 1
            return Matches(self._regex(self._read_value(field, _GROUP_REGEX_STOPS if in_group else "")))
        if char == "(":
            raise self._error("unexpected '(' (groups do not nest)")
        value = self._read_value(field)
        if not value.quoted and value.text == "null":
            return IsNull()
        if not value.quoted and value.text == "exists":
            return Exists()
        return Equals(value.text, self._number(value))

    def _number(self, value: _Value) -> Decimal | None:
        try:
            return _query_number(value.text)
        except InvalidOperation:
            raise self._error(f"the number {excerpt(value.text)} is out of range", value.start) from None

    def _regex(self, value: _Value) -> Any:
        """RE2 runs in time linear in the text, whatever the pattern; it has no backreferences or
        lookaround, and patterns that use them are refused rather than run on a slower engine."""
        if len(value.text) > MAX_PATTERN_LENGTH:
            raise self._error(f"regular expression longer than {MAX_PATTERN_LENGTH} characters", value.start)
        options = _regex_options()
        import re2

        try:
            return re2.compile(value.text, options)
        except re2.error as error:
            reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else ""
            syntax = "RE2 syntax: no backreferences or lookaround"
            raise self._error(
                f"invalid regular expression {excerpt(value.text)} ({reason[:80]}; {syntax})", value.start
            ) from None


def parse_query(q: str | None) -> Query:
    """Parse ``q``; empty or whitespace-only matches everything. Raises QueryError."""
    return _Parser(q or "").query()


# --------------------------------------------------------------------------- sort and pages
@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))


DEFAULT_SORT = (SortKey(DEFAULT_SORT_FIELD, descending=True),)
_DIRECTIONS = {"asc": False, "ASC": False, "desc": True, "DESC": True}


def parse_sort(sort: str | None) -> list[SortKey]:
    """``field[:asc|:desc],...``; None or blank gives newest first. Raises QueryError."""
    if sort is None or not sort.strip():
        return list(DEFAULT_SORT)
    keys: list[SortKey] = []
    start = 0
    for item in sort.split(","):  # fields and directions never contain ',', so this split is exact
        field, _, direction = item.partition(":")
        field, direction = field.strip(), direction.strip()
        if not field:
            raise QueryError(f"sort: missing field name at position {start}")
        if not _FIELD.fullmatch(field):
            raise QueryError(f"sort: invalid field name {excerpt(field)} at position {start}")
        if ":" in item and direction not in _DIRECTIONS:
            raise QueryError(
                f"sort: direction of {excerpt(field)} must be asc or desc, not {excerpt(direction)} at position {start}"
            )
        keys.append(SortKey(field, descending=_DIRECTIONS.get(direction, False)))
        start += len(item) + 1
    return keys


def _sort_value(document: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The first non-null value at ``path`` (a path through a list sorts by its first element)."""
    return next((value for value in _resolve(document, path) if value is not None), None)


def _rank(value: Any) -> tuple[int, Any]:
    """Orders values of mixed types without TypeError: numbers, then text, then objects/lists."""
    number = _number(value)
    if number is not None:
        return (0, number)
    text = _text(value)
    return (1, text) if text is not None else (2, "")


def _compare(left: Any, right: Any, descending: bool) -> int:
    if left is None or right is None:  # missing sorts last whichever the direction
        return (left is None) - (right is None)
    a, b = _rank(left), _rank(right)
    result = (a > b) - (a < b)
    return -result if descending else result


Document = TypeVar("Document", bound=Mapping[str, Any])
Item = TypeVar("Item")


def sort_documents(documents: Iterable[Document], keys: Sequence[SortKey]) -> list[Document]:
    """Sort by ``keys``, then by ``id`` in the direction of the first key, so equal keys still give
    one fixed order: the order of the participants' copies in DynamoDB (``createdAt#id``, read
    newest first) for the default sort, so a page read from the keys and a page sorted here agree."""
    all_keys = [*keys, SortKey(TIE_BREAK_FIELD, descending=bool(keys) and keys[0].descending)]

    def compare(left: Document, right: Document) -> int:
        for key in all_keys:
            result = _compare(_sort_value(left, key.path), _sort_value(right, key.path), key.descending)
            if result:
                return result
        return 0

    return sorted(documents, key=cmp_to_key(compare))


def paginate(documents: Sequence[Item], page_number: int, page_size: int) -> list[Item]:
    """Page ``page_number`` (1-based) of ``page_size`` documents; past the end is empty."""
    if page_number < 1 or page_size < 1:
        raise ValueError("page_number and page_size start at 1")
    start = (page_number - 1) * page_size
    return list(documents[start : start + page_size])
