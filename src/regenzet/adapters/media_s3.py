"""Media storage in S3: presigned POST uploads straight from the browser, presigned GET
downloads, SSE-KMS throughout (``S3MediaStorage``; ADR 0040).

The upload ticket is ``generate_presigned_post`` with a policy S3 enforces (moto does not,
so ``tests/adapters/test_media_s3_policy.py`` checks the policy document itself): the exact
key (boto3 adds ``{"key": ...}`` for a literal key; ``${filename}`` is never used, it would
let the browser choose the name), the exact ``Content-Type``, a ``content-length-range`` of
exactly the declared size, the SHA-256 as ``x-amz-checksum-sha256`` (so S3 checks the bytes)
and SSE-KMS with the bucket's key, for at most five minutes.

Every S3 or network failure other than a missing object is ``StoreUnavailableError`` (ADR
0035): the caller answers 503 without knowing the technology.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from regenzet.application.errors import StoreUnavailableError
from regenzet.application.media import (
    PENDING_PREFIX,
    MediaObjectChangedError,
    MediaObjectMissing,
    StoredObject,
    UploadTicket,
    check_content_type,
    check_key,
    check_upload,
    content_disposition,
    download_name,
    served_as,
)

__all__ = ["MAX_LINK_SECONDS", "S3MediaStorage", "upload_conditions"]

# A presigned GET signed with SigV4 lives at most a week (and no longer than the task
# role's credentials that sign it).
MAX_LINK_SECONDS = 7 * 24 * 3600
_MISSING = {"404", "NoSuchKey", "NotFound"}
# An If-Match / CopySourceIfMatch that names a version no longer current.
_CHANGED = {"412", "PreconditionFailed"}

P = ParamSpec("P")
R = TypeVar("R")


def _s3_boundary(method: Callable[P, R]) -> Callable[P, R]:
    """S3 refusing us or not answering is the store being unavailable (ADR 0035)."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            raise StoreUnavailableError(f"media storage refused the request ({code})") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError("media storage is unreachable") from exc

    return guarded


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _missing(exc: ClientError) -> bool:
    return _code(exc) in _MISSING


