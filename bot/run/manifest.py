"""`pmp-bot manifest`: prints the Slack app manifest for this deployment, so nobody edits
YAML by hand: the PMP's domain(s) for link previews, and the server's request and redirect
URLs (HTTP mode), filled into the repository's manifest.yml or manifest.socket.yml.

The manifests are the templates. An installed wheel carries them in bot/run/manifests/
(pyproject's force-include); a source checkout reads them from the project folder.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HTTP_TEMPLATE = "manifest.yml"
SOCKET_TEMPLATE = "manifest.socket.yml"
# Where the templates name the pmp-bot server, to be replaced by its public address.
PLACEHOLDER_URL = "https://pmp-bot.example.com"
# Slack takes at most this many unfurl domains, each as its manifest schema spells them.
MAX_UNFURL_DOMAINS = 5
_DOMAIN = re.compile(r"^(?![.\-])[-a-z0-9.]+[a-z0-9]$")
_UNFURL_BLOCK = re.compile(r"^(?P<indent> +)unfurl_domains:\n(?:(?P=indent)  - .*\n)+", re.M)
_ROTATION = re.compile(r"^(?P<head> +token_rotation_enabled:) (?:true|false)$", re.M)


class ManifestError(ValueError):
    """What the command was given can't make a manifest (the message says why)."""


def template_text(name: str) -> str:
    """A manifest template: packaged with the wheel, or beside the source."""
    packaged = resources.files("bot.run").joinpath("manifests", name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / name
    return checkout.read_text(encoding="utf-8")


def unfurl_domain(value: str) -> str:
    """The domain Slack wants (`crm.example.com`) from what was typed: a domain or the PMP's
    address (`https://crm.example.com/crm`)."""
    text = value.strip()
    host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    host = host.rstrip(".").lower()
    if not host or len(host) > 255 or not _DOMAIN.match(host):
        raise ManifestError(f"{value.strip()!r} is not a domain name such as crm.example.com")
    return host


def server_url(value: str) -> str:
    """The public https address of the pmp-bot server, without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(
            "--url must be the public https:// address of the pmp-bot server "
            "(Slack sends requests only to https)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ManifestError("--url takes the server's address only, like https://bot.example.com")
    return f"https://{parts.netloc}{parts.path.rstrip('/')}"


def build_manifest(
    pmp_domains: list[str],
    *,
    url: str | None = None,
    socket: bool = False,
    single_workspace: bool = False,
) -> str:
    """The manifest, as YAML with the templates' comments."""
    domains = list(dict.fromkeys(unfurl_domain(domain) for domain in pmp_domains))
    if not domains:
        raise ManifestError("name your PMP's domain with --pmp-domain, e.g. crm.example.com")
    if len(domains) > MAX_UNFURL_DOMAINS:
        raise ManifestError(f"Slack takes at most {MAX_UNFURL_DOMAINS} unfurl domains")
    if socket and url:
        raise ManifestError("Socket Mode needs no --url: Slack reaches pmp-bot over a WebSocket")
    if not socket and not url:
        raise ManifestError(
            "give --url with the public https address of pmp-bot (HTTP mode), or --socket"
        )
    url = server_url(url) if url is not None else None
    text = template_text(SOCKET_TEMPLATE if socket else HTTP_TEMPLATE)
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)  # the template's own instructions: this manifest needs no editing
    mode = "Socket Mode (`pmp-bot socket`)" if socket else f"HTTP mode at {url}"
    text = f"# Slack app manifest for pmp-bot, {mode}, made by `pmp-bot manifest`.\n" + "".join(
        lines
    )

    found = _UNFURL_BLOCK.search(text)
    if found is None:
        raise ManifestError("the manifest template has no unfurl_domains list")
    indent = found.group("indent")
    listed = "".join(f"{indent}  - {domain}\n" for domain in domains)
    text = text[: found.start()] + f"{indent}unfurl_domains:\n{listed}" + text[found.end() :]

    if url is not None:
        text = text.replace(PLACEHOLDER_URL, url)
    if single_workspace:
        text, replaced = _ROTATION.subn(r"\g<head> false", text)
        if not replaced:
            raise ManifestError("the manifest template has no token_rotation_enabled setting")
    return text


def run(args: argparse.Namespace) -> int:
    try:
        manifest = build_manifest(
            args.pmp_domain or [],
            url=args.url,
            socket=args.socket,
            single_workspace=args.single_workspace,
        )
    except ManifestError as error:
        print(f"pmp-bot manifest: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(manifest)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "manifest",
        help="print the Slack app manifest for your PMP and server",
        description=(
            "Print a Slack app manifest with your PMP's domain (link previews) and, in HTTP "
            "mode, your server's request and redirect URLs. Paste it into "
            "https://api.slack.com/apps > Create New App > From an app manifest."
        ),
    )
    parser.add_argument(
        "--pmp-domain",
        action="append",
        metavar="DOMAIN",
        help="your PMP's domain, e.g. crm.example.com (repeat for up to 5 PMPs)",
    )
    parser.add_argument(
        "--url", help="the public https address of pmp-bot, e.g. https://bot.example.com"
    )
    parser.add_argument(
        "--socket", action="store_true", help="Socket Mode (development): no public address"
    )
    parser.add_argument(
        "--single-workspace",
        action="store_true",
        help="one workspace with a fixed SLACK_BOT_TOKEN: token rotation off",
    )
    parser.set_defaults(run=run)
