"""The Prometheus metrics: what each event counts, and that labels never carry a workspace,
user, channel or token."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import Metrics, request_outcome

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(metrics: Metrics, connected: int = 0) -> Samples:
    async def count() -> int:
        return connected

    page = (await metrics.render(count)).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (401, "bad_signature"),
        (404, "not_handled"),
        (400, "refused"),
        (413, "refused"),
        (503, "unavailable"),
        (500, "error"),
        (None, "error"),
    ],
)
def test_outcomes(status: int | None, outcome: str) -> None:
    assert request_outcome(status) == outcome


async def test_requests_are_counted_by_kind_and_outcome_with_their_ack_time() -> None:
    metrics = Metrics()
    metrics.request_answered("command", 200, 0.02)
    metrics.request_answered("command", 200, 4.0)
    metrics.request_answered("-", 401, 0.001)  # refused before anyone read its kind
    metrics.request_answered("interactive_message", 200, 0.01)  # a kind pmp-bot has no use for
    samples = await scrape(metrics)
    assert samples[("pmp_bot_slack_requests_total", (("kind", "command"), ("outcome", "ok")))] == 2
    other_refused = (("kind", "other"), ("outcome", "bad_signature"))
    assert samples[("pmp_bot_slack_requests_total", other_refused)] == 1
    assert samples[("pmp_bot_slack_requests_total", (("kind", "other"), ("outcome", "ok")))] == 1
    assert samples[("pmp_bot_slack_ack_seconds_count", (("kind", "command"),))] == 2
    within_3s = (("kind", "command"), ("le", "3.0"))
    assert samples[("pmp_bot_slack_ack_seconds_bucket", within_3s)] == 1
    # Every series exists before its first event, so a dashboard shows 0, not "no data".
    untouched = (("kind", "view_submission"), ("outcome", "error"))
    assert samples[("pmp_bot_slack_requests_total", untouched)] == 0


async def test_pmp_requests_are_counted_by_status_and_timed() -> None:
    metrics = Metrics()

    def pmp(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("slow", request=request)
        if request.url.path == "/down":
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(404 if request.url.path == "/missing" else 200)

    transport = metrics.measured_transport(lambda: httpx.MockTransport(pmp))()
    async with httpx.AsyncClient(transport=transport, base_url="https://crm.example.com") as http:
        await http.get("/ok")
        await http.get("/ok")
        await http.get("/missing")
        for path in ("/slow", "/down"):
            with pytest.raises(httpx.TransportError):
                await http.get(path)
    samples = await scrape(metrics)
    assert samples[("pmp_bot_pmp_requests_total", (("status", "200"),))] == 2
    assert samples[("pmp_bot_pmp_requests_total", (("status", "404"),))] == 1
    assert samples[("pmp_bot_pmp_requests_total", (("status", "timeout"),))] == 1
    assert samples[("pmp_bot_pmp_requests_total", (("status", "unreachable"),))] == 1
    assert samples[("pmp_bot_pmp_request_seconds_count", ())] == 5


def _slack_error(code: str) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=200,
    )
    return SlackApiError(code, response)


async def test_connected_workspaces_are_read_at_each_scrape_and_kept_when_that_fails() -> None:
    metrics = Metrics()
    assert (await scrape(metrics, connected=3))[("pmp_bot_workspaces_connected", ())] == 3

    async def database_away() -> int:
        raise OSError("database away")

    page = (await metrics.render(database_away)).decode()
    assert "pmp_bot_workspaces_connected 3.0" in page


async def test_two_bots_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.request_answered("command", 200, 0.01)
    samples = await scrape(second)
    assert samples[("pmp_bot_slack_requests_total", (("kind", "command"), ("outcome", "ok")))] == 0
