"""The PMP of the workspace a request came from."""

from __future__ import annotations

from dataclasses import dataclass

from bot.names import NameBook
from bot.pmp import PmpClient
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.storage import Workspace


class NotConnectedError(Exception):
    """The workspace has no PMP credentials (never connected, or disconnected since), or
    ``reconnect``: its stored token can't be decrypted any more and it must connect again."""

    def __init__(self, *, reconnect: bool = False) -> None:
        super().__init__("reconnect needed" if reconnect else "not connected")
        self.reconnect = reconnect


@dataclass(frozen=True)
class ConnectedPmp:
    client: PmpClient
    workspace: Workspace
    key: WorkspaceKey

    @property
    def base_url(self) -> str:
        return self.workspace.pmp_base_url or ""

    @property
    def cache_scope(self) -> str:
        return f"{self.key.enterprise_id or ''}:{self.key.team_id}"

    @property
    def names(self) -> NameBook:
        return NameBook.from_settings(self.workspace.ticket_settings)


async def connected_pmp(
    services: BotServices, workspace: Workspace | None, key: WorkspaceKey
) -> ConnectedPmp:
    if workspace is None or not workspace.pmp_base_url:
        raise NotConnectedError
    if workspace.needs_reconnect:
        raise NotConnectedError(reconnect=True)
    client = await services.pmp_pool.client_for(key, workspace.credentials_version)
    if client is None:
        raise NotConnectedError
    return ConnectedPmp(client=client, workspace=workspace, key=key)
