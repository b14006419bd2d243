"""Slack listeners. Each module exposes `register(app)`; `register` below wires them all.

Handlers stay thin: ack, one domain call, one Block Kit builder, one Slack call.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import cards, commands, connect, home, lifecycle


def register(app: AsyncApp) -> None:
    commands.register(app)
    cards.register(app)
    connect.register(app)
    home.register(app)
    lifecycle.register(app)
