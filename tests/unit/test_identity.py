"""Bearer-token identity: real keys, real signatures, and every forgery we know of refused.

The verification suite runs against both key sources — the local key pair and a JWKS client
(fed the same public key as a local JWKS instead of the network) — so they cannot drift.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.identity import (
    MAX_TOKEN_BYTES,
    CognitoClaims,
    InsecureKeyFileError,
    JwtTokenVerifier,
    LocalKeyPair,
    LocalTokenIssuer,
    local_claims,
)
from regenzet.application.identity import (
    AUTHENTICATION_FAILED,
    AuthenticationError,
    IdentityUnavailableError,
    InvalidPrincipalError,
    Principal,
    TokenVerifier,
)
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import token_issuer, token_verifier
from regenzet.entrypoints.settings import Settings, SettingsError

ISSUER = "regenzet-local"
AUDIENCE = "regenzet-api"
CUSTOMER_ID = UUID("6f1c1f2e-2d7a-4a51-9a8e-0c6f4f0c2b11")
STAFF_ID = UUID("0b8f4e39-5c55-4f0e-8d8e-7a3b9b6f2c22")
JWKS_URL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_test/.well-known/jwks.json"


# ---------------------------------------------------------------------------------------------
# Helpers: a JWKS client that reads a local key set, and hand-made (forged) tokens.
# ---------------------------------------------------------------------------------------------


class LocalJwksClient(jwt.PyJWKClient):
    """The real PyJWKClient (cache, kid lookup, refetch on unknown kid) minus the network."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        super().__init__(JWKS_URL, cache_jwk_set=True, lifespan=300, timeout=1)
        self.jwks = jwks
        self.fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        return json.loads(json.dumps(self.jwks))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 built by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def now() -> int:
    return int(time.time())


def claims_for(role: Role = Role.TECHNICIAN, /, **changes: Any) -> dict[str, Any]:
    """Valid local claims; a change to ``None`` removes the claim."""
    t = now()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "subject-1",
        "role": role.value,
        "iat": t,
        "nbf": t,
        "exp": t + 600,
        "jti": uuid4().hex,
    }
    if role is Role.CUSTOMER:
        claims["customer_id"] = str(CUSTOMER_ID)
    elif role is not Role.AUDITOR:
        claims["staff_id"] = str(STAFF_ID)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(keys: LocalKeyPair, claims: dict[str, Any], kid: str | None = "") -> str:
    headers = {"kid": keys.kid if kid == "" else kid}
    if kid is None:
        headers = {}
    return jwt.encode(claims, keys.private_key, algorithm=keys.algorithm, headers=headers)


def public_pem(keys: LocalKeyPair) -> bytes:
    return keys.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# ---------------------------------------------------------------------------------------------
# Fixtures: one key pair, a verifier per key source.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["EdDSA", "ES256"])
def keys(request: pytest.FixtureRequest) -> LocalKeyPair:
    return LocalKeyPair.generate(request.param)


@pytest.fixture(params=["local-key", "jwks"])
def verifier(request: pytest.FixtureRequest, keys: LocalKeyPair) -> TokenVerifier:
    if request.param == "local-key":
        return JwtTokenVerifier.local(keys, issuer=ISSUER, audience=AUDIENCE)
    return JwtTokenVerifier.jwks(
        JWKS_URL,
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=(keys.algorithm,),
        claims=local_claims,
        client=LocalJwksClient(keys.jwks()),
    )


