"""``media-upload``: local media upload throughput through the real HTTP route, beside a plain
file copy of the same bytes (and a copy with fsync), and how much the server's memory grows
while it receives the upload."""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import httpx

from benchmarks.common import configured_store, console, emit, rounds_option, show_table
from benchmarks.http_api import _Server
from regenzet.application.media import UploadTicket
from regenzet.entrypoints.bootstrap import media_storage
from regenzet.entrypoints.settings import Settings

MIB = 1024 * 1024
CHUNK = MIB
VARIANTS = ("upload (HTTP)", "copyfile", "copy + fsync")


@click.command(
    "media-upload",
    help="Local media upload MiB/s through POST /api/v1/media-files/upload vs a plain file copy.",
)
@click.option(
    "--size-mb",
    type=click.IntRange(min=1, max=4096),
    default=100,
    show_default=True,
    help="Size of the uploaded file in MiB.",
)
@rounds_option(3)
def command(size_mb: int, rounds: int) -> None:
    """Method: a file of ``size_mb`` MiB of random bytes beside the data dir (so every variant
    reads it from the page cache), then per round, interleaved:

    * **upload (HTTP)**: a ticket from the local media storage, then the browser's request:
      ``multipart/form-data`` with the ticket's fields and the file streamed from disk in
      1 MiB chunks, to ``uvicorn`` in a child process on loopback running the API as
      ``regenzet serve`` does. The server parses the form as it arrives, hashes and writes it
      to a temp file, checks size and SHA-256, fsyncs and renames it into place;
    * **copyfile**: ``shutil.copyfile`` of the same file into the same directory;
    * **copy + fsync**: the same with ``fsync`` before closing (what the upload does too).

    The server's resident memory is sampled every 5 ms during each upload; the growth is the
    peak over the value just before it (the body is never held in memory)."""
    settings = configured_store()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    size = size_mb * MIB
    with tempfile.TemporaryDirectory(prefix="bench-media-", dir=settings.data_dir) as scratch:
        root = Path(scratch)
        source = root / "source.bin"
        digest = _write_random(source, size)
        server_settings = Settings(data_dir=root / "data", database_url=None)
        storage = media_storage(server_settings)  # the server's own directory and key
        timings: dict[str, list[float]] = {name: [] for name in VARIANTS}
        growth: list[int] = []
        with _Server(server_settings) as server:
            if server.process is None:
                raise click.ClickException("the API server did not start")
            pid = server.process.pid
            with httpx.Client(base_url=server.base, timeout=600) as client:
                for number in range(rounds):
                    console.print(f"round {number + 1}/{rounds}")
                    ticket = storage.issue_upload(
                        f"pending/inspections/{uuid.uuid4()}/{uuid.uuid4()}",
                        content_type="video/mp4",
                        size=size,
                        sha256=digest,
                        expires_in=300,
                    )
                    with _RssSampler(pid) as sampler:
                        started = time.perf_counter()
                        _upload(client, ticket, source, size)
                        timings["upload (HTTP)"].append(time.perf_counter() - started)
                    growth.append(sampler.growth)
                    stored = storage.head(ticket.key)
                    if (stored.size, stored.sha256) != (size, digest):
                        raise click.ClickException("the uploaded object is not the file sent")
                    storage.delete(ticket.key)
                    timings["copyfile"].append(_copy(source, root / "copy.bin", fsync=False))
                    timings["copy + fsync"].append(_copy(source, root / "copy.bin", fsync=True))

    rates = {name: size / MIB / statistics.median(times) for name, times in timings.items()}
    upload, copy, synced = rates["upload (HTTP)"], rates["copyfile"], rates["copy + fsync"]
    peak = max(growth) / MIB
    rows = [
        (
            name,
            f"{rates[name]:,.0f}",
            ", ".join(f"{size / MIB / t:,.0f}" for t in timings[name]),
            f"{rates[name] / copy:.2f}",
            f"{rates[name] / synced:.2f}",
        )
        for name in VARIANTS
    ]
    show_table(
        f"media upload, {size_mb} MiB, median of {rounds}",
        ("variant", "MiB/s", "rounds MiB/s", "÷ copyfile", "÷ copy + fsync"),
        [rows],
        caption=f"server RSS growth during the upload: peak {peak:.1f} MiB "
        f"(rounds: {', '.join(f'{g / MIB:.1f}' for g in growth)})",
    )
    emit(
        "media-upload",
        upload,
        "MiB/s",
        copy,
        size_mb=size_mb,
        rounds=rounds,
        copy_fsync=round(synced, 1),
        ratio_vs_fsync=round(upload / synced, 3),
        rss_growth_mb=round(peak, 1),
    )


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(CHUNK, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _upload(client: httpx.Client, ticket: UploadTicket, source: Path, size: int) -> None:
    boundary = f"----bench{uuid.uuid4().hex}"
    head = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + f"{value}\r\n".encode()
            for name, value in ticket.fields.items()
        )
        + (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="walk-around.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
    )
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with source.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
        yield tail

    response = client.post(
        ticket.url,
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        },
    )
    if response.status_code != 204:
        raise click.ClickException(f"upload refused: {response.status_code} {response.text}")


def _copy(source: Path, target: Path, *, fsync: bool) -> float:
    started = time.perf_counter()
    if fsync:
        with source.open("rb") as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
    else:
        shutil.copyfile(source, target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


class _RssSampler:
    """The peak growth of a process's resident set over its value at the start."""

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        try:
            for line in self.path.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __enter__(self) -> _RssSampler:
        self.baseline = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.baseline)
