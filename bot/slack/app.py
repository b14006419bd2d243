"""The app factory: one slack-bolt AsyncApp wired to the bot's services, with the listeners
its caller registers (bot/run passes `handlers.register`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncDefaultListenerCompletionHandler,
)
from slack_bolt.listener.async_listener_start_handler import AsyncDefaultListenerStartHandler
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.observability import current_trace
from bot.services import BotServices, ListenerTracker
from bot.slack.middleware import build_context_middleware
from bot.slack.org_installs import WorkspaceOnlyOAuthFlow, workspace_only_callbacks
from bot.slack.retries import slack_retry_handlers
from bot.slack.token_rotation import SerializedRotationAuthorize

logger = logging.getLogger(__name__)

# Bolt copies this logger's level to the loggers it creates, so `configure_logging` keeps
# Bolt (which logs whole payloads at INFO and DEBUG) quiet through it.
BOLT_LOGGER = logging.getLogger("slack_bolt")


class _DropClientTokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused because the app gets a ready client; the
    client carries that very token, so the warning only confuses operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


if not any(isinstance(f, _DropClientTokenNotice) for f in BOLT_LOGGER.filters):
    BOLT_LOGGER.addFilter(_DropClientTokenNotice())

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class _TraceStartHandler(AsyncDefaultListenerStartHandler):
    def __init__(self, listeners: ListenerTracker) -> None:
        super().__init__(logger=logger)
        self._listeners = listeners

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        self._listeners.started()
        trace = current_trace.get()
        if trace is not None:
            trace.mark_listener_started()


class _TraceCompletionHandler(AsyncDefaultListenerCompletionHandler):
    def __init__(self, listeners: ListenerTracker) -> None:
        super().__init__(logger=logger)
        self._listeners = listeners

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        self._listeners.finished()
        trace = current_trace.get()
        if trace is not None:
            trace.mark_listener_done()


REINSTALL_NEEDED = (
    ":warning: pmp-bot can't find its installation for this workspace (it was removed, or the "
    "server's encryption key changed). A workspace admin can reinstall pmp-bot to fix it."
)


def authorization_url(api_url: str) -> str:
    """Slack's OAuth authorize page for the Web API at `api_url` (slack.com, GovSlack, ...)."""
    root = api_url.rstrip("/").removesuffix("/api")
    return f"{root}/oauth/v2/authorize"


def create_app(
    settings: Settings,
    services: BotServices,
    *,
    register_listeners: Callable[[AsyncApp], None],
    process_before_response: bool = False,
) -> AsyncApp:
    """Builds the bot's AsyncApp; `register_listeners(app)` adds its listeners (the handlers).

    `process_before_response=True` makes Bolt finish each listener before answering the
    HTTP request (for hosts that stop work after the response); serve, socket and the
    console ack first.
    Every Web API call, token rotation included, goes to `settings.slack_api_url`.
    """
    client = AsyncWebClient(
        base_url=settings.slack_api_url,
        token=settings.bot_token(),
        session=services.slack_http,
        retry_handlers=slack_retry_handlers(),
    )
    signing_secret = settings.signing_secret()
    app_kwargs: dict[str, Any] = {
        "signing_secret": signing_secret,
        "client": client,
        "process_before_response": process_before_response,
        # Every HTTP request's signature is checked by the front door (bot/slack/web.py) on
        # the raw bytes before anything parses them; Socket Mode requests carry none. Bolt
        # checking again only cost each request a second HMAC and header walk.
        "request_verification_enabled": False,
        # Slack's workflow functions are not used: no function token to attach.
        "attaching_function_token_enabled": False,
        "name": "pmp-bot",
        "logger": BOLT_LOGGER,
    }
    if settings.oauth_enabled:
        assert services.oauth_stores is not None, "OAuth mode starts its stores"
        installation_store = services.oauth_stores.installation_store
        oauth_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.client_secret(),
            scopes=settings.scopes,
            installation_store=installation_store,
            state_store=services.oauth_stores.state_store,
            install_path=INSTALL_PATH,
            authorization_url=authorization_url(settings.slack_api_url),
            redirect_uri_path=REDIRECT_PATH,
            callback_options=workspace_only_callbacks(),
        )
        # The store goes to the app itself too: otherwise token refreshes build their own
        # client and ignore SLACK_API_URL. The authorize cache spares an auth.test per request.
        app_kwargs.update(
            installation_store=installation_store,
            # Shown when a workspace's installation is gone or its tokens can't be decrypted
            # (PMP_BOT_SECRET_KEY lost or changed): reinstalling is the fix either way.
            user_facing_authorize_error_message=REINSTALL_NEEDED,
            # Installs are per workspace; an org-wide one is undone (bot/slack/org_installs.py).
            oauth_flow=WorkspaceOnlyOAuthFlow(
                client=client, logger=BOLT_LOGGER, settings=oauth_settings
            ),
            authorize=SerializedRotationAuthorize(
                database=services.database,
                installation_store=installation_store,
                client_id=settings.slack_client_id or "",
                client_secret=settings.client_secret() or "",
                client=client,
                logger=logger,
            ),
        )
    app = AsyncApp(**app_kwargs)

    # Bolt has no public setting for these hooks; they close each request's log line when
    # the listener's work (which may outlive the ack) is done.
    runner = app._async_listener_runner
    runner.listener_start_handler = _TraceStartHandler(services.listeners)
    runner.listener_completion_handler = _TraceCompletionHandler(services.listeners)

    app.middleware(build_context_middleware(services))
    register_listeners(app)
    return app