def refused(verifier: TokenVerifier, token: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        verifier.verify(token)
    error = caught.value
    assert str(error) == AUTHENTICATION_FAILED
    assert error.args == (AUTHENTICATION_FAILED,)
    assert error.__cause__ is None
    assert error.__suppress_context__  # nothing chained for a careless handler to print
    return error


# ---------------------------------------------------------------------------------------------
# Principal: the invariants a token's claims must satisfy.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "customer_id", "staff_id"),
    [
        (Role.CUSTOMER, CUSTOMER_ID, None),
        (Role.TECHNICIAN, None, STAFF_ID),
        (Role.ADVISOR, None, STAFF_ID),
        (Role.MANAGER, None, STAFF_ID),
        (Role.AUDITOR, None, None),
        (Role.AUDITOR, None, STAFF_ID),
    ],
)
def test_a_principal_for_every_role_acts_as_itself(
    role: Role, customer_id: UUID | None, staff_id: UUID | None
) -> None:
    principal = Principal("sub-1", role, customer_id=customer_id, staff_id=staff_id)
    assert principal.actor() == Actor("sub-1", role)


@pytest.mark.parametrize(
    ("role", "customer_id", "staff_id", "message"),
    [
        (Role.SYSTEM, None, None, "cannot be given to a token"),
        (Role.CUSTOMER, None, None, "needs a customer id"),
        (Role.CUSTOMER, CUSTOMER_ID, STAFF_ID, "cannot carry a staff id"),
        (Role.TECHNICIAN, None, None, "needs a staff id"),
        (Role.ADVISOR, None, None, "needs a staff id"),
        (Role.MANAGER, None, None, "needs a staff id"),
        (Role.MANAGER, CUSTOMER_ID, STAFF_ID, "cannot carry a customer id"),
        (Role.AUDITOR, CUSTOMER_ID, None, "cannot carry a customer id"),
    ],
)
def test_a_principal_that_breaks_the_role_rules_cannot_exist(
    role: Role, customer_id: UUID | None, staff_id: UUID | None, message: str
) -> None:
    with pytest.raises(InvalidPrincipalError, match=message):
        Principal("sub-1", role, customer_id=customer_id, staff_id=staff_id)


@pytest.mark.parametrize("subject", ["", "x" * 256])
def test_a_principal_needs_a_subject_of_sane_length(subject: str) -> None:
    with pytest.raises(InvalidPrincipalError, match="subject"):
        Principal(subject, Role.AUDITOR)


# ---------------------------------------------------------------------------------------------
# Round trip: issue with the local issuer, verify with each key source.
# ---------------------------------------------------------------------------------------------

PRINCIPALS = [
    Principal("cust-sanne", Role.CUSTOMER, customer_id=CUSTOMER_ID),
    Principal("tech-jan", Role.TECHNICIAN, staff_id=STAFF_ID),
    Principal("adv-eva", Role.ADVISOR, staff_id=STAFF_ID),
    Principal("mgr-pieter", Role.MANAGER, staff_id=STAFF_ID),
    Principal("aud-ines", Role.AUDITOR),
]


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.role.value)
def test_a_token_for_each_role_round_trips(
    keys: LocalKeyPair, verifier: TokenVerifier, principal: Principal
) -> None:
    issuer = LocalTokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)
    token = issuer.issue(principal)
    assert verifier.verify(token) == principal


def test_issued_tokens_carry_every_claim_and_the_kid(keys: LocalKeyPair) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    issuer = LocalTokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    first = issuer.issue(Principal("c", Role.CUSTOMER, customer_id=CUSTOMER_ID))
    second = issuer.issue(Principal("c", Role.CUSTOMER, customer_id=CUSTOMER_ID))
    header = jwt.get_unverified_header(first)
    assert header["kid"] == keys.kid
    assert header["alg"] == keys.algorithm
    claims = jwt.decode(first, options={"verify_signature": False})
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == "c"
    assert claims["role"] == "customer"
    assert claims["customer_id"] == str(CUSTOMER_ID)
    assert "staff_id" not in claims
    assert claims["iat"] == claims["nbf"] == int(clock.now().timestamp())
    assert claims["exp"] - claims["iat"] == 3600  # one hour by default
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(days=30, seconds=1), timedelta(-1)])
def test_the_issuer_refuses_a_lifetime_out_of_range(keys: LocalKeyPair, ttl: timedelta) -> None:
    issuer = LocalTokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError, match="ttl"):
        issuer.issue(Principal("a", Role.AUDITOR), ttl=ttl)


