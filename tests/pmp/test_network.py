"""The network guard under the PMP client: which addresses it connects to, checked on the
address actually connected to, for every new connection."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Any

import httpx
import pytest

from bot.pmp import PmpAddressRefusedError, PmpClient, PmpConnectionError
from bot.pmp.network import PRIVATE_ALLOWED, STRICT, AddressPolicy, GuardedTransport
from bot.sandbox import running_sandbox
from tests.pmp.conftest import NO_DATA, TOKEN
from tests.pmp.local_servers import fixed, local_server

PUBLIC_IP = "93.184.216.34"

REFUSED = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.10.20",  # link-local
    "169.254.169.254",  # metadata (AWS, GCP, Azure...)
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # Alibaba's metadata, inside CGNAT
    "168.63.129.16",  # Azure's WireServer: a public address
    "192.0.0.192",  # Oracle's metadata
    "0.0.0.0",  # unspecified
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",  # link-local
    "fc00::1",  # unique local
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fec0::1",  # site-local
    "ff02::1",  # multicast
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
]
PUBLIC = [
    PUBLIC_IP,
    "2606:4700::1111",
    f"::ffff:{PUBLIC_IP}",
    "64:ff9b::5db8:d822",  # NAT64 of the public address
    "2002:5db8:d822::1",  # 6to4 of the public address
]
# Refused whatever the operator allows: no PMP lives there.
METADATA = {
    "169.254.169.254",
    "100.100.100.200",
    "168.63.129.16",
    "192.0.0.192",
    "fd00:ec2::254",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
}


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_off_the_public_internet_are_refused(address: str) -> None:
    assert STRICT.refusal("crm.example.com", ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal("crm.example.com", ip_address(address)) is None


def test_allowing_private_pmps_allows_everything_but_cloud_metadata() -> None:
    for address in REFUSED:
        refused = PRIVATE_ALLOWED.refusal("crm.example.com", ip_address(address)) is not None
        assert refused == (address in METADATA), address


def test_allowed_hosts_name_hosts_and_networks() -> None:
    policy = AddressPolicy.from_entries(["crm.internal", "10.20.0.0/16", "fd12::/16", "::1"])
    private = ip_address("10.99.0.1")
    assert policy.refusal("crm.internal", private) is None
    assert policy.refusal("CRM.Internal.", private) is None  # as typed, or as DNS writes it
    assert policy.refusal("other.internal", private) is not None
    assert policy.refusal("any.example", ip_address("10.20.3.4")) is None
    assert policy.refusal("any.example", ip_address("::ffff:10.20.3.4")) is None
    assert policy.refusal("any.example", ip_address("10.21.0.1")) is not None
    assert policy.refusal("any.example", ip_address("fd12::5")) is None
    assert policy.refusal("any.example", ip_address("::1")) is None
    assert policy.refusal("any.example", ip_address("127.0.0.1")) is not None
    # A metadata address stays refused even when a network or name allows it.
    wide = AddressPolicy.from_entries(["169.254.0.0/16", "metadata.google.internal"])
    assert wide.refusal("x.example", ip_address("169.254.1.1")) is None
    assert wide.refusal("metadata.google.internal", ip_address("169.254.169.254")) is not None


@pytest.mark.parametrize(
    "entry", ["https://crm.internal", "crm.internal:8080", "10.0.0.0/33", "*.corp", "1.2.3", "a b"]
)
def test_entries_that_are_neither_hosts_nor_networks_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a host name nor an IP network"):
        AddressPolicy.from_entries([entry])


# --- over the network ---------------------------------------------------------------------


class Resolver:
    """Answers each lookup with the next list of addresses (the last one from then on)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Loopback:
    """Notes the vetted address the guard dials and sends the connection to a local server
    instead, so a test can play a public PMP without leaving 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.asked: list[str] = []

    def __call__(self, address: str, port: int) -> tuple[str, int]:
        self.asked.append(address)
        return "127.0.0.1", self.port


def no_data() -> Any:
    return fixed(404, json.dumps(NO_DATA).encode(), {"content-type": "application/json"})


async def test_a_loopback_pmp_is_refused_before_any_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.pmp")
    async with (
        local_server(no_data()) as server,
        PmpClient(base_url=server.url, token=TOKEN) as pmp,  # the default policy
    ):
        with pytest.raises(PmpAddressRefusedError) as caught:
            await pmp.customers.get(1)
        with pytest.raises(PmpAddressRefusedError):
            await pmp.check_connection()
    assert server.connections == 0
    assert "127.0.0.1 is a loopback address" in caplog.text
    assert "loopback" not in caught.value.user_message  # the reason is for the log
    assert "not on the public internet" in caught.value.user_message
    assert TOKEN not in caplog.text


async def test_a_refused_address_is_not_asked_again() -> None:
    resolver = Resolver(["10.0.0.7"])
    transport = GuardedTransport(STRICT, resolver=resolver)
    async with PmpClient(
        base_url="https://pmp.example.com", token=TOKEN, transport=transport
    ) as pmp:
        assert pmp.max_retries == 2
        with pytest.raises(PmpAddressRefusedError):
            await pmp.customers.get(1)
    assert resolver.lookups == ["pmp.example.com"]


@pytest.mark.parametrize(
    ("host", "policy"),
    [
        ("127.0.0.1", PRIVATE_ALLOWED),
        ("127.0.0.1", AddressPolicy.from_entries(["127.0.0.0/8"])),
        ("127.0.0.1", AddressPolicy.from_entries(["127.0.0.1"])),
        ("localhost", AddressPolicy.from_entries(["localhost"])),
    ],
    ids=["allow-private", "allowed-network", "allowed-address", "allowed-name"],
)
async def test_each_opt_in_lets_a_local_pmp_through(host: str, policy: AddressPolicy) -> None:
    async with local_server(no_data()) as server:
        url = f"http://{host}:{server.port}"
        async with PmpClient(base_url=url, token=TOKEN, address_policy=policy) as pmp:
            assert await pmp.check_connection() is None
    assert server.connections == 1


async def test_dns_rebinding_is_caught_on_the_connection_itself() -> None:
    # The first lookup says public, the next one private: the second connection is refused
    # although the host name is the same, and nothing ever connects to the private address.
    async with local_server(no_data()) as server:
        resolver = Resolver([PUBLIC_IP], ["10.0.0.7"])
        backend = Loopback(server.port)
        transport = GuardedTransport(
            STRICT,
            limits=httpx.Limits(max_keepalive_connections=0),
            resolver=resolver,
            dial=backend,
        )
        url = f"http://pmp.rebind.example:{server.port}"
        async with PmpClient(base_url=url, token=TOKEN, transport=transport) as pmp:
            assert await pmp.check_connection() is None
            with pytest.raises(PmpAddressRefusedError):
                await pmp.check_connection()
    assert backend.asked == [PUBLIC_IP]
    assert server.connections == 1
    # The request itself still names the host: the Host header is the host name, not the IP.
    assert f"host: pmp.rebind.example:{server.port}".encode() in server.requests[0].lower()


async def test_only_vetted_addresses_of_a_host_are_connected_to() -> None:
    async with local_server(no_data()) as server:
        backend = Loopback(server.port)
        resolver = Resolver(["10.0.0.7", "::1", PUBLIC_IP])
        transport = GuardedTransport(STRICT, resolver=resolver, dial=backend)
        url = f"http://mixed.example:{server.port}"
        async with PmpClient(base_url=url, token=TOKEN, transport=transport) as pmp:
            assert await pmp.check_connection() is None
    assert backend.asked == [PUBLIC_IP]


async def test_the_check_runs_once_per_new_connection_not_per_request() -> None:
    with running_sandbox() as sandbox:
        resolver = Resolver([PUBLIC_IP])
        backend = Loopback(sandbox.port)
        transport = GuardedTransport(STRICT, resolver=resolver, dial=backend)
        url = f"http://pmp.example.com:{sandbox.port}"
        async with PmpClient(base_url=url, token=sandbox.token, transport=transport) as pmp:
            for _ in range(3):
                await pmp.customers.get(1)  # one after the other: the pooled connection
    assert resolver.lookups == ["pmp.example.com"]
    assert backend.asked == [PUBLIC_IP]


async def test_tls_checks_the_host_name_while_the_connection_goes_to_the_vetted_ip() -> None:
    # A server that reads the TLS ClientHello and hangs up: the hello names the PMP host
    # (SNI, what the certificate is checked against) although the socket went to the IP.
    hellos: list[bytes] = []

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hellos.append(await reader.read(4096))
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0)
    backend = Loopback(int(server.sockets[0].getsockname()[1]))
    transport = GuardedTransport(STRICT, resolver=Resolver([PUBLIC_IP]), dial=backend)
    try:
        async with PmpClient(
            base_url="https://pmp.example.com", token=TOKEN, transport=transport, max_retries=0
        ) as pmp:
            with pytest.raises(PmpConnectionError):
                await pmp.check_connection()
    finally:
        server.close()
        await server.wait_closed()
    assert backend.asked == [PUBLIC_IP]
    assert hellos and hellos[0][:1] == b"\x16"  # a TLS handshake record
    assert b"pmp.example.com" in hellos[0]  # SNI: the name, not the address


async def test_a_policy_goes_with_the_clients_own_transport_only() -> None:
    with pytest.raises(ValueError):
        PmpClient(
            base_url="https://pmp.example.com",
            token=TOKEN,
            transport=httpx.MockTransport(lambda request: httpx.Response(200)),
            address_policy=PRIVATE_ALLOWED,
        )


class KeepAliveServer:
    """A keep-alive HTTP server on 127.0.0.1 that answers "/hold" only once released, so a
    test decides which connections are busy."""

    def __init__(self, holding: int) -> None:
        self.connections = 0
        self.release = asyncio.Event()
        self.all_held = asyncio.Event()
        self._holding = holding
        self._held = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /hold "):
                    self._held += 1
                    if self._held == self._holding:
                        self.all_held.set()
                    await self.release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client closed the connection
        finally:
            writer.close()


async def test_idle_connections_are_kept_up_to_the_keepalive_limit_while_others_are_busy() -> None:
    # A pool that closes an idle connection whenever it holds more than the keep-alive
    # limit in all (httpcore's did) opens a new connection for nearly every PMP request
    # once more lookups than that are in flight.
    keep = KeepAliveServer(holding=4)
    server = await asyncio.start_server(keep.serve, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    transport = GuardedTransport(
        PRIVATE_ALLOWED, limits=httpx.Limits(max_connections=10, max_keepalive_connections=4)
    )
    try:
        async with httpx.AsyncClient(transport=transport) as client:
            url = f"http://127.0.0.1:{port}"
            held = [asyncio.create_task(client.get(f"{url}/hold")) for _ in range(4)]
            await keep.all_held.wait()
            for _ in range(3):
                assert (await client.get(f"{url}/quick")).text == "ok"
            assert keep.connections == 5  # the quick requests shared one idle connection
            keep.release.set()
            assert [response.status_code for response in await asyncio.gather(*held)] == [200] * 4
            for _ in range(3):
                await client.get(f"{url}/quick")
            assert keep.connections == 5
    finally:
        keep.release.set()
        server.close()


async def test_a_pooled_connection_the_server_closed_is_not_used_again() -> None:
    # The server answers keep-alive and then hangs up: the pool must see the idle socket's
    # end (readable) and open a new connection, not send the next request into a dead one.
    hung_up = asyncio.Event()
    connections = 0

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        hung_up.set()

    server = await asyncio.start_server(once, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    try:
        async with httpx.AsyncClient(transport=GuardedTransport(PRIVATE_ALLOWED)) as client:
            for _ in range(3):
                hung_up.clear()
                assert (await client.get(f"http://127.0.0.1:{port}/")).text == "ok"
                await hung_up.wait()
        assert connections == 3
    finally:
        server.close()


async def test_a_write_lost_with_its_connection_is_not_sent_again() -> None:
    # The server takes a PUT on a kept connection and hangs up without answering: the
    # transport reports it and never sends the PUT again (PmpClient owns every retry, and
    # a write that may have reached PMP is never repeated).
    writes: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"PUT "):
                    writes.append(head)
                    break
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        async with httpx.AsyncClient(transport=GuardedTransport(PRIVATE_ALLOWED)) as client:
            assert (await client.get(url)).text == "ok"  # the connection is now kept
            with pytest.raises(httpx.RemoteProtocolError):
                await client.put(url, content=b"{}")
    finally:
        server.close()
        await server.wait_closed()
    assert len(writes) == 1
