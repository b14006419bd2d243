"""Plays a Slack user who opens a surface and presses everything on it.

A *surface* is what the bot showed: a message (an ephemeral reply, a response_url post, a
channel message), a modal or the Home tab. A *control* is anything on it that sends the bot
a request when used: buttons, each option of an overflow menu or static select, an external
select's options load (and its choice, where Slack sends one), a modal's submit. Presses are
built from the blocks as the stand-in keeps them (the ids Slack fills in, values exactly as
sent: a button without a value is pressed without one), signed, and sent over HTTP.

After a press the bot must have done something a person sees: posted or replaced a message,
opened, pushed, updated or published a view, or answered with a message or a
`response_action`. Opening a link is visible by itself (Slack opens it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from bot.console.blockkit import block_elements, message_problems, options_problems
from bot.console.payloads import action_payload, initial_entry
from bot.console.slack_standin import RecordedCall, RunningSlackStandin, StandinError
from bot.run.embedded import RunningBot
from tests.e2e.slack_client import SlackSender

SurfaceKind = Literal["message", "modal", "home"]
# What a person sees change after a press (chat.postMessage is left out: it only carries
# channel notices, which never answer the person who pressed).
VISIBLE_METHODS = frozenset(
    {
        "response_url",
        "chat.postEphemeral",
        "chat.update",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
    }
)
SUBMIT = "(submit)"
# Controls with lasting effects are pressed after the others of their surface.
LAST_ACTIONS = ("delete", "disconnect_confirmed", "subscription_remove_confirmed")


@dataclass
class Surface:
    kind: SurfaceKind
    origin: str  # how it was reached, for failure messages
    blocks: list[dict[str, Any]]
    channel_id: str = ""
    ts: str = ""
    ephemeral: bool = True
    view: dict[str, Any] = field(default_factory=dict)

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id") or "")


def _text_of(blocks: list[dict[str, Any]]) -> str:
    """The words of some blocks, for failure messages."""
    words: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                words.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return " | ".join(words)


@dataclass(frozen=True)
class Control:
    block_id: str
    element: dict[str, Any]
    option: dict[str, Any] | None = None

    @property
    def action_id(self) -> str:
        return str(self.element.get("action_id", SUBMIT))

    @property
    def label(self) -> str:
        text = (self.option or self.element).get("text") or {}
        shown = text.get("text", "") if isinstance(text, dict) else ""
        return f"{self.action_id} [{shown or self.element.get('type', '')}]"

    @property
    def opens_link(self) -> bool:
        return bool((self.option or self.element).get("url"))


def controls_of(surface: Surface) -> list[Control]:
    """Everything on the surface that sends the bot a request when used."""
    found: list[Control] = []
    for block in surface.blocks:
        block_id = str(block.get("block_id", ""))
        for element in block_elements(block):
            kind = element.get("type")
            in_input = block.get("type") == "input"
            if kind in ("overflow", "static_select") and not in_input:
                found += [Control(block_id, element, option) for option in element["options"]]
            elif kind == "external_select" or kind == "button":
                found.append(Control(block_id, element))
            elif not in_input:
                raise AssertionError(f"{surface.origin}: no way to press a {kind} yet")
    if surface.kind == "modal" and surface.view.get("submit"):
        found.append(Control("", {"type": SUBMIT}))
    # Lasting effects last, so the other controls are pressed on the record still there.
    found.sort(key=_lasting)
    return found


def _lasting(control: Control) -> bool:
    return any(control.action_id.endswith(end) for end in LAST_ACTIONS)


@dataclass
class Explorer:
    bot: RunningBot
    sender: SlackSender
    slack: RunningSlackStandin
    team: str
    # What each submission types into a modal's inputs: callback id -> block -> action -> value.
    fills: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # A query that finds something, per external select action id ("a" otherwise).
    queries: dict[str, str] = field(default_factory=dict)
    pressed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- opening surfaces

    async def settle(self) -> None:
        """Waits until the bot has finished what the last request started."""
        assert await self.bot.services.listeners.wait_idle(timeout=30), "the bot never settled"

    def seen_since(self, since: int, user: str, origin: str) -> tuple[list[Surface], bool]:
        """The surfaces the bot showed after call `since`, and whether any change is
        visible to the user. Every call the bot made must have been accepted by Slack."""
        surfaces: dict[str, Surface] = {}
        visible = False
        for call in self.slack.calls[since:]:
            if not call.ok:
                self.problems.append(f"{origin}: {call.method} refused: {call.response}")
                continue
            if self._is_channel_notice(call):
                # Channel notices and subscription posts are delivered by the outbox at the
                # channel's pace, so one may land while a later control is pressed: it is
                # nobody's answer to this press.
                continue
            if call.method in VISIBLE_METHODS:
                visible = True
            surface = self._surface_of(call, user, origin)
            if surface is not None:
                key = surface.view.get("id") or f"{surface.channel_id}/{surface.ts}"
                surfaces[str(key)] = surface
        return list(surfaces.values()), visible

    def _is_channel_notice(self, call: RecordedCall) -> bool:
        if call.method != "chat.postMessage" and call.method != "chat.update":
            return False
        channel = str(call.response.get("channel", ""))
        stored = self.slack.message(channel, str(call.response.get("ts") or ""))
        metadata = stored.metadata if stored is not None else None
        return metadata is not None and metadata.get("event_type") == "pmp_event"

    def _surface_of(self, call: RecordedCall, user: str, origin: str) -> Surface | None:
        if call.method == "response_url" or call.method.startswith("chat."):
            effect = call.effect
            if call.method == "response_url":
                if effect is None or effect.ts is None or effect.action == "deleted":
                    return None
                channel, ts = effect.channel_id, effect.ts
            else:
                channel = str(call.response.get("channel", ""))
                ts = str(call.response.get("ts") or call.response.get("message_ts") or "")
            stored = self.slack.message(channel, ts)
            if stored is None or stored.deleted:
                return None
            return Surface(
                "message",
                origin,
                stored.blocks,
                channel_id=channel,
                ts=ts,
                ephemeral=stored.ephemeral_for is not None,
            )
        if call.method.startswith("views."):
            view = self.slack.view(str(call.response["view"]["id"]))
            assert view is not None
            kind: SurfaceKind = "home" if view["type"] == "home" else "modal"
            return Surface(kind, origin, view["blocks"], view=view)
        return None

    def _ack_message(
        self, response: httpx.Response, user: str, channel: str, origin: str
    ) -> Surface | None:
        """A command's ack with content: Slack shows it to the user as an ephemeral message."""
        if not response.content:
            return None
        body = response.json()
        blocks = body.get("blocks") or []
        problems = message_problems({"blocks": blocks})
        if problems:
            self.problems.append(f"{origin}: Slack would refuse the reply: {problems}")
        stored = self.slack.add_message(
            self.team, channel, text=body.get("text") or "", blocks=blocks, ephemeral_for=user
        )
        return Surface(
            "message", origin, stored.blocks, channel_id=channel, ts=stored.ts, ephemeral=True
        )

    async def command(self, text: str, user: str) -> list[Surface]:
        origin = f"/pmp {text}"
        channel = "C" + self.team[1:]
        since = len(self.slack.calls)
        response = await self.sender.command(text, team=self.team, user=user)
        assert response.status_code == 200, f"{origin}: HTTP {response.status_code}"
        await self.settle()
        surfaces, visible = self.seen_since(since, user, origin)
        ack = self._ack_message(response, user, channel, origin)
        if ack is not None:
            surfaces.insert(0, ack)
        if not (visible or ack):
            self.problems.append(f"{origin}: the command showed nothing")
        return surfaces

    async def home(self, user: str) -> list[Surface]:
        since = len(self.slack.calls)
        event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"}
        response = await self.sender.event(event, team=self.team)
        assert response.status_code == 200
        await self.settle()
        surfaces, visible = self.seen_since(since, user, "Home tab")
        if not visible:
            self.problems.append("Home tab: nothing was published")
        return surfaces

    async def shortcut(self, payload: dict[str, Any], user: str, origin: str) -> list[Surface]:
        since = len(self.slack.calls)
        response = await self.sender.interaction(payload)
        assert response.status_code == 200, f"{origin}: HTTP {response.status_code}"
        await self.settle()
        surfaces, visible = self.seen_since(since, user, origin)
        if not visible:
            self.problems.append(f"{origin}: the shortcut showed nothing")
        return surfaces

    # ---------------------------------------------------------------- pressing

    def _state(self, surface: Surface) -> dict[str, dict[str, Any]]:
        """The modal's inputs as the user left them: as opened, plus the fills."""
        typed = self.fills.get(surface.callback_id, {})
        values: dict[str, dict[str, Any]] = {}
        for block in surface.blocks:
            if block.get("type") != "input":
                continue
            element = block["element"]
            entry = initial_entry(element)
            fill = typed.get(block["block_id"], {}).get(element["action_id"])
            if fill is not None:
                entry["value"] = fill
            values[block["block_id"]] = {element["action_id"]: entry}
        return values

    def _view_payload_view(self, surface: Surface) -> dict[str, Any]:
        view = dict(surface.view)
        view["state"] = {"values": self._state(surface)}
        return view

    async def press(self, surface: Surface, control: Control, user: str) -> list[Surface]:
        """Uses one control as the user would; the surfaces that follow from it."""
        where = f"{surface.origin} > {control.label}"
        self.pressed.append(where)
        since = len(self.slack.calls)
        if control.action_id == SUBMIT:
            answer_visible, answered = await self._submit(surface, user, where)
        elif control.element.get("type") == "external_select":
            answer_visible, answered = await self._choose_external(surface, control, user, where)
        else:
            await self._send_action(surface, control, control.element, user, where)
            answer_visible, answered = False, []
        await self.settle()
        surfaces, visible = self.seen_since(since, user, where)
        if not (visible or answer_visible or control.opens_link):
            self.problems.append(f"{where}: nothing visible happened")
        return answered + surfaces

    async def _send_action(
        self,
        surface: Surface,
        control: Control,
        element: dict[str, Any],
        user: str,
        where: str,
        entry: dict[str, Any] | None = None,
    ) -> None:
        action = action_payload(element, control.block_id, option=control.option, entry=entry)
        if element.get("type") == "static_select":
            action["selected_option"] = control.option
        if surface.kind == "message":
            payload = self.sender.block_actions(
                team=self.team,
                user=user,
                action=action,
                channel=surface.channel_id,
                message_ts=surface.ts,
                is_ephemeral=surface.ephemeral,
            )
        else:
            payload = self.sender.block_actions(
                team=self.team, user=user, action=action, view=self._view_payload_view(surface)
            )
            if surface.kind == "modal":
                payload["container"]["is_app_unfurl"] = False
        response = await self.sender.interaction(payload)
        assert response.status_code == 200, f"{where}: HTTP {response.status_code}"

    async def _choose_external(
        self, surface: Surface, control: Control, user: str, where: str
    ) -> tuple[bool, list[Surface]]:
        """Types into an external select: the options load must offer something; where
        Slack sends the choice (outside input blocks, or with dispatch_action), the first
        option is chosen."""
        action_id = control.action_id
        payload: dict[str, Any] = {
            "type": "block_suggestion",
            "user": {"id": user, "team_id": self.team, "username": user.lower()},
            "team": {"id": self.team, "domain": self.team.lower()},
            "api_app_id": self.sender.api_app_id,
            "action_id": action_id,
            "block_id": control.block_id,
            "value": self.queries.get(action_id, "a"),
            "container": {"type": "view", "view_id": surface.view.get("id", "")},
            "view": self._view_payload_view(surface),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        response = await self.sender.interaction(payload)
        assert response.status_code == 200, f"{where}: HTTP {response.status_code}"
        body = response.json() if response.content else {}
        options = list(body.get("options") or [])
        for group in body.get("option_groups") or []:
            options += group.get("options") or []
        problems = options_problems(body.get("options") or [])
        if problems:
            self.problems.append(f"{where}: Slack would refuse the options: {problems}")
        if not options:
            self.problems.append(f"{where}: the options load offered nothing")
            return False, []
        block = next(b for b in surface.blocks if b.get("block_id") == control.block_id)
        if block.get("type") == "input" and not block.get("dispatch_action"):
            return True, []  # Slack shows the options; choosing sends nothing
        entry = {"type": "external_select", "selected_option": options[0]}
        await self._send_action(surface, control, control.element, user, where, entry=entry)
        return True, []

    async def _submit(self, surface: Surface, user: str, where: str) -> tuple[bool, list[Surface]]:
        view = self._view_payload_view(surface)
        payload = self.sender.view_submission(
            team=self.team, user=user, view=view, values=view["state"]["values"]
        )
        response = await self.sender.interaction(payload)
        assert response.status_code == 200, f"{where}: HTTP {response.status_code}"
        if not response.content:
            # The modal closes; what the bot shows next is checked by the caller.
            self.slack.close_view(str(surface.view["id"]))
            return False, []
        answer = response.json()
        action = answer.get("response_action")
        view_id = str(surface.view["id"])
        try:
            if action == "errors":
                inputs = {b["block_id"] for b in surface.blocks if b.get("type") == "input"}
                unknown = set(answer.get("errors") or {}) - inputs
                if unknown or not answer.get("errors"):
                    self.problems.append(f"{where}: errors Slack can't show: {answer}")
                return True, []
            if action == "update":
                updated = self.slack.replace_view(view_id, answer["view"])
                return True, [Surface("modal", where, updated["blocks"], view=updated)]
            if action == "push":
                pushed = self.slack.push_view(self.team, user, answer["view"])
                return True, [Surface("modal", where, pushed["blocks"], view=pushed)]
            if action == "clear":
                self.slack.clear_views(self.team, user)
                return True, []
        except StandinError as refused:
            self.problems.append(f"{where}: Slack would refuse the view: {refused}")
            return True, []
        self.problems.append(f"{where}: an answer Slack doesn't know: {answer}")
        return False, []

    # ---------------------------------------------------------------- crawling

    async def crawl(
        self,
        open_root: Callable[[], Awaitable[list[Surface]]],
        user: str,
        *,
        depth: int = 3,
        seen: set[tuple[str, ...]],
    ) -> None:
        """Opens the root surfaces and presses every control on them, each on a freshly
        opened root (a press may change or remove what it was on). What follows is pressed
        too, `depth` levels down, each kind of control once (`seen`)."""
        roots = await open_root()
        for index, surface in enumerate(roots):
            for position, _control in enumerate(controls_of(surface)):
                fresh = roots if (index, position) == (0, 0) else await open_root()
                if len(fresh) <= index:
                    self.problems.append(f"{surface.origin}: opened differently the second time")
                    continue
                again = controls_of(fresh[index])
                if len(again) <= position:
                    self.problems.append(
                        f"{surface.origin}: lost a control the second time: "
                        f"{[c.label for c in controls_of(surface)]} then {[c.label for c in again]}"
                        f" (it said: {_text_of(fresh[index].blocks)[:300]!r})"
                    )
                    continue
                followers = await self.press(fresh[index], again[position], user)
                await self._follow(followers, user, depth - 1, seen)

    async def _follow(
        self, surfaces: list[Surface], user: str, depth: int, seen: set[tuple[str, ...]]
    ) -> None:
        if depth <= 0:
            return
        for surface in surfaces:
            for control in controls_of(surface):
                key = (
                    surface.kind,
                    # A shared card's controls are not a private card's.
                    "ephemeral" if surface.ephemeral else "channel",
                    surface.callback_id,
                    control.action_id,
                    _option_key(control),
                )
                # Lasting effects are pressed on the surfaces opened first only, after
                # everything else there: pressed here, they would pull the record away.
                if key in seen or _lasting(control):
                    continue
                seen.add(key)
                followers = await self.press(surface, control, user)
                await self._follow(followers, user, depth - 1, seen)


def _option_key(control: Control) -> str:
    # Each option of a menu is its own control; their values differ by record, their
    # place in the menu doesn't.
    if control.option is None:
        return ""
    return json.dumps((control.option.get("text") or {}).get("text"))


def message_action_payload(
    slack: RunningSlackStandin, *, team: str, user: str, channel: str, text: str
) -> dict[str, Any]:
    """A message shortcut on a message someone wrote in `channel`."""
    message = slack.add_message(team, channel, text=text, user_id=user)
    return {
        "type": "message_action",
        "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "channel": {"id": channel, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": "pmp_ticket_from_message",
        "trigger_id": slack.new_trigger_id(team, user),
        "message_ts": message.ts,
        "message": slack.message_payload(channel, message.ts),
        "response_url": slack.new_response_url(team, channel, user),
    }


def global_shortcut_payload(slack: RunningSlackStandin, *, team: str, user: str) -> dict[str, Any]:
    return {
        "type": "shortcut",
        "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": "pmp_ticket_new_shortcut",
        "trigger_id": slack.new_trigger_id(team, user),
    }
