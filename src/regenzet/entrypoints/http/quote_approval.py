"""The quote-approval link's routes: the emailed link opens the web page
``/portal/repair-orders/{order_id}/quote?token=...``, which sends the token back in the
``X-Approval-Token`` header (no bearer token: the link is the credential, for one order's
current quote only). Rules and their reasons: :mod:`regenzet.application.quote_approval` and
ADR 0016.

These routes sit on their own router with their own guard: the per-address rate limit of
every route, then (in the handler, once the token names an order) a budget per link. Writes
accept ``Idempotency-Key`` (scoped to the link's customer and order) like every other write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import HeaderParameter, JSONBody

from regenzet.application.quote_approval import (
    INVALID_LINK,
    InvalidApprovalLinkError,
    QuoteApprovals,
    QuoteLink,
    QuoteSupersededError,
)
from regenzet.application.workshop import Receipt
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.repair_orders import JobId
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    READ_PROBLEMS,
    HttpServices,
    Services,
    WritesDep,
    command,
    problems,
    query,
)
from regenzet.entrypoints.http.schemas import Body, CommandResult, LongText
from regenzet.entrypoints.http.security import MAX_TOKEN_BYTES, _too_many

APPROVAL_TOKEN_HEADER = "X-Approval-Token"  # noqa: S105 -- a header name

ApprovalToken = Annotated[
    str | None,
    HeaderParameter(
        name=APPROVAL_TOKEN_HEADER,
        required=False,
        max_length=MAX_TOKEN_BYTES,
        description="The token of the emailed quote link (the page's ?token=...).",
    ),
]


class ApproveByLink(Body, kw_only=True):
    """Nothing to say: the approval is for the quoted amount, through the link."""


class DeclineByLink(Body, kw_only=True):
    reason: LongText | None = None


class QuoteApprovalView(msgspec.Struct, kw_only=True):
    repair_order_id: str
    vehicle_id: str
    status: str
    quote_version: int
    currency: str
    expires_at: str
    jobs: list[dict[str, Any]]
    tax_rate: str
    subtotal: str
    tax: str
    total: str
    inspections: list[dict[str, Any]]


def link_guard(gatekeeper: Any) -> Any:
    """The per-address budget of every route (a link's token is guessed before it is known)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        wait = gatekeeper.per_ip.acquire(gatekeeper.client_ip(connection))
        if wait:
            raise _too_many(wait)

    return guard


@contextmanager
def _link_errors() -> Iterator[None]:
    try:
        yield
    except InvalidApprovalLinkError:
        raise ApiError(
            401,
            "unauthorized",
            INVALID_LINK,
            field=APPROVAL_TOKEN_HEADER,
            headers={"WWW-Authenticate": 'ApprovalToken error="invalid_token"'},
        ) from None
    except QuoteSupersededError as exc:
        raise ApiError(409, "quote-superseded", str(exc)) from None


def _approvals(services: HttpServices) -> QuoteApprovals:
    if services.quote_approvals is None:
        raise ApiError(503, "unavailable", "quote-approval links are not configured here")
    return services.quote_approvals


def _open(
    services: HttpServices, request: Request[Any, Any, Any], token: str | None
) -> tuple[str, QuoteLink]:
    """Checks the token and the link's own budget; the link's customer becomes the caller."""
    if not token:
        raise InvalidApprovalLinkError
    link, _ = _approvals(services).open_link(token)
    wait = services.gatekeeper.per_subject.acquire(f"quote-link:{link.repair_order_id}")
    if wait:
        raise _too_many(wait)
    request.scope["user"] = link.principal()
    return token, link


def _decide(
    services: HttpServices,
    request: Request[Any, Any, Any],
    writes: Any,
    token: str | None,
    body: Body,
    decision: Callable[[QuoteApprovals, str], Receipt],
) -> Response[CommandResult]:
    """A decision by link: the token checked first, then the write (idempotent by key).

    Keys are scoped to the link's customer *and order*: the path names only the job, and job
    ids repeat across orders ("balance"), so a key reused on another order's link must not
    replay the first order's decision (that order's job would silently stay undecided) — and to
    the quote's version, so a key reused after a re-quote does not replay the old quote's
    decision either."""
    with _link_errors():
        checked, link = _open(services, request, token)
        response: Response[CommandResult] = writes.run(
            body,
            lambda: decision(_approvals(services), checked),
            scope=f"quote-link:{link.customer_id}:{link.repair_order_id}:{link.quote_version}",
        )
        return response


class QuoteApprovalController(Controller):
    path = f"{API_PREFIX}/quote-approval"
    tags = ["quote approval link"]
    security = [{"approvalToken": []}]

    @query(
        "/",
        "getQuoteApproval",
        "The emailed link's quote: jobs, amounts, tax, totals, shared findings, expiry",
        problems={**READ_PROBLEMS, **problems(409)},
    )
    def get_quote(
        self, request: Request[Any, Any, Any], services: Services, token: ApprovalToken = None
    ) -> QuoteApprovalView:
        with _link_errors():
            checked, _ = _open(services, request, token)
            view = _approvals(services).get_quote(checked)
        return msgspec.convert(view, QuoteApprovalView)

    @command("/jobs/{job_id:str}/approve", "approveJobByLink", "Approve a quoted job by link")
    def approve(
        self,
        request: Request[Any, Any, Any],
        job_id: JobId,
        services: Services,
        writes: WritesDep,
        token: ApprovalToken = None,
        data: JSONBody[ApproveByLink | None] = None,
    ) -> Response[CommandResult]:
        body = data or ApproveByLink()  # an empty body, or none at all
        return _decide(
            services,
            request,
            writes,
            token,
            body,
            lambda approvals, checked: approvals.approve_job(
                checked, job_id, client_ip=writes.client_ip
            ),
        )

    @command("/jobs/{job_id:str}/decline", "declineJobByLink", "Decline a quoted job by link")
    def decline(
        self,
        request: Request[Any, Any, Any],
        job_id: JobId,
        services: Services,
        writes: WritesDep,
        token: ApprovalToken = None,
        data: JSONBody[DeclineByLink | None] = None,
    ) -> Response[CommandResult]:
        body = data or DeclineByLink()  # the body, and the reason in it, are optional
        return _decide(
            services,
            request,
            writes,
            token,
            body,
            lambda approvals, checked: approvals.decline_job(
                checked, job_id, reason=body.reason, client_ip=writes.client_ip
            ),
        )
