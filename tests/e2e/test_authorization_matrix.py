"""The authorization matrix (issue #5): every route of template.yaml against every kind of
credential and every kind of customer, each cell asserting the exact answer docs/api.md
prescribes, and where API Gateway answers for itself (its JWT authorizer's 401 and 403) what AWS
answers; and nothing outside the table answers.

Three tables, one test per cell:

- CREDENTIALS x the 8 routes: ``req`` (B2B_REQUESTER) makes the request that succeeds with a good
  token (the ``valid_token`` row), with every kind of bad, foreign, unscoped or misdirected token.
- IDENTITIES x 11 operations: valid tokens of the requestor, the approver and customers of every
  B2B group (and none, and no company) who take no part in the approval, and the requestor's twin
  in another tenant with the very same ids.
- UNKNOWN_ROUTES: methods and paths the template does not declare: 404 from the router, whatever
  the token.
- DIRECTORY_CREDENTIALS x the 3 directory routes: the platform's machine client (scope
  approval.directory_manage) against customers' tokens, other scopes, bad and foreign tokens.
- WEBHOOK_SIGNATURES x the webhook route: no token, the tenant's signature decides.

The cells run in tenants this module seeds. A cell that is to succeed in a change gets resources
of its own (a fresh approval for a PATCH or DELETE, a fresh cart for a create) and checks that the
change happened; a cell that is to be refused checks that nothing changed (refused PATCH and DELETE
cells share a victim approval per table or row, which keeps the store's stream short for the tests
that replay it after this module).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest

from approvals_local.template import load_template
from approvals_local.tokens import SigningKey
from tests.e2e.matrix_support import (
    COMPANY,
    CREATED,
    FORBIDDEN,
    GATEWAY_NOT_FOUND,
    LISTED,
    NO_CONTENT,
    SCOPE_MISSING,
    THE_APPROVAL,
    UNAUTHORIZED,
    UNLISTED,
    Expect,
    World,
    answer,
    bulk_result,
    check,
    claims,
    hs256_with_the_public_key,
    refused,
    signed,
    signed_by_a_stranger,
    tampered,
    unsigned,
    users,
)
from tests.e2e.policy_matrix_support import POLICY_OPERATIONS, POLICY_ROUTES_PREFIX
from tests.e2e.support import ROOT, Api, Mint, Serve, create_body, wait_until
from tests.reporting import report

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

READ = frozenset({"approval.approval_read_own", "approval.approval_read"})
MANAGE = frozenset({"approval.approval_manage_own", "approval.approval_manage"})

APPROVALS = "/approval/{tenant}/approvals"
APPROVAL = "/approval/{tenant}/approvals/{approvalId}"
BULK = "/approval/{tenant}/approvals/bulk"
PERMITTED = "/approval/{tenant}/approval/permitted"
SEARCH_USERS = "/approval/{tenant}/search/users"
COMMENT = "set by the authorization matrix"


def resource(cart: str) -> dict[str, str]:
    return {"resourceType": "CART", "resourceId": cart, "action": "CHECKOUT"}


# --------------------------------------------------------------------------- the operations
@dataclass(frozen=True)
class Operation:
    """One request, on one route of the contract's endpoint table."""

    name: str
    method: str
    path: str  # as template.yaml writes it
    scopes: frozenset[str]  # the contract's "scopes (either of)"
    # What the body names: the caller's own cart ("own": a fresh one per cell), the approval's
    # cart ("approval"), or the approval's id ("approval_id").
    cart: str = "approval"
    body: Callable[[str], Any] | None = None
    params: Mapping[str, str] | None = None
    # PATCH and DELETE run on a fresh approval; on success it then holds this (at version 2).
    changes: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        return self.name


CREATE = Operation("create", "POST", APPROVALS, MANAGE, cart="own", body=lambda cart: create_body(cart, "adm"))
# Oldest first, so the shared approval (the tenant's first) is on the first page however many
# approvals the other cells add.
LIST = Operation("list", "GET", APPROVALS, READ, params={"sort": "metadata.createdAt:asc", "pageSize": "60"})
GET = Operation("get", "GET", APPROVAL, READ)
PATCH_COMMENT = Operation(
    "patch_comment",
    "PATCH",
    APPROVAL,
    MANAGE,
    body=lambda _: [{"op": "add", "path": "/comment", "value": COMMENT}],
    changes={"comment": COMMENT, "status": "PENDING"},
)
PATCH_STATUS = Operation(
    "patch_status",
    "PATCH",
    APPROVAL,
    MANAGE,
    body=lambda _: [{"op": "replace", "path": "/status", "value": "APPROVED"}],
    changes={"status": "APPROVED"},
)
DELETE = Operation("delete", "DELETE", APPROVAL, MANAGE, changes={"status": "CLOSED"})
BULK_STATUS = Operation(
    "bulk_status",
    "POST",
    BULK,
    MANAGE,
    cart="approval_id",
    body=lambda approval_id: {"approvalIds": [approval_id], "status": "APPROVED"},
    changes={"status": "APPROVED"},
)
PERMITTED_CHECK = Operation("permitted", "POST", PERMITTED, READ, body=resource)
PERMITTED_OWN = Operation("permitted_own", "POST", PERMITTED, READ, cart="own", body=resource)
SEARCH = Operation("search", "POST", SEARCH_USERS, READ, body=resource)
SEARCH_OWN = Operation("search_own", "POST", SEARCH_USERS, READ, cart="own", body=resource)

