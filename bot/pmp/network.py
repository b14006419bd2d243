"""Which addresses the PMP client may connect to: the guard against SSRF.

In a multi-workspace deployment a stranger (a workspace admin) picks the PMP URL, so an
unguarded client is a door into the operator's network: loopback services, the office LAN,
the cloud's metadata endpoint. The guard sits under httpx, in the transport's connection pool
(aiohttp's connector, GuardedTransport): every new connection resolves the host itself,
refuses any address that is not public, and connects to an address it vetted. The check is
on the address actually connected to, so a DNS answer that changes between two looks (DNS
rebinding) can't get round it; a pooled connection is reused without a new look, so the guard
costs nothing per request.
The Host header and TLS (SNI and the certificate check) still use the host name.

The operator opts in to private PMPs with ``AddressPolicy(allow_private=True)``
(``PMP_BOT_ALLOW_PRIVATE_PMP``) or names allowed hosts and networks
(``PMP_BOT_PMP_ALLOWED_HOSTS``). Cloud metadata addresses are refused whatever the policy:
no PMP lives there.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import re
import select
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import yarl
from aiohttp.abc import ResolveResult

logger = logging.getLogger("bot.pmp")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to IP address strings, in the order to try them."""

# Cloud metadata and control endpoints: AWS (IMDS, its IPv6 address, ECS task metadata), GCP,
# Azure (IMDS and WireServer, a public address), Oracle, Alibaba. Refused under every policy.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "168.63.129.16",
        "192.0.0.192",
        "100.100.100.200",
    )
)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")  # Python 3.11 calls part of it global
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_ULA = ipaddress.ip_network("fc00::/7")
_IETF_PROTOCOL_V6 = ipaddress.ip_network("2001::/23")  # Teredo and other special purposes


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4,
    Teredo), with the name of the form; ``("", [])`` for a plain IPv6 address."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", [address.ipv4_mapped]
    if address in _NAT64:
        return "NAT64", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return "IPv4-compatible", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return "6to4", [address.sixtofour]
    if address.teredo is not None:
        return "Teredo", list(address.teredo)
    return "", []


