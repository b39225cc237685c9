"""The S3 upload ticket's POST policy, decoded and checked condition by condition.

moto accepts any POST to a bucket (it checks neither the policy nor its signature), so what
S3 will enforce is proved here, on the document S3 receives: every condition present and
exact, nothing the browser could widen, and an expiry of at most five minutes. Presigning
makes no network call.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from regenzet.adapters.media_s3 import S3MediaStorage
from regenzet.application.errors import StoreUnavailableError
from regenzet.application.media import UploadTicket
from regenzet.entrypoints.bootstrap import media_storage
from regenzet.entrypoints.settings import MediaSettings, Settings

KEY = (
    "pending/inspections/6f1c2a8e-1111-4c6e-9d7e-2f0a8b9c0d1e/0b5e9f3a-2222-4d1c-8e6f-3a2b1c0d9e8f"
)
KMS = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DATA = b"\xff\xd8\xff\xe0 a photo of a corroded brake disc"
SHA256 = hashlib.sha256(DATA).hexdigest()
CHECKSUM = base64.b64encode(hashlib.sha256(DATA).digest()).decode()


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> S3MediaStorage:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client(
        "s3",
        region_name="eu-central-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
    return S3MediaStorage(client, "regenzet-media", KMS)


def issue(storage: S3MediaStorage, expires_in: int = 300) -> UploadTicket:
    return storage.issue_upload(
        KEY, content_type="image/jpeg", size=len(DATA), sha256=SHA256, expires_in=expires_in
    )


def policy_of(ticket: UploadTicket) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.b64decode(ticket.fields["policy"]))
    return document


def test_every_condition_is_present_and_exact(storage: S3MediaStorage) -> None:
    conditions = policy_of(issue(storage))["conditions"]
    credential = next(c["x-amz-credential"] for c in conditions if "x-amz-credential" in c)
    date = next(c["x-amz-date"] for c in conditions if "x-amz-date" in c)
    assert credential.endswith("/eu-central-1/s3/aws4_request")
    assert sorted(map(json.dumps, conditions)) == sorted(
        map(
            json.dumps,
            [
                {"Content-Type": "image/jpeg"},
                ["content-length-range", len(DATA), len(DATA)],
                {"x-amz-checksum-algorithm": "SHA256"},
                {"x-amz-checksum-sha256": CHECKSUM},
                {"x-amz-server-side-encryption": "aws:kms"},
                {"x-amz-server-side-encryption-aws-kms-key-id": KMS},
                {"bucket": "regenzet-media"},
                {"key": KEY},
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                {"x-amz-credential": credential},
                {"x-amz-date": date},
            ],
        )
    )


def test_nothing_in_the_policy_lets_the_browser_choose(storage: S3MediaStorage) -> None:
    ticket = issue(storage)
    conditions = policy_of(ticket)["conditions"]
    text = json.dumps(conditions)
    assert "starts-with" not in text
    assert "${filename}" not in text
    assert "${filename}" not in ticket.fields["key"]
    assert ticket.fields["key"] == KEY == ticket.key
    # Every form field the browser sends is pinned by an exact condition (S3 refuses a form
    # field the policy does not name; the policy and its signature are the exceptions).
    pinned = {name: value for c in conditions if isinstance(c, dict) for name, value in c.items()}
    for name, value in ticket.fields.items():
        if name in {"policy", "x-amz-signature"}:
            continue
        assert pinned[name] == value, name


def test_the_checksum_is_the_declared_sha256_in_base64(storage: S3MediaStorage) -> None:
    ticket = issue(storage)
    assert base64.b64decode(ticket.fields["x-amz-checksum-sha256"]).hex() == SHA256
    assert ticket.fields["x-amz-checksum-algorithm"] == "SHA256"


@pytest.mark.parametrize("expires_in", [1, 120, 300])
def test_the_ticket_expires_within_five_minutes(storage: S3MediaStorage, expires_in: int) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    ticket = issue(storage, expires_in)
    expiration = datetime.strptime(policy_of(ticket)["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    assert ticket.expires_at == expiration
    assert before + timedelta(seconds=expires_in) <= expiration
    assert expiration <= datetime.now(UTC) + timedelta(seconds=expires_in)
    assert expiration - before <= timedelta(minutes=5)


@pytest.mark.parametrize("expires_in", [301, 3600, 0, -1])
def test_a_longer_ticket_is_refused(storage: S3MediaStorage, expires_in: int) -> None:
    with pytest.raises(ValueError, match="300"):
        issue(storage, expires_in)


def test_only_a_server_chosen_key_under_pending_gets_a_ticket(storage: S3MediaStorage) -> None:
    for key in ["media/inspections/a/b/original", "pending/${filename}", "pending/../x"]:
        with pytest.raises(ValueError):
            storage.issue_upload(
                key, content_type="image/jpeg", size=len(DATA), sha256=SHA256, expires_in=60
            )


def test_a_download_url_names_the_type_and_disposition_and_expires(
    storage: S3MediaStorage,
) -> None:
    url = storage.download_url(
        "media/inspections/a/b/original",
        filename="walk-around.mp4",
        content_type="video/mp4",
        expires_in=300,
    )
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "regenzet-media.s3.eu-central-1.amazonaws.com"
    assert query["response-content-type"] == ["video/mp4"]
    assert query["response-content-disposition"] == [
        "attachment; filename=\"walk-around.mp4\"; filename*=UTF-8''walk-around.mp4"
    ]
    assert query["X-Amz-Expires"] == ["300"]


def test_the_bootstrap_signs_for_the_regional_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A global URL (https://BUCKET.s3.amazonaws.com/) would redirect the browser's POST."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        media=MediaSettings(backend="s3", bucket="regenzet-media", kms_key_id=KMS),
    )
    chosen = media_storage(settings)
    assert isinstance(chosen, S3MediaStorage)
    ticket = chosen.issue_upload(
        KEY, content_type="image/png", size=10, sha256="a" * 64, expires_in=300
    )
    assert ticket.url == "https://regenzet-media.s3.eu-central-1.amazonaws.com/"


def test_s3_out_of_reach_is_the_store_being_unavailable(tmp_path: Path) -> None:
    """ADR 0035: a 503 for the caller, not a botocore error (port 9: nothing listens)."""
    client = boto3.client(
        "s3",
        region_name="eu-central-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            connect_timeout=0.5,
        ),
    )
    storage = S3MediaStorage(client, "regenzet-media", KMS)
    for call in (
        lambda: storage.head(KEY),
        lambda: storage.read(KEY, limit=10),
        lambda: storage.put("media/a/b/thumbnail.webp", b"x", content_type="image/webp"),
        lambda: storage.move(KEY, "media/a/b/original"),
        lambda: storage.delete(KEY),
        lambda: list(storage.pending_older_than(datetime.now(UTC))),
    ):
        with pytest.raises(StoreUnavailableError):
            call()


def test_the_composed_s3_storage_round_trips_on_a_local_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The bootstrap's own client, pointed at moto's server by AWS_ENDPOINT_URL (no bucket
    subdomains there, so it is addressed by path): ticket, browser POST, head, move, GET."""
    import httpx

    from ..media_support import form_body, moto_server

    with moto_server() as endpoint:
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        admin = boto3.client("s3")
        admin.create_bucket(
            Bucket="regenzet-media",
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        )
        key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
        settings = Settings(
            data_dir=tmp_path,
            database_url=None,
            media=MediaSettings(backend="s3", bucket="regenzet-media", kms_key_id=key_id),
        )
        storage = media_storage(settings)
        ticket = storage.issue_upload(
            KEY, content_type="image/jpeg", size=len(DATA), sha256=SHA256, expires_in=300
        )
        assert ticket.url == f"{endpoint}/regenzet-media"
        body, content_type = form_body(ticket.fields, DATA, part_type="image/jpeg")
        posted = httpx.post(ticket.url, content=body, headers={"Content-Type": content_type})
        assert posted.status_code == 204, posted.text
        assert storage.head(KEY).size == len(DATA)
        storage.move(KEY, "media/inspections/a/b/original")
        confirmed = storage.head("media/inspections/a/b/original")
        assert confirmed.sha256 == SHA256  # S3 computed it on the copy
        url = storage.download_url(
            "media/inspections/a/b/original",
            filename="disc.jpg",
            content_type="image/jpeg",
            expires_in=60,
            inline=True,
        )
        fetched = httpx.get(url)
        assert fetched.content == DATA
        assert fetched.headers["content-disposition"].startswith("inline")
        encryption = admin.head_object(
            Bucket="regenzet-media", Key="media/inspections/a/b/original"
        )
        assert encryption["ServerSideEncryption"] == "aws:kms"