# One column per route.
CREDENTIAL_OPERATIONS = (CREATE, LIST, GET, PATCH_COMMENT, DELETE, PERMITTED_CHECK, SEARCH, BULK_STATUS)
IDENTITY_OPERATIONS = (
    CREATE,
    LIST,
    GET,
    PATCH_COMMENT,
    PATCH_STATUS,
    DELETE,
    PERMITTED_CHECK,
    PERMITTED_OWN,
    SEARCH,
    SEARCH_OWN,
    BULK_STATUS,
)

# --------------------------------------------------------------------------- outcomes
NOT_FOUND = refused("APPROVAL-404001")  # rule 6: not a participant, or no such approval
VALIDATION = refused("APPROVAL-400001")
NO_PERMISSION = refused("APPROVAL-400008")
STATUS_CHANGE_REFUSED = refused("APPROVAL-400002")
NO_COMPANY = refused("APPROVAL-400011")
PENDING_ANSWER = answer(False, "PENDING")  # rule 11: the requestor's cart awaits the approval
DENIED = answer(False)  # no approval, or one the caller takes no part in: nothing about it
ADMIN_PERMITTED = answer(True)  # a B2B_ADMIN of the cart's company, still told nothing
# Rule 12: the company's B2B_ADMINs and B2B_BUYERs, by last name, never the caller.
EVERY_APPROVER = users("adm", "adm2", "buy", "buy2")
# Rules 20 and 6: the one approval of a bulk decision, decided or refused as its PATCH would be.
BULK_DECIDED = bulk_result()
BULK_NOT_FOUND = bulk_result("APPROVAL-404001")
BULK_STATUS_CHANGE_REFUSED = bulk_result("APPROVAL-400002")


# --------------------------------------------------------------------------- credentials x routes
Authorization = Callable[[SigningKey, World], str | None]


def bearer(make: Callable[[SigningKey, World], str]) -> Authorization:
    return lambda key, world: f"Bearer {make(key, world)}"


def minted(**options: Any) -> Authorization:
    """A token of req for the module's tenant, from approvals_local.tokens.mint."""
    return bearer(lambda _, world: world.mint("req", world.tenant, **options))


def crafted(make: Callable[[SigningKey, dict[str, Any]], str], **overrides: Any) -> Authorization:
    """A token of req for the module's tenant, made by hand from the claims mint would write."""
    return bearer(lambda key, world: make(key, claims(world.tenant, "req", **overrides)))


def signed_without(claim: str) -> Callable[[SigningKey, dict[str, Any]], str]:
    return lambda key, payload: signed(key, {name: value for name, value in payload.items() if name != claim})


def signed_with_scp(key: SigningKey, payload: dict[str, Any]) -> str:
    """The scopes in scp, as a list, and no scope claim (http-api-jwt-authorizer: "scope or scp")."""
    scopes = str(payload.pop("scope")).split()
    return signed(key, {**payload, "scp": scopes})


def not_yet_valid(world: World) -> dict[str, Any]:
    now = int(time.time())
    return claims(world.tenant, "req", iat=now, nbf=now + 3600, exp=now + 7200)


def issued_in_the_future(world: World) -> dict[str, Any]:
    now = int(time.time())
    return claims(world.tenant, "req", iat=now + 3600, exp=now + 7200)


def signed_with_kid(key: SigningKey, kid: str, world: World) -> str:
    """The serve's own key and claims, under a key id its JWKS does not publish."""
    return jwt.encode(claims(world.tenant, "req"), key.private_key, algorithm="RS256", headers={"kid": kid})


def malformed_tenant(world: World) -> str:
    return "Not_A_Tenant"


@dataclass(frozen=True)
class Credential:
    name: str
    authorization: Authorization
    # In the order of CREDENTIAL_OPERATIONS.
    expect: tuple[Expect, ...]
    path_tenant: Callable[[World], str] = field(default=lambda world: world.tenant)

    def __str__(self) -> str:
        return self.name


# Columns: create, list, get, patch_comment, delete, permitted, search, bulk_status
# (CREDENTIAL_OPERATIONS). req is the requestor: its bulk approval is refused per approval (rule 8).
SUCCESS = (
    CREATED,
    LISTED,
    THE_APPROVAL,
    NO_CONTENT,
    NO_CONTENT,
    PENDING_ANSWER,
    EVERY_APPROVER,
    BULK_STATUS_CHANGE_REFUSED,
)
READS_ONLY = (
    SCOPE_MISSING,
    LISTED,
    THE_APPROVAL,
    SCOPE_MISSING,
    SCOPE_MISSING,
    PENDING_ANSWER,
    EVERY_APPROVER,
    SCOPE_MISSING,
)
WRITES_ONLY = (
    CREATED,
    SCOPE_MISSING,
    SCOPE_MISSING,
    NO_CONTENT,
    NO_CONTENT,
    SCOPE_MISSING,
    SCOPE_MISSING,
    BULK_STATUS_CHANGE_REFUSED,
)
REJECTED = (UNAUTHORIZED,) * 8
SCOPE_MISSING_EVERYWHERE = (SCOPE_MISSING,) * 8
FORBIDDEN_EVERYWHERE = (FORBIDDEN,) * 8
BAD_TENANT = (VALIDATION,) * 8

