"""What test_authorization_matrix.py builds its cells from: a tenant of its own (and a twin tenant
with the very same ids), the hostile tokens, and the expected outcomes a cell is checked against."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from approvals_local.tokens import AUDIENCE, DEFAULT_SCOPES, ISSUER, SigningKey
from tests.e2e.support import Api, Mint, Serve, create_body, run_cli

# What AWS answers: API Gateway's JWT authorizer refuses a token with its own bodies, which an HTTP
# API cannot change (http-api-troubleshooting-jwt, http-api-jwt-authorizer); the service answers a
# token the authorizer let through but that names no customer alike.
INVALID_ACCESS_TOKEN = {"message": "Unauthorized"}
GATEWAY_FORBIDDEN = {"message": "Forbidden"}
INVALID_TOKEN_CHALLENGE = 'Bearer scope="" error="invalid_token" error_description="'
GATEWAY_NOT_FOUND = {"message": "Not Found"}

# --------------------------------------------------------------------------- the seed
COMPANY = "co"
OTHER_COMPANY = "co2"
APPROVAL_LIMIT = 1000  # EUR
# user id: first name, last name, groups, companies. Search users sorts by last name.
PEOPLE: dict[str, tuple[str, str, list[str], list[str]]] = {
    "req": ("Rae", "Requester", ["B2B_REQUESTER"], [COMPANY]),
    "req2": ("Rob", "Other", ["B2B_REQUESTER"], [COMPANY]),
    "adm": ("Ada", "Admin", ["B2B_ADMIN"], [COMPANY]),
    "adm2": ("Abe", "Boss", ["B2B_ADMIN"], [COMPANY]),
    "buy": ("Bea", "Buyer", ["B2B_BUYER"], [COMPANY]),
    "buy2": ("Dee", "Dealer", ["B2B_BUYER"], [COMPANY]),
    "plain": ("Pat", "Plain", [], [COMPANY]),
    "nocomp": ("Nia", "Nocomp", ["B2B_REQUESTER"], []),
    # The admin of another company of the tenant (the policy matrix).
    "oadm": ("Oli", "Outside", ["B2B_ADMIN"], [OTHER_COMPANY]),
}
# Every customer owns a pool of carts "<user>-000", "<user>-001", ...; each cell takes fresh ones.
CART_TOTAL = {"buy": 2500}  # above the limit; every other cart is 80 EUR, within it
POOL_SIZE = {"req": 100}
DEFAULT_POOL_SIZE = 8


def seed_document(*tenants: str) -> dict[str, Any]:
    content = {
        "companies": [
            {"id": COMPANY, "name": "Matrix Co", "approvalLimit": {"amount": APPROVAL_LIMIT, "currency": "EUR"}},
            {"id": OTHER_COMPANY, "name": "Other Co"},
        ],
        "customers": [
            {"id": user, "firstName": first, "lastName": last, "groups": groups, "companies": companies}
            for user, (first, last, groups, companies) in PEOPLE.items()
        ],
        "carts": [
            {
                "id": f"{user}-{number:03d}",
                "customerId": user,
                **({"companyId": COMPANY} if companies else {}),
                "siteCode": "main",
                "currency": "EUR",
                "totalPrice": {"currency": "EUR", "amount": CART_TOTAL.get(user, 80)},
                "subTotalPrice": {"currency": "EUR", "amount": CART_TOTAL.get(user, 80)},
            }
            for user, (_, _, _, companies) in PEOPLE.items()
            for number in range(POOL_SIZE.get(user, DEFAULT_POOL_SIZE))
        ],
    }
    return {"tenants": dict.fromkeys(tenants, content)}


def person(user: str) -> dict[str, str]:
    first, last, _, _ = PEOPLE[user]
    return {"userId": user, "firstName": first, "lastName": last}


# --------------------------------------------------------------------------- the world
@dataclass
class World:
    """Two seeded tenants with the same customers and carts, and one shared PENDING approval:
    ``req`` (B2B_REQUESTER) asks ``adm`` (B2B_ADMIN) to approve ``req-000`` in ``tenant``."""

    api: Api
    mint: Mint
    tenant: str
    twin: str
    shared_id: str = ""
    shared_cart: str = "req-000"
    _taken: dict[str, Iterator[int]] = field(default_factory=dict)
    _victims: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def seeded(cls, serve: Serve, api: Api, mint: Mint, directory: Path) -> World:
        suffix = uuid.uuid4().hex[:10]
        world = cls(api, mint, tenant=f"m{suffix}", twin=f"t{suffix}")
        path = directory / "matrix-seed.json"
        path.write_text(json.dumps(seed_document(world.tenant, world.twin)))
        loaded = run_cli(serve.state_dir, "seed", str(path))
        assert loaded.returncode == 0, loaded.stderr
        world._taken["req"] = itertools.count(1)  # req-000 is the shared approval's
        world.shared_id = world.create(world.tenant, "req", world.shared_cart)
        return world

    def cart(self, user: str) -> str:
        """A cart of ``user`` no cell has used yet (the same id exists in both tenants)."""
        number = next(self._taken.setdefault(user, itertools.count()))
        assert number < POOL_SIZE.get(user, DEFAULT_POOL_SIZE), f"the seed has too few carts of {user}"
        return f"{user}-{number:03d}"

    def create(self, tenant: str, user: str, cart: str, approver: str = "adm") -> str:
        response = self.api.call(
            "POST", f"/approval/{tenant}/approvals", self.mint(user, tenant), json=create_body(cart, approver)
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_approval(self) -> tuple[str, str]:
        """A new PENDING approval of ``tenant`` (req asks adm): its id and its cart."""
        cart = self.cart("req")
        return self.create(self.tenant, "req", cart), cart

    def victim(self, row: str) -> tuple[str, str]:
        """The approval the refused changes of ``row`` are tried on: a refusal changes nothing, so
        cells can share it (each checks it is unchanged by its own request)."""
        if row not in self._victims:
            self._victims[row] = self.fresh_approval()
        return self._victims[row]

    def read(self, approval_id: str, tenant: str | None = None, user: str = "req") -> dict[str, Any]:
        tenant = tenant or self.tenant
        response = self.api.call("GET", f"/approval/{tenant}/approvals/{approval_id}", self.mint(user, tenant))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def approvals_on(self, tenant: str, user: str, cart: str) -> list[dict[str, Any]]:
        """The approvals ``user`` takes part in for ``cart``."""
        response = self.api.call(
            "GET", f"/approval/{tenant}/approvals", self.mint(user, tenant), params={"q": f"resource.id:{cart}"}
        )
        assert response.status_code == 200, response.text
        return list(response.json())


# --------------------------------------------------------------------------- hostile tokens
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(tenant: str, user: str, **overrides: Any) -> dict[str, Any]:
    """The claims ``approvals_local.tokens.mint`` writes, all four approval scopes."""
    now = int(time.time())
    return {
        "sub": user,
        "tenant": tenant,
        "scope": " ".join(DEFAULT_SCOPES),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "client_id": AUDIENCE,
        "token_use": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        **overrides,
    }


def signed(key: SigningKey, payload: dict[str, Any]) -> str:
    """Signed with the serve's own key: valid but for what ``payload`` gets wrong."""
    return jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.kid})


