"""Identity adapters: a locally generated signing key, a local token issuer, a JWT verifier.

Locally (no setup) an Ed25519 key pair is generated under ``$REGENZET_DATA_DIR/keys`` on first
use and the CLI mints tokens with it. In production the verifier reads Cognito's JWKS instead.
Both paths share one verification routine, so the forgery defences are the same everywhere.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeGuard
from uuid import UUID, uuid4

import attrs
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from regenzet.adapters.clock import SystemClock
from regenzet.application.identity import (
    DEFAULT_TOKEN_TTL,
    MAX_TOKEN_TTL,
    AuthenticationError,
    IdentityUnavailableError,
    Principal,
)
from regenzet.application.ports import Clock
from regenzet.domain.common import Role

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "MAX_TOKEN_BYTES",
    "CognitoClaims",
    "InsecureKeyFileError",
    "JwtTokenVerifier",
    "LocalKeyPair",
    "LocalTokenIssuer",
    "local_claims",
]

logger = logging.getLogger(__name__)

# Anything bigger is not one of our tokens; refuse it before spending CPU on parsing.
MAX_TOKEN_BYTES = 8 * 1024
LEEWAY = timedelta(seconds=30)
# Only public-key signatures: "none" and the HS* family (where a public key could be misused as
# an HMAC secret) can never be configured.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
LOCAL_ALGORITHMS = ("EdDSA", "ES256")
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
ClaimsMapper = Callable[[Mapping[str, Any]], Principal]


class InsecureKeyFileError(PermissionError):
    """The private key file can be read by other users: refuse to use it (as ssh does)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _generate(algorithm: str) -> PrivateKey:
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def _fits(key: object, algorithm: str) -> TypeGuard[PrivateKey]:
    if algorithm == "EdDSA":
        return isinstance(key, ed25519.Ed25519PrivateKey)
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