CREDENTIALS = (
    Credential("valid_token", minted(), SUCCESS),
    # API Gateway's authorizer takes the token with or without "Bearer ", and scopes from scp too.
    Credential("no_bearer_prefix", lambda key, world: world.mint("req", world.tenant), SUCCESS),
    Credential("scopes_in_scp", crafted(signed_with_scp), SUCCESS),
    # 401: the authorizer refuses the token (contract: missing, malformed, expired, wrongly signed)
    Credential("no_token", lambda key, world: None, REJECTED),
    Credential("basic_scheme", lambda key, world: "Basic cmVxOnNlY3JldA==", REJECTED),
    Credential("garbage", lambda key, world: "Bearer not-a-jwt", REJECTED),
    Credential("two_segments", bearer(lambda _, world: world.mint("req", world.tenant).rsplit(".", 1)[0]), REJECTED),
    Credential("four_segments", bearer(lambda _, world: world.mint("req", world.tenant) + ".e30"), REJECTED),
    Credential("not_base64", lambda key, world: "Bearer !!!!.****.$$$$", REJECTED),
    Credential("foreign_signature", crafted(signed_by_a_stranger), REJECTED),
    Credential(
        "tampered_claims", bearer(lambda key, world: tampered(key, claims(world.tenant, "req"), sub="adm")), REJECTED
    ),
    Credential("alg_none", crafted(unsigned), REJECTED),
    Credential("hs256_public_key", crafted(hs256_with_the_public_key), REJECTED),
    Credential("expired", minted(ttl=-60), REJECTED),
    Credential("not_yet_valid", bearer(lambda key, world: signed(key, not_yet_valid(world))), REJECTED),
    Credential("wrong_issuer", minted(issuer="https://issuer.example"), REJECTED),
    Credential("wrong_audience", minted(audience="another-client"), REJECTED),
    # API Gateway checks client_id only when there is no aud: an aud naming another client loses.
    Credential("foreign_aud_our_client_id", crafted(signed, aud="another-client"), REJECTED),
    # http-api-jwt-authorizer: "iat - Must be before the current time in UTC".
    Credential("issued_in_the_future", bearer(lambda key, world: signed(key, issued_in_the_future(world))), REJECTED),
    Credential("unknown_kid", bearer(lambda key, world: signed_with_kid(key, "not-our-key", world)), REJECTED),
    Credential("no_expiry", crafted(signed_without("exp")), REJECTED),
    # These pass the authorizer (it does not check sub); the handler refuses them alike.
    Credential("empty_subject", crafted(signed, sub=""), REJECTED),
    Credential("no_subject", crafted(signed_without("sub")), REJECTED),
    # 403: a valid token without a route's scope, or not for the path's tenant
    Credential("unrelated_scope", minted(scopes=["customer.customer_read_own"]), SCOPE_MISSING_EVERYWHERE),
    Credential(
        "lookalike_scopes",
        minted(scopes=["approval.approval_read_own_x", "approval.approval_manage_all", "APPROVAL.APPROVAL_READ"]),
        SCOPE_MISSING_EVERYWHERE,
    ),
    Credential("token_of_another_tenant", bearer(lambda _, world: world.mint("req", world.twin)), FORBIDDEN_EVERYWHERE),
    Credential("no_tenant_claim", crafted(signed_without("tenant")), FORBIDDEN_EVERYWHERE),
    Credential("read_own_scope_only", minted(scopes=["approval.approval_read_own"]), READS_ONLY),
    Credential("read_scope_only", minted(scopes=["approval.approval_read"]), READS_ONLY),
    Credential("manage_own_scope_only", minted(scopes=["approval.approval_manage_own"]), WRITES_ONLY),
    Credential("manage_scope_only", minted(scopes=["approval.approval_manage"]), WRITES_ONLY),
    # "Which error comes first": 401, then scope (403), then a malformed path tenant (400), then
    # the token's tenant (403).
    Credential("malformed_path_tenant", minted(), BAD_TENANT, path_tenant=malformed_tenant),
    Credential("expired_on_malformed_path_tenant", minted(ttl=-60), REJECTED, path_tenant=malformed_tenant),
    Credential(
        "unrelated_scope_on_malformed_path_tenant",
        minted(scopes=["customer.customer_read_own"]),
        SCOPE_MISSING_EVERYWHERE,
        path_tenant=malformed_tenant,
    ),
    Credential(
        "other_tenant_on_malformed_path_tenant",
        bearer(lambda _, world: world.mint("req", world.twin)),
        BAD_TENANT,
        path_tenant=malformed_tenant,
    ),
)


# --------------------------------------------------------------------------- identities x operations
@dataclass(frozen=True)
class Identity:
    """A customer with a valid token (all four scopes; groups from the directory)."""

    name: str
    user: str
    expect: Mapping[str, Expect]  # by operation name
    twin: bool = False  # the same user id, in the twin tenant

    def __str__(self) -> str:
        return self.name


