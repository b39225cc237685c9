"""A confirm that is retried (issue 13, review of the media flow): with an ``Idempotency-Key``
(the web app sends a fresh one on every write), after the original was moved but nothing was
recorded (a failed commit, a crash), and while another confirm of the same upload is running.
Each ends with exactly one ``MediaAttached`` and a 200 to every caller. And what a confirm
refused at the move leaves: nothing under ``media/``, and a problem without storage keys."""

from __future__ import annotations

import hashlib
import threading
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest

from regenzet.application import commands
from regenzet.application.access import InProcess
from regenzet.application.errors import StoreUnavailableError
from regenzet.application.media import MediaStorage, StoredObject
from regenzet.application.media_confirm import original_key, preview_key, thumbnail_key
from regenzet.domain.common import Actor, Role

from .conftest import Api
from .test_media_flow import (
    BOLT,
    INSPECTIONS,
    confirm,
    garage,  # noqa: F401 - the module's garage, shared by these tests
    jpeg,
    media_ids,
    pending_exists,
    position,
    problem,
    ticket_for,
    upload,
)

NOOR = Actor(subject_id="noor", role=Role.TECHNICIAN)


@pytest.fixture
def api(garage: tuple[Api, Any]) -> Api:  # noqa: F811
    return garage[0]


def keyed_confirm(api: Api, ticket: dict[str, Any], key: str) -> Any:
    return api.client.post(
        ticket["confirm_path"], headers=api.auth("noor", **{"Idempotency-Key": key})
    )


def uploaded(api: Api, data: bytes | None = None) -> dict[str, Any]:
    data = data if data is not None else jpeg()
    ticket = ticket_for(api, data)
    assert upload(api, ticket, data).status_code == 204
    return ticket


# -- an Idempotency-Key on a confirm of attached media ------------------------------------------


def test_a_keyed_confirm_retried_with_its_key_replays_the_first_answer(api: Api) -> None:
    ticket = uploaded(api)
    key = f"confirm-{uuid4()}"
    first = keyed_confirm(api, ticket, key)
    assert first.status_code == 200, first.text
    before = position(api)
    again = keyed_confirm(api, ticket, key)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert position(api) == before
    assert media_ids(api).count(ticket["media_id"]) == 1


