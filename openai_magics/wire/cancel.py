"""Work an interrupt stops on the wire, not just stops waiting for.

Threads that send requests for one cell run inside a `Scope`. The HTTP client's sockets are tracked (see
`tracked_backend`): while a scope's thread reads or writes one, the scope knows it. `Scope.cancel()` shuts
those sockets, so the blocked threads wake at once and the server sees the client leave; from then on the
scope's threads raise `Cancelled` instead of sending anything, retries included. Whatever answer was read
before is unaffected: it is recorded as usual.
"""
from __future__ import annotations

import functools
import socket
import threading

GRACE = 0.5  # seconds stopped threads get to let go (a shut socket wakes them at once)

_current = threading.local()


class Cancelled(BaseException):
    """Raised in a thread whose work was cancelled. A BaseException, so that the SDK's retry loop and the
    `except Exception` of the code in between let it through: it is not a failure to retry or report."""


class Scope:
    """The requests of one piece of work (a cell's worker threads), cancellable together."""

    def __init__(self) -> None:
        self.cancelled = False
        self._busy: set = set()  # the tracked streams this scope's threads are reading or writing
        self._lock = threading.Lock()

    def run(self, fn, *args, **kwargs):
        """`fn(*args, **kwargs)` in this scope, in the calling thread (give it to a pool's `submit`)."""
        outer = getattr(_current, "scope", None)
        _current.scope = self
        try:
            self.check()
            return fn(*args, **kwargs)
        finally:
            _current.scope = outer

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def cancel(self) -> None:
        """Stop every request of this scope: shut the sockets in use, refuse any new one."""
        with self._lock:
            self.cancelled = True
            busy = list(self._busy)
        for stream in busy:
            stream.abort()

    def enter(self, stream) -> None:
        with self._lock:
            self.check()
            self._busy.add(stream)

    def leave(self, stream) -> None:
        with self._lock:
            self._busy.discard(stream)


def current() -> Scope | None:
    """The scope of the calling thread's work, if any."""
    return getattr(_current, "scope", None)


def stop(scope: Scope, pool, futures) -> None:
    """After an interrupt: cancel the scope's requests, drop the work not started, and give the threads
    a moment to let go, so nothing runs on once the cell has returned."""
    from concurrent.futures import wait

    scope.cancel()
    pool.shutdown(wait=False, cancel_futures=True)
    wait(list(futures), timeout=GRACE)


def tracked_backend(inner):
    """httpcore's network backend, with every stream it opens tracked for cancelling."""
    return _tracked_types()[0](inner)


@functools.cache
def _tracked_types():
    import httpcore2

    class TrackedStream(httpcore2.NetworkStream):
        def __init__(self, inner):
            self.inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            scope = current()
            if scope is None:
                return self.inner.read(max_bytes, timeout)
            data = self._in(scope, self.inner.read, max_bytes, timeout)
            if not data and scope.cancelled:  # the socket was shut under the read
                raise Cancelled()
            return data

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            scope = current()
            if scope is None:
                return self.inner.write(buffer, timeout)
            return self._in(scope, self.inner.write, buffer, timeout)

        def _in(self, scope: Scope, op, *args):
            scope.enter(self)
            try:
                return op(*args)
            except Exception:
                if scope.cancelled:
                    raise Cancelled() from None
                raise
            finally:
                scope.leave(self)

        def abort(self) -> None:
            """Shut the socket under whoever is blocked on it (closing alone would not wake them)."""
            sock = self.inner.get_extra_info("socket")
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: TLS state untouched
            except (OSError, TypeError):
                pass

        def close(self) -> None:
            self.inner.close()

        def start_tls(self, *args, **kwargs):
            return TrackedStream(self.inner.start_tls(*args, **kwargs))

        def get_extra_info(self, info: str):
            return self.inner.get_extra_info(info)

    class TrackedBackend(httpcore2.NetworkBackend):
        def __init__(self, inner):
            self.inner = inner

        def connect_tcp(self, *args, **kwargs):
            return self._opened(self.inner.connect_tcp, *args, **kwargs)

        def connect_unix_socket(self, *args, **kwargs):
            return self._opened(self.inner.connect_unix_socket, *args, **kwargs)

        def _opened(self, connect, *args, **kwargs):
            scope = current()
            if scope is not None:
                scope.check()
            stream = connect(*args, **kwargs)
            if scope is not None and scope.cancelled:
                stream.close()
                raise Cancelled()
            return TrackedStream(stream)

        def sleep(self, seconds: float) -> None:
            self.inner.sleep(seconds)

    return TrackedBackend, TrackedStream