# The shared approval: req (B2B_REQUESTER) asks adm (B2B_ADMIN) to approve req's cart.
NOT_A_PARTICIPANT = {
    "list": UNLISTED,
    "get": NOT_FOUND,
    "patch_comment": NOT_FOUND,
    "patch_status": NOT_FOUND,
    "delete": NOT_FOUND,
    "bulk_status": BULK_NOT_FOUND,  # rule 20: the same 404001, learning nothing
}
IDENTITIES = (
    Identity(
        "requestor",
        "req",
        {
            "create": CREATED,
            "list": LISTED,
            "get": THE_APPROVAL,
            "patch_comment": NO_CONTENT,
            "patch_status": STATUS_CHANGE_REFUSED,  # rule 8: only the approver decides
            "delete": NO_CONTENT,
            "permitted": PENDING_ANSWER,
            "permitted_own": DENIED,  # a requester needs an approval, and this cart has none
            "search": EVERY_APPROVER,
            "search_own": EVERY_APPROVER,
            "bulk_status": BULK_STATUS_CHANGE_REFUSED,  # rule 20: as its PATCH (rule 8)
        },
    ),
    Identity(
        "approver_admin",
        "adm",
        {
            "create": NO_PERMISSION,  # rule 4: an admin is in no creating group
            "list": LISTED,
            "get": THE_APPROVAL,
            "patch_comment": NO_PERMISSION,  # rule 8: the comment is the requestor's
            "patch_status": NO_CONTENT,
            "delete": NO_PERMISSION,  # rule 10: only the requestor closes
            "permitted": answer(True, "PENDING"),  # rule 11: an admin of the cart's company
            "permitted_own": ADMIN_PERMITTED,
            "search": NO_PERMISSION,  # rule 12: not the caller's cart
            "search_own": users("adm2", "buy", "buy2"),
            "bulk_status": BULK_DECIDED,
        },
    ),
    Identity(
        "buyer_above_limit",
        "buy",  # whose carts are above the company's approval limit
        {
            "create": CREATED,
            **NOT_A_PARTICIPANT,
            "permitted": DENIED,
            "permitted_own": DENIED,
            "search": NO_PERMISSION,
            "search_own": users("adm", "adm2"),  # rule 4: above the limit, admins only
        },
    ),
    Identity(
        "buyer_within_limit",
        "buy2",
        {
            "create": NO_PERMISSION,  # rule 4: a buyer within the limit may check out
            **NOT_A_PARTICIPANT,
            "permitted": DENIED,
            "permitted_own": answer(True),  # rule 11
            "search": NO_PERMISSION,
            "search_own": users("adm", "adm2", "buy"),
        },
    ),
    Identity(
        "admin_not_participant",
        "adm2",
        {
            "create": NO_PERMISSION,
            **NOT_A_PARTICIPANT,
            "permitted": ADMIN_PERMITTED,  # rule 11: permitted, yet without status or approvalId
            "permitted_own": ADMIN_PERMITTED,
            "search": NO_PERMISSION,
            "search_own": users("adm", "buy", "buy2"),
        },
    ),
    Identity(
        "requester_not_participant",
        "req2",
        {
            "create": CREATED,
            **NOT_A_PARTICIPANT,
            "permitted": DENIED,
            "permitted_own": DENIED,
            "search": NO_PERMISSION,
            "search_own": EVERY_APPROVER,
        },
    ),
    Identity(
        "no_b2b_group",
        "plain",
        {
            "create": NO_PERMISSION,  # rule 4: in no creating group
            **NOT_A_PARTICIPANT,
            "permitted": DENIED,
            "permitted_own": DENIED,
            "search": NO_PERMISSION,
            "search_own": EVERY_APPROVER,
        },
    ),
    Identity(
        "no_company",
        "nocomp",  # a B2B_REQUESTER of no company, whose carts name none
        {
            "create": NO_COMPANY,
            **NOT_A_PARTICIPANT,
            "permitted": NO_COMPANY,
            "permitted_own": NO_COMPANY,
            "search": NO_COMPANY,
            "search_own": NO_COMPANY,
        },
    ),
    Identity(
        # req of the twin tenant, on its own path, naming ids of the module's tenant: its own cart
        # is one that has a PENDING approval in the other tenant.
        "same_ids_other_tenant",
        "req",
        {
            "create": CREATED,  # rule 5 counts this tenant's approvals only
            **NOT_A_PARTICIPANT,
            "permitted": DENIED,
            "permitted_own": DENIED,
            "search": EVERY_APPROVER,
            "search_own": EVERY_APPROVER,
        },
        twin=True,
    ),
)


# --------------------------------------------------------------------------- the directory feed
DIRECTORY = frozenset({"approval.directory_manage"})
DIRECTORY_ENTRY = "/directory/{tenant}/{kind}/{id}"
WEBHOOK = "/directory/{tenant}/webhooks/emporix/{eventType}"
WEBHOOK_SECRET = "matrix-webhook-secret"
WEBHOOK_SECRETS_PATH = "/approval-service/webhook-secrets"  # the template's WebhookSecretsPath default


@dataclass(frozen=True)
class DirectoryOperation:
    name: str
    method: str
    path: str = DIRECTORY_ENTRY
    scopes: frozenset[str] = DIRECTORY

    def __str__(self) -> str:
        return self.name


DIRECTORY_PUT = DirectoryOperation("directory_put", "PUT")
DIRECTORY_GET = DirectoryOperation("directory_get", "GET")
DIRECTORY_DELETE = DirectoryOperation("directory_delete", "DELETE")
DIRECTORY_OPERATIONS = (DIRECTORY_PUT, DIRECTORY_GET, DIRECTORY_DELETE)
DIRECTORY_OK = Expect(200, "directory")


