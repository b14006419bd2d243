"""The Slack stand-in, driven through the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.console.slack_standin import (
    DEFAULT_BOT_SCOPES,
    DEFAULT_BOT_TOKEN,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    RunningSlackStandin,
    StandinError,
    running_slack_standin,
)

ROOT = Path(__file__).resolve().parents[2]

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "new_customer",
    "title": {"type": "plain_text", "text": "New customer"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "company",
            "label": {"type": "plain_text", "text": "Company"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def modal(title: str = "New customer", **extra: Any) -> dict[str, Any]:
    return {**MODAL, "title": {"type": "plain_text", "text": title}, **extra}


# What a token needs besides manifest.yml's scopes to read channels and join them.
WIDE_SCOPES = "commands,chat:write,users:read,team:read,channels:read,channels:join"


def wide_client(slack: RunningSlackStandin) -> AsyncWebClient:
    """A bot token of T0001 granted more scopes than pmp-bot's manifest asks for."""
    slack.add_team("T0001", "xoxb-wide-T0001", scopes=WIDE_SCOPES)
    return AsyncWebClient(token="xoxb-wide-T0001", base_url=slack.api_url)


async def expect_error(call: Any, error: str) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    assert caught.value.response["error"] == error
    return caught.value


# ---------------------------------------------------------------- auth and users


