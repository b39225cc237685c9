"""The media flow end to end (issue 13): a ticket from the API, the upload through the local
storage route, the confirm that re-checks the stored bytes, and the media reads with their
minted URLs. Every bad input of the issue's acceptance list is tried here and refused with a
clear problem, and nothing is recorded for it. Pictures are drawn in the test with Pillow."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from PIL import ExifTags, Image

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.adapters.persistence import sqlite_env
from regenzet.entrypoints.demo import demo_id
from regenzet.entrypoints.http.media_files import DOWNLOAD_PATH, UPLOAD_PATH

from ..media_support import form_body
from .conftest import Api, build_api, order_id

BOLT = demo_id("inspection:bolt")  # in progress, Noor's; Greencab's van, not shared
LEAF = demo_id("inspection:leaf")  # completed and shared with Lukas
INSPECTIONS = "/api/v1/inspections"
ORDERS = "/api/v1/repair-orders"


def jpeg(size: tuple[int, int] = (640, 480), *, exif: Image.Exif | None = None) -> bytes:
    picture = Image.new("RGB", size, (180, 60, 40))
    picture.paste((20, 20, 200), (0, 0, size[0] // 2, size[1] // 3))  # not one flat colour
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85, exif=exif or Image.Exif())
    return out.getvalue()


def with_gps_and_orientation() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shot with the phone turned: shown 90 degrees rotated
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 40.1)
    return exif


def heic_with_gps() -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (30, 140, 60)).save(
        out, "HEIF", quality=60, exif=with_gps_and_orientation().tobytes()
    )
    return out.getvalue()


def bomb(side: int = 10_000) -> bytes:
    """10,000 x 10,000 = 100 megapixels of one colour: a few KB on disk."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def garage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, ManualClock]]:
    """The demo garage behind the API, its local media on a clock the tests move."""
    data_dir: Path = tmp_path_factory.mktemp("media-flow")
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    storage = LocalMediaStorage(
        data_dir / "media",
        LocalMediaStorage.secret_in(data_dir / "keys"),
        clock,
        upload_url=UPLOAD_PATH,
        download_url=DOWNLOAD_PATH,
    )
    for api in build_api(data_dir, sqlite_env(data_dir / "r.db"), media_storage=storage):
        yield api, clock


@pytest.fixture
def api(garage: tuple[Api, ManualClock]) -> Api:
    return garage[0]


@pytest.fixture
def storage_clock(garage: tuple[Api, ManualClock]) -> ManualClock:
    return garage[1]


def declared(data: bytes, content_type: str, file_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "file_name": file_name,
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }


def ticket_for(
    api: Api, data: bytes, content_type: str = "image/jpeg", *, who: str = "noor", **body: Any
) -> dict[str, Any]:
    path = body.pop("path", f"{INSPECTIONS}/{BOLT}/media/uploads")
    sent = declared(data, content_type, body.pop("file_name", "photo.jpg"), **body)
    response = api.client.post(path, json=sent, headers=api.auth(who))
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def upload(api: Api, ticket: dict[str, Any], data: bytes, part_type: str = "image/jpeg") -> Any:
    """What the browser does with the ticket: the fields, then the file, as a form POST."""
    body, content_type = form_body(ticket["upload"]["fields"], data, part_type=part_type)
    return api.client.post(
        ticket["upload"]["url"], content=body, headers={"Content-Type": content_type}
    )


def confirm(api: Api, ticket: dict[str, Any], who: str = "noor") -> Any:
    return api.client.post(ticket["confirm_path"], headers=api.auth(who))


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/{kind}"), body
    return body


def position(api: Api) -> int:
    return int(api.workshop.recorder.max_notification_id() or 0)


def media_ids(api: Api, inspection: UUID = BOLT) -> list[str]:
    return [str(m["media_id"]) for m in api.workshop.get_inspection(inspection).media]


def pending_exists(api: Api, ticket: dict[str, Any]) -> bool:
    storage = api.workshop.media.storage  # type: ignore[union-attr]
    return any(key == ticket["upload"]["fields"]["key"] for key in _all_pending(storage))


