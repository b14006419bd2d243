"""A webhook receiver for the sandbox's tests: records every POST, answers as told."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # path -> statuses to answer in turn (the last one repeats); default 200.
    statuses: dict[str, list[int]] = field(default_factory=dict)
    # path -> seconds to wait before answering
    delays: dict[str, float] = field(default_factory=dict)

    def at(self, path: str) -> list[Received]:
        return [hit for hit in self.received if hit.path == path]


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answers = receiver.statuses.get(self.path, [200])
                status = answers.pop(0) if len(answers) > 1 else answers[0]
            delay = receiver.delays.get(self.path, 0.0)
            if delay:
                time.sleep(delay)
            with contextlib.suppress(OSError):  # the sender may have given up
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