@attrs.frozen
class LocalKeyPair:
    """The local signing key pair (Ed25519 by default, or ES256), kept in one PEM file.

    ``load_or_create`` generates it on first use (directory 0700, private key 0600) and loads it
    afterwards. Two processes starting at once both end up with the same key: each writes a
    complete temporary file and publishes it with ``os.link``, which never replaces an existing
    file, so the first one wins and the other loads it.
    """

    private_key: PrivateKey
    algorithm: str
    path: Path | None = None

    def __attrs_post_init__(self) -> None:
        if self.algorithm not in LOCAL_ALGORITHMS or not _fits(self.private_key, self.algorithm):
            raise ValueError(f"the key is not a {self.algorithm} key ({LOCAL_ALGORITHMS})")

    @classmethod
    def generate(cls, algorithm: str = "EdDSA") -> LocalKeyPair:
        """A fresh key pair in memory only (tests, throwaway setups)."""
        if algorithm not in LOCAL_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {LOCAL_ALGORITHMS}, not {algorithm!r}")
        return cls(_generate(algorithm), algorithm)

    @classmethod
    def load_or_create(cls, directory: Path, algorithm: str = "EdDSA") -> LocalKeyPair:
        if algorithm not in LOCAL_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {LOCAL_ALGORITHMS}, not {algorithm!r}")
        path = directory / f"signing-key-{algorithm.lower()}.pem"
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            cls._publish(path, _generate(algorithm))
        return cls._load(path, algorithm)

    @staticmethod
    def _publish(path: Path, key: PrivateKey) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            # os.link never replaces: if another process published first, its key is the key.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)

    @classmethod
    def _load(cls, path: Path, algorithm: str) -> LocalKeyPair:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise InsecureKeyFileError(f"{path} is readable by others; run chmod 600 on it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not _fits(key, algorithm):
            raise ValueError(f"{path} does not hold a {algorithm} key")
        return cls(key, algorithm, path)

    @property
    def public_key(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        """Base64url SHA-256 of the public key (SubjectPublicKeyInfo DER): stable, not secret."""
        der = self.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _b64url(hashlib.sha256(der).digest())

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.public_key, ed25519.Ed25519PublicKey):
            jwk = OKPAlgorithm.to_jwk(self.public_key, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set (what a JWKS endpoint would serve)."""
        return {"keys": [self.public_jwk()]}


class LocalTokenIssuer:
    """Mints tokens signed with the local key: iss, aud, sub, role, customer_id / staff_id,
    iat, nbf, exp, jti, and the key's ``kid`` in the header. TTL 1 h by default, 30 days max."""

    def __init__(
        self, key_pair: LocalKeyPair, *, issuer: str, audience: str, clock: Clock | None = None
    ) -> None:
        self._key_pair = key_pair
        self._issuer = issuer
        self._audience = audience
        self._clock: Clock = clock if clock is not None else SystemClock()

    def issue(self, principal: Principal, ttl: timedelta = DEFAULT_TOKEN_TTL) -> str:
        if not timedelta(seconds=1) <= ttl <= MAX_TOKEN_TTL:
            raise ValueError(f"ttl must be between 1 second and {MAX_TOKEN_TTL.days} days")
        issued_at = int(self._clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + int(ttl.total_seconds()),
            "jti": uuid4().hex,
        }
        if principal.customer_id is not None:
            claims["customer_id"] = str(principal.customer_id)
        if principal.staff_id is not None:
            claims["staff_id"] = str(principal.staff_id)
        return jwt.encode(
            claims,
            self._key_pair.private_key,
            algorithm=self._key_pair.algorithm,
            headers={"kid": self._key_pair.kid, "typ": "JWT"},
        )


def _optional_uuid(claims: Mapping[str, Any], name: str) -> UUID | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(name)
    return UUID(value)


def local_claims(claims: Mapping[str, Any]) -> Principal:
    """Claims of a locally minted token: ``role``, ``customer_id``, ``staff_id``."""
    role = claims.get("role")
    if not isinstance(role, str):
        raise TypeError("role")
    return Principal(
        subject=claims["sub"],
        role=Role(role),
        customer_id=_optional_uuid(claims, "customer_id"),
        staff_id=_optional_uuid(claims, "staff_id"),
    )


class CognitoClaims:
    """Maps the claims of a Cognito **ID token** to a principal.

    - role: the user's groups (``cognito:groups``) that name a role — by default a group called
      ``customer``, ``advisor``, ``technician``, ``manager`` or ``auditor`` — and/or the custom
      attribute ``custom:role``. Exactly one role must result: several role groups, or a group
      that disagrees with ``custom:role``, are refused. Other groups are ignored.
    - ``custom:customer_id`` / ``custom:staff_id``: the customer or staff record the user is.
    - sub: Cognito's user id. A ``token_use`` other than ``id`` is refused (access tokens carry
      no ``aud`` and no custom attributes).
    """

    def __init__(self, group_roles: Mapping[str, Role] | None = None) -> None:
        roles = group_roles if group_roles is not None else {r.value: r for r in Role}
        self._group_roles = {g: r for g, r in roles.items() if r is not Role.SYSTEM}

    def __call__(self, claims: Mapping[str, Any]) -> Principal:
        if claims.get("token_use", "id") != "id":
            raise ValueError("token_use")
        groups = claims.get("cognito:groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise TypeError("cognito:groups")
        roles: set[Role] = {self._group_roles[g] for g in groups if g in self._group_roles}
        custom = claims.get("custom:role")
        if custom is not None:
            if not isinstance(custom, str):
                raise TypeError("custom:role")
            roles.add(Role(custom))
        if len(roles) != 1:
            raise ValueError("role")
        return Principal(
            subject=claims["sub"],
            role=roles.pop(),
            customer_id=_optional_uuid(claims, "custom:customer_id"),
            staff_id=_optional_uuid(claims, "custom:staff_id"),
        )


@attrs.frozen
class _VerificationKey:
    key: Any
    algorithm: str


class JwtTokenVerifier:
    """Verifies bearer JWTs; every failure is the same :class:`AuthenticationError`.

    Keys come from the local key pair (:meth:`local`) or a JWKS URL such as Cognito's
    (:meth:`jwks`, through ``jwt.PyJWKClient`` with its JWKS cache and an HTTP timeout). In both
    cases:

    - tokens over 8 KiB are refused before parsing;
    - the header's ``kid`` must name a known key and its ``alg`` must be exactly that key's
      algorithm, which is asymmetric (never ``none``, never HS*);
    - ``exp``, ``iat``, ``iss``, ``aud`` and ``sub`` are required; issuer and audience must match
      exactly; times are checked with 30 s leeway; a token may not live longer than 30 days;
    - the claims must describe a valid principal (never role ``system``).

    Claims map to a principal through ``claims`` — :func:`local_claims` for local tokens,
    :class:`CognitoClaims` for Cognito ID tokens (see its docstring for the role mapping).
    """

    def __init__(
        self,
        *,
        keys: Callable[[str], _VerificationKey],
        issuer: str,
        audience: str,
        claims: ClaimsMapper,
        leeway: timedelta = LEEWAY,
        max_lifetime: timedelta = MAX_TOKEN_TTL,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._claims = claims
        self._leeway = leeway
        self._max_lifetime = max_lifetime

    @classmethod
    def local(cls, key_pair: LocalKeyPair, *, issuer: str, audience: str) -> JwtTokenVerifier:
        """Trusts exactly the local key pair's public key, under its ``kid``."""
        known = _VerificationKey(key_pair.public_key, key_pair.algorithm)
        kid = key_pair.kid

        def keys(requested: str) -> _VerificationKey:
            if requested != kid:
                raise LookupError("unknown kid")
            return known

        return cls(keys=keys, issuer=issuer, audience=audience, claims=local_claims)

    @classmethod
    def jwks(
        cls,
        url: str,
        *,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...] = ("RS256",),
        claims: ClaimsMapper | None = None,
        timeout: float = 5.0,
        cache_lifespan: float = 300.0,
        client: jwt.PyJWKClient | None = None,
    ) -> JwtTokenVerifier:
        """Trusts the signing keys a JWKS endpoint publishes (Cognito signs with RS256).

        ``client`` replaces the ``PyJWKClient`` (tests feed it a local JWKS; no network).
        A ``kid`` not in the cached set triggers at most one refetch per 30 s (the client's
        cooldown), so random kids cannot hammer the endpoint.
        """
        allowed = frozenset(algorithms)
        if not allowed or not allowed <= ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"algorithms must be asymmetric: {sorted(ASYMMETRIC_ALGORITHMS)}")
        jwk_client = client or jwt.PyJWKClient(
            url, cache_jwk_set=True, lifespan=cache_lifespan, timeout=timeout
        )

        def keys(requested: str) -> _VerificationKey:
            try:
                jwk = jwk_client.get_signing_key(requested)
            except jwt.PyJWKClientConnectionError:
                raise IdentityUnavailableError from None
            if jwk.algorithm_name not in allowed:
                raise LookupError("key algorithm not allowed")
            return _VerificationKey(jwk.key, jwk.algorithm_name)

        return cls(
            keys=keys,
            issuer=issuer,
            audience=audience,
            claims=claims if claims is not None else CognitoClaims(),
        )

    def verify(self, token: str) -> Principal:
        try:
            return self._verify(token)
        except IdentityUnavailableError:
            logger.warning("JWKS endpoint unreachable; bearer tokens cannot be verified")
            raise
        except Exception as exc:  # every failure looks the same from outside
            logger.debug("bearer token refused: %s", type(exc).__name__)
            raise AuthenticationError() from None

    def _verify(self, token: str) -> Principal:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES or not token.isascii():
            raise ValueError("not a token of an acceptable size")
        header = jwt.get_unverified_header(token)
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str):
            raise ValueError("kid and alg are required")
        key = self._keys(kid)
        if alg != key.algorithm or key.algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ValueError("algorithm mismatch")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm],
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True},
        )
        if not isinstance(claims["iss"], str) or claims["iss"] != self._issuer:
            raise ValueError("issuer")  # belt and braces: PyJWT also accepts containers
        if claims["exp"] - claims["iat"] > self._max_lifetime.total_seconds():
            raise ValueError("lifetime")
        return self._claims(claims)