def _all_pending(storage: Any) -> list[str]:
    return list(storage.pending_older_than(datetime.now(UTC) + timedelta(days=365)))


# -- the good path ------------------------------------------------------------------------------


def test_a_photo_is_uploaded_confirmed_and_served_as_previews(api: Api) -> None:
    data = jpeg((1200, 900))
    ticket = ticket_for(api, data, item_code="brakes.disc_corrosion", file_name="disc.jpg")
    assert ticket["id"] == str(BOLT)
    assert ticket["upload"]["url"] == UPLOAD_PATH
    key = ticket["upload"]["fields"]["key"]
    assert key == f"pending/inspections/{BOLT}/{ticket['media_id']}"  # chosen by the server
    assert ticket["confirm_path"] == f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}/confirm"

    assert upload(api, ticket, data).status_code == 204
    confirmed = confirm(api, ticket)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["version"] == ticket["version"] + 1

    view = api.client.get(
        f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}", headers=api.auth("noor")
    )
    assert view.status_code == 200
    assert view.headers["cache-control"] == "private, no-store"
    media = view.json()
    assert (media["width"], media["height"], media["file_name"]) == (1200, 900, "disc.jpg")
    assert media["sha256"] == hashlib.sha256(data).hexdigest()
    assert media["item_code"] == "brakes.disc_corrosion"
    assert media["attached_by"] == str(demo_id("staff:noor"))
    served = api.client.get(media["preview_url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    preview = Image.open(io.BytesIO(served.content))
    assert preview.size == (1200, 900)  # at most 2048: not enlarged
    thumbnail = Image.open(io.BytesIO(api.client.get(media["thumbnail_url"]).content))
    assert thumbnail.size == (512, 384)
    assert "attachment" in api.client.get(media["download_url"]).headers["content-disposition"]
    # The original is kept byte for byte as evidence, out of pending/.
    storage = api.workshop.media.storage  # type: ignore[union-attr]
    assert storage.read(f"media/inspections/{BOLT}/{ticket['media_id']}/original") == data
    assert not pending_exists(api, ticket)


def test_a_heic_with_gps_is_served_without_any_metadata(api: Api) -> None:
    data = heic_with_gps()
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture does carry GPS
    ticket = ticket_for(api, data, "image/heic", file_name="IMG_0042.HEIC")
    assert upload(api, ticket, data, "image/heic").status_code == 204
    assert confirm(api, ticket).status_code == 200

    media = api.client.get(
        f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}", headers=api.auth("noor")
    ).json()
    assert (media["width"], media["height"]) == (300, 400)  # the orientation applied
    for url in (media["preview_url"], media["thumbnail_url"], media["download_url"]):
        served = api.client.get(url)
        assert served.status_code == 200
        picture = Image.open(io.BytesIO(served.content))
        assert picture.format == "WEBP"
        assert dict(picture.getexif()) == {}
        assert not {"exif", "xmp", "XML:com.adobe.xmp"} & set(picture.info)
        assert picture.width < picture.height  # upright, as the phone showed it


def test_a_jpeg_with_exif_orientation_is_measured_and_served_upright(api: Api) -> None:
    data = jpeg((800, 600), exif=with_gps_and_orientation())
    ticket = ticket_for(api, data)
    assert upload(api, ticket, data).status_code == 204
    assert confirm(api, ticket).status_code == 200
    media = api.client.get(
        f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}", headers=api.auth("noor")
    ).json()
    assert (media["width"], media["height"]) == (600, 800)
    thumbnail = Image.open(io.BytesIO(api.client.get(media["thumbnail_url"]).content))
    assert thumbnail.size == (384, 512)
    assert dict(thumbnail.getexif()) == {}


def test_a_video_is_checked_and_served_as_a_download(api: Api) -> None:
    ticket = ticket_for(api, MP4, "video/mp4", file_name="walkround.mp4")
    assert upload(api, ticket, MP4, "video/mp4").status_code == 204
    assert confirm(api, ticket).status_code == 200
    media = api.client.get(
        f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}", headers=api.auth("noor")
    ).json()
    assert (media["width"], media["height"], media["duration_s"]) == (None, None, None)
    assert (media["thumbnail_url"], media["preview_url"]) == (None, None)
    served = api.client.get(media["download_url"])
    assert served.content == MP4
    assert served.headers["content-disposition"].startswith("attachment")


