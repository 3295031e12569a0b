"""The development token issuer: access tokens shaped like a Cognito user pool's, signed with a
key that exists only on this machine, and their verification as API Gateway's JWT authorizer
does it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .state import write_private

ISSUER = "http://approvals-local"
AUDIENCE = "approvals-local"
ALGORITHM = "RS256"
# API Gateway's JWT authorizer accepts only RSA-based algorithms (http-api-jwt-authorizer).
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
DEFAULT_SCOPES = (
    "approval.approval_read_own",
    "approval.approval_read",
    "approval.approval_manage_own",
    "approval.approval_manage",
)
KEY_FILE = "signing-key.pem"


class InvalidToken(Exception):
    """Why the authorizer refuses a token, in the words of API Gateway's ``www-authenticate``
    ``error_description`` (the audience one is documented in http-api-troubleshooting-jwt)."""


@dataclass(frozen=True)
class ClaimNames:
    """The claims the functions read the tenant and groups from (template parameters)."""

    tenant: str = "tenant"
    groups: str = "cognito:groups"


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise InvalidToken("the signing key is not an RSA key")
        return cls(key, _thumbprint(_public_jwk(key.public_key())))

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwks(self) -> dict[str, Any]:
        jwk = {**_public_jwk(self.public_key), "kid": self.kid, "alg": ALGORITHM, "use": "sig"}
        return {"keys": [jwk]}


def load_signing_key(directory: Path) -> SigningKey:
    """The project's development key, created on first use."""
    path = directory / KEY_FILE
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_private(
            path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    return SigningKey.from_pem(path.read_bytes())


def mint(
    key: SigningKey,
    *,
    tenant: str,
    user: str,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    groups: Iterable[str] | None = None,
    ttl: int = 3600,
    claim_names: ClaimNames = ClaimNames(),
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user,
        claim_names.tenant: tenant,
        "scope": " ".join(scopes),
        "iss": issuer,
        "aud": audience,
        "client_id": audience,
        "token_use": "access",
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    if groups is not None:
        claims[claim_names.groups] = list(groups)
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def verify(key: SigningKey, token: str, *, issuer: str = ISSUER, audience: str = AUDIENCE) -> dict[str, Any]:
    """The token's claims, if API Gateway's JWT authorizer would accept it; else InvalidToken.

    The checks of http-api-jwt-authorizer: the signature (RSA algorithms only) with the key the
    header's kid names, then iss, aud (or client_id when there is no aud), exp, nbf and iat. The
    subject is not the authorizer's business: a token without sub reaches the function.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("the token is malformed") from None
    if header.get("alg") not in RSA_ALGORITHMS:
        # Only word characters of the client's text go into the www-authenticate header.
        algorithm = re.sub(r"[^\w-]", "", str(header.get("alg")))[:20]
        raise InvalidToken(f"the token's signing algorithm {algorithm} is not supported")
    if header.get("kid") != key.kid:
        raise InvalidToken("the token's signing key is unknown")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=list(RSA_ALGORITHMS),
            issuer=issuer,
            options={"require": ["exp", "iss"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("the token is not valid yet") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("the token does not have a valid issuer") from None
    except jwt.MissingRequiredClaimError as error:
        raise InvalidToken(f"the token has no {error.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("the token's signature is invalid") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken("the token is malformed") from None
    # aud when the token has one, else client_id (Cognito access tokens name the app client in
    # client_id and carry no aud): http-api-troubleshooting-jwt.
    if "aud" in claims:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in audiences:
            raise InvalidToken("the token does not have a valid audience")
    elif claims.get("client_id") != audience:
        raise InvalidToken("the token does not have a valid audience")
    return claims


def scopes_of(claims: Mapping[str, Any]) -> list[str]:
    """The token's scopes, from ``scope`` or, without it, ``scp`` (http-api-jwt-authorizer);
    space-separated text or a list."""
    scope = claims["scope"] if "scope" in claims else claims.get("scp")
    if isinstance(scope, list):
        return [str(entry) for entry in scope]
    return str(scope).split() if isinstance(scope, str) else []


def _public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"]}


def _thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    canonical = json.dumps({name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
