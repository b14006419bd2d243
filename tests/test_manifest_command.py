"""`pmp-bot manifest`: its output is a manifest Slack's schema accepts, with the PMP's domains
and the server's addresses filled in, and its handlers in step (tests/test_manifest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.run.manifest import PLACEHOLDER_URL

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(
    (ROOT / "tests" / "data" / "slack" / "manifest.schema.1.0.0.json").read_text("utf-8")
)


def manifest_from(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, dict[str, Any]]:
    assert main(["manifest", *args]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    jsonschema.validate(data, SCHEMA)
    return text, data


def test_http_manifest_names_the_pmp_domain_and_the_servers_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, data = manifest_from(
        capsys, "--pmp-domain", "crm.example.com", "--url", "https://bot.example.com/"
    )
    assert PLACEHOLDER_URL not in text
    assert data["features"]["unfurl_domains"] == ["crm.example.com"]
    events = "https://bot.example.com/slack/events"
    assert data["features"]["slash_commands"][0]["url"] == events
    assert data["settings"]["event_subscriptions"]["request_url"] == events
    assert data["settings"]["interactivity"]["request_url"] == events
    assert data["settings"]["interactivity"]["message_menu_options_url"] == events
    assert data["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    assert {"links:read", "links:write"} <= set(data["oauth_config"]["scopes"]["bot"])
    assert "link_shared" in data["settings"]["event_subscriptions"]["bot_events"]
    assert data["settings"]["token_rotation_enabled"] is True
    # Nothing left to edit: the template's "replace this" note is gone.
    assert "Replace" not in text


def test_pmp_addresses_become_domains_and_several_pmps_are_listed_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, data = manifest_from(
        capsys,
        "--pmp-domain",
        "https://CRM.example.com/crm/",
        "--pmp-domain",
        "pmp.example.org",
        "--pmp-domain",
        "crm.example.com",
        "--url",
        "https://example.com/pmp-bot",
        "--single-workspace",
    )
    assert data["features"]["unfurl_domains"] == ["crm.example.com", "pmp.example.org"]
    assert data["settings"]["event_subscriptions"]["request_url"] == (
        "https://example.com/pmp-bot/slack/events"
    )
    assert data["settings"]["token_rotation_enabled"] is False


def test_socket_manifest_has_the_domain_and_no_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, data = manifest_from(capsys, "--pmp-domain", "crm.example.com", "--socket")
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["features"]["unfurl_domains"] == ["crm.example.com"]
    assert "request_url" not in data["settings"]["event_subscriptions"]
    assert "https://" not in text.split("\n", 1)[1].replace("https://api.slack.com", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "https://bot.example.com"], "--pmp-domain"),
        (["--pmp-domain", "crm.example.com"], "--url"),
        (["--pmp-domain", "crm.example.com", "--url", "http://bot.example.com"], "https"),
        (["--pmp-domain", "crm.example.com", "--socket", "--url", "https://b.example"], "Socket"),
        (["--pmp-domain", "crm_example!", "--socket"], "not a domain"),
        ([*[f"--pmp-domain=p{n}.example.com" for n in range(6)], "--socket"], "at most 5"),
    ],
)
def test_what_cant_make_a_manifest_is_said_in_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["manifest", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
