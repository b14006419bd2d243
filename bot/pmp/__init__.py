"""The PMP API client: the only part of pmp-bot that speaks HTTP to PMP.

``async with PmpClient(base_url=..., token=...) as pmp:`` then
``await pmp.customers.search("acme")`` or ``await pmp.tickets.update(7, status=5)``.
Records come back as typed pydantic models, without any secret PMP sends with them (password
hashes, IMAP logins); every failure is a PmpError with a ``user_message`` fit for a Slack
user. The client connects only to public addresses unless its AddressPolicy allows more
(bot.pmp.network), reads at most ``max_response_bytes`` of an answer, and gives every call
one deadline. Updates never destroy data: see ``RecordResource.update`` and PmpUnsafeUpdateError.
"""

from __future__ import annotations

from bot.pmp.client import PmpClient
from bot.pmp.errors import (
    PmpAddressRefusedError,
    PmpAnswerTooLargeError,
    PmpAuthError,
    PmpConnectionError,
    PmpError,
    PmpNotFoundError,
    PmpSearchRefusedError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    PmpUnsafeUpdateError,
    PmpValidationError,
    PmpWriteFailedError,
    first_record_message,
)
from bot.pmp.links import RecordKind, normalise_base_url, record_url
from bot.pmp.models import (
    BillingType,
    Contact,
    Customer,
    Lead,
    Milestone,
    PmpRecord,
    Project,
    ProjectStatus,
    Ticket,
    TicketPriority,
    TicketStatus,
)
from bot.pmp.network import AddressPolicy
from bot.pmp.project_settings import ProjectSettings, SettingsChange

__all__ = [
    "AddressPolicy",
    "BillingType",
    "Contact",
    "Customer",
    "Lead",
    "Milestone",
    "PmpAddressRefusedError",
    "PmpAnswerTooLargeError",
    "PmpAuthError",
    "PmpClient",
    "PmpConnectionError",
    "PmpError",
    "PmpNotFoundError",
    "PmpRecord",
    "PmpSearchRefusedError",
    "PmpTimeoutError",
    "PmpUnexpectedResponseError",
    "PmpUnsafeUpdateError",
    "PmpValidationError",
    "PmpWriteFailedError",
    "Project",
    "ProjectSettings",
    "ProjectStatus",
    "RecordKind",
    "SettingsChange",
    "Ticket",
    "TicketPriority",
    "TicketStatus",
    "first_record_message",
    "normalise_base_url",
    "record_url",
]
