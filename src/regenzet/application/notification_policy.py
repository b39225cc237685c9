"""Which emails a change causes, and when they may go out (DESIGN §1: owners follow by email).

The policy is a read-model projection: it follows the log like the others, and each email it
decides on becomes a row of its ``mail_outbox`` table in the same transaction as its position,
so a decision is made exactly once. The :class:`MailDispatcher` hands due rows to the mailer
and marks them sent (at-least-once; every mailer deduplicates by request id).

- a quote was sent → ``quote_ready``, with a signed, expiring approval link;
- an inspection was shared → ``inspection_shared``;
- the order was invoiced, so the car is ready → ``vehicle_ready``.

Customers who turned email off get nothing. Quiet hours (local time) defer an email to the
end of the quiet period; it is never dropped. Events older than ``max_age`` when the policy
sees them (a rebuild, a follower far behind) cause no email: nobody wants last month's quote.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from regenzet.application.dispatch import EventHandlers
from regenzet.application.notifications import EmailRequest, Mailer
from regenzet.application.ports import Clock
from regenzet.application.projections import Query, ReadModelStore, ReadModelTx, TableSpec
from regenzet.application.read_models import AggregateFolder, Load
from regenzet.domain.inspection import Inspection, Rating
from regenzet.domain.repair_order import JobStatus, RepairOrder

OUTBOX = "mail_outbox"
POLICY_NAME = "notifications"
REQUEST_NAMESPACE = uuid.UUID("0b7e2d9c-3f41-4a8e-9d6a-51c2f0e7a8b3")
DEFAULT_MAX_AGE = timedelta(hours=48)
MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=5)
MAX_DELAY = timedelta(hours=1)

logger = logging.getLogger(__name__)

# (order id, customer id, quote version) -> (signed approval URL, when it expires)
QuoteLink = Callable[[UUID, UUID, int], tuple[str, datetime]]
GetAggregate = Callable[[UUID], Any]


@attrs.frozen
class Links:
    quote: QuoteLink
    portal_url: str
    garage_name: str = "ReGenZet Garage"


def quiet_until(preferences: dict[str, Any], at: datetime) -> datetime | None:
    """When the customer's quiet hours end, if ``at`` falls inside them (else None)."""
    start, end = preferences.get("quiet_hours_start"), preferences.get("quiet_hours_end")
    if not start or not end:
        return None
    try:
        zone = ZoneInfo(preferences.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    begins, ends = time.fromisoformat(start), time.fromisoformat(end)
    now = local.time()
    if begins == ends:
        return None
    if begins < ends:  # e.g. 12:00-14:00, same day
        inside = begins <= now < ends
        day = local.date()
    else:  # e.g. 21:00-08:00, across midnight
        inside = now >= begins or now < ends
        day = local.date() + timedelta(days=1) if now >= begins else local.date()
    if not inside:
        return None
    until = datetime.combine(day, ends, tzinfo=zone)
    if until <= at:  # the end falls in the hour repeated when clocks go back: its second time
        until = until.replace(fold=1)
    return until.astimezone(at.tzinfo) if until > at else None


def _utc(at: datetime) -> str:
    """How times are stored in the outbox: UTC ISO 8601, which sorts in time order."""
    return at.astimezone(ZoneInfo("UTC")).isoformat()


def _request_id(event: Any, template: str) -> str:
    key = f"{event.originator_id}:{event.originator_version}:{template}"
    return str(uuid.uuid5(REQUEST_NAMESPACE, key))


class NotificationPolicy:
    """The email policy as a projection (``Follower`` runs it)."""

    name = POLICY_NAME
    version = 1
    tables: tuple[TableSpec, ...] = (
        TableSpec(OUTBOX, indexes=("status", "due_at", "customer_id")),
    )

    def __init__(
        self,
        load: Load,
        get: GetAggregate,
        links: Links,
        clock: Clock,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self.folder = AggregateFolder(load)
        self.get = get
        self.links = links
        self.clock = clock
        self.max_age = max_age
        # Keyed by the event classes (ADR 0032): a renamed event fails at import and in mypy,
        # and mypy checks each builder takes the event it is registered for.
        self.emails: EventHandlers[dict[str, Any] | None] = EventHandlers()
        self.emails.on(RepairOrder.QuoteSent, self._quote_ready)
        self.emails.on(RepairOrder.Invoiced, self._vehicle_ready)
        self.emails.on(Inspection.SharedWithCustomer, self._inspection_shared)

    def forget(self) -> None:
        self.folder.forget()

    def apply(self, event: Any, tx: ReadModelTx) -> None:
        if not isinstance(event, RepairOrder.Event | Inspection.Event):
            return
        aggregate = self.folder.fold(event)  # every event of both keeps the fold whole
        if event.timestamp < self.clock.now() - self.max_age:
            return
        email = self.emails.handler(event)
        row = email(event, aggregate) if email is not None else None
        if row is not None:
            tx.put(OUTBOX, row["request"]["request_id"], row)

    # -- the emails -----------------------------------------------------------------------

    def _customer(self, customer_id: UUID) -> Any:
        return self.get(customer_id)

    def _vehicle_context(self, vehicle_id: UUID) -> dict[str, Any]:
        vehicle = self.get(vehicle_id)
        return {"plate": vehicle.plate, "make_model": f"{vehicle.make} {vehicle.model}"}

    def _request(
        self, event: Any, template: str, customer: Any, context: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The outbox row for this email, or None when the customer turned email off."""
        preferences = _plain_preferences(customer.preferences)
        if not preferences.get("email", True):
            return None
        request = EmailRequest(
            request_id=_request_id(event, template),
            template=template,
            to=customer.email,
            customer_id=str(customer.id),
            context={
                "customer_name": customer.name,
                "garage_name": self.links.garage_name,
                **context,
            },
            not_before=quiet_until(preferences, event.timestamp),
        )
        return _row(request, preferences)

    def _quote_ready(
        self, event: RepairOrder.QuoteSent, order: RepairOrder
    ) -> dict[str, Any] | None:
        customer = self._customer(order.customer_id)
        url, expires = self.links.quote(order.id, order.customer_id, event.quote_version)
        jobs = [
            {"title": job.title, "total": str(job.amount)}
            for job in order.jobs.values()
            if job.status == JobStatus.QUOTED and job.job_id in event.job_ids
        ]
        return self._request(
            event,
            "quote_ready",
            customer,
            {
                **self._vehicle_context(order.vehicle_id),
                "order_id": str(order.id),
                "jobs": jobs,
                "total": str(event.total),
                "currency": order.currency,
                "approve_url": url,
                "expires_at": expires.isoformat(),
            },
        )

    def _vehicle_ready(
        self, event: RepairOrder.Invoiced, order: RepairOrder
    ) -> dict[str, Any] | None:
        customer = self._customer(order.customer_id)
        return self._request(
            event,
            "vehicle_ready",
            customer,
            {
                **self._vehicle_context(order.vehicle_id),
                "order_id": str(order.id),
                "balance_due": str(order.balance),
                "currency": order.currency,
                "portal_url": f"{self.links.portal_url}/repair-orders/{order.id}",
            },
        )

    def _inspection_shared(
        self, event: Inspection.SharedWithCustomer, inspection: Inspection
    ) -> dict[str, Any] | None:
        vehicle = self.get(inspection.vehicle_id)
        customer = self._customer(vehicle.owner_id)
        counts = dict.fromkeys(("green", "amber", "red"), 0)
        for rated in inspection.ratings.values():
            rating = Rating(rated["rating"]).value
            if rating in counts:
                counts[rating] += 1
        return self._request(
            event,
            "inspection_shared",
            customer,
            {
                **self._vehicle_context(inspection.vehicle_id),
                "inspection_id": str(inspection.id),
                "summary": counts,
                "recommended": [job.title for job in inspection.recommended_jobs()],
                "portal_url": f"{self.links.portal_url}/inspections/{inspection.id}",
            },
        )


def _plain_preferences(preferences: Any) -> dict[str, Any]:
    if isinstance(preferences, dict):
        return preferences
    return attrs.asdict(preferences)


def _row(request: EmailRequest, preferences: dict[str, Any]) -> dict[str, Any]:
    due = request.not_before
    return {
        "request": request.to_json(),
        "status": "pending",
        "customer_id": request.customer_id,
        # Checked again when the email is due: a late follower or a retry must not send
        # inside quiet hours either.
        "quiet": {
            key: preferences.get(key)
            for key in ("quiet_hours_start", "quiet_hours_end", "timezone")
        },
        # ISO strings sort in time order; "now" for no deferral is filled in at dispatch.
        "due_at": _utc(due) if due else "",
        "sent_at": None,
    }


class MailDispatcher:
    """Sends the outbox's due emails through the mailer and marks them sent."""

    name = "mail_dispatcher"

    def __init__(
        self, store: ReadModelStore, mailer: Mailer, clock: Clock, *, batch: int = 50
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.clock = clock
        self.batch = batch
        self.sent = 0

    def check_schema(self) -> None:
        pass  # the outbox belongs to the policy's follower

    # No ``position``: the dispatcher reads the outbox, not the log, so it has none to report
    # (a 0 here made the runner's lag report, and the deployed lag alarm, count the whole log).

    def due(self) -> list[dict[str, Any]]:
        now = _utc(self.clock.now())
        page = self.store.query(
            Query(
                OUTBOX,
                equals={"status": "pending"},
                between=("due_at", "", now),
                order_by="due_at",
                limit=self.batch,
            )
        )
        return page.items

    def pending(self) -> list[dict[str, Any]]:
        return self.store.query(
            Query(OUTBOX, equals={"status": "pending"}, order_by="due_at", limit=1000)
        ).items

    def step_all(self) -> int:
        """Sends everything due now (the demo; the runner calls ``step`` repeatedly)."""
        total = 0
        while sent := self.step():
            total += sent
        return total

    def step(self) -> int:
        sent = 0
        for row in self.due():
            request = EmailRequest.from_json(row["request"])
            claimed = self._claim(request.request_id)
            if claimed is None:
                continue  # another dispatcher has it, or quiet hours began meanwhile
            try:
                self.mailer.send(request)
            except Exception as exc:  # one bad email must not hold up the others
                self._failed(request, claimed, exc)
                continue
            with self.store.transaction(POLICY_NAME) as tx:
                tx.put(
                    OUTBOX,
                    request.request_id,
                    {**claimed, "status": "sent", "sent_at": self.clock.now().isoformat()},
                )
            sent += 1
        self.sent += sent
        return sent

    def _claim(self, request_id: str) -> dict[str, Any] | None:
        """Takes the row for this dispatcher, in a transaction that serialises dispatchers:
        pushing ``due_at`` a lease ahead hides it from the others while it is sent. If this
        process dies while sending, the row is due again when the lease ends (the mailer
        deduplicates by request id). Returns the row as it was, or None."""
        now = self.clock.now()
        with self.store.transaction(POLICY_NAME) as tx:
            row = tx.get(OUTBOX, request_id)
            if row is None or row["status"] != "pending" or row["due_at"] > _utc(now):
                return None
            quiet = quiet_until(row.get("quiet") or {}, now)
            if quiet is not None:
                tx.put(OUTBOX, request_id, {**row, "due_at": _utc(quiet)})
                return None
            tx.put(OUTBOX, request_id, {**row, "due_at": _utc(now + CLAIM_LEASE)})
        return row

    def _failed(self, request: EmailRequest, row: dict[str, Any], exc: Exception) -> None:
        """Retries later with exponential backoff; gives up after MAX_ATTEMPTS (status
        ``failed``, kept in the outbox with the error for an operator)."""
        attempts = int(row.get("attempts", 0)) + 1
        retry_at = self.clock.now() + min(timedelta(seconds=30) * 2 ** (attempts - 1), MAX_DELAY)
        gave_up = attempts >= MAX_ATTEMPTS
        logger.warning(
            "email %s (%s) failed, attempt %d%s: %s",
            request.request_id,
            request.template,
            attempts,
            ", giving up" if gave_up else f", retrying at {retry_at.isoformat()}",
            exc,
        )
        with self.store.transaction(POLICY_NAME) as tx:
            tx.put(
                OUTBOX,
                request.request_id,
                {
                    **row,
                    "status": "failed" if gave_up else "pending",
                    "attempts": attempts,
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                    "due_at": _utc(retry_at),
                },
            )


__all__ = [
    "OUTBOX",
    "POLICY_NAME",
    "Links",
    "MailDispatcher",
    "NotificationPolicy",
    "quiet_until",
]
