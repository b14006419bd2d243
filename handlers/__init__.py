"""Slack listeners. Each module exposes `register(app)` for its listeners, and modules that
add `/pmp` subcommands expose `routes()` (gathered by handlers/commands.py); bot/run passes
`register` to the app factory. handlers/_common.py has what they share.

Handlers stay thin: ack, one domain call, one Block Kit builder, one Slack call.
"""

from __future__ import annotations

from types import ModuleType

from slack_bolt.async_app import AsyncApp

from handlers import (
    cards,
    commands,
    connect,
    home,
    lifecycle,
    records,
    staff,
    subscriptions,
    ticket_actions,
    tickets,
    unfurls,
)

# Modules whose `register(app)` adds Slack listeners.
LISTENER_MODULES: tuple[ModuleType, ...] = (
    commands,
    cards,
    connect,
    home,
    lifecycle,
    records,
    staff,
    subscriptions,
    tickets,
    ticket_actions,
    unfurls,
)


def register(app: AsyncApp) -> None:
    for module in LISTENER_MODULES:
        module.register(app)
