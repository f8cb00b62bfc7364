"""Databases that stop answering, on loopback: a server that accepts and never speaks, and
a proxy to PostgreSQL that can turn into a black hole (it swallows what it is sent and
keeps every connection open, as a dropped route does)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self.held.append(conn)
            self.accepted(conn)

    def accepted(self, conn: socket.socket) -> None:
        """Hold the connection and say nothing."""

    def close(self) -> None:
        """Close every connection (those waiting on it fail at once); idempotent."""
        with self._lock:
            self._closed = True
            held, self.held = self.held, []
        self.sock.close()
        for conn in held:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class BlackHoleProxy(_Listener):
    """Forwards to `target` until `black_hole()`; then nothing gets through either way,
    on open connections and new ones, and nothing is closed."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.swallowing = threading.Event()
        super().__init__()

    def black_hole(self) -> None:
        self.swallowing.set()

    def accepted(self, conn: socket.socket) -> None:
        if self.swallowing.is_set():
            threading.Thread(target=self._pump, args=(conn, None), daemon=True).start()
            return
        upstream = socket.create_connection(self.target)
        with self._lock:
            self.held.append(upstream)
        threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket | None) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                if dst is not None and not self.swallowing.is_set():
                    dst.sendall(data)


@contextmanager
def silent_server() -> Iterator[_Listener]:
    """A port where connections are accepted and never answered (until `close()`)."""
    listener = _Listener()
    try:
        yield listener
    finally:
        listener.close()


@contextmanager
def black_hole_proxy(host: str, port: int) -> Iterator[BlackHoleProxy]:
    proxy = BlackHoleProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.close()