def test_confirming_twice_is_the_same_answer_and_records_nothing(api: Api) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    upload(api, ticket, data)
    first = confirm(api, ticket)
    before = position(api)
    again = confirm(api, ticket)
    assert again.status_code == 200
    assert again.json()["version"] == first.json()["version"]
    assert position(api) == before
    assert media_ids(api).count(ticket["media_id"]) == 1


def test_confirm_before_upload_is_a_409_and_the_ticket_stays_usable(api: Api) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    before = position(api)
    body = problem(confirm(api, ticket), 409, "upload-missing")
    assert "upload the file" in body["detail"]
    assert position(api) == before
    assert upload(api, ticket, data).status_code == 204
    assert confirm(api, ticket).status_code == 200


def test_an_upload_request_replayed_with_its_key_returns_the_same_ticket(api: Api) -> None:
    data = jpeg()
    sent = declared(data, "image/jpeg", "again.jpg")
    headers = api.auth("noor", **{"Idempotency-Key": f"ticket-{uuid4()}"})
    path = f"{INSPECTIONS}/{BOLT}/media/uploads"
    first = api.client.post(path, json=sent, headers=headers)
    before = position(api)
    replay = api.client.post(path, json=sent, headers=headers)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert position(api) == before


# -- refusals: each with its problem, nothing recorded -----------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (declared(b"x" * 100, "image/gif", "a.gif"), "content_type"),
        (declared(b"x" * 100, "image/svg+xml", "a.svg"), "content_type"),
        (declared(b"x" * 100, "text/html", "a.jpg"), "content_type"),
        ({**declared(b"x", "image/jpeg", "a.jpg"), "size": 26_214_401}, "size"),
        ({**declared(b"x", "video/mp4", "a.mp4"), "size": 209_715_201}, "size"),
        ({**declared(b"x", "image/jpeg", "a.jpg"), "item_code": "brakes.nope"}, "item_code"),
    ],
)
def test_an_undeclared_type_or_oversize_upload_gets_no_ticket(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = position(api)
    response = api.client.post(
        f"{INSPECTIONS}/{BOLT}/media/uploads", json=body, headers=api.auth("noor")
    )
    assert problem(response, 422, "validation")["field"] == field
    assert position(api) == before


@pytest.mark.parametrize(
    "body",
    [
        {**declared(b"x", "image/jpeg", "a.jpg"), "size": 0},
        {**declared(b"x", "image/jpeg", "a.jpg"), "sha256": "A" * 64},
        declared(b"x", "image/jpeg", "../../etc/passwd"),
        declared(b"x", "image/jpeg", ""),
        {**declared(b"x", "image/jpeg", "a.jpg"), "key": "pending/mine"},
    ],
)
def test_a_malformed_upload_request_is_a_400(api: Api, body: dict[str, Any]) -> None:
    before = position(api)
    response = api.client.post(
        f"{INSPECTIONS}/{BOLT}/media/uploads", json=body, headers=api.auth("noor")
    )
    problem(response, 400, "invalid-request")
    assert position(api) == before


def test_an_executable_named_jpg_is_refused_and_deleted(api: Api) -> None:
    ticket = ticket_for(api, EXE, file_name="photo.jpg")
    assert upload(api, ticket, EXE).status_code == 204  # storage does not read the bytes
    before = position(api)
    body = problem(confirm(api, ticket), 422, "media-refused")
    assert body["rule"] == "wrong-type"
    assert "application/x-dosexec" in body["detail"]
    assert position(api) == before
    assert not pending_exists(api, ticket)
    assert ticket["media_id"] not in media_ids(api)
    # The bytes are gone: confirming again finds nothing to check.
    problem(confirm(api, ticket), 409, "upload-missing")


@pytest.mark.parametrize(
    ("side", "pixels"),
    [
        (10_000, "100000000 pixels"),  # over twice the limit: Pillow's own error
        (7_800, "60840000 pixels"),  # over the limit: Pillow only warns, here that refuses
    ],
)
def test_a_decompression_bomb_is_refused(api: Api, side: int, pixels: str) -> None:
    data = bomb(side)
    assert len(data) < 200_000
    ticket = ticket_for(api, data, "image/png", file_name="bomb.png")
    assert upload(api, ticket, data, "image/png").status_code == 204
    before = position(api)
    body = problem(confirm(api, ticket), 422, "media-refused")
    assert body["rule"] == "too-many-pixels"
    assert body["detail"].startswith("refused as a decompression bomb")
    assert pixels in body["detail"]
    assert position(api) == before
    assert not pending_exists(api, ticket)


def test_an_undecodable_picture_is_refused(api: Api) -> None:
    data = jpeg()[:600]  # a JPEG's start: libmagic agrees, the decoder does not
    ticket = ticket_for(api, data)
    assert upload(api, ticket, data).status_code == 204
    body = problem(confirm(api, ticket), 422, "media-refused")
    assert body["rule"] == "undecodable"
    assert not pending_exists(api, ticket)


@pytest.mark.parametrize(
    ("stored", "rule"),
    [
        (jpeg((641, 480)), "size-mismatch"),  # other bytes, another size
        (None, "checksum-mismatch"),  # the same size, other bytes
    ],
)
def test_stored_bytes_that_are_not_the_declared_ones_are_refused(
    api: Api, stored: bytes | None, rule: str
) -> None:
    """What storage that does not check the ticket's conditions would keep (moto keeps
    anything POSTed): the confirm checks size and SHA-256 again."""
    data = jpeg()
    ticket = ticket_for(api, data)
    other = stored if stored is not None else data[:-2] + b"\x00\x00"
    storage = api.workshop.media.storage  # type: ignore[union-attr]
    storage.put(ticket["upload"]["fields"]["key"], other, content_type="image/jpeg")
    before = position(api)
    assert problem(confirm(api, ticket), 422, "media-refused")["rule"] == rule
    assert position(api) == before
    assert not pending_exists(api, ticket)


def test_the_route_refuses_a_checksum_mismatch_and_the_flow_then_sees_no_upload(
    api: Api,
) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    tampered = data[:-2] + b"\x00\x00"
    problem(upload(api, ticket, tampered), 422, "upload-refused")
    problem(confirm(api, ticket), 409, "upload-missing")


def test_an_expired_ticket_is_refused_and_nothing_is_attached(
    api: Api, storage_clock: ManualClock
) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    storage_clock.advance(timedelta(seconds=301))
    problem(upload(api, ticket, data), 403, "ticket-refused")
    problem(confirm(api, ticket), 409, "upload-missing")
    assert ticket["media_id"] not in media_ids(api)


def test_a_reused_ticket_is_refused(api: Api) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    assert upload(api, ticket, data).status_code == 204
    assert confirm(api, ticket).status_code == 200
    problem(upload(api, ticket, data), 403, "ticket-refused")
    assert not pending_exists(api, ticket)  # nothing new waits to be confirmed


def test_a_ticket_tampered_to_another_inspections_key_is_refused(api: Api) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    elsewhere = ticket["upload"]["fields"]["key"].replace(str(BOLT), str(LEAF))
    ticket["upload"]["fields"]["key"] = elsewhere
    problem(upload(api, ticket, data), 403, "ticket-refused")


def test_media_of_another_inspection_cannot_be_confirmed_or_read_here(api: Api) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    upload(api, ticket, data)
    other = demo_id("inspection:model3")
    elsewhere = f"{INSPECTIONS}/{other}/media/{ticket['media_id']}"
    before = position(api)
    problem(api.client.post(f"{elsewhere}/confirm", headers=api.auth("noor")), 404, "not-found")
    problem(api.client.get(elsewhere, headers=api.auth("noor")), 404, "not-found")
    assert position(api) == before
    assert confirm(api, ticket).status_code == 200  # on its own inspection it is fine


def test_an_unknown_media_id_is_a_404(api: Api) -> None:
    path = f"{INSPECTIONS}/{BOLT}/media/{uuid4()}"
    problem(api.client.post(f"{path}/confirm", headers=api.auth("noor")), 404, "not-found")
    problem(api.client.get(path, headers=api.auth("noor")), 404, "not-found")


def test_no_ticket_once_the_inspection_is_completed(api: Api) -> None:
    before = position(api)
    response = api.client.post(
        f"{INSPECTIONS}/{LEAF}/media/uploads",
        json=declared(b"x", "image/jpeg", "late.jpg"),
        headers=api.auth("daan"),
    )
    assert problem(response, 409, "invalid-state")["current_state"] == "completed"
    assert position(api) == before


# -- markup ---------------------------------------------------------------------------------------


def test_markup_is_recorded_over_a_photo_and_the_original_is_untouched(api: Api) -> None:
    data = jpeg()
    ticket = ticket_for(api, data)
    upload(api, ticket, data)
    confirm(api, ticket)
    path = f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}"
    shapes = [
        {"kind": "arrow", "points": [[0.1, 0.2], [0.4, 0.5]], "colour": "#ff3b30"},
        {"kind": "ellipse", "points": [[0.5, 0.5], [0.9, 0.8]], "colour": "#ffcc00", "label": None},
        {"kind": "text", "points": [[0.2, 0.9]], "colour": "#ffffff", "label": "Pitting"},
    ]
    drawn = api.client.post(
        f"{path}/annotations", json={"shapes": shapes}, headers=api.auth("noor")
    )
    assert drawn.status_code == 200, drawn.text
    media = api.client.get(path, headers=api.auth("noor")).json()
    assert [s["kind"] for s in media["annotations"]] == ["arrow", "ellipse", "text"]
    assert media["annotations"][2]["label"] == "Pitting"
    assert media["annotated_at"] is not None
    storage = api.workshop.media.storage  # type: ignore[union-attr]
    assert storage.read(f"media/inspections/{BOLT}/{ticket['media_id']}/original") == data

    cleared = api.client.post(f"{path}/annotations", json={"shapes": []}, headers=api.auth("noor"))
    assert cleared.status_code == 200
    assert api.client.get(path, headers=api.auth("noor")).json()["annotations"] == []
    history = [e.event_type for e in api.workshop.get_history(BOLT)]
    assert history.count("MediaAnnotated") >= 2


