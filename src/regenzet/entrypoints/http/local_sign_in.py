"""The local sign-in: lists the demo people and mints a token for one of them.

It exists only when tokens are signed by the local key pair (no ``REGENZET_JWKS_URL``): the
composition root does not mount these routes when Cognito issues the tokens, so in production
there is nothing to call. It is what ``regenzet auth demo NAME`` does, reachable from the web
app's sign-in page. Tokens are short-lived (8 h, like the CLI's) and go back in the body, never
in a cookie.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, SkipValidation

from regenzet.application.identity import Principal, TokenIssuer
from regenzet.application.ports import Clock
from regenzet.domain.common import Role
from regenzet.entrypoints.demo import CUSTOMERS, STAFF, DemoLogin, demo_logins
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.routing import problems

LOCAL_TOKEN_TTL = timedelta(hours=8)


class DemoPerson(msgspec.Struct, kw_only=True):
    name: str
    display_name: str
    role: Role
    hv_level: int | None = None
    customer_id: UUID | None = None
    staff_id: UUID | None = None


class DemoPeople(msgspec.Struct, kw_only=True):
    items: list[DemoPerson]


class LocalSignIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str = msgspec.field()


class LocalSession(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_at: datetime
    person: DemoPerson


def _people() -> list[DemoPerson]:
    staff = {key: (name, level) for key, name, _email, _role, level, _exp in STAFF}
    people = []
    for login in demo_logins().values():
        if login.name in CUSTOMERS:
            display, level = CUSTOMERS[login.name][0], None
        elif login.name in staff:
            display, level = staff[login.name]
        else:
            display, level = login.name.capitalize(), None
        people.append(
            DemoPerson(
                name=login.name,
                display_name=display,
                role=login.role,
                hv_level=level,
                customer_id=login.customer_id,
                staff_id=login.staff_id,
            )
        )
    return people


class LocalSignInServices:
    """What the sign-in routes need: the local issuer and a clock."""

    def __init__(self, issuer: TokenIssuer, clock: Clock) -> None:
        self.issuer = issuer
        self.clock = clock


SignInDep = NamedDependency[SkipValidation[LocalSignInServices]]


class LocalSignInController(Controller):
    path = "/auth/local"
    tags = ["local sign-in"]
    security = [{}]

    @get(
        "/people",
        operation_id="listDemoPeople",
        summary="The demo people one can sign in as (only with the local identity)",
        sync_to_thread=False,
    )
    def people(self) -> DemoPeople:
        return DemoPeople(items=_people())

    @post(
        "/sign-in",
        operation_id="signInAsDemoPerson",
        summary="A bearer token for a demo person (only with the local identity)",
        sync_to_thread=False,
        status_code=200,
        responses=problems(400, 404),
    )
    def sign_in(self, data: JSONBody[LocalSignIn], sign_in_services: SignInDep) -> LocalSession:
        logins: dict[str, DemoLogin] = demo_logins()
        login = logins.get(data.name)
        if login is None:
            raise ApiError(404, "not-found", f"no demo person {data.name!r}")
        principal = Principal(
            subject=login.subject,
            role=login.role,
            customer_id=login.customer_id,
            staff_id=login.staff_id,
        )
        token = sign_in_services.issuer.issue(principal, ttl=LOCAL_TOKEN_TTL)
        person = next(p for p in _people() if p.name == login.name)
        return LocalSession(
            access_token=token,
            token_type="Bearer",  # noqa: S106 (the scheme name, not a secret)
            expires_at=sign_in_services.clock.now() + LOCAL_TOKEN_TTL,
            person=person,
        )


def local_sign_in_router(issuer: TokenIssuer, clock: Clock) -> Router:
    """The sign-in routes bound to the local issuer (mounted only without a JWKS)."""
    services = LocalSignInServices(issuer, clock)

    def provide() -> LocalSignInServices:
        return services

    return Router(
        path="/",
        route_handlers=[LocalSignInController],
        dependencies={"sign_in_services": Provide(provide, sync_to_thread=False)},
    )


__all__: list[Any] = ["LocalSignInController", "LocalSignInServices", "local_sign_in_router"]
