"""The local media adapter's own enforcement of its tickets (what S3 does with a POST policy),
below the HTTP routes: every refusal keeps nothing on disk."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.media import (
    MediaObjectMissing,
    TicketRefusedError,
    UploadRefusedError,
    UploadTicket,
    UploadTooLargeError,
)
from regenzet.entrypoints.bootstrap import Bootstrap, Overrides, media_storage
from regenzet.entrypoints.settings import MediaSettings, Settings, SettingsError

from ..conftest import START

DATA = b"\xff\xd8\xff\xe0" + os.urandom(10_000)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def storage(tmp_path: Path, clock: ManualClock) -> LocalMediaStorage:
    return LocalMediaStorage.in_data_dir(tmp_path, clock)


def ticket(storage: LocalMediaStorage, data: bytes = DATA, expires_in: int = 300) -> UploadTicket:
    return storage.issue_upload(
        f"pending/inspections/{uuid4()}/{uuid4()}",
        content_type="image/jpeg",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        expires_in=expires_in,
    )


def send(
    storage: LocalMediaStorage,
    fields: dict[str, str],
    data: bytes = DATA,
    part_type: str | None = "image/jpeg",
) -> None:
    with storage.begin_upload(fields) as upload:
        upload.write(data)
        upload.finish(part_type)


def leftovers(storage: LocalMediaStorage) -> list[str]:
    """Every file under the media root but the ticket markers (what a refusal must not add)."""
    return sorted(
        path.relative_to(storage.root).as_posix()
        for path in storage.root.rglob("*")
        if path.is_file() and ".used" not in path.parts
    )


def test_the_secret_is_created_once_readable_only_by_the_owner(tmp_path: Path) -> None:
    first = LocalMediaStorage.secret_in(tmp_path / "keys")
    assert stat.S_IMODE((tmp_path / "keys" / "media-secret").stat().st_mode) == 0o600
    assert LocalMediaStorage.secret_in(tmp_path / "keys") == first
    assert len(first) == 64
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["media-secret"]


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: LocalMediaStorage.secret_in(tmp_path / "k"), range(32)))
    assert len(secrets) == 1
    assert len(next(iter(secrets))) == 64


def test_no_field_can_shift_into_its_neighbour_under_the_signature(
    storage: LocalMediaStorage,
) -> None:
    """The signed message is a canonical encoding, not fields joined by newlines."""
    assert storage._sign("download", "a\nb", "c") != storage._sign("download", "a", "b\nc")


def test_a_half_written_secret_is_refused_not_used(tmp_path: Path, clock: ManualClock) -> None:
    """What the link-into-place prevents, shown directly: a key file that exists but holds
    no key is a clear error, never a weak secret."""
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "media-secret").write_text("")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        LocalMediaStorage.in_data_dir(tmp_path, clock)


def test_an_accepted_upload_keeps_the_object_and_its_sidecar(storage: LocalMediaStorage) -> None:
    issued = ticket(storage)
    send(storage, issued.fields)
    assert leftovers(storage) == [f".meta/{issued.key}.json", issued.key]
    assert storage.head(issued.key).sha256 == hashlib.sha256(DATA).hexdigest()


def test_head_answers_from_the_sidecar_and_hashes_when_it_is_gone(
    storage: LocalMediaStorage,
) -> None:
    issued = ticket(storage)
    send(storage, issued.fields)
    (storage.root / ".meta" / f"{issued.key}.json").unlink()
    head = storage.head(issued.key)
    assert head.sha256 == hashlib.sha256(DATA).hexdigest()
    assert head.content_type == "application/octet-stream"  # the type lived in the sidecar


def test_an_expired_ticket_is_refused(storage: LocalMediaStorage, clock: ManualClock) -> None:
    issued = ticket(storage, expires_in=60)
    clock.advance(timedelta(seconds=60))
    with pytest.raises(TicketRefusedError, match="expired"):
        send(storage, issued.fields)
    assert leftovers(storage) == []


def test_a_ticket_is_used_once(storage: LocalMediaStorage) -> None:
    issued = ticket(storage)
    send(storage, issued.fields)
    storage.delete(issued.key)
    with pytest.raises(TicketRefusedError, match="already used"):
        send(storage, issued.fields)
    assert leftovers(storage) == []


def test_one_ticket_drives_one_upload_at_a_time(storage: LocalMediaStorage) -> None:
    issued = ticket(storage)
    first = storage.begin_upload(issued.fields)
    with pytest.raises(TicketRefusedError, match="under way"):
        storage.begin_upload(issued.fields)  # refused before a byte of it is written
    assert len(list((storage.root / ".incoming").iterdir())) == 1  # the first one's only
    first.write(DATA)
    first.finish()
    with pytest.raises(TicketRefusedError, match="already used"):
        send(storage, issued.fields)
    assert leftovers(storage) == [f".meta/{issued.key}.json", issued.key]


def test_a_refused_or_abandoned_upload_releases_the_ticket(storage: LocalMediaStorage) -> None:
    issued = ticket(storage)
    with pytest.raises(UploadRefusedError):
        send(storage, issued.fields, DATA[:-1] + b"\x00")
    with storage.begin_upload(issued.fields) as upload:
        upload.write(DATA[:10])  # the client goes away
    send(storage, issued.fields)
    assert storage.read(issued.key) == DATA


def test_an_upload_finishing_past_the_expiry_and_its_grace_is_refused(
    storage: LocalMediaStorage, clock: ManualClock
) -> None:
    late, in_time = ticket(storage, expires_in=60), ticket(storage, expires_in=60)
    with storage.begin_upload(late.fields) as slow, storage.begin_upload(in_time.fields) as ok:
        slow.write(DATA)
        ok.write(DATA)
        clock.advance(timedelta(seconds=60 + storage.finish_grace_seconds))
        ok.finish()  # within the grace
        clock.advance(timedelta(seconds=1))
        with pytest.raises(TicketRefusedError, match="expired before the file arrived"):
            slow.finish()
    assert leftovers(storage) == [f".meta/{in_time.key}.json", in_time.key]


def test_a_failure_to_put_the_file_in_place_keeps_nothing_and_spends_nothing(
    storage: LocalMediaStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from regenzet.application.errors import StoreUnavailableError

    issued = ticket(storage)

    def disk_full(source: Path, target: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(storage, "_place", disk_full)
        with pytest.raises(StoreUnavailableError):
            send(storage, issued.fields)
    assert leftovers(storage) == []  # no part, no sidecar
    assert list((storage.root / ".used").iterdir()) == []
    send(storage, issued.fields)  # the retry with the same ticket is accepted
    assert leftovers(storage) == [f".meta/{issued.key}.json", issued.key]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "pending/inspections/other/thing"),
        ("key", "media/inspections/a/b/original"),
        ("key", "../../keys/media-secret"),
        ("Content-Type", "image/png"),
        ("x-regenzet-size", "1"),
        ("x-amz-checksum-sha256", "AAAA"),
        ("expires", "9999999999"),
        ("signature", "0" * 64),
        ("signature", "é" * 64),  # not ASCII: still a refusal, not a TypeError
        ("Content-Type", "\u0083¥ã"),
    ],
)
def test_a_changed_field_is_refused(storage: LocalMediaStorage, field: str, value: str) -> None:
    fields = dict(ticket(storage).fields)
    fields[field] = value
    with pytest.raises(TicketRefusedError, match="signature"):
        send(storage, fields)
    assert leftovers(storage) == []


def test_a_missing_or_extra_field_is_refused(storage: LocalMediaStorage) -> None:
    fields = dict(ticket(storage).fields)
    with pytest.raises(TicketRefusedError, match="not part of the ticket"):
        send(storage, {**fields, "acl": "public-read"})
    del fields["expires"]
    with pytest.raises(TicketRefusedError, match="lacks"):
        send(storage, fields)
    assert leftovers(storage) == []


def test_a_body_past_the_signed_size_stops_at_once(storage: LocalMediaStorage) -> None:
    issued = ticket(storage)
    with storage.begin_upload(issued.fields) as upload:
        upload.write(DATA)
        with pytest.raises(UploadTooLargeError):
            upload.write(b"x")
    assert leftovers(storage) == []
    send(storage, issued.fields)  # refused bodies do not use the ticket up


@pytest.mark.parametrize(
    ("body", "part_type", "reason"),
    [
        (DATA[:-1], "image/jpeg", "bytes"),
        (DATA[:-1] + b"\x00", "image/jpeg", "SHA-256"),
        (DATA, "image/png", "image/png"),
    ],
)
def test_a_body_that_is_not_what_was_signed_is_refused(
    storage: LocalMediaStorage, body: bytes, part_type: str, reason: str
) -> None:
    issued = ticket(storage)
    with pytest.raises(UploadRefusedError, match=reason):
        send(storage, issued.fields, body, part_type)
    assert leftovers(storage) == []
    with pytest.raises(MediaObjectMissing):
        storage.head(issued.key)


def test_an_untyped_file_part_takes_the_signed_type(storage: LocalMediaStorage) -> None:
    """Browsers send HEIC (and more) as application/octet-stream; the signed type stands."""
    issued = ticket(storage)
    send(storage, issued.fields, part_type="application/octet-stream")
    assert storage.head(issued.key).content_type == "image/jpeg"


def test_a_download_link_is_refused_when_changed_or_expired(
    storage: LocalMediaStorage, clock: ManualClock
) -> None:
    from urllib.parse import parse_qsl, urlsplit

    key = f"media/inspections/{uuid4()}/{uuid4()}/preview.webp"
    storage.put(key, b"webp", content_type="image/webp")
    url = storage.download_url(key, filename="a.webp", content_type="image/webp", expires_in=60)
    params = dict(parse_qsl(urlsplit(url).query))
    assert storage.resolve_download(params).max_age == 60
    for name, value in [("ct", "text/html"), ("disp", "inline"), ("key", "media/x"), ("exp", "1")]:
        with pytest.raises(TicketRefusedError):
            storage.resolve_download({**params, name: value})
    clock.advance(timedelta(seconds=60))
    with pytest.raises(TicketRefusedError, match="expired"):
        storage.resolve_download(params)


def test_the_sweep_tidies_dead_parts_and_spent_markers(
    storage: LocalMediaStorage, clock: ManualClock
) -> None:
    issued = ticket(storage)
    send(storage, issued.fields)
    dead = storage.root / ".incoming" / "dead.part"
    dead.write_bytes(b"half an upload")
    os.utime(dead, (0, 0))
    clock.advance(timedelta(hours=25))
    assert list(storage.pending_older_than(clock.now() - timedelta(hours=24))) == [issued.key]
    assert not dead.exists()
    assert list((storage.root / ".used").iterdir()) == []


def test_settings_read_the_media_environment() -> None:
    assert Settings.from_env({}).media == MediaSettings()
    media = MediaSettings.from_env(
        {
            "REGENZET_MEDIA_BACKEND": "s3",
            "REGENZET_MEDIA_BUCKET": "regenzet-media",
            "REGENZET_MEDIA_KMS_KEY_ID": "alias/regenzet-media",
            "REGENZET_MEDIA_MAX_PHOTO_BYTES": "1000",
            "REGENZET_MEDIA_MAX_VIDEO_BYTES": "2000",
            "REGENZET_MEDIA_TICKET_SECONDS": "120",
            "REGENZET_MEDIA_URL_SECONDS": "600",
            "REGENZET_MEDIA_PENDING_HOURS": "6",
            "REGENZET_MEDIA_UPLOAD_SECONDS": "90",
        }
    )
    assert (media.backend, media.bucket, media.kms_key_id) == (
        "s3",
        "regenzet-media",
        "alias/regenzet-media",
    )
    assert (media.max_photo_bytes, media.max_video_bytes) == (1000, 2000)
    assert (media.ticket_seconds, media.url_seconds, media.pending_hours) == (120, 600, 6)
    assert media.upload_seconds == 90
    assert media.max_bytes_for("image/heic") == 1000
    assert media.max_bytes_for("video/quicktime") == 2000
    assert media.max_bytes_for("image/svg+xml") is None
    assert MediaSettings().max_photo_bytes == 26_214_400
    assert MediaSettings().max_video_bytes == 209_715_200


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REGENZET_MEDIA_BACKEND": "ftp"}, "REGENZET_MEDIA_BACKEND"),
        ({"REGENZET_MEDIA_BACKEND": "s3"}, "REGENZET_MEDIA_BUCKET"),
        ({"REGENZET_MEDIA_TICKET_SECONDS": "301"}, "REGENZET_MEDIA_TICKET_SECONDS"),
        ({"REGENZET_MEDIA_TICKET_SECONDS": "0"}, "REGENZET_MEDIA_TICKET_SECONDS"),
        ({"REGENZET_MEDIA_MAX_PHOTO_BYTES": "lots"}, "REGENZET_MEDIA_MAX_PHOTO_BYTES"),
        ({"REGENZET_MEDIA_URL_SECONDS": "86400"}, "REGENZET_MEDIA_URL_SECONDS"),
    ],
)
def test_bad_media_settings_name_their_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        MediaSettings.from_env(env)


def test_the_bootstrap_chooses_local_media_by_default_and_takes_an_override(
    tmp_path: Path, storage: LocalMediaStorage
) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=None)
    chosen = media_storage(settings)
    assert isinstance(chosen, LocalMediaStorage)
    assert chosen.root == tmp_path / "var" / "media"
    assert (tmp_path / "var" / "keys" / "media-secret").exists()
    root = Bootstrap(settings, Overrides(media_storage=storage))
    assert root.media_storage is storage
    assert root.media_storage is root.media_storage