def test_a_confirm_of_attached_media_with_a_new_key_is_a_200_with_the_current_version(
    api: Api,
) -> None:
    ticket = uploaded(api)
    first = keyed_confirm(api, ticket, f"confirm-{uuid4()}")
    assert first.status_code == 200, first.text
    before = position(api)
    key = f"confirm-{uuid4()}"
    again = keyed_confirm(api, ticket, key)
    assert again.status_code == 200, again.text
    current = api.workshop.get_inspection(BOLT).version
    assert again.json()["version"] == current
    assert again.headers["etag"] == f'"{current}"'
    assert position(api) == before  # recorded nothing
    # The new key was kept with that answer: its retry is a replay.
    replay = keyed_confirm(api, ticket, key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == again.json()
    assert media_ids(api).count(ticket["media_id"]) == 1


def test_a_keyed_confirm_retried_after_a_conflict_stores_the_version_it_committed(
    api: Api, crashing: CrashAfterMove
) -> None:
    """Another write to the inspection lands while the confirm checks: its first attach
    conflicts, the retry commits one version later, and the key's stored answer says so."""
    ticket = uploaded(api)

    def another_write() -> None:  # in its own thread: not under this request's key
        data = jpeg((32, 32))
        command = commands.RequestInspectionMediaUpload(
            inspection_id=BOLT,
            file_name="other.jpg",
            content_type="image/jpeg",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        worker = threading.Thread(target=api.workshop.execute, args=(command, InProcess(NOOR)))
        worker.start()
        worker.join()

    crashing.during_move = another_write
    key = f"confirm-{uuid4()}"
    first = keyed_confirm(api, ticket, key)
    assert first.status_code == 200, first.text
    current = api.workshop.get_inspection(BOLT).version
    assert first.json()["version"] == current
    replay = keyed_confirm(api, ticket, key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert (replay.json()["version"], replay.headers["etag"]) == (current, f'"{current}"')


# -- the move done, the attach not recorded -----------------------------------------------------


class CrashAfterMove:
    """Our local storage, whose next ``move`` moves the object and then fails, as a process
    dying (or a commit refused) between the move and the save would leave it; ``during_move``
    runs right after the move instead (another confirm arriving then)."""

    def __init__(self, inner: MediaStorage) -> None:
        self.inner = inner
        self.fail_next = False
        self.during_move: Any = None
        self.before_move: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def move(self, source: str, target: str, *, expected: StoredObject | None = None) -> None:
        if self.before_move is not None:
            before, self.before_move = self.before_move, None
            before(source)
        self.inner.move(source, target, expected=expected)
        if self.during_move is not None:
            during, self.during_move = self.during_move, None
            during()
        if self.fail_next:
            self.fail_next = False
            raise StoreUnavailableError("the event store went away after the move")


@pytest.fixture
def crashing(api: Api, monkeypatch: pytest.MonkeyPatch) -> CrashAfterMove:
    desk = api.workshop.media
    assert desk is not None
    wrapper = CrashAfterMove(desk.storage)
    monkeypatch.setattr(desk, "_resolved", wrapper)  # undone after the test
    return wrapper


def test_a_confirm_whose_attach_failed_after_the_move_is_finished_by_the_next_confirm(
    api: Api, crashing: CrashAfterMove
) -> None:
    ticket = uploaded(api)
    media_id = UUID(ticket["media_id"])
    crashing.fail_next = True
    before = position(api)
    assert confirm(api, ticket).status_code == 503
    assert position(api) == before  # moved, but nothing recorded
    target = original_key("inspections", BOLT, media_id)
    crashing.inner.delete(thumbnail_key(target))  # a preview lost too: it is made again
    again = confirm(api, ticket)
    assert again.status_code == 200, again.text
    assert media_ids(api).count(ticket["media_id"]) == 1
    shown = api.client.get(
        f"{INSPECTIONS}/{BOLT}/media/{media_id}", headers=api.auth("noor")
    ).json()
    assert (shown["width"], shown["height"]) == (640, 480)
    for url in (shown["thumbnail_url"], shown["preview_url"]):
        assert api.client.get(url).status_code == 200
    assert crashing.inner.head(preview_key(target)).size > 0


def test_a_confirm_arriving_after_another_ones_move_is_a_200_and_one_attach(
    api: Api, crashing: CrashAfterMove
) -> None:
    ticket = uploaded(api)
    media_id = UUID(ticket["media_id"])
    answers: list[Any] = []

    def second_confirm() -> None:
        command = commands.ConfirmInspectionMedia(inspection_id=BOLT, media_id=media_id)
        answers.append(api.workshop.execute(command, InProcess(NOOR)))

    crashing.during_move = second_confirm
    first = confirm(api, ticket)
    assert first.status_code == 200, first.text
    assert len(answers) == 1  # the second confirm was answered, not refused as missing
    assert media_ids(api).count(ticket["media_id"]) == 1
    assert first.json()["version"] == api.workshop.get_inspection(BOLT).version


def test_an_original_that_is_not_the_declared_one_is_never_attached(
    api: Api, crashing: CrashAfterMove
) -> None:
    ticket = uploaded(api)
    media_id = UUID(ticket["media_id"])
    crashing.fail_next = True
    assert confirm(api, ticket).status_code == 503
    target = original_key("inspections", BOLT, media_id)
    crashing.inner.put(target, jpeg((320, 200)), content_type="image/jpeg")
    before = position(api)
    problem(confirm(api, ticket), 409, "upload-missing")
    assert position(api) == before
    assert ticket["media_id"] not in media_ids(api)


# -- at most REGENZET_MEDIA_CONFIRM_CONCURRENCY confirms decode at once ---------------------------


def test_a_confirm_waits_for_a_turn_and_is_a_503_when_none_comes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = api.workshop.media
    assert desk is not None
    assert desk.limits.confirm_concurrency == 2
    monkeypatch.setattr(desk, "limits", attrs.evolve(desk.limits, confirm_wait_seconds=0.2))
    ticket = uploaded(api)
    before = position(api)
    with desk.confirm_turn(), desk.confirm_turn():  # two confirms decoding right now
        busy = confirm(api, ticket)
    body = problem(busy, 503, "unavailable")
    assert busy.headers["retry-after"] == "2"
    assert "busy checking other uploads" in body["detail"]
    assert position(api) == before
    assert pending_exists(api, ticket)  # untouched: the retry confirms it
    assert confirm(api, ticket).status_code == 200


# -- lows: a move refused leaves nothing, and its problem says what happened -------------------


def nothing_under_media(api: Api, media_id: UUID) -> bool:
    storage = crashing_inner(api)
    target = original_key("inspections", BOLT, media_id)
    for key in (target, preview_key(target), thumbnail_key(target)):
        try:
            storage.head(key)
        except LookupError:
            continue
        return False
    return True


def crashing_inner(api: Api) -> MediaStorage:
    desk = api.workshop.media
    assert desk is not None
    storage = desk.storage
    return storage.inner if isinstance(storage, CrashAfterMove) else storage


def test_an_upload_changed_before_the_move_is_a_409_without_the_storage_key(
    api: Api, crashing: CrashAfterMove
) -> None:
    ticket = uploaded(api)
    media_id = UUID(ticket["media_id"])
    crashing.before_move = lambda key: crashing.inner.put(
        key, jpeg((300, 200)), content_type="image/jpeg"
    )
    before = position(api)
    body = problem(confirm(api, ticket), 409, "upload-changed")
    assert "pending/" not in body["detail"]
    assert str(BOLT) not in body["detail"]
    assert "changed since it was checked" in body["detail"]
    assert position(api) == before
    assert nothing_under_media(api, media_id)  # no previews left behind


def test_an_upload_swept_before_the_move_is_a_409_upload_missing_not_a_500(
    api: Api, crashing: CrashAfterMove
) -> None:
    ticket = uploaded(api)
    media_id = UUID(ticket["media_id"])
    crashing.before_move = crashing.inner.delete
    before = position(api)
    problem(confirm(api, ticket), 409, "upload-missing")
    assert position(api) == before
    assert nothing_under_media(api, media_id)