def test_a_thirty_day_token_is_still_accepted(keys: LocalKeyPair, verifier: TokenVerifier) -> None:
    issuer = LocalTokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)
    token = issuer.issue(Principal("a", Role.AUDITOR), ttl=timedelta(days=30))
    assert verifier.verify(token).role is Role.AUDITOR


def test_clock_skew_within_thirty_seconds_is_tolerated(
    keys: LocalKeyPair, verifier: TokenVerifier
) -> None:
    t = now()
    expired_just_now = claims_for(iat=t - 600, nbf=t - 600, exp=t - 10)
    from_a_fast_clock = claims_for(iat=t + 10, nbf=t + 10)
    assert verifier.verify(sign(keys, expired_just_now)).subject == "subject-1"
    assert verifier.verify(sign(keys, from_a_fast_clock)).subject == "subject-1"


def test_a_token_minted_over_an_hour_ago_has_expired(
    keys: LocalKeyPair, verifier: TokenVerifier
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1, minutes=1)
    issuer = LocalTokenIssuer(
        keys, issuer=ISSUER, audience=AUDIENCE, clock=ManualClock(an_hour_ago)
    )
    refused(verifier, issuer.issue(Principal("a", Role.AUDITOR)))


# ---------------------------------------------------------------------------------------------
# The forgery suite: each one is refused with the very same error.
# ---------------------------------------------------------------------------------------------

Forgery = Callable[[LocalKeyPair], str]


def _alg_none(keys: LocalKeyPair) -> str:
    return hand_made({"alg": "none", "typ": "JWT", "kid": keys.kid}, claims_for())


def _alg_none_capitalised(keys: LocalKeyPair) -> str:
    return hand_made({"alg": "None", "kid": keys.kid}, claims_for())


def _hs256_with_public_pem(keys: LocalKeyPair) -> str:
    return hs256({"alg": "HS256", "typ": "JWT", "kid": keys.kid}, claims_for(), public_pem(keys))


def _hs256_with_raw_public_key(keys: LocalKeyPair) -> str:
    raw = keys.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hs256({"alg": "HS256", "kid": keys.kid}, claims_for(), raw)


def _hs256_with_the_kid_as_secret(keys: LocalKeyPair) -> str:
    return hs256({"alg": "HS256", "kid": keys.kid}, claims_for(), keys.kid.encode())


def _header_alg_lies(keys: LocalKeyPair) -> str:
    other = "ES256" if keys.algorithm == "EdDSA" else "EdDSA"
    token = sign(keys, claims_for())
    _, body, signature = token.split(".")
    head = b64url(json.dumps({"alg": other, "kid": keys.kid}).encode())
    return f"{head}.{body}.{signature}"


def _wrong_key(keys: LocalKeyPair) -> str:
    return sign(LocalKeyPair.generate(keys.algorithm), claims_for(), kid=keys.kid)


def _unknown_kid(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(), kid="someone-elses-key")


def _no_kid(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(), kid=None)


def _tampered_role(keys: LocalKeyPair) -> str:
    head, _, signature = sign(keys, claims_for(Role.AUDITOR)).split(".")
    body = b64url(json.dumps(claims_for(Role.MANAGER)).encode())
    return f"{head}.{body}.{signature}"


def _stripped_signature(keys: LocalKeyPair) -> str:
    head, body, _ = sign(keys, claims_for()).split(".")
    return f"{head}.{body}."


def _expired(keys: LocalKeyPair) -> str:
    t = now()
    return sign(keys, claims_for(iat=t - 3600, nbf=t - 3600, exp=t - 120))


def _not_yet_valid(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(nbf=now() + 120))


def _issued_in_the_future(keys: LocalKeyPair) -> str:
    t = now() + 120
    return sign(keys, claims_for(iat=t, nbf=t, exp=t + 600))


