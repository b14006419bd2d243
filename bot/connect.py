"""Connecting a workspace to PMP: check the URL's form, test the credentials, store them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.pmp import (
    PmpAuthError,
    PmpClient,
    PmpConnectionError,
    PmpError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    normalise_base_url,
)
from bot.pmp_pool import WorkspaceKey
from bot.storage import WorkspaceStore

# A view_submission's answer is its ack, so the credential test must end well inside Slack's
# 3-second budget.
CONNECT_CHECK_TIMEOUT_S = 2.0

ClientFactory = Callable[[str, str, float], PmpClient]


def default_client_factory(base_url: str, token: str, timeout: float) -> PmpClient:
    return PmpClient(base_url=base_url, token=token, timeout=timeout, max_retries=0)


@dataclass(frozen=True)
class ConnectResult:
    pmp_url: str | None = None
    url_error: str | None = None
    token_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.url_error is None and self.token_error is None


class PmpUrlError(ValueError):
    pass


def normalize_pmp_url(raw: str) -> str:
    """The PMP site root from what an admin typed, or PmpUrlError saying what to fix.

    Accepts a missing scheme (https is assumed), a trailing slash and a trailing `/api`,
    since admins often paste the API address they were given.
    """
    text = raw.strip()
    if not text:
        raise PmpUrlError("Enter the address of your PMP, like https://crm.example.com")
    scheme = text.split("://", 1)[0].lower() if "://" in text else "https"
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
    client_factory: ClientFactory = default_client_factory,
    timeout: float = CONNECT_CHECK_TIMEOUT_S,
) -> ConnectResult:
    """Tests the credentials with one cheap PMP call and says which input is wrong."""
    async with client_factory(base_url, token, timeout) as pmp:
        try:
            await pmp.check_connection(timeout=timeout)
        except PmpAuthError:
            return ConnectResult(
                token_error="PMP refused this token. Copy it again from PMP (Setup → API)."
            )
        except PmpTimeoutError:
            return ConnectResult(
                url_error=(
                    f"PMP didn't answer within {timeout:g} s. Check the address, "
                    "or try again when PMP is less busy."
                )
            )
        except PmpConnectionError:
            return ConnectResult(
                url_error="Couldn't reach a server at that address. Check the URL."
            )
        except PmpUnexpectedResponseError:
            return ConnectResult(
                url_error=(
                    "That server answered, but not like the PMP API. Use the address you "
                    "open PMP at, and check that its API module is switched on."
                )
            )
        except PmpError as error:
            return ConnectResult(url_error=error.user_message)
    return ConnectResult(pmp_url=base_url)


async def connect_workspace(
    store: WorkspaceStore,
    key: WorkspaceKey,
    *,
    raw_url: str,
    raw_token: str,
    connected_by: str,
    client_factory: ClientFactory = default_client_factory,
    timeout: float = CONNECT_CHECK_TIMEOUT_S,
) -> ConnectResult:
    url_error = token_error = None
    base_url = ""
    try:
        base_url = normalize_pmp_url(raw_url)
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
        base_url, token, client_factory=client_factory, timeout=timeout
    )
    if not result.ok:
        return result
    await store.save_credentials(
        team_id=key.team_id,
        enterprise_id=key.enterprise_id,
        base_url=base_url,
        token=token,
        connected_by=connected_by,
    )
    return result
