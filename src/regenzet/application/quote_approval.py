"""Approving a quote through the emailed link (issue 11 item 12, ADR 0016).

The quote email carries a signed, expiring token naming the repair order (``ro``), the
customer (``sub``) and the quote version (``qv``). Exchanging it here gives what the approval
page shows, and lets the customer approve or decline each job without logging in, through the
*same* use cases as the portal, recorded with channel ``email_link`` and the client's address.

The rules, all checked on every request:

* the token must verify (signature, audience, issuer, expiry: the :class:`LinkVerifier`
  port); every failure is the same :class:`InvalidApprovalLinkError`, so a caller learns
  nothing about why;
* the order must exist and belong to the token's customer (else the same error: a token
  for another order or customer does not reveal that order);
* the token's quote version must be the order's current one. A link for an older quote is
  refused outright (:class:`QuoteSupersededError`), not shown read-only: the customer has a
  newer email with a newer link, and an old page could only mislead. The decision itself
  carries the version into the domain, which refuses it if a new quote was sent between this
  check and the write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import attrs

from regenzet.application import views
from regenzet.application.access import LinkHolder
from regenzet.application.commands import ApproveJob, DeclineJob
from regenzet.application.errors import ApplicationError, NotFoundError
from regenzet.application.identity import Principal
from regenzet.application.workshop import Receipt, Workshop
from regenzet.domain.common import Role, money
from regenzet.domain.repair_order import JobStatus

INVALID_LINK = "invalid or expired approval link"


class LinkVerifier(Protocol):
    """Checks a quote-approval token; raises ``ValueError`` for anything not valid now."""

    def verify(self, token: str) -> dict[str, Any]: ...


class InvalidApprovalLinkError(ApplicationError):
    """The link is forged, expired, for something else, or names no order of its customer
    (HTTP 401; the message never says which)."""

    def __init__(self) -> None:
        super().__init__(INVALID_LINK)


class QuoteSupersededError(ApplicationError):
    """The link is for a quote version that a newer quote replaced (HTTP 409)."""

    def __init__(self, link_version: int, current: int) -> None:
        super().__init__(
            f"this link is for quote version {link_version}; version {current} was sent "
            "since: use the link in the newest quote email"
        )
        self.link_version = link_version
        self.current = current


@attrs.frozen
class QuoteLink:
    """A verified link: whose order, which quote, until when."""

    repair_order_id: UUID
    customer_id: UUID
    quote_version: int
    expires_at: datetime

    def holder(self) -> LinkHolder:
        """Who decides through the link (the channel is ``email_link``, ADR 0016)."""
        return LinkHolder(customer_id=self.customer_id, repair_order_id=self.repair_order_id)

    def principal(self) -> Principal:
        """Who acts through the link: the order's customer, named by their customer id."""
        return Principal(
            subject=str(self.customer_id), role=Role.CUSTOMER, customer_id=self.customer_id
        )


def _claims(claims: dict[str, Any]) -> tuple[UUID, UUID, int, datetime]:
    try:
        order = UUID(str(claims["ro"]))
        customer = UUID(str(claims["sub"]))
        version = claims["qv"]
        expires = claims["exp"]
    except (KeyError, ValueError, TypeError):
        raise InvalidApprovalLinkError from None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidApprovalLinkError
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise InvalidApprovalLinkError
    return order, customer, version, datetime.fromtimestamp(expires, UTC)


class QuoteApprovals:
    """The approval page's queries and decisions, each starting from the token."""

    def __init__(self, workshop: Workshop, verifier: LinkVerifier) -> None:
        self._workshop = workshop
        self._verifier = verifier

    def open_link(self, token: str) -> tuple[QuoteLink, views.RepairOrderView]:
        try:
            claims = self._verifier.verify(token)
        except ValueError:
            raise InvalidApprovalLinkError from None
        order_id, customer_id, version, expires = _claims(claims)
        try:
            order = self._workshop.get_repair_order(order_id)
        except NotFoundError:
            raise InvalidApprovalLinkError from None
        if order.customer_id != customer_id:
            raise InvalidApprovalLinkError
        if order.quote_version != version:
            raise QuoteSupersededError(version, order.quote_version)
        return QuoteLink(order_id, customer_id, version, expires), order

    def get_quote(self, token: str) -> dict[str, Any]:
        """The quoted jobs with their lines and amounts, tax and totals at the workshop's rate,
        the findings of the order's inspections shared with the customer, and the expiry."""
        link, order = self.open_link(token)
        jobs = [j for j in order.jobs if j.quoted_in is not None]
        subtotal = order.quoted_subtotal
        tax = money(subtotal * self._workshop.tax_rate)
        return {
            "repair_order_id": str(order.id),
            "vehicle_id": str(order.vehicle_id),
            "status": order.status,
            "quote_version": link.quote_version,
            "currency": order.currency,
            "expires_at": link.expires_at.isoformat(),
            "jobs": [
                {
                    "job_id": j.job_id,
                    "title": j.title,
                    "status": j.status,
                    "decidable": j.status in (JobStatus.QUOTED.value, JobStatus.DECLINED.value),
                    "hv_work": j.hv_work,
                    "amount": str(j.amount),
                    "tax": str(money(j.amount * self._workshop.tax_rate)),
                    "labour": j.labour,
                    "parts": j.parts,
                    "quoted_in": j.quoted_in,
                    "approval_channel": j.approval_channel,
                    "approved_at": _iso(j.approved_at),
                    "declined_channel": j.declined_channel,
                    "declined_at": _iso(j.declined_at),
                    "declined_reason": j.declined_reason,
                }
                for j in jobs
            ],
            "tax_rate": str(self._workshop.tax_rate),
            "subtotal": str(subtotal),
            "tax": str(tax),
            "total": str(subtotal + tax),
            "inspections": self._shared_findings(order),
        }

    def _shared_findings(self, order: views.RepairOrderView) -> list[dict[str, Any]]:
        found = []
        for inspection_id in order.inspection_ids:
            try:
                inspection = self._workshop.get_inspection(UUID(inspection_id))
            except NotFoundError:
                continue
            if not inspection.shared:
                continue
            found.append(
                {
                    "inspection_id": str(inspection.id),
                    "findings": [
                        {"item_code": code, **rating}
                        for code, rating in sorted(inspection.ratings.items())
                        if rating.get("rating") in ("amber", "red")
                    ],
                    "measurements": inspection.measurements,
                    "recommended_jobs": inspection.recommended_jobs,
                }
            )
        return found

    def approve_job(self, token: str, job_id: str, *, client_ip: str | None) -> Receipt:
        link, _ = self.open_link(token)
        command = ApproveJob(
            repair_order_id=link.repair_order_id,
            job_id=job_id,
            client_ip=client_ip,
            quote_version=link.quote_version,
        )
        return self._workshop.execute(command, link.holder())

    def decline_job(
        self, token: str, job_id: str, *, reason: str | None, client_ip: str | None
    ) -> Receipt:
        link, _ = self.open_link(token)
        command = DeclineJob(
            repair_order_id=link.repair_order_id,
            job_id=job_id,
            client_ip=client_ip,
            reason=reason,
            quote_version=link.quote_version,
        )
        return self._workshop.execute(command, link.holder())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


__all__ = [
    "INVALID_LINK",
    "InvalidApprovalLinkError",
    "LinkVerifier",
    "QuoteApprovals",
    "QuoteLink",
    "QuoteSupersededError",
]