def _lives_longer_than_thirty_days(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(exp=now() + 31 * 86400))


def _wrong_audience(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(aud="someone-elses-api"))


def _audience_list(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(aud=[AUDIENCE, "someone-elses-api"]))


def _wrong_issuer(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(iss="https://evil.example"))


def _issuer_prefix(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(iss=ISSUER[:-1]))


def _missing(claim: str) -> Forgery:
    def forge(keys: LocalKeyPair) -> str:
        return sign(keys, claims_for(**{claim: None}))

    forge.__name__ = f"_missing_{claim}"
    return forge


def _oversized(keys: LocalKeyPair) -> str:
    token = sign(keys, claims_for(padding="x" * MAX_TOKEN_BYTES))
    assert len(token) > MAX_TOKEN_BYTES
    return token


def _role_system(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(Role.AUDITOR, role="system"))


def _unknown_role(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(Role.AUDITOR, role="superuser"))


def _customer_without_customer_id(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(Role.CUSTOMER, customer_id=None))


def _technician_without_staff_id(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(Role.TECHNICIAN, staff_id=None))


def _malformed_customer_id(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(Role.CUSTOMER, customer_id="not-a-uuid"))


def _numeric_subject(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for(sub=12345))


def _garbage(keys: LocalKeyPair) -> str:
    return "garbage"


def _empty(keys: LocalKeyPair) -> str:
    return ""


def _three_dots(keys: LocalKeyPair) -> str:
    return "a.b.c"


def _non_ascii(keys: LocalKeyPair) -> str:
    return sign(keys, claims_for()) + "é"


def _json_header_not_object(keys: LocalKeyPair) -> str:
    body = b64url(json.dumps(claims_for()).encode())
    return f"{b64url(b'[1,2]')}.{body}.{b64url(b'sig')}"


FORGERIES: list[Forgery] = [
    _alg_none,
    _alg_none_capitalised,
    _hs256_with_public_pem,
    _hs256_with_raw_public_key,
    _hs256_with_the_kid_as_secret,
    _header_alg_lies,
    _wrong_key,
    _unknown_kid,
    _no_kid,
    _tampered_role,
    _stripped_signature,
    _expired,
    _not_yet_valid,
    _issued_in_the_future,
    _lives_longer_than_thirty_days,
    _wrong_audience,
    _audience_list,
    _wrong_issuer,
    _issuer_prefix,
    *(_missing(claim) for claim in ("exp", "iat", "iss", "aud", "sub")),
    _oversized,
    _role_system,
    _unknown_role,
    _customer_without_customer_id,
    _technician_without_staff_id,
    _malformed_customer_id,
    _numeric_subject,
    _garbage,
    _empty,
    _three_dots,
    _non_ascii,
    _json_header_not_object,
]


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__.strip("_"))
def test_every_forged_or_unacceptable_token_gets_the_same_error(
    keys: LocalKeyPair, verifier: TokenVerifier, forge: Forgery
) -> None:
    refused(verifier, forge(keys))


def test_the_suite_tokens_are_otherwise_valid(keys: LocalKeyPair, verifier: TokenVerifier) -> None:
    """Guards the forgery suite: the untouched claims and signing really do pass."""
    for role in (Role.CUSTOMER, Role.TECHNICIAN, Role.AUDITOR):
        assert verifier.verify(sign(keys, claims_for(role))).role is role


def test_the_size_limit_is_checked_before_parsing(keys: LocalKeyPair) -> None:
    calls: list[str] = []

    def keys_spy(kid: str) -> Any:
        calls.append(kid)
        raise LookupError(kid)

    verifier = JwtTokenVerifier(
        keys=keys_spy, issuer=ISSUER, audience=AUDIENCE, claims=local_claims
    )
    refused(verifier, _oversized(keys))
    assert calls == []
    refused(verifier, sign(keys, claims_for()))
    assert calls == [keys.kid]