@functools.cache
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed_by_a_stranger(key: SigningKey, payload: dict[str, Any]) -> str:
    """Signed with another RSA key, yet naming the serve's key id."""
    return jwt.encode(payload, stranger_key(), algorithm="RS256", headers={"kid": key.kid})


def unsigned(key: SigningKey, payload: dict[str, Any]) -> str:
    """``alg: none``, the empty signature."""
    header = {"alg": "none", "typ": "JWT", "kid": key.kid}
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}."


def hs256_with_the_public_key(key: SigningKey, payload: dict[str, Any]) -> str:
    """The algorithm confusion attack: HMAC-SHA256 with the public key's PEM as the secret."""
    public_pem = key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered(key: SigningKey, payload: dict[str, Any], **changes: Any) -> str:
    """A genuine token whose payload was changed afterwards; the signature is the original's."""
    header, _, signature = signed(key, payload).split(".")
    return f"{header}.{b64url(json.dumps({**payload, **changes}).encode())}.{signature}"


# --------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Expect:
    """The answer a cell must get: status plus, by kind, the exact body or what it must say."""

    status: int
    kind: str
    error_code: str | None = None
    permitted: bool | None = None
    approval_status: str | None = None  # a permitted answer's status (with approvalId)
    users: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "users":
            return f"{self.status} [{', '.join(self.users)}]"
        if self.kind == "answer":
            with_approval = f", status {self.approval_status} and approvalId" if self.approval_status else ""
            return f"{self.status} permitted {str(self.permitted).lower()}{with_approval}"
        return f"{self.status} {self.error_code or self.kind}"

    @property
    def succeeds(self) -> bool:
        # A bulk decision answers 200 even when it decides nothing: its result says.
        return self.status < 300 and self.error_code is None


