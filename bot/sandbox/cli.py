"""``pmp-bot sandbox``: run a local PMP server with demo data."""

from __future__ import annotations

import argparse
import sys

from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
from bot.sandbox.faults import SandboxFaults
from bot.sandbox.runner import serve
from bot.sandbox.webhooks import WebhookOptions

DEFAULT_PORT = 8765


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local PMP server with demo data",
        description=(
            "Run a local server that answers exactly like a PMP server's REST API "
            "(Perfex CRM 3.2 with API module 2.0.8 in production mode, or the 3.x module with "
            "--api-version 3), filled with demo customers, contacts, leads, projects, "
            "milestones, tickets and staff. Point the bot at the printed address and token. "
            "Test controls (the main token only): POST /_sandbox/faults switches the faults "
            "below and dev_mode at run time, POST /_sandbox/reset restores the demo data, "
            "GET/POST/DELETE /_sandbox/files/<leads|projects|tickets>/<id> reads, adds or "
            "removes a record's attachments, POST /_sandbox/tokens adds tokens (bulk, or with "
            "limited permissions), POST /_sandbox/bulk adds customers and tickets, POST "
            "/_sandbox/changes changes a record as a PMP user would, GET /_sandbox/replies/<id> "
            "lists a ticket's replies, /_sandbox/webhooks/options, /_sandbox/webhooks/deliveries "
            "and /_sandbox/webhooks/deliveries/<id>/resend watch and replay 3.x webhook "
            "deliveries (docs/sandbox.md). Stop it with Ctrl-C."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--db",
        metavar="FILE",
        default=":memory:",
        help="SQLite file that keeps the data between runs (seeded when new); default: in memory",
    )
    parser.add_argument(
        "--token",
        default=DEFAULT_SANDBOX_TOKEN,
        help="API token the server accepts (default: a fixed demo token)",
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=0,
        metavar="N",
        help=(
            "also accept N more full-access tokens, one per workspace of a benchmark "
            '(POST /_sandbox/tokens {"count": N} lists them); default: %(default)s'
        ),
    )
    parser.add_argument(
        "--bulk-tickets",
        type=int,
        default=0,
        metavar="N",
        help="add N plain tickets to the demo data at start (a new database only)",
    )
    parser.add_argument(
        "--api-version",
        type=int,
        choices=(2, 3),
        default=2,
        help="answer like the API module 2.0.8 (2) or 3.x (3) (default: %(default)s)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay every answer by SECONDS",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="answer this share of requests (0..1) with an HTML 500 page",
    )
    parser.add_argument(
        "--html-500", action="store_true", help="answer every request with an HTML 500 page"
    )
    parser.add_argument(
        "--hang",
        action="store_true",
        help="never answer (requests stay open until the client gives up)",
    )
    parser.add_argument(
        "--dev-mode",
        action="store_true",
        help=(
            "answer like a PMP left in development mode: lead, milestone, ticket and project "
            "writes print PHP warnings as HTML before the JSON (HTTP 200, text/html)"
        ),
    )
    parser.add_argument(
        "--webhooks-allow-loopback",
        action="store_true",
        help=(
            "with --api-version 3, let webhooks call 127.0.0.1 / ::1 (a real PMP refuses "
            "loopback targets), so a bot on this machine can receive them; also "
            'POST /_sandbox/webhooks/options {"allow_loopback": true}'
        ),
    )
    parser.add_argument(
        "--webhooks-per-token",
        action="store_true",
        help=(
            "with --api-version 3, a webhook is seen and heard only with the token that made "
            "it, so one sandbox stands for one PMP per workspace token"
        ),
    )
    parser.add_argument(
        "--webhook-delivery",
        choices=("queue", "immediate"),
        default="queue",
        help=(
            "queue: send after the request, with retries (default); immediate: send once "
            "during the request, a real PMP's default"
        ),
    )
    parser.add_argument(
        "--webhook-backoff",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds a retry waits per minute of the module's schedule (default: %(default)s)",
    )
    parser.set_defaults(run=run_sandbox)


def run_sandbox(args: argparse.Namespace) -> int:
    faults = SandboxFaults()
    try:
        faults.update(
            {
                "latency": args.latency,
                "error_rate": args.error_rate,
                "html_500": args.html_500,
                "hang": args.hang,
                "dev_mode": args.dev_mode,
            }
        )
    except ValueError as error:
        print(f"pmp-bot sandbox: {error}", file=sys.stderr)
        return 2
    webhook_options = WebhookOptions()
    try:
        webhook_options.update(
            {
                "allow_loopback": args.webhooks_allow_loopback,
                "per_token": args.webhooks_per_token,
                "delivery_mode": args.webhook_delivery,
                "backoff": args.webhook_backoff,
            }
        )
    except ValueError as error:
        print(f"pmp-bot sandbox: {error}", file=sys.stderr)
        return 2
    if args.tokens < 0 or args.bulk_tickets < 0:
        print("pmp-bot sandbox: --tokens and --bulk-tickets must be 0 or more", file=sys.stderr)
        return 2
    try:
        serve(
            host=args.host,
            port=args.port,
            db=args.db,
            token=args.token,
            api_version=args.api_version,
            faults=faults,
            announce=lambda line: print(line, flush=True),
            tokens=args.tokens,
            webhook_options=webhook_options,
            bulk_tickets=args.bulk_tickets,
        )
    except OSError as error:
        print(
            f"pmp-bot sandbox: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    return 0
