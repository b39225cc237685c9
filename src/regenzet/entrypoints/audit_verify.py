"""Verifying a long chain on every CPU (what ``regenzet audit verify`` runs).

The stored link before a range anchors it, so consecutive ranges of the log can be verified
independently, each in its own process, and the whole chain holds when every range does (the
range before proves each anchor). The first broken id is the lowest any range reports.
Small logs, the in-memory store and ``--workers 1`` verify in this process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from regenzet.application.audit import VerificationReport, Verifier
from regenzet.entrypoints.composition import VerifyOpener

# Below this many events, starting processes costs more than it saves.
PARALLEL_MIN_EVENTS = 40_000
CHUNKS_PER_WORKER = 2


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def verify_log(
    verifier: Verifier,
    opener: VerifyOpener | None,
    *,
    start: int | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    head = verifier.store.head()
    anchor = verifier.store.link_before(start) if start is not None and start > 1 else None
    after, events_before = (anchor[0].notification_id, anchor[1]) if anchor else (0, 0)
    to_verify = head.events - events_before
    # No opener: the store lives in this process (memory) and cannot be opened by others.
    if workers <= 1 or to_verify < PARALLEL_MIN_EVENTS or opener is None:
        return verifier.verify(start, progress)

    problem = verifier.signature_problem()
    if problem is not None:
        return VerificationReport(
            intact=False,
            first_broken_id=problem[0],
            reason=problem[1],
            started_after=after,
            events_verified=0,
            checkpoints_verified=0,
            chain_head=head.notification_id,
            log_head=verifier.reader.max_notification_id(),
        )
    chunks = workers * CHUNKS_PER_WORKER
    span = head.notification_id - after
    bounds = [after + span * i // chunks for i in range(chunks + 1)]
    ranges = [(a + 1, b) for a, b in itertools.pairwise(bounds) if b > a]
    # fork: the workers start in milliseconds, and only the calling thread is copied; they
    # open their own connections and leave the parent's untouched (they end with os._exit).
    context = multiprocessing.get_context("fork")
    reports: list[VerificationReport] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(verify_range, opener, a, b, b == ranges[-1][1]) for a, b in ranges]
        for future in as_completed(futures):
            report = future.result()
            reports.append(report)
            if progress is not None:
                progress(report.events_verified)
    broken = [r for r in reports if not r.intact]
    first = min(broken, key=lambda r: r.first_broken_id or 0) if broken else None
    return VerificationReport(
        intact=first is None,
        first_broken_id=first.first_broken_id if first else None,
        reason=first.reason if first else None,
        started_after=after,
        events_verified=sum(r.events_verified for r in reports),
        checkpoints_verified=sum(r.checkpoints_verified for r in reports),
        chain_head=head.notification_id,
        log_head=max(r.log_head for r in reports),
    )


def verify_range(opener: VerifyOpener, start: int, stop: int, last: bool) -> VerificationReport:
    """One range, in a worker process, on its own connections (the parent has checked the
    checkpoints' signatures)."""
    reader, store = opener()
    try:
        verifier = Verifier(reader, store, None)
        return verifier.verify(start, stop=None if last else stop, check_signatures=False)
    finally:
        store.close()
        reader.close()


__all__ = ["default_workers", "verify_log", "verify_range"]
