"""A loopback TCP proxy in front of Postgres that can lose a commit's acknowledgement.

Bytes pass through unchanged. When armed, the first ``COMMIT`` a client sends (a simple-query
message, as psycopg sends it) is forwarded to the server; once the server has had time to
commit, both sides of that connection are closed without the reply reaching the client: the
client sees its connection drop during COMMIT, exactly what a network or process failure
after the commit looks like. ``refuse()`` makes new connections fail for a while (the store
"unreachable" while the client tries to find out what happened). Needs TLS off (the client
uses ``PGSSLMODE=disable``) so the protocol is visible.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"
# The event recorder's insert lock, sent as plain text every time (a multi-statement query is
# never prepared): it marks a transaction that writes events.
WRITES_EVENTS = b"pg_advisory_xact_lock"


class PgProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self.dropped = threading.Event()  # set once an acknowledgement was lost
        self._refuse_until = 0.0
        self._down_for = 0.0
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_commit_ack(self, *, then_down_for: float = 0.0) -> None:
        """Loses the next COMMIT's reply; with ``then_down_for``, every other connection is
        cut too and new ones are refused for that long (the server seems gone)."""
        self._down_for = then_down_for
        self.dropped.clear()
        self._armed.set()

    def refuse(self, seconds: float) -> None:
        self._refuse_until = time.monotonic() + seconds

    def down(self) -> None:
        """The server seems gone: every connection is cut and new ones are refused."""
        self.refuse(float("inf"))
        with self._lock:
            for s in self._sockets:
                _close(s)

    def up(self) -> None:
        self._refuse_until = 0.0

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                _close(s)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            held = threading.Event()  # set: nothing more reaches this client
            threading.Thread(
                target=self._upstream, args=(client, server, held), daemon=True
            ).start()
            threading.Thread(
                target=self._downstream, args=(server, client, held), daemon=True
            ).start()

    def _upstream(
        self, client: socket.socket, server: socket.socket, held: threading.Event
    ) -> None:
        """Client → server; the place where a COMMIT is noticed."""
        writing = False  # this connection's transaction inserts events
        try:
            while data := client.recv(65536):
                writing = writing or WRITES_EVENTS in data
                # Other transactions' commits (a purge, a follower) pass through.
                if COMMIT in data and writing and self._armed.is_set():
                    self._armed.clear()
                    held.set()
                    server.sendall(data)
                    time.sleep(0.3)  # the server commits; its reply is never passed on
                    if self._down_for:
                        self.refuse(self._down_for)
                        with self._lock:
                            for s in self._sockets:
                                _close(s)
                    self.dropped.set()
                    _close(client)
                    _close(server)
                    return
                if COMMIT in data:
                    writing = False
                server.sendall(data)
        except OSError:
            pass
        _close(client)
        _close(server)

    def _downstream(
        self, server: socket.socket, client: socket.socket, held: threading.Event
    ) -> None:
        try:
            while data := server.recv(65536):
                if held.is_set():
                    return  # the reply to COMMIT (and anything after it) is lost
                client.sendall(data)
        except OSError:
            pass
        _close(client)
        _close(server)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
