"""The handlers' toolkit: opening and filling modals, the one not-connected wording, the user
of a payload and announcing a change."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.blocks.connect import (
    NOT_CONNECTED,
    RECONNECT_NEEDED,
    build_not_connected,
    not_connected_headline,
    not_connected_text,
)
from bot.pmp import PmpError
from bot.pmp_pool import WorkspaceKey
from bot.records import UNCHANGED, WriteOutcome
from bot.slack.replies import SOMETHING_WENT_WRONG
from bot.slack.workspace_pmp import ConnectedPmp, NotConnectedError
from handlers._common import (
    OPEN_FAILED,
    announce,
    open_then_fill,
    open_view,
    update_view,
    user_of,
)


def _view(text: str) -> View:
    return View(
        type="modal",
        title="PMP",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


def _text(view: View) -> str:
    return str(view.to_dict()["blocks"][0]["text"]["text"])


class FakeSlack:
    """Records the view calls; `refuse` names the calls Slack answers with an error."""

    def __init__(self, *, refuse: tuple[str, ...] = (), unreachable: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse = refuse
        self.unreachable = unreachable

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((method, kwargs))
        if self.unreachable:
            raise ConnectionError("no route to Slack")
        if method in self.refuse:
            raise SlackApiError("refused", {"ok": False, "error": "expired_trigger_id"})
        return {"ok": True, "view": {"id": "V1"}}

    async def views_open(self, **kwargs: Any) -> dict[str, Any]:
        return await self._call("views_open", **kwargs)

    async def views_push(self, **kwargs: Any) -> dict[str, Any]:
        return await self._call("views_push", **kwargs)

    async def views_update(self, **kwargs: Any) -> dict[str, Any]:
        return await self._call("views_update", **kwargs)


class FakeRespond:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, **message: Any) -> None:
        self.messages.append(message)


async def test_open_view_gives_the_view_id() -> None:
    slack = FakeSlack()
    assert await open_view(slack, "T0", _view("hi")) == "V1"  # type: ignore[arg-type]
    assert [method for method, _ in slack.calls] == ["views_open"]
    assert slack.calls[0][1]["trigger_id"] == "T0"


async def test_open_view_pushes_on_top_when_asked() -> None:
    slack = FakeSlack()
    assert await open_view(slack, "T0", _view("hi"), push=True) == "V1"  # type: ignore[arg-type]
    assert [method for method, _ in slack.calls] == ["views_push"]


@pytest.mark.parametrize("unreachable", [False, True])
async def test_a_modal_slack_wont_open_tells_the_user_to_try_again(unreachable: bool) -> None:
    slack = FakeSlack(refuse=("views_open",), unreachable=unreachable)
    respond = FakeRespond()
    assert await open_view(slack, "T0", _view("hi"), respond=respond) is None  # type: ignore[arg-type]
    assert respond.messages == [{"text": OPEN_FAILED, "replace_original": False}]


async def test_without_respond_a_refused_modal_is_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack = FakeSlack(refuse=("views_open",))
    with caplog.at_level(logging.WARNING, logger="handlers._common"):
        assert await open_view(slack, "T0", _view("hi")) is None  # type: ignore[arg-type]
    assert "expired_trigger_id" in caplog.text


@pytest.mark.parametrize("unreachable", [False, True])
async def test_update_view_never_raises(unreachable: bool) -> None:
    slack = FakeSlack(refuse=("views_update",), unreachable=unreachable)
    await update_view(slack, "V1", _view("hi"))  # type: ignore[arg-type]
    assert [method for method, _ in slack.calls] == ["views_update"]


async def _filled(fill: Any) -> list[tuple[str, dict[str, Any]]]:
    slack = FakeSlack()
    await open_then_fill(
        slack,  # type: ignore[arg-type]
        "T0",
        loading=_view("Loading…"),
        fill=fill,
        problem=lambda text: _view(f"problem: {text}"),
    )
    return slack.calls


async def test_open_then_fill_shows_loading_then_what_fill_built() -> None:
    async def fill() -> View:
        return _view("the form")

    calls = await _filled(fill)
    assert [method for method, _ in calls] == ["views_open", "views_update"]
    assert _text(calls[0][1]["view"]) == "Loading…"
    assert calls[1][1]["view_id"] == "V1" and _text(calls[1][1]["view"]) == "the form"


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (NotConnectedError(), NOT_CONNECTED),
        (NotConnectedError(reconnect=True), RECONNECT_NEEDED),
        (PmpError("HTTP 500", user_message="PMP had a problem (HTTP 500)."), "PMP had a problem"),
        (RuntimeError("a bug"), SOMETHING_WENT_WRONG),
    ],
)
async def test_open_then_fill_says_why_filling_failed(error: Exception, said: str) -> None:
    async def fill() -> View:
        raise error

    calls = await _filled(fill)
    assert [method for method, _ in calls] == ["views_open", "views_update"]
    assert _text(calls[1][1]["view"]).startswith(f"problem: {said}")


async def test_open_then_fill_does_not_fill_a_modal_that_never_opened() -> None:
    slack = FakeSlack(refuse=("views_open",))
    filled = False

    async def fill() -> View:
        nonlocal filled
        filled = True
        return _view("the form")

    await open_then_fill(
        slack,  # type: ignore[arg-type]
        "T0",
        loading=_view("Loading…"),
        fill=fill,
        problem=_view,
    )
    assert not filled and [method for method, _ in slack.calls] == ["views_open"]


def test_one_not_connected_wording() -> None:
    assert not_connected_text() == NOT_CONNECTED
    assert not_connected_text(reconnect=True) == RECONNECT_NEEDED
    for reconnect in (False, True):
        assert "`/pmp connect`" in not_connected_text(reconnect=reconnect)
        block = build_not_connected(reconnect=reconnect)[0].to_dict()
        assert block["text"]["text"] == not_connected_text(reconnect=reconnect)
        # A headline fits a typeahead option (75 characters) and a notification.
        assert len(not_connected_headline(reconnect=reconnect)) <= 75
    assert NOT_CONNECTED.startswith(not_connected_headline())


@pytest.mark.parametrize(
    ("body", "user"),
    [
        ({"user": {"id": "U123"}}, "U123"),
        ({"user": "U123"}, ""),  # an event names its user as a string: not a payload's user
        ({}, ""),
    ],
)
def test_user_of(body: dict[str, Any], user: str) -> None:
    assert user_of(body) == user


class FakeServices:
    """The two things announce() uses of BotServices."""

    def __init__(self) -> None:
        self.forgotten: list[str] = []
        self.notices: list[str] = []
        self.lookups = SimpleNamespace(forget_results=self.forgotten.append)

    def notify(self, workspace: object, line: str) -> None:
        self.notices.append(line)


def test_announce_forgets_kept_results_and_posts_the_notice() -> None:
    services: Any = FakeServices()
    pmp = ConnectedPmp(
        client=None,  # type: ignore[arg-type]
        workspace=SimpleNamespace(pmp_base_url="https://crm.example.com"),  # type: ignore[arg-type]
        key=WorkspaceKey(team_id="T1", enterprise_id=None),
    )
    saved = WriteOutcome(kind="lead", label="Jane <Doe>", verb="updated", record_id=4)
    announce(services, pmp, "U123", saved)
    assert services.forgotten == [":T1"]
    assert services.notices == ["<@U123> updated lead *Jane &lt;Doe&gt;*"]

    announce(services, pmp, "U123", WriteOutcome(kind="lead", label="Jane", verb=UNCHANGED))
    assert services.forgotten == [":T1"] and len(services.notices) == 1
