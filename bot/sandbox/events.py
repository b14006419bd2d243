"""What the 3.x module turns into webhook events: Perfex's own action hooks, bridged.

The module's ``api_webhook_bridge_map()`` maps Perfex core hooks to webhook event names; an
event is sent only when Perfex fires the hook. So the names that really arrive are fewer than
the catalog ``GET api/webhooks/events`` lists (and than its docs promise): a ticket changed
through ``PUT api/tickets/<id>`` fires ``ticket_settings_updated``, which is not bridged, so
no ``ticket_updated`` or ``ticket_assigned`` is ever sent; a status changed in PMP's web UI
(or by a reply) fires ``after_ticket_status_changed`` -> ``ticket_status_changed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox.phpish import PhpValue


@dataclass(frozen=True)
class Hook:
    """One ``hooks()->do_action(name, arg)`` of Perfex; ``arg`` as PHP passes it (an id, or
    an array)."""

    name: str
    arg: PhpValue


# Perfex hook -> webhook events (the module's api_webhook_bridge_map(), the record kinds the
# sandbox serves).
BRIDGE: dict[str, tuple[str, ...]] = {
    "after_client_created": ("customer_created",),
    "client_updated": ("client_updated", "customer_updated"),
    "customer_updated_company_info": ("customer_updated",),
    "after_client_deleted": ("customer_deleted",),
    "client_status_changed": ("client_status_changed",),
    "contact_created": ("contact_created",),
    "contact_updated": ("contact_updated",),
    "contact_deleted": ("contact_deleted",),
    "contact_status_changed": ("contact_status_changed",),
    "lead_created": ("lead_created",),
    "after_lead_updated": ("lead_updated",),
    "after_lead_deleted": ("lead_deleted",),
    "lead_status_changed": ("lead_status_changed",),
    "lead_marked_as_lost": ("lead_marked_lost",),
    "after_add_project": ("project_created",),
    "after_update_project": ("project_updated",),
    "after_project_deleted": ("project_deleted",),
    "project_status_changed": ("project_status_changed",),
    "after_project_staff_added_as_member": ("project_member_added",),
    "ticket_created": ("ticket_created",),
    "after_ticket_reply_added": ("ticket_reply_created",),
    "after_ticket_status_changed": ("ticket_status_changed",),
    "after_ticket_deleted": ("ticket_deleted",),
    "staff_member_created": ("staff_created",),
    "staff_member_updated": ("staff_updated",),
    "staff_member_deleted": ("staff_deleted",),
}


@dataclass(frozen=True)
class Event:
    """A webhook event: its name and the ``data`` of the payload."""

    name: str
    data: dict[str, PhpValue]


def bridged(hook: Hook) -> list[Event]:
    """``api_bridge_fire``: the events a hook sends, each with the hook's arg as ``data``
    (an id becomes ``{"id": ...}``) plus ``_source_hook``."""
    events = BRIDGE.get(hook.name, ())
    if not events:
        return []
    data: dict[str, PhpValue] = dict(hook.arg) if isinstance(hook.arg, dict) else {"id": hook.arg}
    data["_source_hook"] = hook.name
    return [Event(name, dict(data)) for name in events]


def _group(*pairs: tuple[str, str]) -> dict[str, str]:
    return dict(pairs)


# Api_Webhook_Service::eventCatalog(), as GET api/webhooks/events lists it.
CATALOG: dict[str, dict[str, str]] = {
    "customers": _group(
        ("customer_created", "Customer created"),
        ("customer_updated", "Customer updated"),
        ("customer_deleted", "Customer deleted"),
        ("client_updated", "Customer updated (legacy alias)"),
        ("client_status_changed", "Customer active status changed"),
        ("customer_group_changed", "Customer groups changed"),
    ),
    "contacts": _group(
        ("contact_created", "Contact created"),
        ("contact_updated", "Contact updated"),
        ("contact_deleted", "Contact deleted"),
        ("contact_status_changed", "Contact active status changed"),
    ),
    "leads": _group(
        ("lead_created", "Lead created"),
        ("lead_updated", "Lead updated"),
        ("lead_deleted", "Lead deleted"),
        ("lead_assigned", "Lead assigned to staff"),
        ("lead_converted", "Lead converted to customer"),
        ("lead_status_changed", "Lead status changed"),
        ("lead_marked_lost", "Lead marked as lost"),
        ("lead_note_added", "Note added to lead"),
    ),
    "invoices": _group(
        ("invoice_created", "Invoice created"),
        ("invoice_updated", "Invoice updated"),
        ("invoice_deleted", "Invoice deleted"),
        ("invoice_sent", "Invoice sent to customer"),
        ("invoice_paid", "Invoice fully paid"),
        ("invoice_partially_paid", "Invoice partially paid"),
        ("invoice_overdue", "Invoice became overdue"),
        ("invoice_status_changed", "Invoice status changed"),
        ("invoice_cancelled", "Invoice cancelled"),
    ),
    "estimates": _group(
        ("estimate_created", "Estimate created"),
        ("estimate_updated", "Estimate updated"),
        ("estimate_deleted", "Estimate deleted"),
        ("estimate_sent", "Estimate sent to customer"),
        ("estimate_accepted", "Estimate accepted"),
        ("estimate_declined", "Estimate declined"),
        ("estimate_expired", "Estimate expired"),
        ("estimate_converted_to_invoice", "Estimate converted to invoice"),
    ),
    "proposals": _group(
        ("proposal_created", "Proposal created"),
        ("proposal_updated", "Proposal updated"),
        ("proposal_deleted", "Proposal deleted"),
        ("proposal_sent", "Proposal sent"),
        ("proposal_accepted", "Proposal accepted"),
        ("proposal_declined", "Proposal declined"),
        ("proposal_expired", "Proposal expired"),
    ),
    "credit_notes": _group(
        ("credit_note_created", "Credit note created"),
        ("credit_note_updated", "Credit note updated"),
        ("credit_note_deleted", "Credit note deleted"),
        ("credit_note_applied", "Credit note applied to invoice"),
        ("credit_note_refunded", "Credit note refunded"),
    ),
    "payments": _group(
        ("payment_created", "Payment recorded"),
        ("payment_updated", "Payment updated"),
        ("payment_deleted", "Payment deleted"),
        ("amount_paid", "Payment recorded (legacy alias)"),
    ),
    "projects": _group(
        ("project_created", "Project created"),
        ("project_updated", "Project updated"),
        ("project_deleted", "Project deleted"),
        ("project_status_changed", "Project status changed"),
        ("project_completed", "Project marked finished"),
        ("project_member_added", "Member added to project"),
        ("project_member_removed", "Member removed from project"),
    ),
    "tasks": _group(
        ("task_created", "Task created"),
        ("task_updated", "Task updated"),
        ("task_deleted", "Task deleted"),
        ("task_assigned", "Task assigned to staff"),
        ("task_status_changed", "Task status changed"),
        ("task_completed", "Task completed"),
        ("task_comment_added", "Comment added to task"),
        ("task_timer_started", "Task timer started"),
        ("task_timer_stopped", "Task timer stopped"),
    ),
    "tickets": _group(
        ("ticket_created", "Ticket created"),
        ("ticket_updated", "Ticket updated"),
        ("ticket_deleted", "Ticket deleted"),
        ("ticket_reply_created", "Reply added to ticket"),
        ("ticket_status_changed", "Ticket status changed"),
        ("ticket_assigned", "Ticket assigned to staff"),
        ("ticket_closed", "Ticket closed"),
        ("ticket_reopened", "Ticket reopened"),
    ),
    "contracts": _group(
        ("contract_created", "Contract created"),
        ("contract_updated", "Contract updated"),
        ("contract_deleted", "Contract deleted"),
        ("contract_signed", "Contract signed"),
        ("contract_renewed", "Contract renewed"),
        ("contract_expired", "Contract expired"),
        ("contract_comment_added", "Comment added to contract"),
    ),
    "expenses": _group(
        ("expense_created", "Expense created"),
        ("expense_updated", "Expense updated"),
        ("expense_deleted", "Expense deleted"),
        ("expense_converted_to_invoice", "Expense converted to invoice"),
    ),
    "items": _group(
        ("item_created", "Item created"),
        ("item_updated", "Item updated"),
        ("item_deleted", "Item deleted"),
    ),
    "staff": _group(
        ("staff_created", "Staff member created"),
        ("staff_updated", "Staff member updated"),
        ("staff_deleted", "Staff member deleted"),
        ("staff_login", "Staff member logged in"),
        ("staff_activated", "Staff member activated"),
        ("staff_deactivated", "Staff member deactivated"),
    ),
    "milestones": _group(
        ("milestone_created", "Milestone created"),
        ("milestone_updated", "Milestone updated"),
        ("milestone_deleted", "Milestone deleted"),
    ),
    "subscriptions": _group(
        ("subscription_created", "Subscription created"),
        ("subscription_updated", "Subscription updated"),
        ("subscription_deleted", "Subscription deleted"),
        ("subscription_cancelled", "Subscription cancelled"),
        ("subscription_renewed", "Subscription renewed"),
    ),
    "timesheets": _group(
        ("timesheet_created", "Timesheet created"),
        ("timesheet_updated", "Timesheet updated"),
        ("timesheet_deleted", "Timesheet deleted"),
    ),
    "calendar": _group(
        ("calendar_event_created", "Calendar event created"),
        ("calendar_event_updated", "Calendar event updated"),
        ("calendar_event_deleted", "Calendar event deleted"),
    ),
    "knowledge_base": _group(
        ("kb_article_created", "Knowledge base article created"),
        ("kb_article_updated", "Knowledge base article updated"),
        ("kb_article_deleted", "Knowledge base article deleted"),
        ("kb_group_created", "Knowledge base group created"),
        ("kb_group_updated", "Knowledge base group updated"),
        ("kb_group_deleted", "Knowledge base group deleted"),
    ),
    "notes": _group(
        ("note_created", "Note created"),
        ("note_updated", "Note updated"),
        ("note_deleted", "Note deleted"),
    ),
    "system": _group(
        ("api_key_created", "API key created"),
        ("api_key_updated", "API key updated"),
        ("api_key_deleted", "API key deleted"),
        ("webhook_created", "Webhook created"),
        ("webhook_updated", "Webhook updated"),
        ("webhook_deleted", "Webhook deleted"),
    ),
}

# What a webhook may subscribe to: "*" and every catalog name (Api_Webhook_Service::eventNames).
EVENT_NAMES: frozenset[str] = frozenset(
    {"*", *(name for group in CATALOG.values() for name in group)}
)