def is_metadata_address(address: IPAddress) -> bool:
    """A cloud metadata endpoint, also when carried inside an IPv6 address."""
    if address in METADATA_ADDRESSES:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        return any(inner in METADATA_ADDRESSES for inner in _embedded_ipv4(address)[1])
    return False


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not on the public internet (for logs), or None when it is."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        form, inner = _embedded_ipv4(address)
        for embedded in inner:
            reason = non_public_reason(embedded)
            if reason is not None:
                return f"{reason} inside a {form} IPv6 address"
        if form in ("IPv4-mapped", "NAT64", "6to4"):
            return None  # it reaches the public IPv4 address it carries
        if form == "IPv4-compatible":
            return "a deprecated IPv4-compatible IPv6 address"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address in _CGNAT, "shared (CGNAT, 100.64.0.0/10)"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (address in _ULA, "unique local (private)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (address in _LOCAL_NAT64, "local-use NAT64"),
        (address in _IETF_PROTOCOL or address in _IETF_PROTOCOL_V6, "special-purpose"),
        (not address.is_global, "not globally reachable"),
    )
    for applies, kind in checks:
        if applies:
            return f"a {kind} address" if not kind.startswith("not") else kind
    return None


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
    r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def normalise_host_name(name: str) -> str:
    """A host name as httpx sends it: lower case, IDNA (punycode), no trailing dot."""
    text = name.strip().lower().rstrip(".")
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return text


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses the PMP client may still connect to.

    ``allow_private`` allows every non-public address (a PMP on the company network, the
    console, tests against a local PMP); ``allowed_names`` are host names, and
    ``allowed_networks`` networks, allowed although private. Metadata addresses never are.
    """

    allow_private: bool = False
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str], *, allow_private: bool = False) -> AddressPolicy:
        """A policy from ``PMP_BOT_PMP_ALLOWED_HOSTS`` entries: host names, IP addresses and
        networks (CIDR). ValueError names the first entry that is none of these."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = normalise_host_name(text)
            if not _HOST_NAME.match(name) or name.replace(".", "").isdigit():
                raise ValueError(f"{text!r} is neither a host name nor an IP network")
            names.add(name)
        return cls(
            allow_private=allow_private,
            allowed_names=frozenset(names),
            allowed_networks=tuple(networks),
        )

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why a connection to ``address`` (for ``host``) is refused, or None when allowed."""
        reason = non_public_reason(address)
        if reason is None:
            return None
        if is_metadata_address(address):
            return reason  # whatever the policy
        if self.allow_private or normalise_host_name(host) in self.allowed_names:
            return None
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            candidates += _embedded_ipv4(address)[1]
        if any(item in network for item in candidates for network in self.allowed_networks):
            return None
        return reason


STRICT = AddressPolicy()
"""Public addresses only: the default."""
PRIVATE_ALLOWED = AddressPolicy(allow_private=True)
"""Every address but cloud metadata: the console, tests and a PMP on the company network."""


class AddressRefusedError(OSError):
    """The PMP host resolved only to addresses the policy refuses. httpx raises it as an
    ``httpx.ConnectError`` with this error in its ``__cause__`` chain
    (``refused_address_cause`` finds it)."""

    def __init__(self, message: str, *, host: str, reasons: Sequence[str]) -> None:
        super().__init__(message)
        self.host = host
        self.reasons = tuple(reasons)


def refused_address_cause(error: BaseException) -> AddressRefusedError | None:
    """The AddressRefusedError behind an httpx error, if the guard refused the connection."""
    seen: BaseException | None = error
    for _ in range(4):  # httpx wraps httpcore's error once; a few more steps are plenty
        if seen is None:
            return None
        if isinstance(seen, AddressRefusedError):
            return seen
        seen = seen.__cause__
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, in the order it gives them."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Answers that say their length, up to this many bytes (and not compressed), are read by the
# transport in one go; longer ones stream through the client's size cap (bot.pmp.reading).
READ_AT_ONCE_BYTES = 64 * 1024

Dial = Callable[[str, int], tuple[str, int]]
"""Where a vetted ``(address, port)`` is dialled: the address itself, unless a test plays a
public PMP with a server on 127.0.0.1 (the check has run on the vetted address by then)."""

_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class _AddressGuard:
    """Resolves a host and keeps the addresses ``policy`` allows, in the resolver's order;
    AddressRefusedError (logged) when none is allowed."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver, dial: Dial | None) -> None:
        self._policy = policy
        self._resolve = resolver
        self._dial = dial

    async def vetted(self, host: str, port: int) -> list[ResolveResult]:
        addresses = await self._addresses(host, port)
        allowed: list[str] = []
        reasons: list[str] = []
        for address in addresses:
            reason = self._policy.refusal(host, address)
            if reason is None:
                allowed.append(str(address))
            else:
                reasons.append(f"{address} is {reason}")
        if not allowed:
            message = (
                f"refused to connect to {host}: {'; '.join(reasons)}. PMP_BOT_ALLOW_PRIVATE_PMP "
                "or PMP_BOT_PMP_ALLOWED_HOSTS allow a PMP on a private network"
            )
            logger.warning("PMP address %s", message)
            raise AddressRefusedError(message, host=host, reasons=reasons)
        results: list[ResolveResult] = []
        for vetted in allowed:
            target, target_port = (vetted, port) if self._dial is None else self._dial(vetted, port)
            family = socket.AF_INET6 if ":" in target else socket.AF_INET
            results.append(
                {
                    "hostname": host,  # TLS (SNI, the certificate check) uses the name
                    "host": target,
                    "port": target_port,
                    "family": family,
                    "proto": 0,
                    "flags": _NUMERIC,
                }
            )
        return results

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]  # an address in the URL: no lookup
        except ValueError:
            pass
        try:
            found = await self._resolve(host, port)
        except OSError as error:
            raise OSError(f"could not resolve {host}: {error}") from error
        except (UnicodeError, ValueError) as error:  # a name getaddrinfo can't encode
            raise OSError(f"could not resolve {host}: {error}") from error
        addresses: list[IPAddress] = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        if not addresses:
            raise OSError(f"{host} has no IP address")
        return addresses


class _GuardedConnector(aiohttp.TCPConnector):
    """aiohttp's connector, whose every new connection goes only to addresses the guard
    vetted: the guard replaces the connector's host resolution (names, addresses written
    in the URL and its DNS cache alike), and the connector connects to what it returns."""

    def __init__(self, guard: _AddressGuard, **options: Any) -> None:
        super().__init__(use_dns_cache=False, **options)
        self._guard = guard

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        return await self._guard.vetted(host, port)

    async def _get(self, key: Any, traces: Any) -> aiohttp.connector.Connection | None:
        # A kept connection whose server has hung up is only known closed once the event
        # loop has read the hang-up; its socket already says so. Looking at the one taken
        # (not every idle one) keeps a request from going out on a dead connection.
        while True:
            connection = await super()._get(key, traces)
            if connection is None:
                return None
            protocol = connection.protocol
            transport = None if protocol is None else protocol.transport
            sock = None if transport is None else transport.get_extra_info("socket")
            if sock is None or not _readable(sock.fileno()):
                return connection
            connection.close()