def machine(*scopes: str, tenant: Callable[[World], str] = lambda world: world.tenant, **options: Any) -> Authorization:
    """A token of the platform's machine client, from approvals_local.tokens.mint."""
    return bearer(lambda _, world: world.mint("commerce-sync", tenant(world), scopes=list(scopes), **options))


MACHINE = "approval.directory_manage"
DIRECTORY_CREDENTIALS = (
    Credential("machine_client", machine(MACHINE), (DIRECTORY_OK,) * 3),
    Credential("machine_client_with_approval_scopes", machine(MACHINE, *READ, *MANAGE), (DIRECTORY_OK,) * 3),
    Credential("no_token", lambda key, world: None, (UNAUTHORIZED,) * 3),
    Credential("garbage", lambda key, world: "Bearer not-a-jwt", (UNAUTHORIZED,) * 3),
    Credential("expired", machine(MACHINE, ttl=-60), (UNAUTHORIZED,) * 3),
    Credential("foreign_signature", crafted(signed_by_a_stranger, scope=MACHINE), (UNAUTHORIZED,) * 3),
    Credential("alg_none", crafted(unsigned, scope=MACHINE), (UNAUTHORIZED,) * 3),
    Credential("wrong_issuer", machine(MACHINE, issuer="https://issuer.example"), (UNAUTHORIZED,) * 3),
    # 403 from the gateway's authorizer (no scope of the route): a customer's token (the four
    # approval scopes), another scope, lookalikes; 403 from the service: another tenant
    Credential("customer_token", minted(), (SCOPE_MISSING,) * 3),
    Credential("approval_manage_scope", machine("approval.approval_manage"), (SCOPE_MISSING,) * 3),
    Credential(
        "lookalike_scopes",
        machine("approval.directory_manage_own", "APPROVAL.DIRECTORY_MANAGE", "approval.directory"),
        (SCOPE_MISSING,) * 3,
    ),
    Credential("token_of_another_tenant", machine(MACHINE, tenant=lambda world: world.twin), (FORBIDDEN,) * 3),
    Credential("malformed_path_tenant", machine(MACHINE), (VALIDATION,) * 3, path_tenant=malformed_tenant),
    Credential("customer_token_on_malformed_path_tenant", minted(), (SCOPE_MISSING,) * 3, path_tenant=malformed_tenant),
)


@dataclass(frozen=True)
class Signature:
    name: str
    sign: Callable[[bytes], str | None]
    status: int
    bearer_token: bool = False  # a customer's valid access token goes along

    def __str__(self) -> str:
        return self.name


def hmac_signature(secret: str, encode: Callable[[bytes], bytes] = base64.b64encode) -> Callable[[bytes], str]:
    return lambda body: encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


WEBHOOK_SIGNATURES = (
    Signature("tenant_secret", hmac_signature(WEBHOOK_SECRET), 200),
    Signature("no_signature", lambda body: None, 401),
    Signature("no_signature_but_a_valid_token", lambda body: None, 401, bearer_token=True),
    Signature("wrong_secret", hmac_signature("guessed-secret"), 401),
    Signature("hex_not_base64", hmac_signature(WEBHOOK_SECRET, lambda digest: digest.hex().encode()), 401),
    Signature("signature_of_another_body", lambda body: hmac_signature(WEBHOOK_SECRET)(body + b" "), 401),
    Signature("empty", lambda body: "", 401),
)

# --------------------------------------------------------------------------- outside the table
ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
UNKNOWN_PATHS = (
    "/",
    "/approval",
    "/approval/{tenant}",
    "/approval/{tenant}/approvals/",
    "/approval/{tenant}/approvals/{approvalId}/",
    "/approval/{tenant}/approvals/{approvalId}/history",
    "/approval/{tenant}/approval",
    "/approval/{tenant}/approval/permitted/{approvalId}",
    "/approval/{tenant}/search",
    "/approval/{tenant}/search/users/{approvalId}",
    "/approval//approvals",
    "/APPROVAL/{tenant}/approvals",
    "/approval/{tenant}/Approvals/{approvalId}",
    "/v1/approval/{tenant}/approvals",
    "/directory",
    "/directory/{tenant}",
    "/directory/{tenant}/customers",
    "/directory/{tenant}/customers/{approvalId}/history",
    "/directory/{tenant}/webhooks/emporix/customer.created/again",
)
# The directory's routes with a concrete kind and id, and the webhook's with a concrete event type.
DIRECTORY_ROUTE_PATHS = {
    DIRECTORY_ENTRY: "/directory/{tenant}/customers/{approvalId}",
    WEBHOOK: "/directory/{tenant}/webhooks/emporix/customer.created",
}
DIRECTORY_ROUTE_METHODS = {DIRECTORY_ENTRY: {"PUT", "GET", "DELETE"}, WEBHOOK: {"POST"}}


