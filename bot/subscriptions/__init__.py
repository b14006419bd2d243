"""Channel subscriptions to PMP activity: events in, cards and thread lines out, once each."""

from __future__ import annotations

from bot.subscriptions.delivery import (
    CardRenderer,
    ChangeListener,
    RenderedMessage,
    SubscriptionDelivery,
    matches,
)
from bot.subscriptions.events import EVENT_NAMES, EventName, PmpEvent, RecordKind

__all__ = [
    "EVENT_NAMES",
    "CardRenderer",
    "ChangeListener",
    "EventName",
    "PmpEvent",
    "RecordKind",
    "RenderedMessage",
    "SubscriptionDelivery",
    "matches",
]
