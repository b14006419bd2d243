"""The HTTP front door under hostile requests: bodies too big or too slow, timestamps that are
no timestamps, bodies nobody can parse, clients that hang up, too many connections; and the
Events API notices that carry no workspace request (app_rate_limited, team_access_revoked).

Every request here goes over real HTTP to the bot as `pmp-bot serve` runs it (same uvicorn
limits). Nothing is timed: a body the bot must not buffer is one whose end never comes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from slack_sdk.oauth.installation_store import Installation

import bot.slack.web as web
from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from bot.run.serve import MAX_CONCURRENCY, MAX_HEADER_BYTES
from bot.slack.app import INSTALL_PATH
from tests.e2e.conftest import (
    MEMBER_A,
    OWNER_A,
    SIGNING_SECRET,
    TEAM_A,
    bot_and_sender,
    bot_settings,
)
from tests.e2e.slack_client import SlackSender

FORM = "application/x-www-form-urlencoded"
MB = 1024 * 1024


@pytest.fixture
async def front(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> AsyncIterator[tuple[RunningBot, SlackSender]]:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        yield bot, sender


class Spy:
    """Counts the requests that got as far as parsing, and as far as Bolt."""

    def __init__(self, bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed = 0
        self.dispatched = 0
        parse = web._parsed
        dispatch = bot.app.async_dispatch

        def counting_parse(raw: bytes, content_type: str | None) -> Any:
            self.parsed += 1
            return parse(raw, content_type)

        async def counting_dispatch(request: Any) -> Any:
            self.dispatched += 1
            return await dispatch(request)

        monkeypatch.setattr(web, "_parsed", counting_parse)
        monkeypatch.setattr(bot.app, "async_dispatch", counting_dispatch)


@pytest.fixture
def spy(front: tuple[RunningBot, SlackSender], monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(front[0], monkeypatch)


def signature_headers(raw: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Slack's headers for the raw bytes, whatever they encode."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


async def post_raw(
    sender: SlackSender, raw: bytes, content_type: str, headers: dict[str, Any] | None = None
) -> httpx.Response:
    sent = {"Content-Type": content_type, **signature_headers(raw), **(headers or {})}
    return await sender.http.post(sender.events_url, content=raw, headers=sent)


def assert_no_server_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


class RawConnection:
    """One HTTP/1.1 connection written byte by byte, for what httpx won't send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, bot: RunningBot) -> RawConnection:
        url = urlsplit(bot.url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer)

    async def send_head(
        self, headers: dict[str, str], path: str = web.EVENTS_PATH, method: str = "POST"
    ) -> None:
        lines = [
            f"{method} {path} HTTP/1.1",
            "Host: pmp-bot",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def status(self) -> int:
        line = await asyncio.wait_for(self.reader.readline(), 30)
        assert line.startswith(b"HTTP/1.1 "), line
        return int(line.split()[1])

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


# ----------------------------------------------------------------- body size


async def test_a_body_announced_over_a_megabyte_is_refused_before_any_of_it_is_read(
    front: tuple[RunningBot, SlackSender], spy: Spy
) -> None:
    bot, _ = front
    connection = await RawConnection.open(bot)
    try:
        await connection.send_head(
            {"Content-Type": FORM, "Content-Length": str(50 * MB), **signature_headers(b"")}
        )
        # Not a byte of the body was sent, so the answer can only come from the headers.
        assert await connection.status() == 413
    finally:
        await connection.close()
    assert (spy.parsed, spy.dispatched) == (0, 0)


async def test_a_body_streamed_past_a_megabyte_is_cut_off_while_it_arrives(
    front: tuple[RunningBot, SlackSender], spy: Spy
) -> None:
    bot, _ = front
    connection = await RawConnection.open(bot)
    try:
        # Chunked: the bot can't know the size until it has read past the limit.
        await connection.send_head(
            {"Content-Type": FORM, "Transfer-Encoding": "chunked", **signature_headers(b"")}
        )
        answer = asyncio.create_task(connection.status())
        chunk = b"a=" + b"b" * (64 * 1024 - 2)
        sent = 0
        while not answer.done():
            assert sent < 50 * MB, "the bot kept reading a body far over its limit"
            await connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            await asyncio.sleep(0)
        # The body never ended (no last chunk was sent), yet the bot answered.
        assert answer.result() == 413
        assert sent > web.MAX_BODY_BYTES
    finally:
        await connection.close()
    assert (spy.parsed, spy.dispatched) == (0, 0)


async def test_big_unsigned_bodies_sent_together_are_all_refused_unparsed(
    front: tuple[RunningBot, SlackSender], spy: Spy, caplog: pytest.LogCaptureFixture
) -> None:
    _, sender = front
    big = b"payload=" + b"x" * (8 * MB)
    answers = await asyncio.gather(
        *(
            sender.http.post(sender.events_url, content=big, headers={"Content-Type": FORM})
            for _ in range(4)
        )
    )
    assert [a.status_code for a in answers] == [413] * 4
    assert (spy.parsed, spy.dispatched) == (0, 0)
    assert_no_server_error_logged(caplog)


async def test_a_signed_body_just_under_the_limit_is_still_read(
    front: tuple[RunningBot, SlackSender], spy: Spy
) -> None:
    _, sender = front
    body = sender.command_body("help", team=TEAM_A, user=MEMBER_A)
    raw = (body + "&padding=" + "x" * (web.MAX_BODY_BYTES - len(body) - 9)).encode()
    assert len(raw) == web.MAX_BODY_BYTES
    response = await post_raw(sender, raw, FORM)
    assert response.status_code == 200
    assert "status" in response.text
    assert spy.dispatched == 1


async def test_a_body_that_trickles_in_is_given_up(
    front: tuple[RunningBot, SlackSender], spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, _ = front
    monkeypatch.setattr(web, "BODY_READ_SECONDS", 0.2)
    connection = await RawConnection.open(bot)
    try:
        raw = b"command=/pmp&text=help"
        await connection.send_head(
            {"Content-Type": FORM, "Content-Length": str(len(raw)), **signature_headers(raw)}
        )
        await connection.send(raw[:5])  # and the rest never comes
        assert await connection.status() == 408
    finally:
        await connection.close()
    assert spy.dispatched == 0


async def test_the_oauth_pages_never_wait_for_a_body(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, oauth=True)
    async with bot_and_sender(settings, slack) as (bot, _):
        connection = await RawConnection.open(bot)
        try:
            await connection.send_head(
                {"Transfer-Encoding": "chunked"}, path=INSTALL_PATH, method="GET"
            )
            await connection.send(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
            # The body never ends; the install page is served all the same.
            assert await connection.status() == 200
        finally:
            await connection.close()


async def test_a_client_that_hangs_up_mid_body_leaves_no_traceback(
    front: tuple[RunningBot, SlackSender], caplog: pytest.LogCaptureFixture
) -> None:
    bot, sender = front
    caplog.set_level(logging.INFO)
    for _ in range(3):
        connection = await RawConnection.open(bot)
        await connection.send_head(
            {"Content-Type": "application/json", "Content-Length": "1000", **signature_headers(b"")}
        )
        await connection.send(b'{"type": "event_callback", ')
        await connection.close()
    await wait_for_log(caplog, lambda text: text.count("status=499") == 3)
    # The bot still answers everyone else.
    assert (await sender.command("help", team=TEAM_A, user=MEMBER_A)).status_code == 200
    assert_no_server_error_logged(caplog)


async def wait_for_log(
    caplog: pytest.LogCaptureFixture, done: Callable[[str], bool], timeout: float = 10
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(caplog.text):
        assert loop.time() < deadline, caplog.text[-2000:]
        await asyncio.sleep(0.01)


# ----------------------------------------------------------------- signature headers


@pytest.mark.parametrize(
    "timestamp",
    [
        "9" * 5000,  # int() refuses more than 4300 digits with an error
        "1" * 13,
        "+{now}",
        "{now:_}",  # int() reads "1_700_000_000"
        "{now}.0",
        "-1",
        "1e9",
        "",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdecimal() says yes
        "{expired}",
        "{future}",
    ],
)
async def test_a_timestamp_that_is_no_fresh_short_ascii_number_is_refused(
    front: tuple[RunningBot, SlackSender],
    spy: Spy,
    caplog: pytest.LogCaptureFixture,
    timestamp: str,
) -> None:
    _, sender = front
    # Times are filled in when the test runs, not when it is collected (minutes earlier).
    now = int(time.time())
    timestamp = timestamp.format(now=now, expired=now - 6 * 60, future=now + 6 * 60)
    raw = sender.command_body("help", team=TEAM_A, user=MEMBER_A).encode()
    # Correctly signed for that timestamp: only the timestamp itself is wrong.
    headers: dict[str, Any] = signature_headers(raw, timestamp)
    headers["X-Slack-Request-Timestamp"] = timestamp.encode("utf-8")
    response = await post_raw(sender, raw, FORM, headers)
    assert response.status_code == 401
    assert (spy.parsed, spy.dispatched) == (0, 0)
    assert_no_server_error_logged(caplog)


@pytest.mark.parametrize(
    "signature",
    ["", "v0=", "v0=" + "0" * 63, "v1=" + "0" * 64, "v0=" + "\u00ff" * 64, "v0=" + "A" * 64],
)
async def test_a_malformed_signature_is_refused_without_reading_the_body(
    front: tuple[RunningBot, SlackSender],
    spy: Spy,
    caplog: pytest.LogCaptureFixture,
    signature: str,
) -> None:
    _, sender = front
    raw = sender.command_body("help", team=TEAM_A, user=MEMBER_A).encode()
    headers = {"X-Slack-Signature": signature.encode("latin-1")}
    response = await post_raw(sender, raw, FORM, headers)
    assert response.status_code == 401
    assert (spy.parsed, spy.dispatched) == (0, 0)
    assert_no_server_error_logged(caplog)


async def test_the_signature_is_checked_before_the_body_is_parsed(
    front: tuple[RunningBot, SlackSender], spy: Spy, caplog: pytest.LogCaptureFixture
) -> None:
    _, sender = front
    hostile = [b"\xff\xfe{", b"[" * 100_000, b"&".join(b"f%d=1" % i for i in range(100_000))]
    for raw in hostile:
        forged = {"X-Slack-Signature": "v0=" + "0" * 64}
        assert (await post_raw(sender, raw, FORM, forged)).status_code == 401
    assert (spy.parsed, spy.dispatched) == (0, 0)
    assert_no_server_error_logged(caplog)


# ----------------------------------------------------------------- signed, unreadable


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def event_with(value: str) -> str:
    """An app_home_opened event carrying `value` (raw JSON text) in one more field."""
    event = {"type": "app_home_opened", "user": MEMBER_A, "tab": "messages", "x": "VALUE"}
    body = {"type": "event_callback", "team_id": TEAM_A, "event_id": "Ev1", "event": event}
    return json.dumps(body).replace('"VALUE"', value)


def interaction(payload: str) -> bytes:
    return urlencode({"payload": payload}).encode()


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        pytest.param(("[" * 100_000 + "]" * 100_000).encode(), "application/json", id="deep-array"),
        pytest.param(event_with(nested(100_000)).encode(), "application/json", id="deep-event"),
        pytest.param(
            interaction('{"type":"block_actions","x":' + "[" * 100_000 + "]" * 100_000 + "}"),
            FORM,
            id="deep-payload",
        ),
        pytest.param(
            event_with(nested(web.MAX_JSON_DEPTH)).encode(), "application/json", id="over-max-depth"
        ),
        pytest.param(b"payload=%7Bnot-json", FORM, id="payload-not-json"),
        pytest.param(b"{not json", "application/json", id="not-json"),
        pytest.param(b"payload=\xff\xfe", FORM, id="not-utf8-form"),
        pytest.param(b'{"type": "\xc3"}', "application/json", id="not-utf8-json"),
        pytest.param(
            b"&".join(b"f%d=1" % i for i in range(web.MAX_FORM_FIELDS + 1)), FORM, id="fields"
        ),
        pytest.param(b"&" * 500_000, FORM, id="empty-fields"),
        pytest.param(
            interaction(
                json.dumps(
                    {
                        "type": "view_submission",
                        "team": {"id": TEAM_A},
                        "user": {"id": MEMBER_A},
                        "view": {"id": "V1", "callback_id": "x", "state": {"values": {}}},
                    }
                )
            ),
            FORM,
            id="view-without-type",
        ),
    ],
)
async def test_a_signed_body_bolt_cannot_read_is_a_400_not_a_500(
    front: tuple[RunningBot, SlackSender],
    spy: Spy,
    caplog: pytest.LogCaptureFixture,
    raw: bytes,
    content_type: str,
) -> None:
    _, sender = front
    response = await post_raw(sender, raw, content_type)
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    assert spy.dispatched == 0
    assert_no_server_error_logged(caplog)


async def test_slack_payloads_as_deep_and_wide_as_real_ones_still_reach_the_bot(
    front: tuple[RunningBot, SlackSender], spy: Spy
) -> None:
    _, sender = front
    deep = await post_raw(
        sender, event_with(nested(web.MAX_JSON_DEPTH - 3)).encode(), "application/json"
    )
    assert deep.status_code == 200
    wide = await post_raw(
        sender, sender.command_body("help", team=TEAM_A, user=MEMBER_A).encode(), FORM
    )
    assert wide.status_code == 200
    assert spy.dispatched == 2


# ----------------------------------------------------------------- server limits


async def test_headers_over_the_limit_are_refused_by_the_server(
    front: tuple[RunningBot, SlackSender], spy: Spy, caplog: pytest.LogCaptureFixture
) -> None:
    bot, _ = front
    connection = await RawConnection.open(bot)
    try:
        # Headers that never end: the server stops buffering them at its limit.
        head = f"POST {web.EVENTS_PATH} HTTP/1.1\r\nHost: pmp-bot\r\nX-Padding: "
        await connection.send(head.encode() + b"x" * (2 * MAX_HEADER_BYTES))
        assert await connection.status() == 400
    finally:
        await connection.close()
    assert (spy.parsed, spy.dispatched) == (0, 0)
    assert_no_server_error_logged(caplog)


async def test_past_the_concurrency_limit_slack_gets_a_503_it_retries(
    front: tuple[RunningBot, SlackSender],
) -> None:
    bot, sender = front
    idle = [await RawConnection.open(bot) for _ in range(MAX_CONCURRENCY)]
    try:
        # Each probe waits for the bot to have taken in every idle connection.
        statuses = [(await sender.command("help", team=TEAM_A, user=MEMBER_A)).status_code]
        while statuses[-1] != 503 and len(statuses) < 50:
            statuses.append((await sender.command("help", team=TEAM_A, user=MEMBER_A)).status_code)
        assert statuses[-1] == 503, statuses
    finally:
        for connection in idle:
            await connection.close()
    # Once the crowd is gone, requests are answered again.
    for _ in range(500):
        answer = await sender.command("help", team=TEAM_A, user=MEMBER_A)
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.01)
    assert answer.status_code == 200


# ----------------------------------------------------------------- Events API notices


RATE_LIMITED = {
    "token": "legacy-verification-token",
    "type": "app_rate_limited",
    "team_id": TEAM_A,
    "minute_rate_limited": 1518467820,
    "api_app_id": "A0PMPBOT",
}


async def test_app_rate_limited_is_answered_200_and_logged(
    front: tuple[RunningBot, SlackSender], spy: Spy, caplog: pytest.LogCaptureFixture
) -> None:
    _, sender = front
    caplog.set_level(logging.INFO)
    response = await sender.post(json.dumps(RATE_LIMITED), "application/json")
    assert response.status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(TEAM_A in w and "2018-02-12 20:37 UTC" in w for w in warnings), warnings
    # Nothing for Bolt to do: it has no workspace request to authorize.
    assert spy.dispatched == 0
    assert_no_server_error_logged(caplog)


async def test_an_unsigned_app_rate_limited_is_refused_and_not_logged(
    front: tuple[RunningBot, SlackSender], caplog: pytest.LogCaptureFixture
) -> None:
    _, sender = front
    response = await sender.post(json.dumps(RATE_LIMITED), "application/json", signed=False)
    assert response.status_code == 401
    assert "rate limited" not in caplog.text


ORG = "E0001"
OTHER_ORG = "E0002"


def team_access_revoked(enterprise_id: str, team_ids: list[str]) -> str:
    """As slack-bolt's own org-app tests send it: the org, no team, the teams in the event."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "enterprise_id": enterprise_id,
            "api_app_id": "A0PMPBOT",
            "event": {
                "type": "team_access_revoked",
                "team_ids": team_ids,
                "event_ts": f"{time.time():.6f}",
            },
            "type": "event_callback",
            "event_id": "Ev0REVOKED",
            "event_time": int(time.time()),
        }
    )


@pytest.mark.parametrize("oauth", [False, True])
async def test_team_access_revoked_forgets_those_teams_of_that_org_only(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    oauth: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, oauth=oauth)
    workspaces = [(ORG, "T0101"), (ORG, "T0102"), (ORG, "T0103"), (OTHER_ORG, "T0101")]
    async with bot_and_sender(settings, slack) as (bot, sender):
        services = bot.services
        for enterprise, team in workspaces:
            await services.workspaces.save_credentials(
                team, enterprise, pmp.base_url, pmp.token, OWNER_A
            )
            if services.oauth_stores is not None:
                await services.oauth_stores.installation_store.async_save(
                    Installation(
                        app_id="A0PMPBOT",
                        enterprise_id=enterprise,
                        team_id=team,
                        bot_token=f"xoxb-{enterprise}-{team}",
                        bot_id="B0PMPBOT",
                        bot_user_id="UBOT",
                        user_id=OWNER_A,
                    )
                )

        response = await sender.post(
            team_access_revoked(ORG, ["T0101", "T0102"]), "application/json"
        )
        assert response.status_code == 200
        assert await services.listeners.wait_idle(timeout=10)

        async def kept(enterprise: str, team: str) -> bool:
            connected = await services.workspaces.get_credentials(team, enterprise) is not None
            if services.oauth_stores is None:
                return connected
            store = services.oauth_stores.installation_store
            installed = await store.async_find_bot(enterprise_id=enterprise, team_id=team)
            assert connected is (installed is not None)
            return connected

        assert [await kept(*w) for w in workspaces] == [False, False, True, True]
    assert_no_server_error_logged(caplog)


async def test_team_access_revoked_with_odd_team_ids_is_answered_and_forgets_nothing(
    front: tuple[RunningBot, SlackSender], pmp: Any
) -> None:
    bot, sender = front
    await bot.services.workspaces.save_credentials("T0101", ORG, pmp.base_url, pmp.token, OWNER_A)
    for team_ids in ([], [None, 7, ""], "T0101"):
        body = team_access_revoked(ORG, team_ids)  # type: ignore[arg-type]
        assert (await sender.post(body, "application/json")).status_code == 200
    assert await bot.services.listeners.wait_idle(timeout=10)
    assert await bot.services.workspaces.get_credentials("T0101", ORG) is not None


async def test_the_events_url_takes_posts_only(front: tuple[RunningBot, SlackSender]) -> None:
    _, sender = front
    for method in ("GET", "PUT", "DELETE"):
        answer = await sender.http.request(method, sender.events_url)
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "POST"


async def test_a_signed_request_with_a_repeated_header_is_answered(
    front: tuple[RunningBot, SlackSender], spy: Spy
) -> None:
    # A header sent twice (proxies add X-Forwarded-For lines) reaches Bolt as a list.
    bot, _ = front
    raw = (
        b"token=x&team_id=T0001&user_id=U1&command=%2Fpmp&text=help"
        b"&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr"
    )
    connection = await RawConnection.open(bot)
    try:
        await connection.send_head(
            {
                "Content-Type": FORM,
                "Content-Length": str(len(raw)),
                "X-Forwarded-For": "192.0.2.1",
                "X-Forwarded-for": "192.0.2.2",
                **signature_headers(raw),
            }
        )
        await connection.send(raw)
        assert await connection.status() == 200
    finally:
        await connection.close()
    assert spy.dispatched == 1