UNAUTHORIZED = Expect(401, "invalid access token")
SCOPE_MISSING = Expect(403, "gateway forbidden")  # the authorizer: no scope of the route
FORBIDDEN = Expect(403, "forbidden")  # the service: a token for another tenant
CREATED = Expect(201, "created")
NO_CONTENT = Expect(204, "no content")
THE_APPROVAL = Expect(200, "the approval")
LISTED = Expect(200, "listed")
UNLISTED = Expect(200, "unlisted")


def refused(error_code: str) -> Expect:
    return Expect(int(error_code.split("-")[1][:3]), "refused", error_code=error_code)


def bulk_result(error_code: str | None = None) -> Expect:
    """A bulk decision's 200, its one approval decided (204) or refused with ``error_code``."""
    return Expect(200, "bulk", error_code=error_code)


def answer(permitted: bool, approval_status: str | None = None) -> Expect:
    return Expect(200, "answer", permitted=permitted, approval_status=approval_status)


def users(*ids: str) -> Expect:
    return Expect(200, "users", users=ids)


def check(response: requests.Response, expect: Expect, *, caller: str, approval_id: str) -> None:
    """The response is exactly what ``expect`` says ``caller`` gets for ``approval_id``."""
    text = response.text if len(response.text) <= 600 else response.text[:600] + "..."
    assert response.status_code == expect.status, f"expected {expect}, got {response.status_code}: {text}"
    if expect.status == 204:
        assert response.content == b"", text
        return
    body = response.json()
    if expect.kind == "invalid access token":
        assert body == INVALID_ACCESS_TOKEN, text
        assert response.headers["www-authenticate"].startswith(INVALID_TOKEN_CHALLENGE), response.headers
    elif expect.kind == "gateway forbidden":
        assert body == GATEWAY_FORBIDDEN, text
    elif expect.kind in ("forbidden", "refused"):
        assert body["code"] == expect.status, text
        assert body["status"] == HTTPStatus(expect.status).phrase, text
        if expect.error_code is not None:
            assert body.get("errorCode") == expect.error_code, text
    elif expect.kind == "created":
        assert set(body) == {"id"}, text
        assert isinstance(body["id"], str), text
        assert body["id"], text
    elif expect.kind == "the approval":
        assert body["id"] == approval_id, text
        assert caller in (body["requestor"]["userId"], body["approver"]["userId"]), text
    elif expect.kind in ("listed", "unlisted"):
        assert isinstance(body, list), text
        if expect.kind == "unlisted":  # absent from a full page proves nothing
            assert len(body) < 60, "the page is full"
        for approval in body:
            assert caller in (approval["requestor"]["userId"], approval["approver"]["userId"]), approval
        listed = [approval["id"] for approval in body]
        assert (approval_id in listed) == (expect.kind == "listed"), listed
    elif expect.kind == "bulk":
        (result,) = body["results"]
        assert result["approvalId"] == approval_id, text
        if expect.error_code is None:
            assert result == {"approvalId": approval_id, "code": 204}, text
        else:
            assert result["code"] == result["error"]["code"] == int(expect.error_code.split("-")[1][:3]), text
            assert result["error"]["errorCode"] == expect.error_code, text
    elif expect.kind == "answer":
        expected: dict[str, Any] = {"action": "CHECKOUT", "permitted": expect.permitted}
        if expect.approval_status is not None:
            expected.update(status=expect.approval_status, approvalId=approval_id)
        assert body == expected, text
    elif expect.kind == "users":
        assert body == [person(user) for user in expect.users], text
    else:  # pragma: no cover - a typo in a table
        raise AssertionError(f"unknown expectation {expect}")
