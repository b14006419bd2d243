"""Connecting a workspace to PMP: check the URL's form, test the credentials, store them;
and what the workspace's connection looks like (`connection_status`).

In OAuth mode the admin typing the URL is a stranger to the operator, so the connect form
must not work as a scanner of the operator's network: the client only connects to addresses
the operator allows (bot.pmp.network), and every way a check can fail short of a PMP refusing
the token (unreachable, refused, blocked, timed out, not a PMP, a redirect) gets one message,
after the same minimum time. What really happened goes to the log.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from bot.pmp import PmpAuthError, PmpClient, PmpError, normalise_base_url
from bot.pmp.network import STRICT, AddressPolicy
from bot.pmp_pool import WorkspaceKey
from bot.storage import Workspace, WorkspaceStore

logger = logging.getLogger(__name__)

# A view_submission's answer is its ack, so the credential test must end well inside Slack's
# 3-second budget.
CONNECT_CHECK_TIMEOUT_S = 2.0

# The one answer for every failure but a refused token: which one it was is for the log.
CONNECT_FAILED = (
    "pmp-bot couldn't connect to a PMP API at that address. Use the address you open PMP "
    "at, like https://crm.example.com, and check that PMP's API module is switched on."
)
TOKEN_REFUSED = "PMP refused this token. Copy it again from PMP (Setup → API)."

ClientFactory = Callable[[str, str, float], PmpClient]
Sleep = Callable[[float], Awaitable[object]]


def default_client_factory(
    base_url: str, token: str, timeout: float, *, policy: AddressPolicy = STRICT
) -> PmpClient:
    return PmpClient(
        base_url=base_url, token=token, timeout=timeout, max_retries=0, address_policy=policy
    )


@dataclass(frozen=True)
class ConnectResult:
    pmp_url: str | None = None
    url_error: str | None = None
    token_error: str | None = None
    # What went wrong, for the log and the operator's console; never shown in Slack.
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.url_error is None and self.token_error is None


class PmpUrlError(ValueError):
    pass


def normalize_pmp_url(raw: str, *, require_https: bool = False) -> str:
    """The PMP site root from what an admin typed, or PmpUrlError saying what to fix.

    Accepts a missing scheme (https is assumed), a trailing slash and a trailing `/api`,
    since admins often paste the API address they were given. ``require_https`` refuses
    http:// (OAuth mode: the token would cross the internet in the clear).
    """
    text = raw.strip()
    if not text:
        raise PmpUrlError("Enter the address of your PMP, like https://crm.example.com")
    scheme = text.split("://", 1)[0].lower() if "://" in text else "https"
    if require_https and scheme != "https":
        raise PmpUrlError(
            "The PMP URL must start with https://, so the API token travels encrypted."
        )
    if scheme not in ("http", "https"):
        raise PmpUrlError("The PMP URL must start with https:// (or http://).")
    if any(ch.isspace() for ch in text):
        raise PmpUrlError("That doesn't look like a web address. Try https://crm.example.com")
    try:
        root = normalise_base_url(text)
    except ValueError as error:
        raise PmpUrlError(f"That address won't work: {error}.") from error
    host = httpx.URL(root).host
    if "." not in host and host != "localhost" and not _is_ip(host):
        raise PmpUrlError("That doesn't look like a web address. Try https://crm.example.com")
    if "?" in text or "#" in text:
        raise PmpUrlError("Leave out anything after ? or # in the PMP URL.")
    return root


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def check_pmp_credentials(
    base_url: str,
    token: str,
    *,
    client_factory: ClientFactory | None = None,
    policy: AddressPolicy = STRICT,
    timeout: float = CONNECT_CHECK_TIMEOUT_S,
    min_failure_seconds: float = 0.0,
    sleep: Sleep = asyncio.sleep,
) -> ConnectResult:
    """Tests the credentials with one cheap PMP call. A token PMP refused (in PMP's own
    words) is a token error; anything else that fails is CONNECT_FAILED, answered no sooner
    than ``min_failure_seconds`` after the start, so its timing tells nothing either."""
    factory = client_factory or functools.partial(default_client_factory, policy=policy)
    started = time.monotonic()
    async with factory(base_url, token, timeout) as pmp:
        try:
            await pmp.check_connection(timeout=timeout)
        except PmpAuthError as error:
            return ConnectResult(token_error=TOKEN_REFUSED, detail=str(error))
        except PmpError as error:
            wait = min_failure_seconds - (time.monotonic() - started)
            if wait > 0:
                await sleep(wait)
            return ConnectResult(url_error=CONNECT_FAILED, detail=str(error))
    return ConnectResult(pmp_url=base_url)


async def connect_workspace(
    store: WorkspaceStore,
    key: WorkspaceKey,
    *,
    raw_url: str,
    raw_token: str,
    connected_by: str,
    client_factory: ClientFactory | None = None,
    policy: AddressPolicy = STRICT,
    require_https: bool = False,
    timeout: float = CONNECT_CHECK_TIMEOUT_S,
    sleep: Sleep = asyncio.sleep,
) -> ConnectResult:
    """Check what an admin typed in the connect form and, when PMP accepts it, store it.
    ``policy`` and ``require_https`` come from the operator's settings."""
    url_error = token_error = None
    base_url = ""
    try:
        base_url = normalize_pmp_url(raw_url, require_https=require_https)
    except PmpUrlError as error:
        url_error = str(error)
    token = raw_token.strip()
    if not token:
        token_error = "Paste the API token from PMP (Setup → API)."
    elif any(ch.isspace() for ch in token):
        token_error = "A PMP token has no spaces or line breaks. Copy it again from PMP."
    if url_error or token_error:
        return ConnectResult(url_error=url_error, token_error=token_error)

    result = await check_pmp_credentials(
        base_url,
        token,
        client_factory=client_factory,
        policy=policy,
        timeout=timeout,
        min_failure_seconds=timeout,
        sleep=sleep,
    )
    if not result.ok:
        # The detail never holds the token: PmpError messages leave it out.
        logger.info(
            "PMP connect check for workspace %s at %s failed: %s",
            key.team_id,
            base_url,
            result.detail,
        )
        return result
    await store.save_credentials(
        team_id=key.team_id,
        enterprise_id=key.enterprise_id,
        base_url=base_url,
        token=token,
        connected_by=connected_by,
    )
    return result


