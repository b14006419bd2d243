"""The connect form's credential check must not work as a port scanner: one answer, after
one minimum time, for every failure short of PMP refusing the token."""

from __future__ import annotations

import httpx
import pytest

from bot.connect import (
    CONNECT_FAILED,
    TOKEN_REFUSED,
    ClientFactory,
    PmpUrlError,
    check_pmp_credentials,
    normalize_pmp_url,
)
from bot.pmp import PmpClient
from tests.pmp.conftest import NO_DATA, ROOT, TOKEN, FakePmp, html_response, json_response

FAILURES = [
    httpx.ConnectError("connection refused"),
    httpx.ConnectTimeout("no answer"),
    httpx.ReadTimeout("slow"),
    html_response(404),
    html_response(401),
    json_response(200, {"service": "internal", "version": 3}),
    json_response(404, {"status": False, "message": "Route not found"}),
    httpx.Response(301, headers={"location": "https://intranet.corp.example/login"}),
]


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def factory_for(fake: FakePmp) -> ClientFactory:
    def make(base_url: str, token: str, timeout: float) -> PmpClient:
        return PmpClient(
            base_url=base_url,
            token=token,
            timeout=timeout,
            max_retries=0,
            transport=httpx.MockTransport(fake),
        )

    return make


async def test_every_failure_but_a_refused_token_is_one_answer_after_one_minimum_time() -> None:
    sleeps = Sleeps()
    answers = set()
    for failure in FAILURES:
        result = await check_pmp_credentials(
            ROOT,
            TOKEN,
            client_factory=factory_for(FakePmp(failure)),
            timeout=2.0,
            min_failure_seconds=2.0,
            sleep=sleeps,
        )
        assert result.token_error is None
        assert result.detail and TOKEN not in result.detail  # what happened, for the log
        answers.add(result.url_error)
    assert answers == {CONNECT_FAILED}
    assert "intranet" not in CONNECT_FAILED
    # Each failure waited out the rest of the same minimum time before answering.
    assert len(sleeps) == len(FAILURES)
    assert all(0 < seconds <= 2.0 for seconds in sleeps)


async def test_a_token_pmp_refuses_is_named_and_a_good_one_passes() -> None:
    sleeps = Sleeps()
    refused = FakePmp(json_response(404, {"status": False, "message": "Token is not defined."}))
    result = await check_pmp_credentials(
        ROOT,
        "wrong",
        client_factory=factory_for(refused),
        min_failure_seconds=2.0,
        sleep=sleeps,
    )
    assert (result.url_error, result.token_error) == (None, TOKEN_REFUSED)
    accepted = await check_pmp_credentials(
        ROOT,
        TOKEN,
        client_factory=factory_for(FakePmp(json_response(404, NO_DATA))),
        min_failure_seconds=2.0,
        sleep=sleeps,
    )
    assert accepted.ok and accepted.pmp_url == ROOT
    assert sleeps == []  # only failures that could tell addresses apart wait


@pytest.mark.parametrize("typed", ["http://crm.example.com", "HTTP://crm.example.com/api"])
def test_https_can_be_required(typed: str) -> None:
    assert normalize_pmp_url(typed) == "http://crm.example.com"
    with pytest.raises(PmpUrlError, match="must start with https://"):
        normalize_pmp_url(typed, require_https=True)
    assert normalize_pmp_url("crm.example.com", require_https=True) == "https://crm.example.com"
