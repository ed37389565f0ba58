"""What stands between the network and the dashboard's pages: which `Host` it answers to, how
many requests it works on at once, and what a request that fails unexpectedly gets.

Each is a plain ASGI middleware, so it holds for every route, the static files included.
"""

import asyncio
import ipaddress
import os
import sys
import traceback
from collections.abc import Collection

from papertrade.domain.text import printable

#: What a browser calls this machine's own loopback address by name.
LOOPBACK_NAMES = frozenset({"localhost"})


class HostCheck:
    """Answers 421 to a request whose `Host` is neither a loopback address or name nor one of
    `allowed` (the addresses the server binds and the names the user added): a page of
    another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) reads nothing."""

    def __init__(self, app, allowed: Collection[str]) -> None:
        self.app = app
        self.allowed = LOOPBACK_NAMES | {host_name(name) for name in allowed}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self.accepts(_header(scope, b"host")):
            body = b"421 Misdirected Request: this dashboard does not answer to that host name\n"
            await _answer(send, 421, body, [])
            return
        await self.app(scope, receive, send)

    def accepts(self, host: str | None) -> bool:
        if host is None:
            return True  # HTTP/1.0 without a Host: no browser, so no rebinding
        name = host_name(host)
        return name in self.allowed or is_loopback_address(name)


def host_name(host: str) -> str:
    """The name or address of a `Host` header (or of an address given by the user), without
    the port, the brackets of an IPv6 address and a final dot, in lower case."""
    name = host.strip().lower()
    if name.startswith("["):
        return name[1:].split("]", 1)[0]
    if name.count(":") == 1:
        name = name.split(":", 1)[0]
    return name.rstrip(".")


def is_loopback_address(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Admission:
    """At most `workers` requests are worked on at once; up to `waiting` more wait their turn
    in arrival order. A request beyond those, or one that waited `patience` seconds, is
    answered 503 with `Retry-After`: the server stays responsive, and its database
    connections are never exhausted, however many readers arrive at once."""

    def __init__(self, app, *, workers: int = 4, waiting: int = 256, patience: float = 30.0) -> None:
        self.app = app
        self.workers, self.waiting, self.patience = workers, waiting, patience
        self._slots: asyncio.Semaphore | None = None
        self._queued = 0

    @property
    def queued(self) -> int:
        """Requests waiting for a worker now."""
        return self._queued

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        if not await self._admitted(self._slots):
            await _busy(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _admitted(self, slots: asyncio.Semaphore) -> bool:
        if not slots.locked():
            return await slots.acquire()  # a worker is free: no wait
        if self._queued >= self.waiting:
            return False
        self._queued += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.patience)
            return True
        except TimeoutError:
            return False
        finally:
            self._queued -= 1


class Contained:
    """A request that fails unexpectedly is answered 500 (503 with `Retry-After` when the
    database had no connection free) and logged as ONE line on stderr, its traceback only
    with PAPERTRADE_DEBUG=1; it never reaches the server's own logging, which prints the
    traceback."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # every failure is answered and logged once
            busy = _is_pool_timeout(exc)
            log_failure(scope, exc)
            if not started:
                await (_busy(send) if busy else _answer(send, 500, b"500 Internal Server Error\n", []))


def log_failure(scope, exc: BaseException) -> None:
    """One line on stderr naming the request and the error (the traceback too when debugging)."""
    if os.environ.get("PAPERTRADE_DEBUG", "").lower() in ("1", "true", "yes"):
        traceback.print_exception(exc, file=sys.stderr)
    request = printable(f"{scope.get('method', '?')} {scope.get('path', '?')}", 200)
    print(f"papertrade: error: {request}: {type(exc).__name__}: {printable(str(exc), 300)}", file=sys.stderr)


def _is_pool_timeout(exc: BaseException) -> bool:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(exc, PoolTimeout)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def _busy(send) -> None:
    body = b"503 Service Unavailable: the dashboard is busy, try again in a moment\n"
    await _answer(send, 503, body, [(b"retry-after", b"2")])


async def _answer(send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body})
