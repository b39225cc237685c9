"""The media use cases of the workshop (issue 13): upload tickets, confirmation, markup, and
the media a caller may see, with download URLs minted for them.

They are the workshop's own use cases (``Workshop.execute`` dispatches the commands here, the
queries are workshop methods), kept in this module because they alone need the
``MediaStorage`` port. Each loads its aggregate once, on the caller's behalf, and applies the
one access rule to it before anything else (ADR 0037): a customer reaches the media of their
own shared inspections and their own orders' check-in photos, and anything else is the same
not-found as a missing id. The auditor reads metadata only: every URL is null for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import attrs

from regenzet.application import commands
from regenzet.application.access import Caller, InProcess
from regenzet.application.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    StoreUnavailableError,
)
from regenzet.application.media import MediaStorage, UploadTicket
from regenzet.application.media_confirm import (
    OWNER_INSPECTIONS,
    OWNER_REPAIR_ORDERS,
    ConfirmedMedia,
    ConfirmsBusyError,
    MediaLimits,
    confirm_upload,
    original_key,
    pending_key,
    preview_key,
    thumbnail_key,
)
from regenzet.application.ports import Clock
from regenzet.application.views import MediaView, media_view
from regenzet.domain.common import Role, fail
from regenzet.domain.inspection import Inspection
from regenzet.domain.media import MediaAttachment
from regenzet.domain.repair_order import RepairOrder

if TYPE_CHECKING:
    from regenzet.application.workshop import Receipt, Workshop

# A confirm runs its checks outside the aggregate's lock: when another write to the same
# record lands meanwhile, the attach is retried on the fresh aggregate (the checks stand).
CONFIRM_ATTEMPTS = 3


@attrs.frozen
class IssuedUpload:
    """What an upload request returns beyond its receipt: the media id and its ticket."""

    media_id: UUID
    ticket: UploadTicket


class MediaDesk:
    """The workshop's access to media storage, its limits and the clock URLs expire by.

    ``storage`` is resolved on first use, so a process that never touches media (a CLI
    command, a follower) never creates the storage's directories or keys.
    """

    def __init__(
        self, storage: Callable[[], MediaStorage], limits: MediaLimits, clock: Clock
    ) -> None:
        self._storage = storage
        self._resolved: MediaStorage | None = None
        self.limits = limits
        self.clock = clock
        self._confirms = threading.BoundedSemaphore(limits.confirm_concurrency)

    @property
    def storage(self) -> MediaStorage:
        if self._resolved is None:
            self._resolved = self._storage()
        return self._resolved

    @contextmanager
    def confirm_turn(self) -> Iterator[None]:
        """One of the process's ``confirm_concurrency`` turns to check and decode an upload,
        waited for at most ``confirm_wait_seconds`` (then :class:`ConfirmsBusyError`)."""
        wait = self.limits.confirm_wait_seconds
        if not self._confirms.acquire(timeout=wait):
            raise ConfirmsBusyError(wait)
        try:
            yield
        finally:
            self._confirms.release()


def _desk(workshop: Workshop) -> MediaDesk:
    desk = workshop.media
    if desk is None:
        raise StoreUnavailableError("media storage is not configured for this process")
    return desk


def _check_declared(
    limits: MediaLimits, content_type: str, size: int, *, photos_only: bool
) -> None:
    """The settings' limits (stricter than the domain's ceiling), named by the request's
    fields."""
    allowed = limits.photo_types if photos_only else limits.photo_types | limits.video_types
    if content_type not in allowed:
        kind = "check-in photos" if photos_only else "media"
        fail("content_type", f"{kind} must be one of {', '.join(sorted(allowed))}")
    limit = limits.max_bytes_for(content_type)
    if limit is None:  # pragma: no cover - an allowed type always has a limit
        fail("content_type", f"{content_type} has no size limit configured")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= limit:
        fail("size", f"a {content_type} upload is 1 to {limit} bytes")


# ---------------------------------------------------------------------------------------------
# Writes (dispatched by ``Workshop.execute``)
# ---------------------------------------------------------------------------------------------


def request_inspection_media_upload(
    workshop: Workshop, command: commands.RequestInspectionMediaUpload, by: Caller
) -> Receipt:
    inspection = workshop._target(by, Inspection, command)
    desk = _desk(workshop)
    _check_declared(desk.limits, command.content_type, command.size, photos_only=False)
    media_id = command.media_id or uuid4()
    key = pending_key(OWNER_INSPECTIONS, inspection.id, media_id)
    inspection.request_media_upload(
        media_id=media_id,
        item_code=command.item_code,
        file_name=command.file_name,
        content_type=command.content_type,
        size_bytes=command.size,
        sha256=command.sha256,
        key=key,
        actor=by.actor(),
    )
    issued = _issue(desk, media_id, key, command.content_type, command.size, command.sha256)
    return workshop._commit(inspection, result=issued)


def request_repair_order_media_upload(
    workshop: Workshop, command: commands.RequestRepairOrderMediaUpload, by: Caller
) -> Receipt:
    order = workshop._target(by, RepairOrder, command)
    if command.item_code is not None:
        fail("item_code", "check-in photos belong to the order, not to an inspection item")
    desk = _desk(workshop)
    _check_declared(desk.limits, command.content_type, command.size, photos_only=True)
    media_id = command.media_id or uuid4()
    key = pending_key(OWNER_REPAIR_ORDERS, order.id, media_id)
    order.request_media_upload(
        media_id=media_id,
        file_name=command.file_name,
        content_type=command.content_type,
        size_bytes=command.size,
        sha256=command.sha256,
        key=key,
        actor=by.actor(),
    )
    issued = _issue(desk, media_id, key, command.content_type, command.size, command.sha256)
    return workshop._commit(order, result=issued)


def _issue(
    desk: MediaDesk, media_id: UUID, key: str, content_type: str, size: int, sha256: str
) -> IssuedUpload:
    # Issued before the commit (signing needs no round trip): if it fails, nothing is recorded.
    ticket = desk.storage.issue_upload(
        key,
        content_type=content_type,
        size=size,
        sha256=sha256,
        expires_in=desk.limits.ticket_seconds,
    )
    return IssuedUpload(media_id, ticket)


def confirm_inspection_media(
    workshop: Workshop, command: commands.ConfirmInspectionMedia, by: Caller
) -> Receipt:
    inspection = workshop._target(by, Inspection, command)
    return _confirm(workshop, by, inspection, OWNER_INSPECTIONS, command.media_id)


def confirm_repair_order_media(
    workshop: Workshop, command: commands.ConfirmRepairOrderMedia, by: Caller
) -> Receipt:
    order = workshop._target(by, RepairOrder, command)
    return _confirm(workshop, by, order, OWNER_REPAIR_ORDERS, command.media_id)


def _confirm(
    workshop: Workshop,
    by: Caller,
    record: Inspection | RepairOrder,
    owner_kind: str,
    media_id: UUID,
) -> Receipt:
    if record.media_item(media_id) is not None:
        # Confirmed before: the same answer, no event. Saved all the same (an unchanged
        # aggregate), so a request's Idempotency-Key is kept with this answer, or its retry
        # replays the stored one (ADR 0024, ADR 0042).
        return workshop._commit(record)
    upload = record.media_uploads.get(str(media_id))
    if upload is None:
        raise NotFoundError("media", media_id)
    desk = _desk(workshop)
    with desk.confirm_turn():  # bounds the memory of decoding (ADR 0042)
        confirmed = confirm_upload(
            desk.storage, upload, original_key(owner_kind, record.id, media_id), desk.limits
        )
    cls: type[Inspection] | type[RepairOrder] = type(record)
    for _ in range(CONFIRM_ATTEMPTS):
        _attach(record, media_id, confirmed, by)
        try:
            return workshop._commit(record)
        except ConcurrencyConflictError:
            record = workshop._load(cls, record.id)
            if record.media_item(media_id) is not None:
                return workshop._commit(record)  # attached meanwhile: as above
    raise ConcurrencyConflictError


def _attach(
    record: Inspection | RepairOrder, media_id: UUID, confirmed: ConfirmedMedia, by: Caller
) -> None:
    if isinstance(record, Inspection):
        record.attach_media(
            media_id=media_id,
            width=confirmed.width,
            height=confirmed.height,
            duration_s=confirmed.duration_s,
            key=confirmed.key,
            actor=by.actor(),
        )
    else:
        record.attach_media(
            media_id=media_id,
            width=confirmed.width,
            height=confirmed.height,
            key=confirmed.key,
            actor=by.actor(),
        )


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def list_media(
    workshop: Workshop, cls: type[Inspection] | type[RepairOrder], record_id: UUID, by: Caller
) -> list[MediaView]:
    record = workshop._read(by, cls, record_id)
    urls = _minter(workshop, by)
    return [media_view(m, *urls(m)) for m in record.media]


def get_media(
    workshop: Workshop,
    cls: type[Inspection] | type[RepairOrder],
    record_id: UUID,
    media_id: UUID,
    by: Caller,
) -> MediaView:
    record: Inspection | RepairOrder = workshop._read(by, cls, record_id)
    found = record.media_item(media_id)
    if found is None:
        raise NotFoundError("media", media_id)
    return media_view(found, *_minter(workshop, by)(found))


Urls = tuple[str | None, str | None, str | None, datetime | None]


def _minter(workshop: Workshop, by: Caller) -> Callable[[MediaAttachment], Urls]:
    """URLs for this caller, minted now: none for the auditor (metadata only) or for media
    recorded before the upload flow (no stored object)."""
    desk = workshop.media
    sees_files = not (not isinstance(by, InProcess) and _role(by) is Role.AUDITOR)

    def mint(media: MediaAttachment) -> Urls:
        if desk is None or not sees_files or media.key is None:
            return None, None, None, None
        storage, seconds = desk.storage, desk.limits.url_seconds
        expires = desk.clock.now() + timedelta(seconds=seconds)
        name = media.file_name or str(media.media_id)
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if not media.is_photo:
            # Videos: the original, as a download (never rendered inline from our origin).
            url = storage.download_url(
                media.key, filename=name, content_type=media.content_type, expires_in=seconds
            )
            return None, None, url, expires
        thumbnail = storage.download_url(
            thumbnail_key(media.key),
            filename=f"{stem}-thumbnail.webp",
            content_type="image/webp",
            expires_in=seconds,
            inline=True,
        )
        preview = storage.download_url(
            preview_key(media.key),
            filename=f"{stem}.webp",
            content_type="image/webp",
            expires_in=seconds,
            inline=True,
        )
        # The original may carry GPS: what a client downloads is the preview, as a file.
        download = storage.download_url(
            preview_key(media.key),
            filename=f"{stem}.webp",
            content_type="image/webp",
            expires_in=seconds,
        )
        return thumbnail, preview, download, expires

    return mint


def _role(by: Caller) -> Role | None:
    return getattr(by, "role", None)


__all__ = [
    "IssuedUpload",
    "MediaDesk",
    "confirm_inspection_media",
    "confirm_repair_order_media",
    "get_media",
    "list_media",
    "request_inspection_media_upload",
    "request_repair_order_media_upload",
]