def unknown_routes() -> list[tuple[str, str]]:
    """Every method the contract does not declare on one of its paths, and paths it does not have."""
    declared: dict[str, set[str]] = {}
    for operation in CREDENTIAL_OPERATIONS:
        declared.setdefault(operation.path, set()).add(operation.method)
    # To the routes of one approval, "bulk" is an approval id: theirs answer (404001), not the router.
    declared[BULK] |= declared[APPROVAL]
    undeclared = [
        (method, path) for path, methods in declared.items() for method in ROUTE_METHODS if method not in methods
    ]
    undeclared += [
        (method, DIRECTORY_ROUTE_PATHS[route])
        for route, methods in DIRECTORY_ROUTE_METHODS.items()
        for method in ROUTE_METHODS
        if method not in methods
    ]
    return undeclared + [(method, path) for path in UNKNOWN_PATHS for method in ("GET", "POST")]


UNKNOWN_ROUTES = unknown_routes()

# --------------------------------------------------------------------------- the cells
CREDENTIAL_CELLS = [
    pytest.param(credential, operation, expect, id=f"{credential}-{operation}")
    for credential in CREDENTIALS
    for operation, expect in zip(CREDENTIAL_OPERATIONS, credential.expect, strict=True)
]
IDENTITY_CELLS = [
    pytest.param(identity, operation, identity.expect[operation.name], id=f"{identity}-{operation}")
    for identity in IDENTITIES
    for operation in IDENTITY_OPERATIONS
]
UNKNOWN_ROUTE_CELLS = [
    pytest.param(method, path, id=f"{method}-{path.replace('{tenant}', 'T').replace('{approvalId}', 'ID')}")
    for method, path in UNKNOWN_ROUTES
]
DIRECTORY_CELLS = [
    pytest.param(credential, operation, expect, id=f"{credential}-{operation}")
    for credential in DIRECTORY_CREDENTIALS
    for operation, expect in zip(DIRECTORY_OPERATIONS, credential.expect, strict=True)
]
WEBHOOK_CELLS = [pytest.param(signature, id=str(signature)) for signature in WEBHOOK_SIGNATURES]
MATRIX_TESTS = {
    "test_credential_matrix": CREDENTIAL_CELLS,
    "test_identity_matrix": IDENTITY_CELLS,
    "test_nothing_outside_the_table_answers": UNKNOWN_ROUTE_CELLS,
    "test_directory_matrix": DIRECTORY_CELLS,
    "test_webhook_matrix": WEBHOOK_CELLS,
}
ALL_CELLS = frozenset(f"{test}[{cell.id}]" for test, cells in MATRIX_TESTS.items() for cell in cells)
# With pytest-xdist the cells may run on several workers (pytest >= 9 derives node ids from
# Node._id, so xdist's xdist_group suffix no longer keeps a group on one worker): each worker
# writes the cells it sent to a ledger in the run's shared temporary folder.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
LEDGER_WAIT_SECONDS = 180


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if XDIST_WORKER else base) / "authorization-matrix-ledger"
    folder.mkdir(exist_ok=True)
    return folder / f"{XDIST_WORKER or 'main'}.txt"


def record(ledger: Path, request: pytest.FixtureRequest) -> None:
    with ledger.open("a") as cells:
        cells.write(request.node.name + "\n")


def exercised(ledger: Path) -> set[str]:
    return {cell for path in ledger.parent.glob("*.txt") for cell in path.read_text().split()}


