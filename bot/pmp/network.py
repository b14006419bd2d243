"""Which addresses the PMP client may connect to: the guard against SSRF.

In a multi-workspace deployment a stranger (a workspace admin) picks the PMP URL, so an
unguarded client is a door into the operator's network: loopback services, the office LAN,
the cloud's metadata endpoint. The guard sits under httpx, in the network backend of its
connection pool: every new connection resolves the host itself, refuses any address that is
not public, and connects to an address it vetted. The check is on the address actually
connected to, so a DNS answer that changes between two looks (DNS rebinding) can't get round
it; a pooled connection is reused without a new look, so the guard costs nothing per request.
The Host header and TLS (SNI and the certificate check) still use the host name.

The operator opts in to private PMPs with ``AddressPolicy(allow_private=True)``
(``PMP_BOT_ALLOW_PRIVATE_PMP``) or names allowed hosts and networks
(``PMP_BOT_PMP_ALLOWED_HOSTS``). Cloud metadata addresses are refused whatever the policy:
no PMP lives there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from httpcore._utils import is_socket_readable

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


class AddressRefusedError(httpcore.ConnectError):
    """The PMP host resolved only to addresses the policy refuses. httpx raises it as an
    ``httpx.ConnectError`` whose ``__cause__`` is this error."""

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


class _PooledStream(httpcore.AsyncNetworkStream):
    """A connection's stream that answers httpcore's "is it readable?" from the socket it
    keeps. httpcore asks it of every idle pooled connection on each request, and anyio finds
    the socket by building a dict of the stream's attributes (with a ``getpeername`` call)
    every time: most of the pool's CPU per request under load. Everything else is passed on."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _PooledStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses ``policy`` allows.

    It resolves the host with ``resolver``, vets every address, and asks ``inner`` (the
    usual anyio backend) to connect to the first allowed one that answers, IP and all.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self._addresses(host, port, timeout)
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
        last_error: Exception | None = None
        for vetted in allowed:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                stream = await self._inner.connect_tcp(
                    vetted,
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _PooledStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error  # try the host's next address, as a browser would
        assert last_error is not None
        raise last_error

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        try:
            async with asyncio.timeout(timeout):
                found = await self._resolve(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from error
        except OSError as error:
            raise httpcore.ConnectError(f"could not resolve {host}: {error}") from error
        addresses: list[IPAddress] = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no IP address")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("PMP is reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its bookkeeping in one pass. httpcore's own, run twice per
    request, counts every connection (not the idle ones) for each idle connection, so it is
    quadratic in the pool's size, and it closes idle connections whenever the pool holds
    more than ``max_keepalive_connections`` in all: with more lookups in flight than that,
    almost every PMP request opened a new connection. Here idle connections are closed only
    past ``max_keepalive_connections`` idle ones (the oldest first), and a request takes the
    first available connection, as in httpcore."""

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        kept: list[httpcore.AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.has_expired():
                closing.append(connection)
                continue
            kept.append(connection)
        idle = [connection for connection in kept if connection.is_idle()]
        surplus = idle[: max(len(idle) - self._max_keepalive_connections, 0)]
        if surplus:
            closing += surplus
            dropped = set(map(id, surplus))
            kept = [connection for connection in kept if id(connection) not in dropped]
        self._connections = kept

        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            available = next(
                (
                    connection
                    for connection in self._connections
                    if connection.can_handle_request(origin) and connection.is_available()
                ),
                None,
            )
            if available is not None:
                pool_request.assign_to_connection(available)
                continue
            if len(self._connections) >= self._max_connections:
                idle_one = next(
                    (connection for connection in self._connections if connection.is_idle()),
                    None,
                )
                if idle_one is None:
                    continue  # the request waits for a connection to come free
                self._connections.remove(idle_one)
                closing.append(idle_one)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own HTTP transport (pooled connections, TLS, HTTP/1.1), opening every new
    connection through a GuardedBackend."""

    def __init__(
        self,
        policy: AddressPolicy = STRICT,
        *,
        limits: httpx.Limits | None = None,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        limits = limits if limits is not None else httpx.Limits()
        super().__init__(limits=limits, retries=0)
        # httpx has no option for the network backend: the pool it just built (still
        # without connections) is replaced by the same pool with the guarded backend.
        self._pool = _LinearPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedBackend(policy, resolver=resolver, inner=inner),
        )