async def test_auth_test_answers_for_the_bot_token(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    answer = await client.auth_test()
    assert answer["team_id"] == "T0001"
    assert answer["user_id"] == "UBOT0001"
    assert answer["bot_id"] == "BBOT0001"
    assert answer["url"].startswith("https://")
    call = slack.calls_to("auth.test")[0]
    assert call.token == DEFAULT_BOT_TOKEN
    assert call.team_id == "T0001"
    assert DEFAULT_BOT_TOKEN not in repr(call)
    team = (await wide_client(slack).team_info())["team"]
    assert (team["id"], team["domain"]) == ("T0001", "workspace-t0001")


async def test_unknown_token_is_invalid_auth_and_missing_token_not_authed(
    slack: RunningSlackStandin,
) -> None:
    await expect_error(
        AsyncWebClient(token="xoxb-nope", base_url=slack.api_url).auth_test(), "invalid_auth"
    )
    await expect_error(AsyncWebClient(base_url=slack.api_url).auth_test(), "not_authed")


async def test_second_team_has_its_own_token_and_users() -> None:
    with running_slack_standin(
        teams={"T0001": "xoxb-one", "T0002": "xoxb-two"},
        users=[{"id": "U9", "team_id": "T0002", "name": "zoe", "is_admin": True}],
    ) as slack:
        two = AsyncWebClient(token="xoxb-two", base_url=slack.api_url)
        assert (await two.auth_test())["team_id"] == "T0002"
        assert (await two.users_info(user="U9"))["user"]["is_admin"] is True
        one = AsyncWebClient(token="xoxb-one", base_url=slack.api_url)
        await expect_error(one.users_info(user="U9"), "user_not_found")


async def test_users_info_gives_admin_flags_timezone_and_profile(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    slack.add_user("T0001", "U0042", "kim", real_name="Kim Lee", tz="America/New_York")
    owner = (await client.users_info(user="U0001"))["user"]
    assert owner["is_admin"] and owner["is_owner"] and owner["is_primary_owner"]
    member = (await client.users_info(user="U0042"))["user"]
    assert (member["is_admin"], member["is_owner"], member["is_primary_owner"]) == (
        False,
        False,
        False,
    )
    assert member["tz"] == "America/New_York"
    assert member["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert member["profile"]["real_name"] == "Kim Lee"
    assert member["profile"]["display_name"] == "kim"
    await expect_error(client.users_info(user="U404"), "user_not_found")


async def test_auth_revoke_makes_the_token_unusable(client: AsyncWebClient) -> None:
    assert (await client.auth_revoke(test=True))["revoked"] is False
    assert (await client.auth_revoke())["revoked"] is True
    await expect_error(client.auth_test(), "token_revoked")


async def test_unknown_method_is_reported(client: AsyncWebClient) -> None:
    await expect_error(client.api_call("pins.add", json={"channel": "C0001"}), "unknown_method")


# ---------------------------------------------------------------- messages


async def test_post_message_answers_like_slack_and_records_json_params(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]
    answer = await client.chat_postMessage(channel="C0001", text="Hi", blocks=blocks)
    assert answer["channel"] == "C0001"
    message = answer["message"]
    assert message["ts"] == answer["ts"]
    assert message["bot_id"] == "BBOT0001"
    assert message["blocks"][0]["block_id"]  # Slack fills in block ids
    call = slack.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks
    assert call.ok
    stored = slack.message("C0001", answer["ts"])
    assert stored is not None and stored.text == "Hi"


async def test_post_message_channel_rules(slack: RunningSlackStandin) -> None:
    client = wide_client(slack)
    await expect_error(client.chat_postMessage(channel="C9999", text="x"), "channel_not_found")
    await expect_error(client.chat_postMessage(channel="C0002", text="x"), "not_in_channel")
    # A private channel the bot is not in does not exist for it.
    await expect_error(client.chat_postMessage(channel="G0003", text="x"), "channel_not_found")
    joined = await client.conversations_join(channel="C0002")
    assert joined["channel"]["is_member"] is True
    assert (await client.chat_postMessage(channel="C0002", text="x"))["ok"]
    assert (await client.chat_postMessage(channel="#general", text="x"))["channel"] == "C0001"
    dm = await client.chat_postMessage(channel="U0001", text="psst")
    assert dm["channel"] == "D0001"


async def test_chat_write_public_posts_without_joining() -> None:
    with running_slack_standin(chat_write_public=True) as slack:
        slack.add_channel("T0001", "C0100", "random", bot_is_member=False)
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)
        assert (await client.chat_postMessage(channel="C0100", text="hello"))["ok"]


async def test_post_message_checks_content(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    await expect_error(client.api_call("chat.postMessage", json={"channel": "C0001"}), "no_text")
    too_long_header = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    error = await expect_error(
        client.chat_postMessage(channel="C0001", text="x", blocks=too_long_header),
        "invalid_blocks",
    )
    assert "/blocks/0/text" in error.response["response_metadata"]["messages"][0]
    many = [{"type": "divider"}] * 51
    await expect_error(
        client.chat_postMessage(channel="C0001", text="x", blocks=many), "invalid_blocks"
    )
    await expect_error(client.chat_postMessage(channel="C0001", text="x" * 40_001), "msg_too_long")


async def test_form_encoded_blocks_are_decoded(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    blocks = [{"type": "divider"}]
    answer = await client.api_call(
        "chat.postMessage",
        data={"channel": "C0001", "text": "form", "blocks": json.dumps(blocks)},
    )
    assert answer["message"]["blocks"][0]["type"] == "divider"
    assert slack.calls_to("chat.postMessage")[0].params["blocks"] == blocks


async def test_ephemeral_update_delete_and_permalink(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C0001", user="U0001", text="only you")
    stored = slack.message("C0001", ephemeral["message_ts"])
    assert stored is not None and stored.ephemeral_for == "U0001"
    # Ephemeral messages cannot be edited through chat.update.
    await expect_error(
        client.chat_update(channel="C0001", ts=ephemeral["message_ts"], text="no"),
        "message_not_found",
    )
    await expect_error(
        client.chat_postEphemeral(channel="C0001", user="U404", text="x"), "user_not_found"
    )
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "v1"}}]
    posted = await client.chat_postMessage(channel="C0001", text="v1", blocks=blocks)
    updated = await client.chat_update(channel="C0001", ts=posted["ts"], text="v2")
    assert updated["text"] == "v2"
    assert updated["message"]["blocks"][0]["text"]["text"] == "v1"  # blocks kept
    link = await client.chat_getPermalink(channel="C0001", message_ts=posted["ts"])
    assert link["permalink"].endswith(posted["ts"].replace(".", ""))
    assert (await client.chat_delete(channel="C0001", ts=posted["ts"]))["ts"] == posted["ts"]
    await expect_error(client.chat_delete(channel="C0001", ts=posted["ts"]), "message_not_found")
    await expect_error(
        client.chat_getPermalink(channel="C0001", message_ts=posted["ts"]), "message_not_found"
    )


async def test_conversations_info_and_join_rules(slack: RunningSlackStandin) -> None:
    client = wide_client(slack)
    info = (await client.conversations_info(channel="C0002"))["channel"]
    assert (info["name"], info["is_member"], info["is_private"]) == ("sales", False, False)
    await expect_error(client.conversations_info(channel="C404"), "channel_not_found")
    await expect_error(client.conversations_join(channel="G0003"), "channel_not_found")
    await client.conversations_join(channel="C0002")
    again = await client.conversations_join(channel="C0002")
    assert again["warning"] == "already_in_channel"


# ---------------------------------------------------------------- response URLs


async def test_response_url_posts_replace_and_delete(slack: RunningSlackStandin) -> None:
    original = slack.add_message("T0001", "C0001", text="pick one")
    url = slack.new_response_url("T0001", "C0001", "U0001", message_ts=original.ts)
    webhook = AsyncWebhookClient(url)
    assert (await webhook.send(text="working...")).status_code == 200
    posted = slack.calls_to("response_url")[0]
    assert posted.params == {"text": "working..."}
    assert posted.effect is not None and posted.effect.action == "posted"
    assert posted.effect.ephemeral_for == "U0001"  # ephemeral unless in_channel
    new_ts = posted.effect.ts
    assert new_ts is not None
    await webhook.send(text="done", replace_original=True)
    replaced = slack.calls_to("response_url")[1].effect
    assert replaced is not None
    assert (replaced.action, replaced.ts) == ("replaced", new_ts)
    stored = slack.message("C0001", new_ts)
    assert stored is not None and stored.text == "done"
    await webhook.send_dict({"delete_original": True})
    deleted = slack.calls_to("response_url")[2].effect
    assert deleted is not None and deleted.action == "deleted"
    await webhook.send(text="for all", response_type="in_channel")
    public = slack.calls_to("response_url")[3].effect
    assert public is not None and public.ephemeral_for is None


async def test_response_url_replace_original_targets_the_pressed_message(
    slack: RunningSlackStandin,
) -> None:
    original = slack.add_message("T0001", "C0001", text="pick one")
    url = slack.new_response_url("T0001", "C0001", "U0001", message_ts=original.ts)
    await AsyncWebhookClient(url).send(text="picked", replace_original=True)
    stored = slack.message("C0001", original.ts)
    assert stored is not None and (stored.text, stored.edited) == ("picked", True)


async def test_response_url_takes_five_posts(slack: RunningSlackStandin) -> None:
    webhook = AsyncWebhookClient(slack.new_response_url("T0001", "C0001", "U0001"))
    statuses = [(await webhook.send(text=f"post {n}")).status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 404]
    assert slack.calls_to("response_url")[-1].error == "used_url"


async def test_response_url_rejects_empty_messages(slack: RunningSlackStandin) -> None:
    webhook = AsyncWebhookClient(slack.new_response_url("T0001", "C0001", "U0001"))
    assert (await webhook.send_dict({"response_type": "ephemeral"})).status_code == 400
    assert slack.calls_to("response_url")[0].error == "no_text"
    assert (await webhook.send_dict({})).status_code == 400  # the client sends "null"
    assert slack.calls_to("response_url")[1].error == "invalid_payload"


# ---------------------------------------------------------------- faults and latency


async def test_rate_limit_fault_answers_429_with_retry_after(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    error = await expect_error(client.chat_postMessage(channel="C0001", text="x"), "ratelimited")
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert (await client.chat_postMessage(channel="C0001", text="x"))["ok"]


async def test_retry_handler_honours_retry_after(slack: RunningSlackStandin) -> None:
    client = AsyncWebClient(
        token=DEFAULT_BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    assert (await client.chat_postMessage(channel="C0001", text="x"))["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


async def test_server_error_and_error_code_faults(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    slack.fail_next("users.info", status=503)
    error = await expect_error(client.users_info(user="U0001"), "fatal_error")
    assert error.response.status_code == 503
    slack.fail_next("chat.postMessage", error="not_in_channel", count=2)
    for _ in range(2):
        await expect_error(client.chat_postMessage(channel="C0001", text="x"), "not_in_channel")
    assert (await client.chat_postMessage(channel="C0001", text="x"))["ok"]
    with pytest.raises(ValueError):
        slack.fail_next("chat.postMessage", status=404)


async def test_latency_holds_the_answer(slack: RunningSlackStandin, client: AsyncWebClient) -> None:
    slack.latency = 0.3
    pending = asyncio.ensure_future(client.auth_test())
    while slack.requests_in_flight == 0:
        await asyncio.sleep(0.01)
    assert slack.calls_to("auth.test") == []
    assert (await pending)["ok"]
    assert slack.requests_in_flight == 0
    assert len(slack.calls_to("auth.test")) == 1


async def test_wait_for_finds_calls_and_times_out(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C0001", text="second")

    await client.chat_postMessage(channel="C0001", text="first")
    task = asyncio.ensure_future(later())
    call = await slack.wait_for("chat.postMessage", lambda c: c.params["text"] == "second")
    assert call.params["text"] == "second"
    await task
    with pytest.raises(TimeoutError, match=r"views\.open"):
        await slack.wait_for("views.open", timeout=0.05)
    found = await asyncio.to_thread(slack.wait_for_sync, "chat.postMessage", None, 1.0)
    assert found.params["text"] == "first"
    with pytest.raises(TimeoutError):
        await asyncio.to_thread(slack.wait_for_sync, "views.open", None, 0.05)


# ---------------------------------------------------------------- views


async def test_views_open_needs_a_fresh_minted_trigger(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    await expect_error(
        client.views_open(trigger_id="123.456.abc", view=MODAL), "invalid_trigger_id"
    )
    trigger = slack.new_trigger_id("T0001", "U0001")
    opened = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]
    assert opened["id"].startswith("V")
    assert opened["root_view_id"] == opened["id"]
    assert opened["state"] == {"values": {}}
    assert opened["hash"]
    assert slack.views[opened["id"]]["callback_id"] == "new_customer"
    assert [v["id"] for v in slack.modal_stack("T0001", "U0001")] == [opened["id"]]
    await expect_error(client.views_open(trigger_id=trigger, view=MODAL), "exchanged_trigger_id")


async def test_trigger_ids_expire() -> None:
    with running_slack_standin(trigger_ttl=0.05) as slack:
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)
        trigger = slack.new_trigger_id()
        await asyncio.sleep(0.1)
        await expect_error(client.views_open(trigger_id=trigger, view=MODAL), "expired_trigger_id")


async def test_default_trigger_ttl_is_three_seconds(slack: RunningSlackStandin) -> None:
    assert slack.trigger_ttl == 3.0


async def test_views_are_validated(slack: RunningSlackStandin, client: AsyncWebClient) -> None:
    error = await expect_error(
        client.views_open(trigger_id=slack.new_trigger_id(), view=modal("x" * 25)),
        "invalid_arguments",
    )
    assert any("/view/title" in m for m in error.response["response_metadata"]["messages"])
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    await expect_error(
        client.views_open(trigger_id=slack.new_trigger_id(), view=no_submit), "invalid_arguments"
    )
    too_many = modal(blocks=[{"type": "divider"}] * 101)
    await expect_error(
        client.views_open(trigger_id=slack.new_trigger_id(), view=too_many), "invalid_arguments"
    )
    # A failed open does not use up the trigger.
    trigger = slack.new_trigger_id()
    await expect_error(
        client.views_open(trigger_id=trigger, view=modal(private_metadata="x" * 3001)),
        "invalid_arguments",
    )
    assert (await client.views_open(trigger_id=trigger, view=MODAL))["ok"]


async def test_views_update_by_id_external_id_and_hash(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    opened = (
        await client.views_open(trigger_id=slack.new_trigger_id(), view=modal(external_id="form-1"))
    )["view"]
    updated = (await client.views_update(view_id=opened["id"], view=modal("Loaded")))["view"]
    assert updated["id"] == opened["id"]
    assert updated["title"]["text"] == "Loaded"
    assert updated["hash"] != opened["hash"]
    await expect_error(
        client.views_update(view_id=opened["id"], view=modal("Stale"), hash=opened["hash"]),
        "hash_conflict",
    )
    by_external = await client.views_update(
        external_id="form-1", view=modal("Again", external_id="form-1"), hash=updated["hash"]
    )
    assert by_external["view"]["title"]["text"] == "Again"
    await expect_error(client.views_update(view_id="V404", view=MODAL), "not_found")


async def test_views_push_stacks_up_to_three(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    root = (await client.views_open(trigger_id=slack.new_trigger_id(), view=MODAL))["view"]
    second = (await client.views_push(trigger_id=slack.new_trigger_id(), view=modal("Two")))["view"]
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])
    await client.views_push(trigger_id=slack.new_trigger_id(), view=modal("Three"))
    await expect_error(
        client.views_push(trigger_id=slack.new_trigger_id(), view=modal("Four")),
        "push_limit_reached",
    )
    assert [v["title"]["text"] for v in slack.modal_stack("T0001", "U0001")] == [
        "New customer",
        "Two",
        "Three",
    ]
    slack.close_view(second["id"])
    assert [v["id"] for v in slack.modal_stack("T0001", "U0001")] == [root["id"]]
    # A closed view can no longer be updated.
    await expect_error(client.views_update(view_id=second["id"], view=MODAL), "not_found")


async def test_views_publish_keeps_one_home_view_per_user(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "1"}}],
    }
    first = (await client.views_publish(user_id="U0001", view=home))["view"]
    second = (await client.views_publish(user_id="U0001", view=home))["view"]
    assert first["id"] == second["id"]
    assert first["type"] == "home"
    home_view = slack.home_view("T0001", "U0001")
    assert home_view is not None and home_view["hash"] == second["hash"]
    assert slack.home_view("T0001", "U0001M") is None
    await expect_error(client.views_publish(user_id="U404", view=home), "user_not_found")
    await expect_error(client.views_publish(user_id="U0001", view=MODAL), "invalid_arguments")


async def test_shell_side_view_operations_validate(slack: RunningSlackStandin) -> None:
    with pytest.raises(StandinError) as caught:
        slack.push_view("T0001", "U0001", MODAL)
    assert caught.value.error == "not_found"
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)
    opened = (await client.views_open(trigger_id=slack.new_trigger_id(), view=MODAL))["view"]
    with pytest.raises(StandinError):
        slack.replace_view(opened["id"], modal("x" * 30))
    assert slack.replace_view(opened["id"], modal("Fine"))["title"]["text"] == "Fine"
    slack.clear_views("T0001", "U0001")
    assert slack.modal_stack("T0001", "U0001") == []


# ---------------------------------------------------------------- OAuth

# slack_sdk's oauth_v2_access uses aiohttp.BasicAuth, which aiohttp 3.14 deprecates.
aiohttp_basic_auth_deprecation = pytest.mark.filterwarnings(
    "ignore:BasicAuth is deprecated:DeprecationWarning"
)


@aiohttp_basic_auth_deprecation
async def test_oauth_install_and_token_rotation(slack: RunningSlackStandin) -> None:
    client = AsyncWebClient(base_url=slack.api_url)
    code = slack.new_oauth_code("T0001", token_rotation=True)
    installed = await client.oauth_v2_access(
        client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, code=code
    )
    assert installed["team"]["id"] == "T0001"
    assert installed["token_type"] == "bot"
    assert installed["expires_in"] == 43200
    access = installed["access_token"]
    assert access.startswith("xoxe.xoxb-")
    assert (await AsyncWebClient(token=access, base_url=slack.api_url).auth_test())["ok"]
    await expect_error(
        client.oauth_v2_access(
            client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, code=code
        ),
        "invalid_code",
    )
    refreshed = await client.oauth_v2_access(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=installed["refresh_token"],
    )
    assert refreshed["access_token"] != access
    assert refreshed["refresh_token"] != installed["refresh_token"]
    # Refresh tokens are single use.
    await expect_error(
        client.oauth_v2_access(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=installed["refresh_token"],
        ),
        "invalid_refresh_token",
    )
    call = slack.calls_to("oauth.v2.access")[0]
    assert "code" not in call.params and call.team_id == "T0001"
    slack.expire_token(access)
    await expect_error(
        AsyncWebClient(token=access, base_url=slack.api_url).auth_test(), "token_expired"
    )


@aiohttp_basic_auth_deprecation
async def test_oauth_checks_client_credentials_and_takes_a_scripted_answer(
    slack: RunningSlackStandin,
) -> None:
    client = AsyncWebClient(base_url=slack.api_url)
    code = slack.new_oauth_code("T0001", response={"team": {"id": "T0001"}, "scope": "x"})
    await expect_error(
        client.oauth_v2_access(client_id=DEFAULT_CLIENT_ID, client_secret="wrong", code=code),
        "bad_client_secret",
    )
    await expect_error(
        client.oauth_v2_access(client_id="1.1", client_secret=DEFAULT_CLIENT_SECRET, code=code),
        "invalid_client_id",
    )
    answer = await client.oauth_v2_access(
        client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, code=code
    )
    assert answer.data == {"ok": True, "team": {"id": "T0001"}, "scope": "x"}


# ---------------------------------------------------------------- server


def test_server_stops_cleanly() -> None:
    with running_slack_standin() as slack:
        url = slack.api_url

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.post(url + "auth.test")

    asyncio.run(probe())


# ---------------------------------------------------------------- as strict as Slack


def button(**fields: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, **fields}


def actions(*elements: dict[str, Any], block_id: str = "b1") -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def option(text: str, value: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"text": {"type": kind, "text": text}, "value": value}


def pointers(error: SlackApiError) -> list[str]:
    messages = error.response["response_metadata"]["messages"]
    return [m.split("[json-pointer:", 1)[1].rstrip("]") for m in messages]


REJECTED_BLOCKS: dict[str, tuple[list[dict[str, Any]], str]] = {
    # slack_sdk drops an empty value; sent as such, Slack refuses it.
    "empty button value": (
        [actions(button(action_id="a", value=""))],
        "/blocks/0/elements/0/value",
    ),
    "mrkdwn button text": (
        [actions({"type": "button", "action_id": "a", "text": {"type": "mrkdwn", "text": "*Go*"}})],
        "/blocks/0/elements/0/text/type",
    ),
    "long button text": (
        [
            actions(
                {
                    "type": "button",
                    "action_id": "a",
                    "text": {"type": "plain_text", "text": "x" * 76},
                }
            )
        ],
        "/blocks/0/elements/0/text/text",
    ),
    "long button value": (
        [actions(button(action_id="a", value="v" * 2001))],
        "/blocks/0/elements/0/value",
    ),
    "long action_id": ([actions(button(action_id="a" * 256))], "/blocks/0/elements/0/action_id"),
    "long block_id": ([actions(button(action_id="a"), block_id="b" * 256)], "/blocks/0/block_id"),
    "duplicate action_id": (
        [actions(button(action_id="a", value="1"), button(action_id="a", value="2"))],
        "/blocks/0/elements/1/action_id",
    ),
    "duplicate block_id": (
        [
            actions(button(action_id="a"), block_id="x"),
            actions(button(action_id="b"), block_id="x"),
        ],
        "/blocks/1/block_id",
    ),
    "mrkdwn header": (
        [{"type": "header", "text": {"type": "mrkdwn", "text": "*Hi*"}}],
        "/blocks/0/text/type",
    ),
    "long section text": (
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        "/blocks/0/text/text",
    ),
    "mrkdwn overflow option": (
        [
            actions(
                {"type": "overflow", "action_id": "m", "options": [option("*x*", "1", "mrkdwn")]}
            )
        ],
        "/blocks/0/elements/0/options/0/text/type",
    ),
    "empty option value": (
        [actions({"type": "overflow", "action_id": "m", "options": [option("x", "")]})],
        "/blocks/0/elements/0/options/0/value",
    ),
    "initial option not among the options": (
        [
            actions(
                {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [option("One", "1"), option("Two", "2")],
                    "initial_option": option("Three", "3"),
                }
            )
        ],
        "/blocks/0/elements/0",
    ),
    "static select without options": (
        [actions({"type": "static_select", "action_id": "s", "options": []})],
        "/blocks/0/elements/0/options",
    ),
    "101 options": (
        [
            actions(
                {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [option(str(n), str(n)) for n in range(101)],
                }
            )
        ],
        "/blocks/0/elements/0/options",
    ),
}


@pytest.mark.parametrize("case", list(REJECTED_BLOCKS))
async def test_messages_slack_would_refuse_are_refused_with_slacks_error_shape(
    case: str, slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    blocks, pointer = REJECTED_BLOCKS[case]
    error = await expect_error(
        client.chat_postMessage(channel="C0001", text="x", blocks=blocks), "invalid_blocks"
    )
    assert pointer in pointers(error)
    # The same blocks through a response_url: HTTP 400, nothing posted.
    webhook = AsyncWebhookClient(slack.new_response_url("T0001", "C0001", "U0001"))
    assert (await webhook.send(text="x", blocks=blocks)).status_code == 400
    assert slack.calls_to("response_url")[-1].error == "invalid_blocks"


async def test_what_slack_accepts_still_passes(client: AsyncWebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}},
        actions(
            button(action_id="no_value"),
            button(action_id="long", value="v" * 2000),
            {
                "type": "static_select",
                "action_id": "s",
                "options": [option("One", "1"), option("Two", "2")],
                "initial_option": option("Two", "2"),
            },
            {
                "type": "checkboxes",
                "action_id": "c",
                "options": [option("*bold* is fine here", "on", "mrkdwn")],
                "initial_options": [option("*bold* is fine here", "on", "mrkdwn")],
            },
            # The same action_id in another block is allowed.
        ),
        actions(button(action_id="no_value"), block_id="b2"),
    ]
    assert (await client.chat_postMessage(channel="C0001", text="x", blocks=blocks))["ok"]


async def test_modal_text_must_be_plain_and_views_count_their_blocks(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    for key in ("title", "submit", "close"):
        view = {**MODAL, key: {"type": "mrkdwn", "text": "*Save*"}}
        error = await expect_error(
            client.views_open(trigger_id=slack.new_trigger_id(), view=view), "invalid_arguments"
        )
        assert f"/view/{key}/type" in pointers(error)
    label = {
        **MODAL,
        "blocks": [{**MODAL["blocks"][0], "label": {"type": "mrkdwn", "text": "*Company*"}}],
    }
    error = await expect_error(
        client.views_open(trigger_id=slack.new_trigger_id(), view=label), "invalid_arguments"
    )
    assert "/view/blocks/0/label/type" in pointers(error)
    home = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    error = await expect_error(
        client.views_publish(user_id="U0001", view=home), "invalid_arguments"
    )
    assert "/view/blocks" in pointers(error)
    home["blocks"] = [{"type": "divider"}] * 100
    assert (await client.views_publish(user_id="U0001", view=home))["ok"]


def test_default_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    granted = manifest["oauth_config"]["scopes"]["bot"]
    assert DEFAULT_BOT_SCOPES.split(",") == granted


async def test_methods_needing_a_scope_the_manifest_lacks_answer_missing_scope(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    error = await expect_error(client.team_info(), "missing_scope")
    assert error.response["needed"] == "team:read"
    assert error.response["provided"] == DEFAULT_BOT_SCOPES
    error = await expect_error(client.conversations_info(channel="D0001"), "missing_scope")
    assert error.response["needed"] == "im:read"
    # What the manifest grants works.
    assert (await client.chat_postMessage(channel="C0001", text="x"))["ok"]
    assert (await client.users_info(user="U0001"))["ok"]
    narrow = "xoxb-commands-only"
    slack.add_team("T0001", narrow, scopes="commands")
    narrow_client = AsyncWebClient(token=narrow, base_url=slack.api_url)
    error = await expect_error(
        narrow_client.chat_postMessage(channel="C0001", text="x"), "missing_scope"
    )
    assert (error.response["needed"], error.response["provided"]) == ("chat:write", "commands")


async def test_enterprise_grid_workspaces_answer_with_their_enterprise() -> None:
    with running_slack_standin(
        teams={"T0001": "xoxb-plain", "T0005": "xoxb-grid"}, enterprises={"T0005": "E0001"}
    ) as slack:
        assert slack.enterprise_of("T0001") is None
        assert slack.enterprise_of("T0005") == {"id": "E0001", "name": "Organisation E0001"}
        grid = AsyncWebClient(token="xoxb-grid", base_url=slack.api_url)
        answer = await grid.auth_test()
        assert (answer["team_id"], answer["enterprise_id"]) == ("T0005", "E0001")
        assert answer["is_enterprise_install"] is False
        plain = await AsyncWebClient(token="xoxb-plain", base_url=slack.api_url).auth_test()
        assert "enterprise_id" not in plain


@aiohttp_basic_auth_deprecation
async def test_oauth_answers_grid_and_org_wide_installs_as_slack_does() -> None:
    with running_slack_standin(
        teams={"T0005": "xoxb-grid"}, enterprises={"T0005": "E0001"}
    ) as slack:
        client = AsyncWebClient(base_url=slack.api_url)
        credentials = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
        workspace = await client.oauth_v2_access(code=slack.new_oauth_code("T0005"), **credentials)
        assert workspace["team"] == {"id": "T0005", "name": "Workspace T0005"}
        assert workspace["enterprise"] == {"id": "E0001", "name": "Organisation E0001"}
        assert workspace["is_enterprise_install"] is False

        org = await client.oauth_v2_access(
            code=slack.new_oauth_code("T0005", org_wide=True), **credentials
        )
        assert org["team"] is None
        assert org["enterprise"]["id"] == "E0001"
        assert org["is_enterprise_install"] is True
        org_auth = await AsyncWebClient(
            token=org["access_token"], base_url=slack.api_url
        ).auth_test()
        assert (org_auth["team_id"], org_auth["is_enterprise_install"]) == ("E0001", True)
        slack.add_team("T0006", "xoxb-alone")
        with pytest.raises(ValueError, match="no enterprise"):
            slack.new_oauth_code("T0006", org_wide=True)


# ---------------------------------------------------------------- channel members and lists


async def test_conversations_members_pages_by_cursor_and_hides_private_channels(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    slack.add_channel("T0001", "C0TEAM", "team")
    slack.add_channel_members("T0001", "C0TEAM", "U0001", "U0001M")
    first = await client.conversations_members(channel="C0TEAM", limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    assert len(first["members"]) == 2 and cursor
    rest = await client.conversations_members(channel="C0TEAM", limit=2, cursor=cursor)
    assert rest["response_metadata"]["next_cursor"] == ""
    assert set(first["members"] + rest["members"]) == {"U0001", "U0001M", "UBOT0001"}
    # #general has everyone; a channel is asked for by id, never by name.
    general = await client.conversations_members(channel="C0001")
    assert {"U0001", "U0001M"} <= set(general["members"])
    await expect_error(client.conversations_members(channel="#team"), "channel_not_found")
    slack.add_channel("T0001", "G0SECRET", "secret", bot_is_member=False, is_private=True)
    await expect_error(client.conversations_members(channel="G0SECRET"), "channel_not_found")
    await expect_error(client.conversations_members(channel="C0TEAM", limit=0), "invalid_limit")


async def test_conversations_list_shows_public_channels_and_private_ones_with_the_bot(
    slack: RunningSlackStandin, client: AsyncWebClient
) -> None:
    slack.add_channel("T0001", "C0OUT", "outside", bot_is_member=False)
    slack.add_channel("T0001", "G0IN", "inside", is_private=True)
    slack.add_channel("T0001", "G0HIDDEN", "hidden", bot_is_member=False, is_private=True)
    public = await client.conversations_list()
    assert {c["name"] for c in public["channels"]} >= {"general", "outside"}
    assert "inside" not in {c["name"] for c in public["channels"]}
    both = await client.conversations_list(types="public_channel,private_channel", limit=1000)
    names = {c["name"] for c in both["channels"]}
    assert "inside" in names and "hidden" not in names
    await expect_error(client.conversations_list(types="nonsense"), "invalid_types")