@dataclass(frozen=True)
class ConnectionStatus:
    """What `/pmp status` shows; deliberately has no field for the token."""

    connected: bool
    pmp_url: str | None = None
    connected_by: str | None = None
    connected_at: datetime | None = None
    last_success_at: datetime | None = None
    notify_channel_id: str | None = None
    last_failure_at: datetime | None = None
    last_failure: str | None = None  # how it failed, e.g. "PMP answered HTTP 500"
    reconnect_needed: bool = False  # the stored token can't be decrypted any more

    @property
    def failing(self) -> bool:
        """The last PMP call written down failed."""
        if self.last_failure_at is None:
            return False
        return self.last_success_at is None or self.last_failure_at >= self.last_success_at


def connection_status(workspace: Workspace | None) -> ConnectionStatus:
    """What `/pmp status` and the Home tab show of the workspace's connection."""
    if workspace is None or not workspace.pmp_base_url:
        return ConnectionStatus(connected=False, notify_channel_id=None)
    if workspace.needs_reconnect:
        return ConnectionStatus(connected=False, reconnect_needed=True)
    return ConnectionStatus(
        connected=True,
        pmp_url=workspace.pmp_base_url,
        connected_by=workspace.connected_by,
        connected_at=workspace.connected_at,
        last_success_at=workspace.last_pmp_success_at,
        notify_channel_id=workspace.notify_channel_id,
        last_failure_at=workspace.last_pmp_failure_at,
        last_failure=workspace.last_pmp_failure,
    )