@pytest.fixture(scope="module")
def world(serve: Serve, api: Api, token: Mint, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World.seeded(serve, api, token, tmp_path_factory.mktemp("matrix"))


def exercise(
    world: World,
    ledger: Path,
    request: pytest.FixtureRequest,
    row: str,
    operation: Operation,
    expect: Expect,
    *,
    caller: str,
    home: str,
    path_tenant: str,
    authorization: str | None,
    own_cart: Callable[[], str],
) -> None:
    """One cell: ``caller`` (at home in tenant ``home``) sends ``operation`` to ``path_tenant``.

    A PATCH or DELETE that is to succeed gets a fresh approval; one that is to be refused tries
    the row's victim approval, which must be unchanged afterwards.
    """
    before: dict[str, Any] | None = None
    if operation.changes is None:
        approval_id, approval_cart = world.shared_id, world.shared_cart
    elif expect.succeeds:
        approval_id, approval_cart = world.fresh_approval()
    else:
        approval_id, approval_cart = world.victim(row)
        before = world.read(approval_id)
    cart = {"own": own_cart, "approval_id": lambda: approval_id}.get(operation.cart, lambda: approval_cart)()
    response = world.api.call(
        operation.method,
        operation.path.format(tenant=path_tenant, approvalId=approval_id),
        headers={} if authorization is None else {"Authorization": authorization},
        json=None if operation.body is None else operation.body(cart),
        params=operation.params,
    )
    record(ledger, request)
    check(response, expect, caller=caller, approval_id=approval_id)

    # A refusal changed nothing; a success changed what it says.
    if operation.changes is not None:
        stored = world.read(approval_id)
        if before is not None:
            assert stored == before, "a refused change changed the approval"
        else:
            assert stored["metadata"]["version"] == 2, stored
            assert {name: stored.get(name) for name in operation.changes} == operation.changes, stored
    elif operation is CREATE:
        made = world.approvals_on(home, caller, cart)
        if expect.succeeds:
            assert [approval["id"] for approval in made] == [response.json()["id"]], made
            assert made[0]["requestor"]["userId"] == caller, made
        else:
            assert made == [], made


@pytest.mark.parametrize(("credential", "operation", "expect"), CREDENTIAL_CELLS)
def test_credential_matrix(
    world: World,
    ledger: Path,
    signing_key: SigningKey,
    request: pytest.FixtureRequest,
    credential: Credential,
    operation: Operation,
    expect: Expect,
) -> None:
    exercise(
        world,
        ledger,
        request,
        # Every refusal of this table comes before the handler reads the approval (the authorizer's,
        # or the tenant check), so the rows can share one victim approval.
        "credentials",
        operation,
        expect,
        caller="req",
        home=world.tenant,
        path_tenant=credential.path_tenant(world),
        authorization=credential.authorization(signing_key, world),
        own_cart=lambda: world.cart("req"),
    )


@pytest.mark.parametrize(("identity", "operation", "expect"), IDENTITY_CELLS)
def test_identity_matrix(
    world: World, ledger: Path, request: pytest.FixtureRequest, identity: Identity, operation: Operation, expect: Expect
) -> None:
    tenant = world.twin if identity.twin else world.tenant

    def own_cart() -> str:
        if not identity.twin:
            return world.cart(identity.user)
        # The twin's own cart has a PENDING approval under the same id in the other tenant.
        return (world.fresh_approval() if operation is CREATE else world.victim(f"identity {identity}"))[1]

    exercise(
        world,
        ledger,
        request,
        f"identity {identity}",
        operation,
        expect,
        caller=identity.user,
        home=tenant,
        path_tenant=tenant,
        authorization=f"Bearer {world.mint(identity.user, tenant)}",
        own_cart=own_cart,
    )


@pytest.mark.parametrize(("method", "path"), UNKNOWN_ROUTE_CELLS)
def test_nothing_outside_the_table_answers(
    world: World, ledger: Path, request: pytest.FixtureRequest, method: str, path: str
) -> None:
    """The router answers 404 itself, before the authorizer and without invoking a function: the
    body is API Gateway's, not a handler's, with a good token or none, and nothing changes."""
    url = path.format(tenant=world.tenant, approvalId=world.shared_id)
    body = None if method in ("GET", "HEAD") else [{"op": "add", "path": "/comment", "value": "reached"}]
    for authorization in (f"Bearer {world.mint('req', world.tenant)}", None):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = world.api.call(method, url, headers=headers, json=body)
        assert response.status_code == 404, f"{method} {url}: {response.status_code} {response.text}"
        if method != "HEAD":
            assert response.json() == GATEWAY_NOT_FOUND, response.text
    record(ledger, request)
    stored = world.read(world.shared_id)
    assert (stored["status"], stored["metadata"]["version"], stored.get("comment")) == ("PENDING", 1, None)


# --------------------------------------------------------------------------- the directory feed's cells
def machine_token(world: World, tenant: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.mint('commerce-sync', tenant or world.tenant, scopes=[MACHINE])}"}


def entry_status(world: World, kind: str, entry_id: str) -> int:
    path = f"/directory/{world.tenant}/{kind}/{entry_id}"
    return world.api.call("GET", path, headers=machine_token(world)).status_code


@pytest.mark.parametrize(("credential", "operation", "expect"), DIRECTORY_CELLS)
def test_directory_matrix(
    world: World,
    ledger: Path,
    signing_key: SigningKey,
    request: pytest.FixtureRequest,
    credential: Credential,
    operation: DirectoryOperation,
    expect: Expect,
) -> None:
    """Only the machine client's scope reaches the directory; a refused write writes nothing and a
    refused delete deletes nothing."""
    cell = f"cell-{uuid.uuid4().hex[:10]}"
    kind, entry_id, body = "customers", cell, None
    if operation is DIRECTORY_PUT:
        body = {"firstName": "Cell", "groups": ["B2B_ADMIN"], "companies": [COMPANY]}
    elif operation is DIRECTORY_GET:
        entry_id = "adm"
    else:
        kind = "carts"
        made = world.api.call("PUT", f"/directory/{world.tenant}/carts/{cell}", headers=machine_token(world), json={})
        assert made.status_code == 200, made.text
    authorization = credential.authorization(signing_key, world)
    response = world.api.call(
        operation.method,
        f"/directory/{credential.path_tenant(world)}/{kind}/{entry_id}",
        headers={} if authorization is None else {"Authorization": authorization},
        json=body,
    )
    record(ledger, request)
    text = response.text[:600]
    assert response.status_code == expect.status, f"expected {expect}, got {response.status_code}: {text}"
    if not expect.succeeds:
        check(response, expect, caller="commerce-sync", approval_id=entry_id)
    elif operation is DIRECTORY_GET:
        assert response.json()["id"] == "adm", text
    else:
        assert response.json() == {"id": entry_id, "result": "WRITTEN"}, text
    if operation is DIRECTORY_PUT:
        assert entry_status(world, "customers", cell) == (200 if expect.succeeds else 404)
    elif operation is DIRECTORY_DELETE:
        assert entry_status(world, "carts", cell) == (404 if expect.succeeds else 200)


@pytest.fixture(scope="module")
def webhook_secret(world: World, serve: Serve) -> str:
    """The module tenant's webhook secret, stored where the receiver reads it (the embedded SSM)."""
    aws = json.loads((serve.state_dir / "serve.json").read_text())["awsEndpoint"]
    ssm = boto3.client(
        "ssm", endpoint_url=aws, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ssm.put_parameter(
        Name=f"{WEBHOOK_SECRETS_PATH}/{world.tenant}", Value=WEBHOOK_SECRET, Type="SecureString", Overwrite=True
    )
    return WEBHOOK_SECRET


@pytest.mark.parametrize("signature", WEBHOOK_CELLS)
def test_webhook_matrix(
    world: World, ledger: Path, request: pytest.FixtureRequest, webhook_secret: str, signature: Signature
) -> None:
    """The webhook takes no token: the tenant's signature alone decides, and a refused delivery
    is never applied."""
    customer = f"hook-{uuid.uuid4().hex[:10]}"
    body = json.dumps({"id": customer, "customerNumber": customer, "firstName": "Hook"}).encode()
    headers = {"Content-Type": "application/json"}
    if (value := signature.sign(body)) is not None:
        headers["emporix-event-signature"] = value
    if signature.bearer_token:
        headers["Authorization"] = f"Bearer {world.mint('req', world.tenant)}"
    response = world.api.call(
        "POST", f"/directory/{world.tenant}/webhooks/emporix/customer.created", headers=headers, data=body
    )
    record(ledger, request)
    assert response.status_code == signature.status, response.text
    if signature.status == 200:
        assert response.json() == {"eventType": "customer.created", "result": "QUEUED"}
        wait_until(lambda: entry_status(world, "customers", customer) == 200, what="the queued customer")
    else:
        assert response.json()["code"] == 401, response.text
        # A good delivery sent after it has been applied: the refused one would have been too.
        witness = f"witness-{uuid.uuid4().hex[:10]}"
        good = json.dumps({"id": witness, "customerNumber": witness}).encode()
        sent = world.api.call(
            "POST",
            f"/directory/{world.tenant}/webhooks/emporix/customer.created",
            headers={"emporix-event-signature": hmac_signature(webhook_secret)(good)},
            data=good,
        )
        assert sent.status_code == 200, sent.text
        wait_until(lambda: entry_status(world, "customers", witness) == 200, what="the witness customer")
        assert entry_status(world, "customers", customer) == 404


def test_the_matrix_covers_exactly_the_routes_of_the_template() -> None:
    routes = load_template(ROOT / "template.yaml").routes
    declared = {(route.method, route.path): frozenset(route.scopes) for route in routes if route.authorized}
    # The policy routes have a table of their own (test_policy_matrix.py).
    policy_routes = {key: scopes for key, scopes in declared.items() if key[1].startswith(POLICY_ROUTES_PREFIX)}
    assert {(op.method, op.path): op.scopes for op in POLICY_OPERATIONS} == policy_routes
    declared = {key: scopes for key, scopes in declared.items() if key not in policy_routes}
    approval_routes = {key: scopes for key, scopes in declared.items() if key[1].startswith("/approval/")}
    assert len(approval_routes) == len(CREDENTIAL_OPERATIONS)
    # The same routes, with the contract's scopes, in both tables.
    assert {(op.method, op.path): op.scopes for op in CREDENTIAL_OPERATIONS} == approval_routes
    assert {(op.method, op.path): op.scopes for op in IDENTITY_OPERATIONS} == approval_routes
    # The directory routes in theirs; the webhook is the one route without a token.
    directory_routes = {key: scopes for key, scopes in declared.items() if key not in approval_routes}
    assert {(op.method, op.path): op.scopes for op in DIRECTORY_OPERATIONS} == directory_routes
    assert [(route.method, route.path) for route in routes if not route.authorized] == [("POST", WEBHOOK)]
    # Every identity row has an answer for every operation, and no other.
    for identity in IDENTITIES:
        assert set(identity.expect) == {op.name for op in IDENTITY_OPERATIONS}, identity.name
    # And the routes outside the table are none of the template's.
    assert not {(method, path) for method, path in UNKNOWN_ROUTES} & set(declared)
    for credential in DIRECTORY_CREDENTIALS:
        assert len(credential.expect) == len(DIRECTORY_OPERATIONS), credential.name


def test_every_cell_was_exercised(request: pytest.FixtureRequest, ledger: Path) -> None:
    """Runs last in this module: every cell of the three tables sent its request (under xdist,
    it waits for the cells other workers still have queued)."""
    selected = {
        item.name
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.module is request.module
    }
    if not selected >= ALL_CELLS:
        pytest.skip(f"{len(ALL_CELLS - selected)} cells not selected in this run")
    deadline = time.monotonic() + (LEDGER_WAIT_SECONDS if XDIST_WORKER else 0)
    while (missing := ALL_CELLS - exercised(ledger)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(missing) == []
    report(
        f"authorization matrix: {len(ALL_CELLS)} cells"
        f" (credentials {len(CREDENTIALS)} x {len(CREDENTIAL_OPERATIONS)} routes = {len(CREDENTIAL_CELLS)},"
        f" identities {len(IDENTITIES)} x {len(IDENTITY_OPERATIONS)} operations = {len(IDENTITY_CELLS)},"
        f" unknown routes {len(UNKNOWN_ROUTE_CELLS)},"
        f" directory {len(DIRECTORY_CREDENTIALS)} x {len(DIRECTORY_OPERATIONS)} = {len(DIRECTORY_CELLS)},"
        f" webhook signatures {len(WEBHOOK_CELLS)})"
    )
