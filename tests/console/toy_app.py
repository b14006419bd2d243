"""A small Bolt app that exercises every kind of Slack request the console can send."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.slack_standin import DEFAULT_BOT_TOKEN, RunningSlackStandin

SIGNING_SECRET = "toy-signing-secret"

CUSTOMERS = {"1": "Acme Ltd", "2": "Acme Holdings", "3": "Globex"}
CONTACTS = {"1": ["Ann", "Bob"], "2": ["Cy"], "3": ["Dee"]}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def input_block(block_id: str, label: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        **extra,
    }


def every_input_modal(channel_id: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "every_input",
        "private_metadata": json.dumps({"channel": channel_id}),
        "title": plain("Every input"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "notify_on_close": True,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Fill *everything*."}},
            input_block(
                "company",
                "Company",
                {"type": "plain_text_input", "action_id": "value", "initial_value": "Acme"},
            ),
            input_block(
                "notes",
                "Notes",
                {"type": "plain_text_input", "action_id": "value", "multiline": True},
                optional=True,
            ),
            input_block(
                "seats",
                "Seats",
                {
                    "type": "number_input",
                    "action_id": "value",
                    "is_decimal_allowed": False,
                    "min_value": "1",
                },
            ),
            input_block("email", "Email", {"type": "email_text_input", "action_id": "value"}),
            input_block("site", "Website", {"type": "url_text_input", "action_id": "value"}),
            input_block(
                "status",
                "Status",
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [option("Open", "open"), option("Closed", "closed")],
                },
            ),
            input_block(
                "tags",
                "Tags",
                {
                    "type": "multi_static_select",
                    "action_id": "value",
                    "options": [option("VIP", "vip"), option("New", "new"), option("Old", "old")],
                },
            ),
            input_block("owner", "Owner", {"type": "users_select", "action_id": "value"}),
            input_block(
                "channel", "Channel", {"type": "conversations_select", "action_id": "value"}
            ),
            input_block("due", "Due", {"type": "datepicker", "action_id": "value"}),
            input_block("at", "At", {"type": "timepicker", "action_id": "value"}),
            input_block("when", "When", {"type": "datetimepicker", "action_id": "value"}),
            input_block(
                "flags",
                "Flags",
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [option("Public", "public"), option("Billable", "billable")],
                },
                optional=True,
            ),
            input_block(
                "priority",
                "Priority",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": [option("Low", "low"), option("High", "high")],
                },
            ),
        ],
    }


def customer_modal(customer_id: str | None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        input_block(
            "customer",
            "Customer",
            {"type": "external_select", "action_id": "customer_search", "min_query_length": 2},
            dispatch_action=True,
        )
    ]
    if customer_id is not None:
        blocks.append(
            input_block(
                f"contact_{customer_id}",
                "Contact",
                {
                    "type": "static_select",
                    "action_id": "contact",
                    "options": [option(n, n.lower()) for n in CONTACTS[customer_id]],
                },
            )
        )
    blocks.append(input_block("subject", "Subject", {"type": "plain_text_input", "action_id": "v"}))
    return {
        "type": "modal",
        "callback_id": "new_ticket",
        "title": plain("New ticket"),
        "submit": plain("Create"),
        "blocks": blocks,
    }


def value_of(entry: dict[str, Any]) -> str:
    for key, value in entry.items():
        if key == "type" or value in (None, []):
            continue
        if isinstance(value, dict):
            return str(value.get("value"))
        if isinstance(value, list):
            return ",".join(str(v.get("value") if isinstance(v, dict) else v) for v in value)
        return str(value)
    return ""


def build_toy_app(
    slack: RunningSlackStandin,
    *,
    signing_secret: str = SIGNING_SECRET,
    seen: list[dict[str, Any]] | None = None,
) -> AsyncApp:
    """The toy app; every request body it accepts is appended to `seen`."""
    app = AsyncApp(
        client=AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url),
        signing_secret=signing_secret,
        process_before_response=True,
    )

    @app.middleware
    async def record(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
        if seen is not None:
            seen.append(body)
        await next()

    @app.command("/boom")
    async def handle_boom(ack: AsyncAck) -> None:
        raise RuntimeError("boom")

    @app.command("/plain")
    async def handle_plain(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(f"You said: {command['text']}")

    @app.command("/hello")
    async def handle_hello(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(
            text=f"Hello {command['text']}",
            blocks=[
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"Hello *{command['text']}*"},
                },
                {
                    "type": "actions",
                    "block_id": "greeting",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "wave",
                            "text": plain("Wave"),
                            "value": "w1",
                        },
                        {
                            "type": "button",
                            "action_id": "forget",
                            "text": plain("Forget"),
                            "style": "danger",
                            "confirm": {
                                "title": plain("Forget?"),
                                "text": plain("This cannot be undone."),
                                "confirm": plain("Forget"),
                                "deny": plain("Keep"),
                            },
                        },
                        {
                            "type": "overflow",
                            "action_id": "more",
                            "options": [option("Snooze", "snooze"), option("Mute", "mute")],
                        },
                        {
                            "type": "static_select",
                            "action_id": "mood",
                            "placeholder": plain("Mood"),
                            "options": [option("Happy", "happy"), option("Sad", "sad")],
                        },
                    ],
                },
            ],
        )

    @app.action("wave")
    async def handle_wave(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"You waved ({body['actions'][0]['value']})", replace_original=True)

    @app.action("forget")
    async def handle_forget(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(delete_original=True)

    @app.action("more")
    async def handle_more(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"Chose {body['actions'][0]['selected_option']['value']}")

    @app.action("mood")
    async def handle_mood(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"Mood {body['actions'][0]['selected_option']['value']}")

    @app.command("/form")
    async def handle_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"], view=every_input_modal(body["channel_id"])
        )

    @app.view("every_input")
    async def handle_every_input(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = view["state"]["values"]
        company = values["company"]["value"]["value"]
        if company == "bad":
            await ack(response_action="errors", errors={"company": "That name is taken"})
            return
        await ack()
        summary = "; ".join(
            f"{block}={value_of(entries['value'])}" for block, entries in values.items()
        )
        channel = json.loads(view["private_metadata"])["channel"]
        await client.chat_postMessage(channel=channel, text=f"Saved: {summary}")

    @app.view_closed("every_input")
    async def handle_every_input_closed(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await client.chat_postEphemeral(
            channel="C0001", user=body["user"]["id"], text="Form cancelled"
        )

    @app.command("/ticket")
    async def handle_ticket(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=customer_modal(None))

    @app.options("customer_search")
    async def handle_customer_search(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = body["value"].lower()
        await ack(
            options=[option(name, key) for key, name in CUSTOMERS.items() if query in name.lower()]
        )

    @app.action("customer_search")
    async def handle_customer_picked(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        customer_id = body["actions"][0]["selected_option"]["value"]
        await client.views_update(
            view_id=body["view"]["id"], hash=body["view"]["hash"], view=customer_modal(customer_id)
        )

    @app.view("new_ticket")
    async def handle_new_ticket(ack: AsyncAck, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        contact_block = next((b for b in values if b.startswith("contact_")), None)
        contact = (
            values[contact_block]["contact"]["selected_option"]["value"] if contact_block else "-"
        )
        customer = values["customer"]["customer_search"]["selected_option"]["value"]
        await ack(
            response_action="update",
            view={
                "type": "modal",
                "title": plain("Ticket created"),
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": f"Ticket for {CUSTOMERS[customer]} / {contact}: "
                            f"{values['subject']['v']['value']}",
                        },
                    }
                ],
            },
        )

    @app.shortcut("summarise")
    async def handle_summarise(
        ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        await respond(text=f"Summary of: {shortcut['message']['text']}")

    @app.shortcut("new_thing")
    async def handle_new_thing(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await client.views_open(
            trigger_id=shortcut["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "thing",
                "title": plain("New thing"),
                "submit": plain("Add"),
                "blocks": [
                    input_block("name", "Name", {"type": "plain_text_input", "action_id": "v"})
                ],
            },
        )

    @app.view("thing")
    async def handle_thing(ack: AsyncAck, view: dict[str, Any]) -> None:
        name = view["state"]["values"]["name"]["v"]["value"]
        await ack(
            response_action="push",
            view={
                "type": "modal",
                "title": plain("Added"),
                "close": plain("Done"),
                "blocks": [{"type": "section", "text": {"type": "plain_text", "text": name}}],
            },
        )

    async def ack_later(ack: AsyncAck) -> None:
        await ack("Working on it")

    async def post_later(body: dict[str, Any], client: AsyncWebClient) -> None:
        await asyncio.sleep(0.2)
        await client.chat_postMessage(channel=body["channel_id"], text="Done later")

    app.command("/later")(ack=ack_later, lazy=[post_later])

    @app.command("/wizard")
    async def handle_wizard(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=wizard_view("?"))

    @app.action("size")
    async def handle_size(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        size = body["actions"][0]["selected_option"]["value"]
        assert body["view"]["state"]["values"]["sizes"]["size"]["selected_option"]["value"] == size
        await client.views_update(view_id=body["view"]["id"], view=wizard_view(size))

    @app.view("wizard")
    async def handle_wizard_done(ack: AsyncAck) -> None:
        await ack(response_action="clear")

    @app.action("chatty")
    async def handle_chatty(ack: AsyncAck) -> None:
        await ack(text="Slack drops this")

    @app.event("app_home_opened")
    async def handle_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view=home_view(0))

    @app.action("home_count")
    async def handle_home_count(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        count = int(body["actions"][0]["value"]) + 1
        await client.views_publish(user_id=body["user"]["id"], view=home_view(count))

    return app


def wizard_view(size: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "wizard",
        "title": plain(f"Size {size}"),
        "submit": plain("Finish"),
        "blocks": [
            {
                "type": "actions",
                "block_id": "sizes",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "size",
                        "placeholder": plain("Size"),
                        "options": [option("Small", "S"), option("Large", "L")],
                    },
                    {"type": "button", "action_id": "chatty", "text": plain("Chat")},
                ],
            }
        ],
    }


def home_view(count: int) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": plain("PMP home")},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Pressed *{count}* times"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "home_count",
                        "text": plain("Count"),
                        "value": str(count),
                    }
                ],
            },
        ],
    }


def serve(app: AsyncApp) -> Starlette:
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", endpoint=events, methods=["POST"])])
