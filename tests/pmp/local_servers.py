"""Tiny HTTP servers on 127.0.0.1 that misbehave the way a hostile PMP could: an endless
answer, a trickle, a redirect. They run in the test's own event loop and count what they
saw and sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class LocalServer:
    port: int
    connections: int = 0
    bytes_sent: int = 0
    requests: list[bytes] = field(default_factory=list)  # each request's head, as sent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


Answer = Callable[[LocalServer, asyncio.StreamWriter], Awaitable[None]]


async def send(server: LocalServer, writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()
    server.bytes_sent += len(data)


@contextlib.asynccontextmanager
async def local_server(answer: Answer) -> AsyncIterator[LocalServer]:
    """Serve ``answer`` to every request (one per connection) until the block ends."""
    state = LocalServer(port=0)
    tasks: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        state.connections += 1
        try:
            state.requests.append(await reader.readuntil(b"\r\n\r\n"))
            await answer(state, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what these servers are waiting for
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    state.port = int(server.sockets[0].getsockname()[1])
    try:
        yield state
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def endless(total: int, chunk: int = 64 * 1024) -> Answer:
    """A 200 answer of ``total`` bytes with no length said up front, in ``chunk`` pieces."""

    async def answer(server: LocalServer, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
        await send(server, writer, head)
        piece = b"[" + b" " * (chunk - 1)
        sent = 0
        while sent < total:
            await send(server, writer, piece)
            sent += len(piece)

    return answer


def trickle(length: int, every: float) -> Answer:
    """A 200 answer that says it is ``length`` bytes long and sends one byte every
    ``every`` seconds (a per-read timeout longer than that never fires)."""

    async def answer(server: LocalServer, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\ncontent-length: {length}\r\n\r\n".encode()
        await send(server, writer, head)
        for _ in range(length):
            await asyncio.sleep(every)
            await send(server, writer, b" ")

    return answer


def fixed(status: int, body: bytes, headers: dict[str, str] | None = None) -> Answer:
    """One complete answer; the connection closes after it."""

    async def answer(server: LocalServer, writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", "connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        await send(server, writer, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    return answer