def _readable(fd: int) -> bool:
    """Whether the socket has something to read (an idle connection: the server's close)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's failures as the httpx errors PmpClient maps and retries: a connection that
    never opened is a ConnectError (the request can't have reached PMP), one lost on the
    way a ReadError or RemoteProtocolError."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as error:
        raise httpx.ConnectTimeout(
            str(error) or "connecting took too long", request=request
        ) from error
    except aiohttp.ServerTimeoutError as error:
        raise httpx.ReadTimeout(str(error) or "no answer in time", request=request) from error
    except aiohttp.ClientConnectorError as error:
        raise httpx.ConnectError(str(error), request=request) from error
    except aiohttp.ServerDisconnectedError as error:
        raise httpx.RemoteProtocolError(str(error), request=request) from error
    except aiohttp.ClientConnectionError as error:
        raise httpx.ReadError(str(error) or type(error).__name__, request=request) from error
    except aiohttp.InvalidURL as error:
        raise httpx.UnsupportedProtocol(str(error), request=request) from error
    except aiohttp.ClientError as error:  # a malformed answer, a payload cut short
        raise httpx.RemoteProtocolError(str(error), request=request) from error
    except TimeoutError as error:
        raise httpx.ReadTimeout("no answer in time", request=request) from error


class _AnswerStream(httpx.AsyncByteStream):
    """An aiohttp answer's body for httpx, as it arrives. Closing it gives the connection
    back to the pool once the body was read to its end, and closes it otherwise (a capped
    or abandoned answer leaves bytes on it)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS setup (the trust store as httpx loads it) for every transport: each costs
    almost a megabyte, and a pool has a transport per workspace (1,000 workspaces: 0.8 GB)."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over aiohttp's pooled client (HTTP/1.1, TLS with the system's
    trust store as httpx sets it up), opening every new connection only to an address
    ``policy`` allows (see _GuardedConnector). Cookies are not kept, answers are not
    decompressed (bot.pmp.reading inflates them within the size cap), redirects are not
    followed and nothing is sent twice: PmpClient owns every retry.

    ``limits``: ``max_connections`` open at once (more requests wait for one),
    ``keepalive_expiry`` how long an idle one is kept; ``max_keepalive_connections=0``
    closes each connection after its answer. ``resolver`` looks host names up; ``dial``
    is for tests (see Dial)."""

    def __init__(
        self,
        policy: AddressPolicy = STRICT,
        *,
        limits: httpx.Limits | None = None,
        resolver: Resolver = system_resolver,
        dial: Dial | None = None,
    ) -> None:
        self._limits = limits if limits is not None else httpx.Limits()
        self._guard = _AddressGuard(policy, resolver, dial)
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # in the event loop of the first request
            limits = self._limits
            keeping: dict[str, Any] = (
                {"force_close": True}
                if limits.max_keepalive_connections == 0
                else {"keepalive_timeout": limits.keepalive_expiry}
            )
            connector = _GuardedConnector(
                self._guard,
                limit=limits.max_connections or 0,
                ssl=shared_ssl_context(),
                **keeping,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,  # no proxy from the environment: the guard sees PMP itself
                timeout=aiohttp.ClientTimeout(total=None),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
            # aiohttp sends a PUT or DELETE again on its own when a kept connection turns out
            # closed; PmpClient never sends a write twice.
            session._retry_connection = False
            self._session = session
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout") or {}
        key = (given.get("pool"), given.get("connect"), given.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            # Waiting for a pooled connection and opening one, then each read.
            timeout = aiohttp.ClientTimeout(
                total=None, connect=key[0], sock_connect=key[1], sock_read=key[2]
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._client()
        body = await request.aread()
        with _as_httpx_errors(request):
            answer = await session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(request),
            )
        extensions = {
            "http_version": b"HTTP/1.1",
            "reason_phrase": (answer.reason or "").encode("latin-1", "replace"),
        }
        length = answer.content_length
        if (
            length is not None
            and length <= READ_AT_ONCE_BYTES
            and "content-encoding" not in answer.headers
        ):
            # A short answer that says its length is read here in one go (the call's deadline
            # still holds), sparing httpx's streaming machinery; the client checks it against
            # its size cap all the same.
            try:
                with _as_httpx_errors(request):
                    content = await answer.read()
            finally:
                if answer.content.at_eof():
                    answer.release()
                else:
                    answer.close()  # cut short (the deadline): the connection can't be reused
            return httpx.Response(
                status_code=answer.status,
                headers=answer.raw_headers,
                content=content,
                extensions=extensions,
            )
        return httpx.Response(
            status_code=answer.status,
            headers=answer.raw_headers,
            stream=_AnswerStream(answer, request),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