# ---------------------------------------------------------------------------------------------
# JWKS (Cognito): claim mapping, caching, algorithm pinning. No network: a local JWKS.
# ---------------------------------------------------------------------------------------------

COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_test"
COGNITO_CLIENT = "4example7clientid"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def cognito_jwks(rsa_key: rsa.RSAPrivateKey) -> LocalJwksClient:
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    return LocalJwksClient({"keys": [{**jwk, "kid": "cognito-1", "alg": "RS256", "use": "sig"}]})


@pytest.fixture
def cognito(cognito_jwks: LocalJwksClient) -> JwtTokenVerifier:
    return JwtTokenVerifier.jwks(
        JWKS_URL, issuer=COGNITO_ISSUER, audience=COGNITO_CLIENT, client=cognito_jwks
    )


def id_token(rsa_key: rsa.RSAPrivateKey, kid: str = "cognito-1", **changes: Any) -> str:
    t = now()
    claims: dict[str, Any] = {
        "sub": "7d1e3c44-0000-4000-8000-000000000001",
        "iss": COGNITO_ISSUER,
        "aud": COGNITO_CLIENT,
        "token_use": "id",
        "auth_time": t,
        "iat": t,
        "exp": t + 3600,
        "cognito:username": "jan",
        "cognito:groups": ["technician"],
        "custom:staff_id": str(STAFF_ID),
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": kid})


def test_a_cognito_id_token_maps_groups_and_custom_attributes(
    cognito: JwtTokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    technician = cognito.verify(id_token(rsa_key))
    assert technician == Principal(
        "7d1e3c44-0000-4000-8000-000000000001", Role.TECHNICIAN, staff_id=STAFF_ID
    )
    customer = cognito.verify(
        id_token(
            rsa_key,
            **{
                "cognito:groups": ["customer", "newsletter"],
                "custom:customer_id": str(CUSTOMER_ID),
                "custom:staff_id": None,
            },
        )
    )
    assert customer.role is Role.CUSTOMER
    assert customer.customer_id == CUSTOMER_ID
    by_attribute = cognito.verify(
        id_token(
            rsa_key, **{"cognito:groups": None, "custom:role": "auditor", "custom:staff_id": None}
        )
    )
    assert by_attribute.role is Role.AUDITOR


@pytest.mark.parametrize(
    "changes",
    [
        {"cognito:groups": ["technician", "manager"]},  # ambiguous
        {"cognito:groups": ["newsletter"]},  # no role at all
        {"cognito:groups": None},
        {"cognito:groups": ["system"]},
        {"cognito:groups": None, "custom:role": "system"},
        {"custom:role": "manager"},  # disagrees with the group
        {"cognito:groups": "technician"},  # not a list
        {"token_use": "access"},
        {"aud": None, "client_id": COGNITO_CLIENT, "token_use": "access"},
        {"custom:staff_id": None},
        {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"},
        {"aud": "another-app-client"},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_cognito_tokens_that_do_not_name_one_valid_principal_are_refused(
    cognito: JwtTokenVerifier, rsa_key: rsa.RSAPrivateKey, changes: dict[str, Any]
) -> None:
    refused(cognito, id_token(rsa_key, **changes))


def test_hs256_signed_with_the_rsa_public_key_is_refused(
    cognito: JwtTokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(id_token(rsa_key), options={"verify_signature": False})
    refused(cognito, hs256({"alg": "HS256", "kid": "cognito-1"}, claims, pem))
    refused(cognito, hand_made({"alg": "none", "kid": "cognito-1"}, claims))


def test_the_jwks_is_fetched_once_and_cached(
    cognito: JwtTokenVerifier, cognito_jwks: LocalJwksClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    for _ in range(5):
        cognito.verify(id_token(rsa_key))
    assert cognito_jwks.fetches == 1


def test_an_unknown_kid_refetches_at_most_once_per_cooldown(
    cognito: JwtTokenVerifier, cognito_jwks: LocalJwksClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    cognito.verify(id_token(rsa_key))
    for _ in range(5):
        refused(cognito, id_token(rsa_key, kid="rotated-away"))
    assert cognito_jwks.fetches <= 2


def test_a_jwks_key_with_an_unpinned_algorithm_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    client = LocalJwksClient({"keys": [{**jwk, "kid": "cognito-1", "alg": "RS512"}]})
    verifier = JwtTokenVerifier.jwks(
        JWKS_URL, issuer=COGNITO_ISSUER, audience=COGNITO_CLIENT, client=client
    )
    claims = jwt.decode(id_token(rsa_key), options={"verify_signature": False})
    refused(verifier, jwt.encode(claims, rsa_key, algorithm="RS512", headers={"kid": "cognito-1"}))


def test_a_symmetric_jwks_key_is_never_trusted() -> None:
    secret = b"shared-secret-shared-secret-1234"
    client = LocalJwksClient({"keys": [{"kty": "oct", "k": b64url(secret), "kid": "k1"}]})
    verifier = JwtTokenVerifier.jwks(
        JWKS_URL, issuer=COGNITO_ISSUER, audience=COGNITO_CLIENT, client=client
    )
    t = now()
    claims = {"sub": "s", "iss": COGNITO_ISSUER, "aud": COGNITO_CLIENT, "iat": t, "exp": t + 60}
    claims["cognito:groups"] = ["auditor"]
    refused(verifier, jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "k1"}))


@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("RS256", "HS512"), ()])
def test_only_asymmetric_algorithms_can_be_pinned(algorithms: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        JwtTokenVerifier.jwks(JWKS_URL, issuer=ISSUER, audience=AUDIENCE, algorithms=algorithms)


def test_cognito_group_names_can_be_mapped() -> None:
    claims = CognitoClaims({"garage-techs": Role.TECHNICIAN, "ops": Role.SYSTEM})
    base = {"sub": "s", "custom:staff_id": str(STAFF_ID)}
    assert claims({**base, "cognito:groups": ["garage-techs"]}).role is Role.TECHNICIAN
    with pytest.raises(ValueError, match="role"):
        claims({**base, "cognito:groups": ["ops"]})  # a group can never grant system


# ---------------------------------------------------------------------------------------------
# The local key pair on disk.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_the_key_pair_is_created_private_and_reused(tmp_path: Path, algorithm: str) -> None:
    directory = tmp_path / "data" / "keys"
    first = LocalKeyPair.load_or_create(directory, algorithm)
    assert first.path is not None
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    second = LocalKeyPair.load_or_create(directory, algorithm)
    assert second.kid == first.kid
    assert second.algorithm == algorithm
    assert [p.name for p in directory.iterdir()] == [first.path.name]  # no temp files left
    token = LocalTokenIssuer(first, issuer=ISSUER, audience=AUDIENCE).issue(
        Principal("a", Role.AUDITOR)
    )
    reloaded = JwtTokenVerifier.local(second, issuer=ISSUER, audience=AUDIENCE)
    assert reloaded.verify(token).subject == "a"


def test_the_kid_is_the_sha256_of_the_public_key(keys: LocalKeyPair) -> None:
    der = keys.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert keys.kid == b64url(hashlib.sha256(der).digest())
    assert keys.jwks()["keys"][0]["kid"] == keys.kid
    assert "d" not in keys.public_jwk()  # the private part never leaves


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    barrier = threading.Barrier(8)
    kids: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            kids.append(LocalKeyPair.load_or_create(directory).kid)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(kids) == 8
    assert len(set(kids)) == 1
    assert len(list(directory.iterdir())) == 1


def test_a_world_readable_private_key_is_refused(tmp_path: Path) -> None:
    pair = LocalKeyPair.load_or_create(tmp_path / "keys")
    assert pair.path is not None
    os.chmod(pair.path, 0o644)
    with pytest.raises(InsecureKeyFileError, match="chmod 600"):
        LocalKeyPair.load_or_create(tmp_path / "keys")


def test_a_key_file_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    ed = LocalKeyPair.load_or_create(tmp_path / "keys", "EdDSA")
    assert ed.path is not None
    ed.path.rename(tmp_path / "keys" / "signing-key-es256.pem")
    with pytest.raises(ValueError, match="ES256"):
        LocalKeyPair.load_or_create(tmp_path / "keys", "ES256")


def test_only_eddsa_and_es256_keys_are_generated() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        LocalKeyPair.generate("HS256")


# ---------------------------------------------------------------------------------------------
# Settings and the composition root.
# ---------------------------------------------------------------------------------------------


def test_token_settings_default_to_local_keys() -> None:
    settings = Settings.from_env({})
    assert settings.jwt_issuer == "regenzet-local"
    assert settings.jwt_audience == "regenzet-api"
    assert settings.jwks_url is None


def test_token_settings_for_cognito() -> None:
    settings = Settings.from_env(
        {
            "REGENZET_JWKS_URL": JWKS_URL,
            "REGENZET_JWT_ISSUER": COGNITO_ISSUER,
            "REGENZET_JWT_AUDIENCE": COGNITO_CLIENT,
        }
    )
    assert (settings.jwks_url, settings.jwt_issuer, settings.jwt_audience) == (
        JWKS_URL,
        COGNITO_ISSUER,
        COGNITO_CLIENT,
    )
    assert isinstance(token_verifier(settings), JwtTokenVerifier)  # built without fetching
    with pytest.raises(SettingsError, match="identity provider"):
        token_issuer(settings)


@pytest.mark.parametrize(
    "env",
    [
        {"REGENZET_JWKS_URL": JWKS_URL},
        {"REGENZET_JWKS_URL": JWKS_URL, "REGENZET_JWT_ISSUER": COGNITO_ISSUER},
        {
            "REGENZET_JWKS_URL": "http://keys.example/jwks.json",
            "REGENZET_JWT_ISSUER": "i",
            "REGENZET_JWT_AUDIENCE": "a",
        },
        {
            "REGENZET_JWKS_URL": "http://localhost.evil.example/jwks.json",
            "REGENZET_JWT_ISSUER": "i",
            "REGENZET_JWT_AUDIENCE": "a",
        },
        {"REGENZET_JWKS_URL": "file:///etc/passwd", "REGENZET_JWT_ISSUER": "i"},
    ],
)
def test_a_jwks_url_needs_https_issuer_and_audience(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="REGENZET_J"):
        Settings.from_env(env)


def test_the_container_issues_and_verifies_with_the_data_dirs_key(tmp_path: Path) -> None:
    settings = Settings.from_env({"REGENZET_DATA_DIR": str(tmp_path)})
    token = token_issuer(settings).issue(Principal("m", Role.MANAGER, staff_id=STAFF_ID))
    assert token_verifier(settings).verify(token).staff_id == STAFF_ID
    other = Settings.from_env({"REGENZET_DATA_DIR": str(tmp_path / "elsewhere")})
    refused(token_verifier(other), token)
    wrong_audience = Settings.from_env(
        {"REGENZET_DATA_DIR": str(tmp_path), "REGENZET_JWT_AUDIENCE": "other-api"}
    )
    refused(token_verifier(wrong_audience), token)


class UnreachableJwksClient(LocalJwksClient):
    """A JWKS endpoint that cannot be reached (DNS failure, timeout, 5xx)."""

    def fetch_data(self) -> Any:
        self.fetches += 1
        raise jwt.PyJWKClientConnectionError("Fail to fetch data from the url")


def test_an_unreachable_jwks_is_an_outage_not_a_bad_token(rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = JwtTokenVerifier.jwks(
        JWKS_URL,
        issuer=COGNITO_ISSUER,
        audience=COGNITO_CLIENT,
        client=UnreachableJwksClient({"keys": []}),
    )
    with pytest.raises(IdentityUnavailableError):
        verifier.verify(id_token(rsa_key))
