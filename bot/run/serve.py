"""`pmp-bot serve`: the production HTTP server (uvicorn), graceful on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import errno
import gc
import logging
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp

import handlers
from bot.config import Settings
from bot.run.common import (
    EXIT_SETTINGS,
    StartupError,
    add_logging_arguments,
    check_bot_token,
    check_data_dir,
    run_until_stopped,
    settings_or_exit_code,
    start_logging,
    start_services,
)
from bot.slack.app import create_app
from bot.slack.web import create_web_app

logger = logging.getLogger(__name__)

# Connections and requests in flight together; past it uvicorn answers 503, which Slack
# retries, rather than let a flood of clients take all memory and file descriptors.
MAX_CONCURRENCY = 1000
# Longer than the idle timeout of the proxies that sit in front (nginx and AWS load balancers
# use 60 s): a proxy then never sends a request on a connection the bot has just closed.
KEEP_ALIVE_SECONDS = 75
# Headers still arriving are buffered up to this much (h11's limit); Slack's are under 2 KB.
MAX_HEADER_BYTES = 16 * 1024
# Connections the kernel holds for the bot while it is busy accepting others.
BACKLOG = 2048


def server_config(web: ASGIApp, **options: Any) -> uvicorn.Config:
    """uvicorn as pmp-bot runs it, with its limits; `options` adds address and shutdown."""
    return uvicorn.Config(
        web,
        http="h11",  # the header limit below is h11's
        limit_concurrency=MAX_CONCURRENCY,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        backlog=BACKLOG,
        log_config=None,  # keep pmp-bot's own logging setup
        access_log=False,  # one line per Slack request is logged by pmp-bot itself
        lifespan="off",
        **options,
    )


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, or a StartupError naming what to fix. Bound and listening
    before anything says pmp-bot is serving (connections wait in the backlog until uvicorn
    accepts them), and before the database is opened, so a port in use fails fast."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise StartupError(
            f"HOST {host!r} isn't an address pmp-bot can listen on ({error.strerror}): use "
            "127.0.0.1, 0.0.0.0 or one of this machine's addresses.",
            exit_code=EXIT_SETTINGS,
        ) from None
    listener = socket.socket(family, kind, proto)
    # As uvicorn does: a restart needn't wait for the last run's connections to time out.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
        listener.listen(BACKLOG)
    except OSError as error:
        listener.close()
        raise StartupError(_bind_failure(host, port, error), exit_code=EXIT_SETTINGS) from None
    return listener


def _bind_failure(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use: stop the program using it, or choose "
            "another port with --port or PORT."
        )
    if error.errno == errno.EACCES:
        return (
            f"Port {port} needs privileges pmp-bot doesn't have: use a port above 1023 (a "
            "reverse proxy in front can serve 443)."
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"HOST {host} isn't an address of this machine: use 127.0.0.1 or 0.0.0.0."
    return f"Can't listen on {host}:{port} ({error.strerror or error}): check HOST and PORT."


async def serve(settings: Settings, host: str, port: int) -> None:
    listener = listen(host, port)
    try:
        check_data_dir(settings)
        await check_bot_token(settings)
        services = await start_services(settings)
        try:
            app = create_app(settings, services, register_listeners=handlers.register)
            web = create_web_app(app, services)
            server = _Server(server_config(web, host=host, port=port, timeout_graceful_shutdown=15))
            mode = "OAuth (many workspaces)" if settings.oauth_enabled else "single workspace"
            logger.info(
                "pmp-bot serving Slack requests on http://%s:%s/slack/events (%s)",
                host,
                port,
                mode,
            )
            # Everything built so far lives as long as the process: moving it out of the
            # garbage collector's view makes the full collections that pause the loop shorter.
            gc.collect()
            gc.freeze()
            _return_free_memory()
            # uvicorn stops accepting on SIGTERM/SIGINT and lets requests in flight finish;
            # services.aclose() then finishes what was acknowledged before (a lookup waiting
            # for PMP) and closes the database, before the process ends.
            await server.serve(sockets=[listener])
        finally:
            await services.aclose()
    finally:
        listener.close()


class _Server(uvicorn.Server):
    """uvicorn's server, minus one step of its shutdown. Once stopped, uvicorn raises the
    SIGTERM or SIGINT it stopped on again, to the handlers it found in place; the defaults
    end the process right there, before `serve` finishes the work acknowledged before the
    signal (a lookup waiting for PMP: its result would never be posted) and closes the
    database. That first signal is dropped instead, and `serve` returns once all that is
    done. A second one (Ctrl-C twice, SIGTERM twice) still ends the process at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                del self._captured_signals[:1]


def _return_free_memory() -> None:
    """Hands the heap pages start-up freed (imports, schema checks) back to the system, where
    the C library allows it (glibc's ``malloc_trim``); elsewhere nothing happens."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit_code(need_slack_credentials=True)
    if isinstance(settings, int):
        return settings
    port = settings.port if args.port is None else _port_argument(args.port)
    if port is None:
        print(
            f"pmp-bot: --port must be a whole number from 1 to 65535 (got {args.port!r}).",
            file=sys.stderr,
        )
        return EXIT_SETTINGS
    start_logging(settings, args)
    host: str = args.host or settings.host
    return run_until_stopped(serve(settings, host, port), loop_factory=event_loop_factory())


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (Linux and macOS): the same asyncio API for
    less CPU per request (see benchmarks/README.md); asyncio's own elsewhere."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _port_argument(text: str) -> int | None:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 65535:
        return None
    return int(value)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve Slack's HTTP requests (production)",
        description=(
            "Serve Slack's requests over HTTP: POST /slack/events for commands, "
            "interactivity, options loads and events; GET /slack/install and "
            "/slack/oauth_redirect in OAuth mode; GET /healthz. Settings come from the "
            "environment and .env (see the README)."
        ),
    )
    parser.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    # Checked by `run`, so a bad value gets the same one line as a bad PORT.
    parser.add_argument("--port", help="port to listen on, 1-65535 (default: PORT or 3000)")
    add_logging_arguments(parser)
    parser.set_defaults(run=run)
