"""Tamper evidence for the one ordered log (DESIGN §5, ADR 0010, docs/audit.md).

A follower links every stored event, in notification order, into a SHA-256 hash chain kept
beside the log, and seals the chain with a signed checkpoint every N events and on demand.
Verification recomputes every link from the stored events, compares it with the stored
chain and the signed checkpoints, and names the first notification id where they disagree.

The link of event n is::

    link_n = SHA-256(link_{n-1} || record_n)          link_0 = 32 zero bytes
    record_n = u64be(notification id) || aggregate id (16 bytes, RFC 4122 order)
               || u64be(version) || u16be(len(topic)) || topic (UTF-8)
               || SHA-256(stored state bytes)

Ids that never committed (a rolled-back transaction consumed a sequence value) are simply
absent from both the log and the chain: each chain row records the id of the event linked
before it, so a gap is told apart from a deletion.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

import attrs

from regenzet.application.ports import ChainRow, Clock, EventLogReader, LogRow

logger = logging.getLogger(__name__)

GENESIS = bytes(32)
CHAIN_NAME = "audit_chain"
DEFAULT_CHECKPOINT_EVERY = 10_000
DEFAULT_CHAIN_BATCH = 5_000
CHECKPOINT_FORMAT = "regenzet-audit-checkpoint/1"

_HEAD = struct.Struct(">Q16sQ")


def _topic_suffix(topic: str, cache: dict[str, bytes]) -> bytes:
    suffix = cache.get(topic)
    if suffix is None:
        encoded = topic.encode("utf-8")
        suffix = cache[topic] = struct.pack(">H", len(encoded)) + encoded
    return suffix


def record_bytes(row: ChainRow) -> bytes:
    """The canonical encoding of one stored event (what the link hashes)."""
    notification_id, aggregate_id, version, topic, state = row
    return (
        _HEAD.pack(notification_id, aggregate_id, version)
        + _topic_suffix(topic, {})
        + hashlib.sha256(state).digest()
    )


def next_link(previous: bytes, row: ChainRow) -> bytes:
    return hashlib.sha256(previous + record_bytes(row)).digest()


def chain_links(previous: bytes, rows: Sequence[ChainRow]) -> list[bytes]:
    """The links of consecutive rows after ``previous`` (the hot loop of follower and verifier;
    equal to applying :func:`next_link` row by row)."""
    sha, pack, topics = hashlib.sha256, _HEAD.pack, _TOPICS
    links: list[bytes] = []
    append = links.append
    for notification_id, aggregate_id, version, topic, state in rows:
        suffix = topics.get(topic)
        if suffix is None:
            suffix = _topic_suffix(topic, topics)
        previous = sha(
            previous + pack(notification_id, aggregate_id, version) + suffix + sha(state).digest()
        ).digest()
        append(previous)
    return links


_TOPICS: dict[str, bytes] = {}


@attrs.frozen
class ChainLink:
    """A stored link: the event it seals, the event linked before it (0 for the first)."""

    notification_id: int
    previous_id: int
    link: bytes


@attrs.frozen
class ChainHead:
    notification_id: int = 0
    events: int = 0
    link: bytes = GENESIS


@attrs.frozen
class Checkpoint:
    """A signed statement: "the chain's link after ``events`` events, at ``notification_id``,
    was ``link``"."""

    notification_id: int
    events: int
    link: bytes
    created_at: datetime
    key_id: str
    algorithm: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(self.notification_id, self.events, self.link, self.created_at)


