"""A local PMP server for tests, demos and benchmarks.

It answers like a real PMP server (Perfex CRM with the REST API module 2.0.8, optionally the
3.x extras), quirks included, from a SQLite database seeded with awkward demo data::

    with running_sandbox() as sb:
        httpx.get(f"{sb.base_url}/api/customers", headers={"authtoken": sb.token})
"""

from __future__ import annotations

from bot.sandbox.app import SandboxApp
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN, bulk_token
from bot.sandbox.faults import SandboxFaults
from bot.sandbox.runner import RunningSandbox, running_sandbox
from bot.sandbox.seed import DEMO_FACTS
from bot.sandbox.store import SandboxStore
from bot.sandbox.webhooks import WebhookOptions

__all__ = [
    "DEFAULT_SANDBOX_TOKEN",
    "DEMO_FACTS",
    "RunningSandbox",
    "SandboxApp",
    "SandboxFaults",
    "SandboxStore",
    "WebhookOptions",
    "bulk_token",
    "running_sandbox",
]
