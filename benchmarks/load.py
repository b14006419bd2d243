"""Load generator: signed Slack requests over raw asyncio sockets, open and closed loop.

Plays Slack towards a server's events URL: builds slash commands, options loads and view
submissions as Slack sends them and signs them (HMAC, like Slack) before the timed part, down
to the bytes of each HTTP request. In the timed part the generator only writes those bytes on
HTTP/1.1 keep-alive connections it manages itself (one request at a time on each: no
pipelining) and reads the answers; no HTTP library sits in the hot path.

- Open loop: request i is due at start + i / rate whatever the server does; its ack is timed
  from when it was DUE, so a late send (the generator or the machine falling behind) counts
  against the figure instead of hiding (no coordinated omission), and each send's lateness
  is noted.
- Closed loop: C users, each sending its next request as soon as its last result was
  delivered to the Slack stand-in (or, without delivery, as soon as it was acked). A user is
  due when its last result arrived at the stand-in; the lateness is the generator's reaction.

Results a server posts to a response_url are timed where they arrive, at the Slack stand-in
(benchmarks/servers.py standin), which streams each arrival to the generator
(`GET /_bench/stream`); every process on the machine reads the same monotonic clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import hmac
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

FORM = "application/x-www-form-urlencoded"
# Idle keep-alive connections are not reused after this long: a server may be closing them
# (uvicorn's default keep-alive is 5 s), and a request written on a closing connection fails.
IDLE_REUSE_SECONDS = 3.0


@dataclass
class Sample:
    """One request: when it was due, sent and answered, and when its result arrived."""

    key: str = ""  # the response URL's key, "" when the request has none
    due: float = 0.0
    sent: float = 0.0
    acked: float = 0.0
    status: int = 0
    body: bytes = b""
    error: str = ""
    delivered: float | None = None
    delivery_status: int = 0

    @property
    def ack_ms(self) -> float:
        """From when the request was due (not when it left) to its complete answer."""
        return (self.acked - self.due) * 1000

    @property
    def late_ms(self) -> float:
        return (self.sent - self.due) * 1000

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


@dataclass(frozen=True)
class Prepared:
    """A signed request body and its headers; `key` names its response URL, if any."""

    body: bytes
    headers: dict[str, str]
    key: str = ""


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# ---------------------------------------------------------------------------- Slack payloads


class SlackRequests:
    """Builds and signs the payloads Slack sends for one team, user and channel."""

    def __init__(self, *, signing_secret: str, team: str, user: str, channel: str) -> None:
        self._secret = signing_secret.encode()
        self.team, self.user, self.channel = team, user, channel
        self._serial = 0

    def _signed(self, body: str, content_type: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        base = f"v0:{timestamp}:{body}".encode()
        signature = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }

    def command(self, text: str, response_url: str, command: str = "/pmp") -> Prepared:
        self._serial += 1
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": self.team,
                "team_domain": self.team.lower(),
                "channel_id": self.channel,
                "channel_name": "general",
                "user_id": self.user,
                "user_name": self.user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0PMPBOT01",
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": f"{int(time.time())}.{self._serial}.bench",
            }
        )
        key = response_url.rsplit("/", 1)[-1]
        return Prepared(body.encode(), self._signed(body, FORM), key=key)

    def interaction(self, payload: dict[str, Any]) -> Prepared:
        body = urlencode({"payload": json.dumps(payload)})
        return Prepared(body.encode(), self._signed(body, FORM))

    def block_suggestion(
        self, *, action_id: str, block_id: str, value: str, view: dict[str, Any]
    ) -> Prepared:
        return self.interaction(
            {
                "type": "block_suggestion",
                "user": {"id": self.user, "team_id": self.team, "username": self.user.lower()},
                "team": {"id": self.team, "domain": self.team.lower()},
                "api_app_id": "A0PMPBOT01",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "container": {"type": "view", "view_id": view.get("id", "V0BENCH")},
                "view": view,
            }
        )

    def view_submission(self, view: dict[str, Any], values: dict[str, Any]) -> Prepared:
        self._serial += 1
        submitted = {**view, "id": view.get("id", "V0BENCH"), "state": {"values": values}}
        return self.interaction(
            {
                "type": "view_submission",
                "team": {"id": self.team, "domain": self.team.lower()},
                "user": {"id": self.user, "team_id": self.team, "username": self.user.lower()},
                "api_app_id": "A0PMPBOT01",
                "trigger_id": f"{int(time.time())}.{self._serial}.bench",
                "view": submitted,
                "response_urls": [],
            }
        )


# ---------------------------------------------------------------------------- raw HTTP/1.1

Done = Callable[[int, bytes, str], None]  # (status, body, error) once the answer is complete


class HttpTarget:
    """Keep-alive HTTP/1.1 connections to one URL, each carrying one request at a time.

    `send` writes a request's bytes at once on an idle connection (a new one is opened when
    none is idle) and calls `done` when the complete answer has been read."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._opening: set[asyncio.Task[None]] = set()
        self.opened = 0  # connections opened so far

    def render(self, request: Prepared, method: str = "POST", path: str | None = None) -> bytes:
        """The request's bytes as they go on the wire."""
        lines = [
            f"{method} {path or self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(request.body)}",
            *(f"{name}: {value}" for name, value in request.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: _Connection(self), self.host, self.port
        )
        self.opened += 1
        self._all.add(connection)
        return connection

    async def warm(self, count: int) -> None:
        """Opens connections until `count` are idle, so a burst needn't wait for connects."""
        missing = count - len(self._idle)
        if missing > 0:
            opened = await asyncio.gather(*(self._connect() for _ in range(missing)))
            now = time.monotonic()
            for connection in opened:
                connection.idle_since = now
            self._idle.extend(opened)

    def send(self, wire: bytes, done: Done) -> None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: still warm
            if not connection.closed and now - connection.idle_since < IDLE_REUSE_SECONDS:
                connection.request(wire, done)
                return
            connection.close()
        task = asyncio.ensure_future(self._send_on_new(wire, done))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _send_on_new(self, wire: bytes, done: Done) -> None:
        try:
            connection = await self._connect()
        except OSError as error:
            done(0, b"", f"connect: {type(error).__name__}")
            return
        connection.request(wire, done)

    def _release(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def _forget(self, connection: _Connection) -> None:
        self._all.discard(connection)
        with contextlib.suppress(ValueError):
            self._idle.remove(connection)

    def close(self) -> None:
        for connection in list(self._all):
            connection.close()
        self._idle.clear()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses its answer (Content-Length,
    chunked, or read to the close), then hands itself back to its target."""

    def __init__(self, target: HttpTarget) -> None:
        self._target = target
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._done: Done | None = None
        self._head: tuple[int, int, bool, bool] | None = None  # status, body start, chunked, keep
        self._length = -1  # Content-Length, -1 when the body runs to the close
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def request(self, wire: bytes, done: Done) -> None:
        assert self._transport is not None and self._done is None
        self._done = done
        self._transport.write(wire)

    def close(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._done is None:
            self.close()  # an answer nobody asked for: don't trust this connection again
            return
        if self._head is None and not self._read_head():
            return
        assert self._head is not None
        status, start, chunked, keep = self._head
        if chunked:
            body = _dechunk(self._buffer, start)
            if body is not None:
                self._finish(status, body, keep)
        elif self._length >= 0 and len(self._buffer) >= start + self._length:
            self._finish(status, bytes(self._buffer[start : start + self._length]), keep)

    def _read_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        chunked, keep, self._length = False, True, -1
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                self._length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                keep = "close" not in value
        if status in (204, 304):
            self._length = 0
        self._head = (status, end + 4, chunked, keep and (chunked or self._length >= 0))
        return True

    def _finish(self, status: int, body: bytes, keep: bool) -> None:
        done, self._done = self._done, None
        self._head = None
        self._buffer = bytearray()
        if keep and not self.closed:
            self._target._release(self)
        else:
            self.close()
        assert done is not None
        done(status, body, "")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._target._forget(self)
        done, self._done = self._done, None
        if done is None:
            return
        if self._head is not None and not self._head[2] and self._length < 0:
            done(self._head[0], bytes(self._buffer[self._head[1] :]), "")  # read to the close
        else:
            done(0, b"", type(exc).__name__ if exc else "connection closed")


def _dechunk(buffer: bytearray, start: int) -> bytes | None:
    """The body of a chunked answer, or None while it is incomplete."""
    chunks: list[bytes] = []
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0], 16)
        position = line_end + 2
        if size == 0:
            return b"".join(chunks) if buffer.find(b"\r\n", position) >= 0 else None
        if len(buffer) < position + size + 2:
            return None
        chunks.append(bytes(buffer[position : position + size]))
        position += size + 2


# ---------------------------------------------------------------------------- deliveries


class Deliveries:
    """Follows the Slack stand-in's stream of response_url posts: which response URL key
    was posted to, when it arrived (the stand-in's monotonic clock) and its status."""

    def __init__(self, standin_url: str) -> None:
        parts = urlsplit(standin_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self.arrived: dict[str, tuple[float, int]] = {}
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._listening = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_connection(self._host, self._port)
        self._writer.write(
            f"GET /_bench/stream HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"the stand-in refused its delivery stream: {head[:80]!r}")
        chunked = b"transfer-encoding: chunked" in head.lower()
        self._reader = asyncio.create_task(self._read(reader, chunked))
        # The stand-in greets first: from then on no delivery can be missed.
        await asyncio.wait_for(self._listening.wait(), 10)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._writer is not None:
            self._writer.close()

    async def _read(self, reader: asyncio.StreamReader, chunked: bool) -> None:
        pending = b""
        while True:
            if chunked:
                size = int((await reader.readline()).split(b";", 1)[0], 16)
                pending += (await reader.readexactly(size + 2))[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    raise RuntimeError("the stand-in closed its delivery stream")
                pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._note(line)

    def _note(self, line: bytes) -> None:
        parts = line.split()
        if len(parts) != 3:
            self._listening.set()  # the greeting
            return
        key = parts[0].decode()
        self.arrived.setdefault(key, (float(parts[1]), int(parts[2])))
        waiter = self._waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, key: str, timeout: float) -> bool:
        """Whether the result posted to `key` arrived (within `timeout` from now)."""
        if key in self.arrived:
            return True
        waiter = self._waiters.get(key)
        if waiter is None:
            waiter = self._waiters[key] = asyncio.get_running_loop().create_future()
        return await _within(waiter, timeout)

    async def collect(self, samples: Sequence[Sample], timeout: float) -> None:
        """Waits (up to `timeout` in all) for every sample's result and notes its arrival."""
        deadline = time.monotonic() + timeout
        for sample in samples:
            if sample.key and not sample.error:
                await self.wait(sample.key, max(0.0, deadline - time.monotonic()))
        for sample in samples:
            found = self.arrived.get(sample.key) if sample.key else None
            if found is not None:
                sample.delivered, sample.delivery_status = found


# ---------------------------------------------------------------------------- runs


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The generator's own garbage collections would make its sends late: none while timing."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _answer_into(sample: Sample, on_done: Callable[[], None] | None = None) -> Done:
    def done(status: int, body: bytes, error: str) -> None:
        sample.acked = time.monotonic()
        sample.status, sample.body = status, body
        if error:
            sample.error = error
        elif status != 200:
            sample.error = f"HTTP {status}"
        if on_done is not None:
            on_done()

    return done


async def open_loop(
    target: HttpTarget,
    requests: Sequence[Prepared],
    rate: float,
    *,
    timeout: float = 15.0,
) -> list[Sample]:
    """Sends request i at start + i / rate (all at once for rate=inf) whatever the answers,
    and waits up to `timeout` after the last send for the answers still out."""
    wires = [target.render(request) for request in requests]
    samples = [Sample(key=request.key) for request in requests]
    if not requests:
        return samples
    interval = 0.0 if math.isinf(rate) else 1.0 / rate
    start = time.monotonic() + 0.05
    dues = [start + index * interval for index in range(len(requests))]
    loop = asyncio.get_running_loop()
    all_sent, all_answered = asyncio.Event(), asyncio.Event()
    state = {"next": 0, "outstanding": len(requests)}

    def answered() -> None:
        state["outstanding"] -= 1
        if state["outstanding"] == 0:
            all_answered.set()

    def send_due() -> None:  # on the event loop: everything due by now goes out
        now, index = time.monotonic(), state["next"]
        while index < len(dues) and dues[index] <= now:
            sample = samples[index]
            sample.due, sample.sent = dues[index], time.monotonic()
            target.send(wires[index], _answer_into(sample, answered))
            index += 1
        state["next"] = index
        if index == len(dues):
            all_sent.set()

    # The schedule is kept by a thread: asyncio's timers wake 1-2 ms late (epoll counts
    # whole milliseconds, and the loop rounds up twice), a sleeping thread ~0.1 ms.
    stopped = threading.Event()
    timer = threading.Thread(target=_keep_time, args=(loop, dues, send_due, stopped), daemon=True)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)  # the timer thread needn't wait 5 ms for the loop's GIL
    timer.start()
    try:
        await all_sent.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_answered.wait(), timeout)
    finally:
        stopped.set()
        sys.setswitchinterval(switch)
    for sample in samples:
        if not sample.acked:
            sample.acked, sample.error = time.monotonic(), f"no answer within {timeout:g} s"
    return samples


def _keep_time(
    loop: asyncio.AbstractEventLoop,
    dues: Sequence[float],
    send_due: Callable[[], None],
    stopped: threading.Event,
) -> None:
    last = None
    for due in dues:
        if due == last:
            continue  # sent with the one before
        last = due
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if stopped.is_set():
            return
        try:
            loop.call_soon_threadsafe(send_due)
        except RuntimeError:  # the loop is closed
            return


async def closed_loop(
    target: HttpTarget,
    requests: Sequence[Prepared],
    *,
    users: int,
    duration: float,
    deliveries: Deliveries | None,
    timeout: float = 15.0,
) -> tuple[list[Sample], float, float]:
    """`users` each send, wait for the ack and (with `deliveries`) for the result to arrive,
    and send the next of `requests` at once, for `duration` seconds (or until `requests` run
    out). Returns the samples and the run's window (start, stop)."""
    rendered: dict[int, bytes] = {}  # the same request object is rendered once
    wires = iter(
        [
            (rendered.get(id(r)) or rendered.setdefault(id(r), target.render(r)), r.key)
            for r in requests
        ]
    )
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    stop = start + duration

    async def user() -> None:
        ready = start  # when this user could send: its last result arrived
        for wire, key in wires:
            if time.monotonic() >= stop:
                break
            answered: asyncio.Future[None] = loop.create_future()
            sample = Sample(key=key, due=ready)
            samples.append(sample)
            sample.sent = time.monotonic()
            target.send(wire, _answer_into(sample, _resolver(answered)))
            if not await _within(answered, timeout):
                sample.acked, sample.error = time.monotonic(), f"no answer within {timeout:g} s"
            if sample.error:
                await asyncio.sleep(0.01)  # a refusing server must not make this spin
                ready = time.monotonic()
            elif deliveries is None or not key:
                ready = sample.acked
            elif await deliveries.wait(key, timeout):
                ready = deliveries.arrived[key][0]
            else:
                ready = time.monotonic()

    await asyncio.gather(*(user() for _ in range(users)))
    return samples, start, stop


async def _within(future: asyncio.Future[None], timeout: float) -> bool:
    """Whether `future` resolved within `timeout`, leaving it pending otherwise (a shared
    waiter stays valid). A timer rather than asyncio.wait_for: no task per request."""
    if future.done():
        return True
    if timeout <= 0:
        return False
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()
    wake = _resolver(woken)
    timer = loop.call_later(timeout, wake)
    future.add_done_callback(lambda _: wake())
    try:
        await woken
    finally:
        timer.cancel()
    return future.done()


def _resolver(future: asyncio.Future[None]) -> Callable[[], None]:
    def resolve() -> None:
        if not future.done():
            future.set_result(None)

    return resolve


# ---------------------------------------------------------------------------- figures


@dataclass
class Summary:
    """Figures of one run against one server."""

    name: str
    sent: int
    errors: int
    ack_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)
    delivered: int = 0
    overhead_ms: list[float] = field(default_factory=list)
    throughput: float = 0.0
    notes: list[str] = field(default_factory=list)

    def p(self, values: list[float], fraction: float) -> float:
        return percentile(values, fraction)


def summarize(
    name: str,
    samples: Sequence[Sample],
    *,
    pmp_latency: float,
    expect_delivery: bool,
    window: tuple[float, float] | None = None,
) -> Summary:
    """`window`: (start, stop) of a closed-loop run; throughput counts what finished in it.
    Ack and overhead count from when each request was due."""
    errors = [s for s in samples if s.error]
    delivered = [s for s in samples if s.delivered is not None and s.delivery_status == 200]
    failed_deliveries = [s for s in samples if s.delivered is not None and s.delivery_status != 200]
    summary = Summary(
        name=name,
        sent=len(samples),
        errors=len(errors) + (len(failed_deliveries) if expect_delivery else 0),
        ack_ms=[s.ack_ms for s in samples if not s.error],
        late_ms=[s.late_ms for s in samples],
        delivered=len(delivered),
        overhead_ms=[((s.delivered or 0) - s.due - pmp_latency) * 1000 for s in delivered],
    )
    if expect_delivery:
        missing = len(samples) - len(errors) - len(delivered) - len(failed_deliveries)
        if missing:
            summary.notes.append(f"{missing} result(s) never delivered")
            summary.errors += missing
        if failed_deliveries:
            statuses = sorted({s.delivery_status for s in failed_deliveries})
            summary.notes.append(f"response_url answered {statuses}")
    if errors:
        summary.notes.append("ack errors: " + ", ".join(sorted({s.error for s in errors})))
    if window is not None:
        start, stop = window
        if expect_delivery:
            done = sum(1 for s in delivered if s.delivered is not None and s.delivered <= stop)
        else:
            done = sum(1 for s in samples if not s.error and s.acked <= stop)
        summary.throughput = done / (stop - start)
    return summary
