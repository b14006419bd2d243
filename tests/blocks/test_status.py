"""`/pmp status`: the connection, its last successful call and its last failed one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.connect import build_status
from bot.connect import ConnectionStatus

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def status_text(status: ConnectionStatus) -> str:
    return "\n".join(json.dumps(block.to_dict()) for block in build_status(status))


def connected(**fields: object) -> ConnectionStatus:
    return ConnectionStatus(
        connected=True, pmp_url="https://crm.example.com", connected_by="U1", **fields
    )


def test_green_while_the_last_call_worked() -> None:
    text = status_text(connected(last_success_at=T0))
    assert ":large_green_circle:" in text
    assert "Last successful PMP call" in text
    assert "failed" not in text


def test_red_with_what_failed_and_when_once_the_last_call_failed() -> None:
    failed = T0 + timedelta(minutes=3)
    text = status_text(
        connected(last_success_at=T0, last_failure_at=failed, last_failure="PMP answered HTTP 500")
    )
    assert ":red_circle:" in text and ":large_green_circle:" not in text
    assert "but its last call failed" in text
    assert "Last failed PMP call" in text and "PMP answered HTTP 500" in text
    assert failed.strftime("%Y-%m-%d %H:%M") in text  # the fallback of Slack's date
    assert "Last successful PMP call" in text  # next to the last success


def test_a_failure_with_no_success_yet_is_red() -> None:
    text = status_text(connected(last_failure_at=T0, last_failure="PMP couldn't be reached"))
    assert ":red_circle:" in text
    assert "No successful PMP call yet." in text


def test_green_again_after_a_success_but_the_last_failure_stays_in_view() -> None:
    text = status_text(
        connected(
            last_success_at=T0 + timedelta(minutes=1),
            last_failure_at=T0,
            last_failure="PMP didn't answer within 10 s",
        )
    )
    assert ":large_green_circle:" in text and ":red_circle:" not in text
    assert "Last failed PMP call" in text and "within 10 s" in text


def test_the_failure_text_is_escaped() -> None:
    text = status_text(connected(last_failure_at=T0, last_failure="<!channel> & <@U1>"))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
