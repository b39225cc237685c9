"""Errors the application raises on top of the domain's own (``regenzet.domain.common``)."""

from __future__ import annotations

from uuid import UUID


class ApplicationError(Exception):
    """Base class of application-level errors."""


class NotFoundError(ApplicationError):
    """No aggregate of that kind with that id (HTTP 404)."""

    def __init__(self, kind: str, aggregate_id: UUID | str) -> None:
        super().__init__(f"{kind} {aggregate_id} not found")
        self.kind = kind
        self.aggregate_id = str(aggregate_id)


class OutOfReachError(NotFoundError):
    """A record the caller may not reach, or, for a customer, one that does not exist: told
    apart from a missing record only so a keyed write answers it at once, like a check made
    before the write (it can never be the trace of the key's earlier success)."""


class VersionMismatchError(ApplicationError):
    """The caller's expected version is not the current one: it acted on stale state (HTTP 412)."""

    def __init__(self, kind: str, aggregate_id: UUID, expected: int, actual: int) -> None:
        super().__init__(
            f"{kind} {aggregate_id} is at version {actual}, not the expected {expected}"
        )
        self.kind = kind
        self.aggregate_id = str(aggregate_id)
        self.expected = expected
        self.actual = actual


class ConcurrencyConflictError(ApplicationError):
    """Another command changed the same aggregate first; nothing was written (HTTP 409)."""

    def __init__(self, detail: str = "another change was saved first; reload and retry") -> None:
        super().__init__(detail)


class DuplicateError(ApplicationError):
    """An aggregate with that natural key already exists (for example a VIN) (HTTP 409)."""

    def __init__(self, kind: str, key: str, aggregate_id: UUID) -> None:
        super().__init__(f"{kind} {key} is already registered as {aggregate_id}")
        self.kind = kind
        self.key = key
        self.aggregate_id = str(aggregate_id)


class StoreUnavailableError(ApplicationError):
    """A store (the event log, read models, the audit chain, idempotency keys) cannot be
    reached or refused us: the database is down, a pool or lock wait ran out, a privilege is
    missing. The adapters raise it in place of their driver's errors, so callers answer
    "unavailable, retry shortly" (HTTP 503, CLI exit 3) without knowing the technology. The
    message is safe to show (no password)."""