def checkpoint_message(notification_id: int, events: int, link: bytes, at: datetime) -> bytes:
    """The signed bytes: compact JSON with sorted keys (documented in docs/audit.md)."""
    return json.dumps(
        {
            "created_at": at.isoformat(),
            "events": events,
            "format": CHECKPOINT_FORMAT,
            "link": link.hex(),
            "notification_id": notification_id,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


class Signer(Protocol):
    """Signs checkpoints: an Ed25519 key in the data dir locally, KMS in production."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def public_key_pem(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...


class ChainTx(Protocol):
    def head(self) -> ChainHead: ...

    def append(self, links: Sequence[ChainLink], head: ChainHead) -> None: ...

    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...


class ChainStore(Protocol):
    """The chain and its checkpoints, beside the log (same SQLite file / Postgres schema).

    The chain is append-only: nothing here updates or deletes, so the application's database
    role needs only INSERT and SELECT on these tables (``regenzet db grant``).
    """

    def prepare(self) -> None: ...

    def head(self) -> ChainHead: ...

    def transaction(self) -> AbstractContextManager[ChainTx]:
        """One writer at a time (a lock held until commit)."""
        ...

    def links(self, after: int, upto: int) -> list[tuple[int, int, bytes]]:
        """(notification id, previous id, link) with after < id <= upto, ascending."""
        ...

    def link_at(self, notification_id: int) -> ChainLink | None: ...

    def link_before(self, notification_id: int) -> tuple[ChainLink, int] | None:
        """The last link with an id below ``notification_id`` and how many links end there."""
        ...

    def checkpoints(self) -> list[Checkpoint]: ...

    def close(self) -> None: ...


class ChainFollower:
    """Extends the chain from the log, a batch per transaction, checkpointing every N events.

    It has the shape of a read-model follower (``name``, ``check_schema``, ``position``,
    ``step``), so the same runner keeps it up to date.
    """

    name = CHAIN_NAME

    def __init__(
        self,
        store: ChainStore,
        reader: EventLogReader,
        signer: Signer,
        clock: Clock,
        *,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        batch: int = DEFAULT_CHAIN_BATCH,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.store = store
        self.reader = reader
        self.signer = signer
        self.clock = clock
        self.checkpoint_every = checkpoint_every
        self.batch = batch

    def check_schema(self) -> None:
        self.store.prepare()

    def position(self) -> int:
        return self.store.head().notification_id

    def step(self) -> int:
        """Links at most one batch; returns how many events (0: caught up)."""
        start = self.store.head()
        # A batch never runs past the next multiple of N, so checkpoints seal exactly the
        # N-th, 2N-th, ... event.
        until_checkpoint = self.checkpoint_every - start.events % self.checkpoint_every
        rows = self.reader.read_chain(start.notification_id, min(self.batch, until_checkpoint))
        if not rows:
            return 0
        links = chain_links(start.link, rows)
        with self.store.transaction() as tx:
            head = tx.head()
            if head.notification_id != start.notification_id:
                return 0  # another runner extended the chain meanwhile
            previous_ids = [start.notification_id, *(row[0] for row in rows[:-1])]
            stored = [
                ChainLink(row[0], prev, link)
                for row, prev, link in zip(rows, previous_ids, links, strict=True)
            ]
            new_head = ChainHead(rows[-1][0], start.events + len(rows), links[-1])
            tx.append(stored, new_head)
            if new_head.events % self.checkpoint_every == 0:
                tx.add_checkpoint(self._sign(new_head))
        return len(rows)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        total = 0
        while applied := self.step():
            total += applied
            if progress is not None:
                progress(applied)
        return total

    def checkpoint(self) -> Checkpoint | None:
        """Catches up, then seals the head now (on demand); None when the log is empty."""
        self.catch_up()
        with self.store.transaction() as tx:
            head = tx.head()
            if head.events == 0:
                return None
            existing = [
                c for c in self.store.checkpoints() if c.notification_id == head.notification_id
            ]
            if existing:
                return existing[0]
            checkpoint = self._sign(head)
            tx.add_checkpoint(checkpoint)
            return checkpoint

    def _sign(self, head: ChainHead) -> Checkpoint:
        at = self.clock.now()
        message = checkpoint_message(head.notification_id, head.events, head.link, at)
        return Checkpoint(
            notification_id=head.notification_id,
            events=head.events,
            link=head.link,
            created_at=at,
            key_id=self.signer.key_id,
            algorithm=self.signer.algorithm,
            signature=self.signer.sign(message),
        )


@attrs.frozen
class VerificationReport:
    """The outcome of recomputing the chain. ``first_broken_id`` is None when intact."""

    intact: bool
    first_broken_id: int | None
    reason: str | None
    started_after: int
    events_verified: int
    checkpoints_verified: int
    chain_head: int
    log_head: int

    def summary(self) -> str:
        if self.intact:
            return (
                f"intact: {_count(self.events_verified, 'event')} and "
                f"{_count(self.checkpoints_verified, 'signed checkpoint')} verified up to "
                f"notification {self.chain_head} "
                f"(log head {self.log_head})"
            )
        return f"BROKEN at notification {self.first_broken_id}: {self.reason}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Broken(Exception):
    def __init__(self, notification_id: int, reason: str) -> None:
        super().__init__(reason)
        self.notification_id = notification_id
        self.reason = reason


class Verifier:
    """Recomputes the chain from the stored events and checks the stored links and the signed
    checkpoints; stops at the first disagreement."""

    def __init__(
        self,
        reader: EventLogReader,
        store: ChainStore,
        signer: Signer | None,
        *,
        batch: int = 10_000,
    ) -> None:
        self.reader = reader
        self.store = store
        self.signer = signer
        self.batch = batch

    def verify(
        self,
        start: int | None = None,
        progress: Callable[[int], None] | None = None,
        *,
        stop: int | None = None,
        check_signatures: bool = True,
    ) -> VerificationReport:
        """From the beginning, or from notification id ``start`` (anchored on the stored link
        just before it), up to ``stop`` (default: the chain head).

        A range can be verified on its own because the stored link before it anchors it:
        verifying consecutive ranges separately (in parallel) proves the whole chain.
        """
        head = self.store.head()
        log_head = self.reader.max_notification_id()
        upto = head.notification_id if stop is None else min(stop, head.notification_id)
        link, previous_id, events = GENESIS, 0, 0
        if start is not None and start > 1:
            anchor = self.store.link_before(start)
            if anchor is not None:
                (anchor_link, events) = anchor
                link, previous_id = anchor_link.link, anchor_link.notification_id
        started_after = previous_id
        checkpoints = {
            c.notification_id: c
            for c in self.store.checkpoints()
            if previous_id < c.notification_id and (stop is None or c.notification_id <= stop)
        }
        checkpoint_ids = sorted(checkpoints)
        verified_checkpoints = 0
        counted = 0

        def report(broken: _Broken | None) -> VerificationReport:
            return VerificationReport(
                intact=broken is None,
                first_broken_id=None if broken is None else broken.notification_id,
                reason=None if broken is None else broken.reason,
                started_after=started_after,
                events_verified=counted,
                checkpoints_verified=verified_checkpoints,
                chain_head=head.notification_id,
                log_head=log_head,
            )

        try:
            if check_signatures:
                self._check_signatures(checkpoints.values())
            for rows, stored in self._batches(previous_id, upto):
                link, previous_id, events, sealed = self._check_batch(
                    rows, stored, link, previous_id, events, checkpoints, checkpoint_ids
                )
                verified_checkpoints += sealed
                counted += len(rows)
                if progress is not None:
                    progress(len(rows))
            if upto == head.notification_id:
                if events != head.events:
                    raise _Broken(head.notification_id, "the chain head's event count differs")
                for checkpoint_id in checkpoint_ids:
                    # A checkpoint past the head read at the start is either newer than this
                    # run (the follower went on linking: its link exists now) or the sign of
                    # a deleted tail (its link is gone).
                    if (
                        checkpoint_id > head.notification_id
                        and self.store.link_at(checkpoint_id) is None
                    ):
                        raise _Broken(
                            checkpoint_id,
                            "a signed checkpoint seals an event that is no longer in the log or "
                            "the chain (the tail was deleted)",
                        )
        except _Broken as broken:
            return report(broken)
        return report(None)

    def signature_problem(self) -> tuple[int, str] | None:
        """The first checkpoint whose signature does not verify, as (id, reason)."""
        try:
            self._check_signatures(self.store.checkpoints())
        except _Broken as broken:
            return broken.notification_id, broken.reason
        return None

    def _check_signatures(self, checkpoints: Iterable[Checkpoint]) -> None:
        for checkpoint in sorted(checkpoints, key=lambda c: c.notification_id):
            signer = self.signer
            if signer is None:
                raise ValueError("checking signatures needs the audit key")
            if checkpoint.key_id != signer.key_id or not signer.verify(
                checkpoint.message(), checkpoint.signature
            ):
                raise _Broken(
                    checkpoint.notification_id,
                    "the checkpoint's signature does not verify with the audit key "
                    f"{signer.key_id} (the checkpoint was altered or forged)",
                )

    def _batches(
        self, after: int, upto: int
    ) -> Iterator[tuple[list[ChainRow], list[tuple[int, int, bytes]]]]:
        """Event rows and stored links, a range of ids at a time, up to the chain head."""
        while after < upto:
            rows = self.reader.read_chain(after, self.batch)
            rows = [r for r in rows if r[0] <= upto] if rows and rows[-1][0] > upto else rows
            end = rows[-1][0] if len(rows) == self.batch else upto
            stored = self.store.links(after, end)
            yield rows, stored
            if not rows and not stored:
                return
            after = end

    def _check_batch(
        self,
        rows: list[ChainRow],
        stored: list[tuple[int, int, bytes]],
        link: bytes,
        previous_id: int,
        events: int,
        checkpoints: dict[int, Checkpoint],
        checkpoint_ids: list[int],
    ) -> tuple[bytes, int, int, int]:
        links = chain_links(link, rows)
        ids = [r[0] for r in rows]
        fast = (
            len(stored) == len(rows)
            and [s[0] for s in stored] == ids
            and [s[2] for s in stored] == links
            and [s[1] for s in stored] == [previous_id, *ids[:-1]]
        )
        if not fast:
            self._locate(rows, stored, link, previous_id)
            raise AssertionError("unreachable: a batch that differs has a first difference")
        if not rows:
            return link, previous_id, events, 0
        # Checkpoints are sparse: find the ones sealing an event of this batch by bisection.
        low = bisect.bisect_right(checkpoint_ids, previous_id)
        high = bisect.bisect_right(checkpoint_ids, ids[-1])
        for checkpoint_id in checkpoint_ids[low:high]:
            checkpoint = checkpoints[checkpoint_id]
            index = bisect.bisect_left(ids, checkpoint_id)
            if ids[index] != checkpoint_id:
                raise _Broken(checkpoint_id, "a signed checkpoint seals an event that is gone")
            if checkpoint.link != links[index] or checkpoint.events != events + index + 1:
                raise _Broken(
                    checkpoint_id,
                    "the recomputed chain differs from the signed checkpoint at this event "
                    "(events or links before it were rewritten)",
                )
        return links[-1], ids[-1], events + len(rows), high - low

    def _locate(
        self,
        rows: list[ChainRow],
        stored: list[tuple[int, int, bytes]],
        link: bytes,
        previous_id: int,
    ) -> None:
        """Walks events and stored links together to name the first broken id (raises)."""
        by_id = {s[0]: s for s in stored}
        event_ids = {r[0] for r in rows}
        for notification_id in sorted(event_ids | set(by_id)):
            entry = by_id.get(notification_id)
            if notification_id not in event_ids:
                raise _Broken(
                    notification_id, "the event was deleted from the log (its link remains)"
                )
            if entry is None:
                raise _Broken(
                    notification_id,
                    "the event is not in the chain (it was inserted into the log afterwards)",
                )
            _, stored_previous, stored_link = entry
            if stored_previous != previous_id:
                missing = stored_previous if stored_previous > previous_id else notification_id
                raise _Broken(
                    missing,
                    "an event was deleted from the log together with its link"
                    if stored_previous > previous_id
                    else "the chain's order was altered",
                )
            row = next(r for r in rows if r[0] == notification_id)
            recomputed = next_link(link, row)
            if recomputed != stored_link:
                raise _Broken(
                    notification_id,
                    "the stored event's bytes differ from what was linked "
                    "(edited, or swapped with another event), or its link was edited",
                )
            link, previous_id = recomputed, notification_id


def export_lines(
    reader: EventLogReader,
    store: ChainStore,
    signer: Signer,
    decode: Callable[[Sequence[LogRow]], list[dict[str, object]]],
    *,
    batch: int = 5_000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The log as JSON lines for a third party (format in docs/audit.md): a header with the
    public key, one line per linked event, then the signed checkpoints."""
    head = store.head()
    yield json.dumps(
        {
            "kind": "header",
            "format": "regenzet-audit-export/1",
            "algorithm": signer.algorithm,
            "key_id": signer.key_id,
            "public_key_pem": signer.public_key_pem(),
            "chain_head": head.notification_id,
            "events": head.events,
        },
        separators=(",", ":"),
    )
    after = 0
    while after < head.notification_id:
        rows = [r for r in reader.read(after, batch) if r[0] <= head.notification_id]
        if not rows:
            break
        stored = {s[0]: s for s in store.links(after, rows[-1][0])}
        for row, decoded in zip(rows, _decode_each(decode, rows), strict=True):
            notification_id, aggregate_id, version, topic, state = row
            entry = stored.get(notification_id)
            yield json.dumps(
                {
                    "kind": "event",
                    "notification_id": notification_id,
                    "aggregate_id": str(aggregate_id),
                    "version": version,
                    "topic": topic,
                    "state_b64": _b64(state),
                    "previous_id": entry[1] if entry else None,
                    "link": entry[2].hex() if entry else None,
                    "event": decoded,
                },
                separators=(",", ":"),
                default=str,
            )
        after = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    # Only the checkpoints the exported chain reaches: the follower may have signed newer ones
    # while the export ran.
    sealed = [c for c in store.checkpoints() if c.notification_id <= head.notification_id]
    for checkpoint in sealed:
        yield json.dumps(
            {
                "kind": "checkpoint",
                "notification_id": checkpoint.notification_id,
                "events": checkpoint.events,
                "link": checkpoint.link.hex(),
                "created_at": checkpoint.created_at.isoformat(),
                "key_id": checkpoint.key_id,
                "algorithm": checkpoint.algorithm,
                "signature_b64": _b64(checkpoint.signature),
                "message": checkpoint.message().decode(),
            },
            separators=(",", ":"),
        )


def _decode_each(
    decode: Callable[[Sequence[LogRow]], list[dict[str, object]]], rows: Sequence[LogRow]
) -> list[dict[str, object] | None]:
    """Decoded events; an event that no longer decodes (it was edited) is exported raw only."""
    try:
        return list(decode(rows))
    except Exception:
        decoded: list[dict[str, object] | None] = []
        for row in rows:
            try:
                decoded.append(decode([row])[0])
            except Exception:
                decoded.append(None)
        return decoded


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


__all__ = [
    "CHAIN_NAME",
    "GENESIS",
    "ChainFollower",
    "ChainHead",
    "ChainLink",
    "ChainStore",
    "ChainTx",
    "Checkpoint",
    "Signer",
    "VerificationReport",
    "Verifier",
    "chain_links",
    "checkpoint_message",
    "export_lines",
    "next_link",
    "record_bytes",
]
