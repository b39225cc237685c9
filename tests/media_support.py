"""Helpers for the media tests: a browser's upload form, byte for byte."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def form_parts(
    fields: Mapping[str, str],
    *,
    part_type: str | None = "application/octet-stream",
    filename: str = "photo.jpg",
    boundary: str | None = None,
) -> tuple[bytes, bytes, str]:
    """What goes before and after the file's bytes in a ``multipart/form-data`` body of
    ``fields`` then ``file`` (last), as an HTML form (or ``FormData`` in ``fetch``) sends it,
    and the body's ``Content-Type``."""
    boundary = boundary or f"----regenzet{uuid.uuid4().hex}"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields.items()
    )
    file_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
    )
    if part_type is not None:
        file_head += f"Content-Type: {part_type}\r\n"
    head += (file_head + "\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def form_body(
    fields: Mapping[str, str],
    data: bytes,
    *,
    part_type: str | None = "application/octet-stream",
    filename: str = "photo.jpg",
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """The whole body and its ``Content-Type``."""
    head, tail, content_type = form_parts(
        fields, part_type=part_type, filename=filename, boundary=boundary
    )
    return head + data + tail, content_type


def in_chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port (real HTTP, for presigned POSTs and GETs)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
