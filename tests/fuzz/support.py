"""What the fuzz tests share: the world they fuzz (a serve of their own, seeded), the tokens of its
customers, how a generated case is steered towards the data that exists, and the check that no
response reveals an internal detail."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import requests
import schemathesis
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation

from approvals_local.seed import DEMO_SEED
from approvals_local.tokens import SigningKey, mint
from tests.e2e.support import create_body

TENANT = "acme"
OTHER_TENANT = "globex"
# The demo seed's customers: ann requester, bob buyer, carol admin, dan buyer, erin requester without company.
USERS = ("ann", "bob", "carol", "dan", "erin")
# Who may approve whose carts (rules 3 and 4): bob's extra carts are above the company's limit.
APPROVERS = {"ann": ("bob", "carol", "dan"), "bob": ("carol",), "dan": ("carol",), "erin": ("bob",)}
EXTRA_CARTS = 40  # per requestor: enough for every create of a run to find a free cart often
POOL_PER_REQUESTOR = 15  # approvals made before fuzzing, for GET, PATCH and DELETE to work on
RESERVED_CARTS = 10  # ann's carts for the known-bug tests, which fuzzing never takes

# JSON Patch paths worth aiming at: the ones each participant may change, below them, and a few
# that no one may.
REQUESTOR_PATHS = (
    "/comment",
    "/details",
    "/details/currency",
    "/details/shipping",
    "/details/shipping/amount",
    "/details/shipping/methodName",
    "/details/payment",
    "/details/payment/customAttributes",
    "/details/payment/customAttributes/token",
    "/details/paymentMethods",
    "/details/paymentMethods/0",
    "/details/paymentMethods/0/amount",
    "/details/paymentMethods/-",
    "/details/addresses",
    "/details/addresses/0",
    "/details/addresses/0/zipCode",
    "/details/addresses/-",
    "/details/addresses/2",
    "/resource/deliveryWindow",
    "/resource/deliveryWindow/slotId",
)
APPROVER_PATHS = ("/status", "/approverComment")
FORBIDDEN_PATHS = ("/resource/id", "/metadata/version", "/history/0", "/id", "/requestor/userId", "/expiryDate")
STATUS_VALUES = ("APPROVED", "DECLINED", "PENDING", "CLOSED", "EXPIRED", "approved")

# Signs of an internal detail in a body: a traceback, a Python repr, an exception class name.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "<class '",
    " object at 0x",
    "Decimal('",
    "ValidationError",
    "ValidationException",
    "KeyError",
    "TypeError",
    "ValueError",
    "AttributeError",
    "IndexError",
    "RuntimeError",
    "AssertionError",
    "RecursionError",
    "UnicodeDecodeError",
    "JSONDecodeError",
    "InvalidOperation",
    "ClientError",
    "BotoCoreError",
    "ParamValidationError",
    "TransactionCanceled",
    "ConditionalCheckFailed",
    "pydantic",
    "botocore",
    "boto3",
    "simplejson",
    "approval_core",
)


@schemathesis.check
def no_internal_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """No response carries a stack trace or an internal exception name (unless the request itself
    sent that text and the service only quotes it back)."""
    text = response.text or ""
    request = response.request
    body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
    sent = f"{unquote(request.url)} {body}"
    leaked = [marker for marker in LEAK_MARKERS if marker in text and marker not in sent]
    if leaked:
        raise AssertionError(f"The response reveals internal details ({', '.join(leaked)}): {text[:500]}")
    return None


@dataclass(frozen=True)
class Approval:
    id: str
    requestor: str
    approver: str


def fuzz_seed() -> dict[str, Any]:
    """The demo seed, plus carts enough for many creates to succeed."""
    seed: dict[str, Any] = json.loads(DEMO_SEED.read_text())
    carts = seed["tenants"][TENANT]["carts"]
    for index in range(EXTRA_CARTS):
        carts.append(_cart(f"fz-ann-{index}", "ann", "acme-eu", "80.10"))
        carts.append(_cart(f"fz-bob-{index}", "bob", "acme-eu", "2000.00"))  # above acme-eu's 1000 EUR
        carts.append(_cart(f"fz-dan-{index}", "dan", "acme-eu", "1500.00"))
    carts.append(_cart("fz-erin-0", "erin", None, "15"))
    # ann's, for the known-bug tests alone: fuzzing never takes them.
    carts.extend(_cart(f"fz-known-{index}", "ann", "acme-eu", "80.10") for index in range(RESERVED_CARTS))
    return seed


def _cart(cart_id: str, owner: str, company: str | None, amount: str) -> dict[str, Any]:
    cart: dict[str, Any] = {
        "id": cart_id,
        "customerId": owner,
        "siteCode": "main",
        "currency": "EUR",
        "items": [
            {
                "quantity": 1,
                "itemPrice": {"currency": "EUR", "amount": float(amount)},
                "itemYrn": f"urn:yaas:saasag:caasproduct:product:acme;{cart_id}",
            }
        ],
        "totalPrice": {"currency": "EUR", "amount": float(amount)},
        "subTotalPrice": {"currency": "EUR", "amount": float(amount)},
        "deliveryWindow": {"id": "dw1", "slotId": "s1", "deliveryDate": "2026-12-01T10:00:00.000Z"},
    }
    if company is not None:
        cart["companyId"] = company
    return cart


CREATE_DETAILS = {
    "currency": "EUR",
    "shipping": {"zoneId": "eu", "methodId": "standard", "amount": 12.5, "methodName": "Standard"},
    "payment": {"paymentId": "p1", "customAttributes": {"token": "t"}},
    "paymentMethods": [{"provider": "stripe", "method": "card", "amount": 92.6}],
    "addresses": [
        {"contactName": "Ann Lee", "street": "Main Street", "zipCode": "10115", "city": "Berlin", "country": "DE"},
        {"contactName": "Ann Lee", "street": "Side Street", "zipCode": "10117", "city": "Berlin", "country": "DE"},
    ],
}


@dataclass
class Tally:
    """Cases per operation: how many, how many negative, and the statuses they got."""

    cases: Counter[str] = field(default_factory=Counter)
    negative: Counter[str] = field(default_factory=Counter)
    statuses: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, operation: str, negative: bool, status: int) -> None:
        self.cases[operation] += 1
        self.negative[operation] += negative
        self.statuses[operation][status] += 1

    def lines(self) -> list[str]:
        lines = []
        for operation in sorted(self.cases):
            statuses = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses[operation].items()))
            lines.append(
                f"{operation}: {self.cases[operation]} cases ({self.negative[operation]} negative) [{statuses}]"
            )
        lines.append(f"total: {sum(self.cases.values())} cases ({sum(self.negative.values())} negative)")
        return lines


TALLY = Tally()


class World:
    """The serve under fuzzing, its customers' tokens, and the approvals that exist."""

    def __init__(self, base_url: str, key: SigningKey) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.tokens = {user: mint(key, tenant=TENANT, user=user) for user in USERS}
        self.bad_tokens = {
            "none": None,
            "garbage": "not-a-jwt",
            "expired": mint(key, tenant=TENANT, user="ann", ttl=-60),
            "no scope": mint(key, tenant=TENANT, user="ann", scopes=["openid"]),
            "read only": mint(key, tenant=TENANT, user="ann", scopes=["approval.approval_read_own"]),
            "other tenant": mint(key, tenant=OTHER_TENANT, user="ann"),
        }
        self.carts = {user: [f"fz-{user}-{index}" for index in range(EXTRA_CARTS)] for user in ("ann", "bob", "dan")}
        self.carts["erin"] = ["fz-erin-0"]
        self.known_carts = (*(cart for carts in self.carts.values() for cart in carts), "cart-ann-1", "nope")
        self.approvals: list[Approval] = []
        self._next_cart = Counter[str]()
        self._reserved = iter(f"fz-known-{index}" for index in range(RESERVED_CARTS))

    def populate(self) -> None:
        """Approvals to read, patch and close: each requestor's first carts, with full details."""
        for requestor in ("ann", "bob", "dan"):
            for _ in range(POOL_PER_REQUESTOR):
                approver = APPROVERS[requestor][len(self.approvals) % len(APPROVERS[requestor])]
                self.approvals.append(self.create(requestor, approver, self.next_cart(requestor)))

    def reserved_cart(self) -> str:
        """One of ann's carts that no fuzz case has touched."""
        return next(self._reserved)

    def create(self, requestor: str, approver: str, cart: str) -> Approval:
        response = self.session.post(
            f"{self.base_url}/approval/{TENANT}/approvals",
            json=create_body(cart, approver, comment="fuzz pool", details=CREATE_DETAILS),
            headers={"Authorization": f"Bearer {self.tokens[requestor]}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return Approval(response.json()["id"], requestor, approver)

    def next_cart(self, user: str) -> str:
        carts = self.carts[user]
        index = self._next_cart[user] % len(carts)
        self._next_cart[user] += 1
        return carts[index]

    # ------------------------------------------------------------------ steering a case
    def steer(self, case: Any) -> tuple[dict[str, str], Approval | None, str | None]:
        """Point a generated case at data that exists, most of the time, and pick its caller.

        Only the parts schemathesis generated as valid are changed, so a negative case stays
        negative where it was made so. Returns the headers to send (the token), the pool approval
        the case now names (if any), and the calling user (None for a bad token).
        """
        rnd = random.Random(_fingerprint(case))
        meta = case.meta
        path_is_valid = meta is None or not meta.is_negative_at(ParameterLocation.PATH)
        body_is_valid = meta is None or not meta.is_negative_at(ParameterLocation.BODY)
        approval: Approval | None = None
        if path_is_valid:
            if rnd.random() < 0.9:
                case.path_parameters["tenant"] = TENANT
            if "approvalId" in case.path_parameters and self.approvals and rnd.random() < 0.85:
                approval = rnd.choice(self.approvals)
                case.path_parameters["approvalId"] = approval.id
        headers_are_valid = meta is None or not meta.is_negative_at(ParameterLocation.HEADER)
        if headers_are_valid and "Idempotency-Key" in case.headers:
            # Generated keys repeat ("0", ""): most creates get one of their own, or none.
            draw = rnd.random()
            if draw < 0.4:
                del case.headers["Idempotency-Key"]
            elif draw < 0.85:
                case.headers["Idempotency-Key"] = f"fuzz-{rnd.getrandbits(64):016x}"
        user = self._caller(case, approval, rnd)
        if body_is_valid:
            self._steer_body(case, user, approval, rnd)
        if user in self.tokens:
            return {"Authorization": f"Bearer {self.tokens[user]}"}, approval, user
        token = self.bad_tokens[user]
        return ({} if token is None else {"Authorization": f"Bearer {token}"}), approval, None

    def _caller(self, case: Any, approval: Approval | None, rnd: random.Random) -> str:
        draw = rnd.random()
        if draw < 0.1:
            return rnd.choice(sorted(self.bad_tokens))
        if approval is not None and draw < 0.8:
            return approval.requestor if rnd.random() < 0.5 else approval.approver
        if case.method.upper() == "POST" and case.path.endswith("/approvals"):
            return rnd.choices(USERS, weights=(45, 30, 5, 15, 5))[0]
        return rnd.choice(USERS)

    def _steer_body(self, case: Any, user: str, approval: Approval | None, rnd: random.Random) -> None:
        body = case.body
        if case.path.endswith("/approvals") and case.method.upper() == "POST":
            if isinstance(body, dict) and user in self.carts and rnd.random() < 0.85:
                body["resourceId"] = self.next_cart(user)
                if isinstance(body.get("approver"), dict) and rnd.random() < 0.9:
                    body["approver"]["userId"] = rnd.choice(APPROVERS[user])
        elif case.path.endswith("/approvals/bulk"):
            approval_ids = body.get("approvalIds") if isinstance(body, dict) else None
            if isinstance(approval_ids, list) and approval_ids and self.approvals and rnd.random() < 0.85:
                # Mostly approvals the caller takes part in, so that some are decided.
                mine = [a.id for a in self.approvals if user in (a.requestor, a.approver)]
                pool = mine if mine and rnd.random() < 0.7 else [a.id for a in self.approvals]
                body["approvalIds"] = rnd.sample(pool, min(len(approval_ids), len(pool)))
        elif case.path.endswith(("/permitted", "/users")):
            if isinstance(body, dict) and rnd.random() < 0.8:
                body["resourceId"] = rnd.choice(self.known_carts)
        elif case.method.upper() == "PATCH":
            operations = body if isinstance(body, list) else [body]
            own = APPROVER_PATHS if approval is not None and user == approval.approver else REQUESTOR_PATHS
            for operation in operations:
                if isinstance(operation, dict) and rnd.random() < 0.85:
                    draw = rnd.random()
                    paths = own if draw < 0.7 else (REQUESTOR_PATHS + APPROVER_PATHS if draw < 0.9 else FORBIDDEN_PATHS)
                    operation["path"] = rnd.choice(paths)
                    if operation["path"] == "/status" and rnd.random() < 0.7:
                        operation["value"] = rnd.choice(STATUS_VALUES)

    def record(self, case: Any, response: Any, user: str | None) -> None:
        """A create that succeeded adds its approval to the pool."""
        if response.status_code == 201 and user is not None and isinstance(case.body, dict):
            approver = case.body.get("approver")
            approver_id = approver.get("userId") if isinstance(approver, dict) else None
            self.approvals.append(Approval(response.json()["id"], user, str(approver_id)))


def _fingerprint(case: Any) -> bytes:
    """The same case gets the same steering, run after run."""
    body = None if isinstance(case.body, NotSet) else case.body
    text = repr((case.method, case.path, case.path_parameters, case.query, sorted(case.headers.items()), body))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def write_seed(directory: Path) -> Path:
    path = directory / "fuzz-seed.json"
    path.write_text(json.dumps(fuzz_seed()))
    return path
