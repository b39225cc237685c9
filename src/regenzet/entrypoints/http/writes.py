"""How every write runs: ``If-Match`` preconditions, ``Idempotency-Key`` replay and the
response (``ETag``, ``Location``) built from the use case's receipt.

A write with a key (scoped to the authenticated subject, or to what a quote link names) runs
its command with the key pending, and the event recorder stores key and response in the
transaction of the command's events (ADR 0024): a command and its key commit together or not
at all. There is no look-up first: a retry of an applied key runs the command's decision, is
refused by the stored key and rolls back. When the command fails that way, or otherwise, the
key is looked up: if it was applied (by this very request earlier, a concurrent retry, or an
attempt whose acknowledgement was lost), its stored response is replayed byte for byte; the
same key with a different request is a 422; otherwise the failure is the answer. Failures are
never stored: a failed command wrote nothing.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import attrs
import msgspec
from litestar import Request, Response
from litestar.params import HeaderParameter

from regenzet.application import commands
from regenzet.application.errors import OutOfReachError, StoreUnavailableError
from regenzet.application.idempotency import (
    IdempotencyStore,
    LookupOutcome,
    PendingKey,
    StoredResponse,
    recording,
)
from regenzet.application.identity import Principal
from regenzet.application.ports import Clock
from regenzet.application.workshop import Receipt, Workshop
from regenzet.entrypoints.http.problems import ApiError, etag
from regenzet.entrypoints.http.schemas import CommandResult
from regenzet.entrypoints.http.security import principal_of

MAX_IDEMPOTENCY_KEY = 255
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
_IF_MATCH = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$|^\s*(\d{1,18})\s*$')
REPLAYED_HEADER = "Idempotent-Replayed"
C = TypeVar("C", bound=commands.Command)
# Builds a write's response body from its receipt, when it is not a ``CommandResult``.
Render = Callable[[Receipt], msgspec.Struct]

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "Makes the write safe to retry: a replay with the same key and body returns the "
            "first response; the same key with a different body is a 422. Keys are scoped to "
            "the caller and kept for the retention period (24 h by default)."
        ),
    ),
]
IfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        pattern=r'^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$',
        description='The aggregate version the change is based on, as its ETag ("7"); '
        "412 if it moved on.",
    ),
]


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.match(value)
    if not match:
        raise ApiError(
            400,
            "invalid-request",
            'If-Match must be the ETag of the version you read, like "7"',
            field="If-Match",
        )
    return int(match.group(1) or match.group(2))


class Writes:
    """Runs writes for one request (a Litestar dependency, built per request)."""

    def __init__(
        self,
        request: Request[Any, Any, Any],
        store: IdempotencyStore,
        clock: Clock,
        idempotency_key: str | None,
        if_match: str | None,
        workshop: Workshop | None = None,
    ) -> None:
        self.request = request
        self.workshop = workshop
        self.store = store
        self.clock = clock
        if idempotency_key is not None and not _KEY.match(idempotency_key):
            raise ApiError(
                400,
                "invalid-request",
                "Idempotency-Key must be 1-255 visible ASCII characters",
                field="Idempotency-Key",
            )
        self.key = idempotency_key
        self.expected_version = parse_if_match(if_match)

    @property
    def principal(self) -> Principal:
        return principal_of(self.request.scope)

    @property
    def client_ip(self) -> str | None:
        """The caller's address as the rate limiter resolved it, if it is an IP address."""
        value = self.request.scope.get("state", {}).get("client_ip")
        try:
            return str(ipaddress.ip_address(str(value)))
        except ValueError:
            return None

    def command(self, command_type: type[C], body: msgspec.Struct | None, **values: Any) -> C:
        """The one mapping of a request to its command: each field from ``values`` (the path,
        the principal, converted body parts), else the body's field of that name, else the
        request's ``If-Match`` version and client address. A body field the command does not
        take is a programming error, not something to drop silently."""
        names = {field.name for field in attrs.fields(command_type)}
        fields = dict(values)
        for name in body.__struct_fields__ if body is not None else ():
            if name in fields:
                continue
            if name not in names:
                raise TypeError(f"{command_type.__name__} takes no {name!r} from the request")
            fields[name] = getattr(body, name)
        if "expected_version" in names:
            fields.setdefault("expected_version", self.expected_version)
        if "client_ip" in names:
            fields.setdefault("client_ip", self.client_ip)
        return command_type(**fields)

    def submit(
        self,
        command_type: type[commands.Command],
        body: msgspec.Struct | None = None,
        *,
        location: Callable[[Receipt], str] | None = None,
        body_is_one_field: bool = False,
        render: Render | None = None,
        created: bool = False,
        **values: Any,
    ) -> Response[Any]:
        """Maps the request to its command and runs it for the request's principal: the use
        case checks the principal may reach the record it loads (ADR 0037).
        ``body_is_one_field``: the body as a whole is one of ``values`` (not mapped by name).
        ``render`` builds a body other than :class:`CommandResult` from the receipt (an upload
        ticket); ``created`` answers 201 without a ``Location``."""
        if self.workshop is None:
            raise RuntimeError("this request's writes were built without the workshop")
        command = self.command(command_type, None if body_is_one_field else body, **values)
        execute = functools.partial(self.workshop.execute, command, self.principal)
        return self.run(body, execute, location=location, render=render, created=created)

    def run(
        self,
        body: msgspec.Struct | None,
        command: Callable[[], Receipt],
        *,
        location: Callable[[Receipt], str] | None = None,
        scope: str | None = None,
        render: Render | None = None,
        created: bool = False,
    ) -> Response[Any]:
        """Runs ``command()``, applying each idempotency key at most once.

        ``location`` marks a create: the response is 201 with a ``Location``. ``scope``
        replaces the caller's subject as the keys' scope when the path alone does not name
        the record written (a quote link's decision: the order is in the token).
        """

        held: list[PendingKey] = []

        def respond(aggregate_id: UUID, version: int, position: int | None) -> StoredResponse:
            result = held[0].result if held else None
            receipt = Receipt(aggregate_id, version, position, result)
            return _stored(receipt, location, render, created)

        if self.key is None:
            receipt = command()
            return _respond(_stored(receipt, location, render, created))
        scope = scope if scope is not None else self.principal.subject
        fingerprint = self._fingerprint(body)
        now = self.clock.now()
        # No look-up first: the key row committed with the events decides. A first attempt
        # (the common case) costs one statement more than a keyless write; a retry of an
        # applied key runs the command, is refused by the key and rolls back, and replays.
        pending = PendingKey(scope, self.key, fingerprint, now, self.store.retention, respond)
        held.append(pending)
        try:
            with recording(pending):
                command()
        except StoreUnavailableError:
            raise  # the store is unreachable; the client's retry settles it (503)
        except OutOfReachError:
            raise  # not the caller's record: answered like a check before the write (404)
        except Exception:
            # A rule error or conflict may be the trace of this very key applied meanwhile
            # (a concurrent retry, or an earlier attempt whose answer was lost).
            replay = self._replay(scope, fingerprint, now)
            if replay is not None:
                return replay
            raise
        if pending.response is None:
            raise RuntimeError("the command saved nothing, so its idempotency key was not kept")
        return _respond(pending.response)

    def _replay(
        self, scope: str, fingerprint: str, now: datetime
    ) -> Response[CommandResult] | None:
        found = self.store.lookup(scope, self.key or "", fingerprint, now=now)
        if found.outcome is LookupOutcome.MISMATCH:
            raise ApiError(
                422,
                "idempotency-key-reused",
                "this Idempotency-Key was already used for a different request",
                field="Idempotency-Key",
            )
        if found.outcome is LookupOutcome.REPLAY and found.response is not None:
            return _respond(found.response, replayed=True)
        return None

    def _fingerprint(self, body: msgspec.Struct | None) -> str:
        digest = hashlib.sha256()
        for part in (
            self.request.method.encode(),
            self.request.url.path.encode(),
            (self.request.headers.get("if-match") or "").encode(),
            msgspec.json.encode(body) if body is not None else b"",
        ):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()


def _stored(
    receipt: Receipt,
    location: Callable[[Receipt], str] | None,
    render: Render | None = None,
    created: bool = False,
) -> StoredResponse:
    content = (
        render(receipt)
        if render is not None
        else CommandResult(id=receipt.id, version=receipt.version, position=receipt.position)
    )
    body = msgspec.json.encode(content)
    headers = {"ETag": etag(receipt.version), "Content-Type": "application/json"}
    if location is not None:
        headers["Location"] = location(receipt)
    status = 201 if location is not None or created else 200
    return StoredResponse(status_code=status, body=body, headers=headers)


def _respond(stored: StoredResponse, *, replayed: bool = False) -> Response[Any]:
    headers = {k: v for k, v in stored.headers.items() if k.lower() != "content-type"}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    # The body is already encoded JSON (replayed byte for byte); Litestar sends bytes as is.
    return Response(
        content=stored.body,
        status_code=stored.status_code,
        headers=headers,
        media_type="application/json",
    )