@pytest.mark.parametrize(
    "shape",
    [
        {"kind": "arrow", "points": [[0.1, 0.2]], "colour": "#ff3b30"},
        {"kind": "text", "points": [[0.1, 0.2]], "colour": "#ff3b30"},
        {"kind": "freehand", "points": [[0.1, 0.2]], "colour": "#ff3b30"},
    ],
)
def test_a_shape_with_the_wrong_points_or_no_label_is_a_422(
    api: Api, shape: dict[str, Any]
) -> None:
    photo = demo_id("media:brake-disc.jpg")
    before = position(api)
    response = api.client.post(
        f"{INSPECTIONS}/{BOLT}/media/{photo}/annotations",
        json={"shapes": [shape]},
        headers=api.auth("noor"),
    )
    assert problem(response, 422, "validation")["field"].startswith("shapes[0].")
    assert position(api) == before


@pytest.mark.parametrize(
    "shape",
    [
        {"kind": "arrow", "points": [[0.1, 1.2], [0.4, 0.5]], "colour": "#ff3b30"},
        {"kind": "star", "points": [[0.1, 0.2], [0.4, 0.5]], "colour": "#ff3b30"},
        {"kind": "arrow", "points": [[0.1, 0.2], [0.4, 0.5]], "colour": "red"},
        {"kind": "arrow", "points": [[0.1, 0.2, 0.3], [0.4, 0.5]], "colour": "#ff3b30"},
        {"kind": "arrow", "points": [[0.1, 0.2], [0.4, 0.5]], "colour": "#ff3b30", "x": 1},
    ],
)
def test_a_shape_outside_the_schema_is_a_400(api: Api, shape: dict[str, Any]) -> None:
    photo = demo_id("media:brake-disc.jpg")
    response = api.client.post(
        f"{INSPECTIONS}/{BOLT}/media/{photo}/annotations",
        json={"shapes": [shape]},
        headers=api.auth("noor"),
    )
    problem(response, 400, "invalid-request")