def _body_chunks(body: Any, size: int) -> Iterator[bytes]:
    """A streaming body's chunks; S3 failing mid-way is the store being unavailable."""
    try:
        for chunk in body.iter_chunks(size):
            if chunk:
                yield bytes(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailableError("media storage failed while reading") from exc
    finally:
        body.close()


def upload_conditions(
    *, content_type: str, size: int, checksum: str, kms_key_id: str
) -> tuple[dict[str, str], list[Any]]:
    """The form fields the browser sends besides the key and the signature, and the policy's
    conditions on them (every field in ``Fields`` must have a condition, or S3 refuses it)."""
    fields = {
        "Content-Type": content_type,
        "x-amz-checksum-algorithm": "SHA256",
        "x-amz-checksum-sha256": checksum,
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": kms_key_id,
    }
    conditions: list[Any] = [
        {"Content-Type": content_type},
        ["content-length-range", size, size],
        {"x-amz-checksum-algorithm": "SHA256"},
        {"x-amz-checksum-sha256": checksum},
        {"x-amz-server-side-encryption": "aws:kms"},
        {"x-amz-server-side-encryption-aws-kms-key-id": kms_key_id},
    ]
    return fields, conditions


class S3MediaStorage:
    """``MediaStorage`` on one bucket. ``client`` is a boto3 S3 client; the bootstrap makes it
    with SigV4 and virtual-hosted addressing on the regional endpoint (a global URL would
    redirect the browser's POST with a 307, which CORS does not follow)."""

    def __init__(self, client: Any, bucket: str, kms_key_id: str) -> None:
        self.client = client
        self.bucket = bucket
        self.kms_key_id = kms_key_id

    def _sse(self) -> dict[str, str]:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

    @_s3_boundary
    def issue_upload(
        self, key: str, *, content_type: str, size: int, sha256: str, expires_in: int
    ) -> UploadTicket:
        check_upload(
            key, content_type=content_type, size=size, sha256=sha256, expires_in=expires_in
        )
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        fields, conditions = upload_conditions(
            content_type=content_type, size=size, checksum=checksum, kms_key_id=self.kms_key_id
        )
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,  # a literal key: boto3 adds the exact-key condition {"key": key}
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires_in,
        )
        form = {str(name): str(value) for name, value in post["fields"].items()}
        return UploadTicket(
            url=str(post["url"]), fields=form, key=key, expires_at=_policy_expiry(form)
        )

    @_s3_boundary
    def head(self, key: str) -> StoredObject:
        check_key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if _missing(exc):
                raise MediaObjectMissing(key) from None
            raise
        checksum = head.get("ChecksumSHA256")
        sha256: str | None = None
        # A composite (multipart) checksum ends in "-N": not the object's own SHA-256.
        if isinstance(checksum, str) and "-" not in checksum:
            try:
                sha256 = base64.b64decode(checksum, validate=True).hex()
            except (binascii.Error, ValueError):
                sha256 = None
        etag = head.get("ETag")
        return StoredObject(
            key=key,
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType") or "application/octet-stream"),
            sha256=sha256,
            etag=str(etag) if etag else None,
            version=str(head["VersionId"]) if head.get("VersionId") not in {None, "null"} else None,
        )

    def _get(self, key: str, expected: StoredObject | None, **extra: Any) -> Any:
        """``get_object``, of exactly the ``expected`` version when given (``IfMatch``)."""
        if expected is not None:
            if expected.etag is None:
                raise ValueError("an expected object names its etag (from head)")
            extra["IfMatch"] = expected.etag
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            if _missing(exc):
                raise MediaObjectMissing(key) from None
            if _code(exc) in _CHANGED:
                raise MediaObjectChangedError(f"{key} changed since it was checked") from None
            raise

    @_s3_boundary
    def read(
        self, key: str, *, limit: int | None = None, expected: StoredObject | None = None
    ) -> bytes:
        check_key(key)
        if limit is not None and limit <= 0:
            self.head(key)  # still says whether it exists
            return b""
        extra = {"Range": f"bytes=0-{limit - 1}"} if limit is not None else {}
        try:
            response = self._get(key, expected, **extra)
        except ClientError as exc:
            if _code(exc) == "InvalidRange":
                return b""  # an empty object has no first byte
            raise
        body = response["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    @_s3_boundary
    def chunks(
        self, key: str, *, size: int = 1024 * 1024, expected: StoredObject | None = None
    ) -> Iterator[bytes]:
        check_key(key)
        if size < 1:
            raise ValueError("a chunk is at least one byte")
        return _body_chunks(self._get(key, expected)["Body"], size)

    @_s3_boundary
    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        check_key(key)
        check_content_type(content_type)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            **self._sse(),
        )

    @_s3_boundary
    def move(self, source: str, target: str, *, expected: StoredObject | None = None) -> None:
        check_key(source)
        check_key(target)
        if expected is not None and expected.etag is None:
            raise ValueError("an expected object names its etag (from head)")
        if source == target:
            self._check(self.head(source), expected, by_etag=True)
            return
        # Exactly the version that was verified: a presigned POST may be sent again within
        # its lifetime, so the current version of ``source`` may be another one by now.
        # Refused when it is (as the local adapter does); and the copy itself names the
        # version and its ETag, so nothing sent in between can be copied instead.
        copy_source = {"Bucket": self.bucket, "Key": source}
        condition = {}
        if expected is not None:
            try:
                current = self.head(source)
            except MediaObjectMissing:
                # Moved before (a retried confirm)? The old version may still exist in a
                # versioned bucket, so it is not copied again: the target must be there.
                self._moved_before(source, target, expected)
                return
            self._check(current, expected, by_etag=True)
            condition["CopySourceIfMatch"] = str(expected.etag)
            if expected.version is not None:
                copy_source["VersionId"] = expected.version
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource=copy_source,
                MetadataDirective="COPY",
                # S3 computes the copy's SHA-256 itself: the confirmed object carries one.
                ChecksumAlgorithm="SHA256",
                **condition,
                **self._sse(),
            )
        except ClientError as exc:
            if _code(exc) in _CHANGED:
                raise MediaObjectChangedError(f"{source} changed since it was checked") from None
            if not _missing(exc):
                raise
            self._moved_before(source, target, expected)
            return
        self.client.delete_object(Bucket=self.bucket, Key=source)

    def _moved_before(self, source: str, target: str, expected: StoredObject | None) -> None:
        """A retried move finds the target (nothing to do) or ``MediaObjectMissing``. The
        copy has an ETag of its own, so the bytes are compared by S3's SHA-256."""
        try:
            found = self.head(target)
        except MediaObjectMissing:
            raise MediaObjectMissing(source) from None
        self._check(found, expected, by_etag=False)

    @staticmethod
    def _check(found: StoredObject, expected: StoredObject | None, *, by_etag: bool) -> None:
        if expected is None:
            return
        if by_etag:
            same = found.etag == expected.etag
        elif found.sha256 is not None and expected.sha256 is not None:
            same = found.sha256 == expected.sha256
        else:  # no checksum to compare (moto keeps none for a POST): the size at least
            same = found.size == expected.size
        if not same:
            raise MediaObjectChangedError(f"{found.key} is not the object that was checked")

    @_s3_boundary
    def delete(self, key: str) -> None:
        check_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    @_s3_boundary
    def download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        expires_in: int,
        inline: bool = False,
    ) -> str:
        check_key(key)
        content_type, inline = served_as(content_type, inline=inline)
        filename = download_name(filename, content_type)
        if not 1 <= expires_in <= MAX_LINK_SECONDS:
            raise ValueError(f"a download link lives 1 to {MAX_LINK_SECONDS} seconds")
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": content_disposition(filename, inline=inline),
                },
                ExpiresIn=expires_in,
            )
        )

    @_s3_boundary
    def pending_older_than(self, moment: datetime) -> Iterator[str]:
        found: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=PENDING_PREFIX
        )
        for page in pages:
            for item in page.get("Contents", []):
                if item["LastModified"] < moment:
                    found.append(str(item["Key"]))
        return iter(sorted(found))


def _policy_expiry(fields: dict[str, str]) -> datetime:
    """When S3 stops accepting the form: the policy's own ``expiration``."""
    policy = json.loads(base64.b64decode(fields["policy"]))
    return datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