def test_a_video_or_an_unconfirmed_upload_cannot_be_annotated(api: Api) -> None:
    video = ticket_for(api, MP4, "video/mp4", file_name="v.mp4")
    upload(api, video, MP4, "video/mp4")
    confirm(api, video)
    pending = ticket_for(api, jpeg())
    shape = {"kind": "arrow", "points": [[0.1, 0.2], [0.4, 0.5]], "colour": "#ff3b30"}
    for media_id in (video["media_id"], pending["media_id"]):
        response = api.client.post(
            f"{INSPECTIONS}/{BOLT}/media/{media_id}/annotations",
            json={"shapes": [shape]},
            headers=api.auth("noor"),
        )
        assert problem(response, 422, "validation")["field"] == "media_id"


# -- check-in photos on repair orders ---------------------------------------------------------


def test_a_check_in_photo_is_attached_to_an_open_order_by_the_advisor(api: Api) -> None:
    data = jpeg((900, 600))
    order = order_id("id3-brakes")
    ticket = ticket_for(api, data, who="eva", path=f"{ORDERS}/{order}/media/uploads")
    assert ticket["confirm_path"] == f"{ORDERS}/{order}/media/{ticket['media_id']}/confirm"
    assert ticket["upload"]["fields"]["key"].startswith(f"pending/repair-orders/{order}/")
    assert upload(api, ticket, data).status_code == 204
    assert confirm(api, ticket, who="eva").status_code == 200
    (media,) = [
        m
        for m in api.client.get(f"{ORDERS}/{order}/media", headers=api.auth("eva")).json()["items"]
        if m["media_id"] == ticket["media_id"]
    ]
    assert (media["width"], media["height"], media["item_code"]) == (900, 600, None)
    owner = api.client.get(f"{ORDERS}/{order}/media", headers=api.auth("amira"))
    assert ticket["media_id"] in [m["media_id"] for m in owner.json()["items"]]


def test_check_in_media_are_photos_only_and_only_while_the_order_is_open(api: Api) -> None:
    order = order_id("id3-brakes")
    video = declared(MP4, "video/mp4", "walk.mp4")
    refused = api.client.post(
        f"{ORDERS}/{order}/media/uploads", json=video, headers=api.auth("eva")
    )
    assert problem(refused, 422, "validation")["field"] == "content_type"
    with_item = declared(b"x", "image/jpeg", "a.jpg", item_code="brakes.pads")
    refused = api.client.post(
        f"{ORDERS}/{order}/media/uploads", json=with_item, headers=api.auth("eva")
    )
    assert problem(refused, 422, "validation")["field"] == "item_code"
    cancelled = order_id("ev6-ota")
    refused = api.client.post(
        f"{ORDERS}/{cancelled}/media/uploads",
        json=declared(b"x", "image/jpeg", "a.jpg"),
        headers=api.auth("eva"),
    )
    assert problem(refused, 409, "invalid-state")["current_state"] == "cancelled"


def test_the_demo_attached_its_photos_through_the_flow(api: Api) -> None:
    listed = api.client.get(f"{INSPECTIONS}/{BOLT}/media", headers=api.auth("noor")).json()
    demo = {m["file_name"]: m for m in listed["items"] if m["file_name"].endswith(".jpg")}
    assert {"brake-disc.jpg", "meter-reading.jpg"} <= set(demo)
    assert demo["brake-disc.jpg"]["item_code"] == "brakes.disc_corrosion"
    assert (demo["brake-disc.jpg"]["width"], demo["brake-disc.jpg"]["height"]) == (800, 600)
    summary = api.workshop.get_inspection(BOLT)
    assert len(summary.media) >= 2
