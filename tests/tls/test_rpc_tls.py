"""TLS on the server port, at the transport level, with the agent's own rules (`AgentTls`).

The CVE tests of reliability.md section 4.1: verify_server_hostname never means plaintext
(CVE-2018-19653); a CA-signed client certificate cannot pose as a server to a dialler (CVE-2019-9764);
Raft and server RPC refuse a peer whose certificate is not a server's (CVE-2021-37219).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from actors.config import AgentConfig, build_config, source_from_dict
from actors.tls.agent_tls import AgentTls
from runtime.transport.connection import FramedConnection, connect
from runtime.transport.errors import ConnectionClosed
from runtime.transport.hello import Hello
from runtime.transport.listener import StreamListener
from runtime.transport.protocols import StreamProtocols
from tests.tls.tls_kit import Pki, tls_config
from tests.transport.helpers import Ping, Pong, echo, start


def agent_config(pki: Pki, cert: tuple[str, str], *, server: bool = True, dc: str = "dc1", **rpc: Any) -> AgentConfig:
    data = {"node_name": "n", "datacenter": dc, "server": server, "data_dir": "/nonexistent",
            **tls_config(pki, cert, **rpc)}
    return build_config([source_from_dict("test.json", data)], hostname="h").config


STRICT = {"verify_incoming": True, "verify_outgoing": True, "verify_server_hostname": True}


async def serve(nursery: trio.Nursery, tls: AgentTls) -> StreamListener:
    """A server port as build_raft sets it up: "raft" for servers only, "http" for anyone the CA signed."""
    protocols = StreamProtocols()
    protocols.register("raft", echo, Ping, admit=tls.admit_server)
    protocols.register("http", echo, Ping)
    listener = StreamListener("127.0.0.1", 0, protocols, node="s1", tls=tls.listener)
    await start(nursery, listener, "listener")
    return listener


async def ping(nursery: trio.Nursery, listener: StreamListener, kind: str, dial: Any, n: int = 1) -> int:
    """Connect, send a Ping, return the Pong's number; `ConnectionClosed` if refused at any step."""
    assert listener.address is not None
    with trio.fail_after(10):
        conn: FramedConnection = await connect(listener.address, Hello(kind=kind, node="c1", dc="dc1"), Pong,
                                               nursery=nursery, tls=dial)
        async with conn:
            await conn.send(Ping(n=n))
            reply = await conn.receive()
    return reply.n


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


async def test_verify_incoming_refuses_plaintext_and_serves_servers_over_tls(pki: Pki, nursery: trio.Nursery) -> None:
    tls = AgentTls(agent_config(pki, pki.leaf("server"), **STRICT))
    listener = await serve(nursery, tls)
    with pytest.raises(ConnectionClosed):
        await ping(nursery, listener, "http", None)
    assert listener.counters.errors["plaintext_refused"] == 1
    assert await ping(nursery, listener, "raft", tls.dial("dc1"), 5) == 5
    assert await ping(nursery, listener, "http", tls.dial("dc1"), 6) == 6


async def test_a_client_certificate_is_refused_on_raft_but_may_forward_api_calls(
        pki: Pki, nursery: trio.Nursery) -> None:
    server = AgentTls(agent_config(pki, pki.leaf("server"), **STRICT))
    client = AgentTls(agent_config(pki, pki.leaf("client"), server=False, **STRICT))
    listener = await serve(nursery, server)
    with pytest.raises(ConnectionClosed):
        await ping(nursery, listener, "raft", client.dial("dc1"))
    assert listener.counters.errors["unauthorized"] == 1
    assert await ping(nursery, listener, "http", client.dial("dc1"), 3) == 3
    # Plaintext Raft is refused by the same rule even where verify_incoming is off.
    relaxed = AgentTls(agent_config(pki, pki.leaf("server"), verify_server_hostname=True))
    relaxed_listener = await serve(nursery, relaxed)
    with pytest.raises(ConnectionClosed):
        await ping(nursery, relaxed_listener, "raft", None)
    assert relaxed_listener.counters.errors["unauthorized"] == 1
    assert await ping(nursery, relaxed_listener, "http", None, 4) == 4


async def test_a_ca_signed_client_certificate_cannot_pose_as_a_server(pki: Pki, nursery: trio.Nursery) -> None:
    impostor = AgentTls(agent_config(pki, pki.leaf("client"), server=False))
    assert impostor.listener is not None
    listener = await serve(nursery, impostor)
    dialler = AgentTls(agent_config(pki, pki.leaf("server"), **STRICT))
    with pytest.raises(ConnectionClosed, match="TLS handshake .* failed"):
        await ping(nursery, listener, "http", dialler.dial("dc1"))
    # Without hostname verification the chain alone is checked, and the impostor passes: the setting matters.
    chain_only = AgentTls(agent_config(pki, pki.leaf("server"), verify_outgoing=True))
    assert await ping(nursery, listener, "http", chain_only.dial("dc1"), 2) == 2


async def test_a_server_of_another_datacenter_is_not_one_of_ours(pki: Pki, nursery: trio.Nursery) -> None:
    dc2 = AgentTls(agent_config(pki, pki.leaf("server", dc="dc2"), dc="dc2", **STRICT))
    listener = await serve(nursery, dc2)
    dc1 = AgentTls(agent_config(pki, pki.leaf("server"), **STRICT))
    with pytest.raises(ConnectionClosed, match="TLS handshake"):
        await ping(nursery, listener, "http", dc1.dial("dc1"))
    assert await ping(nursery, listener, "http", dc1.dial("dc2"), 8) == 8  # a WAN link dials dc2 as dc2


async def test_a_certificate_from_another_ca_is_refused_by_verify_incoming(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    listener = await serve(nursery, AgentTls(agent_config(pki, pki.leaf("server"), **STRICT)))
    other = Pki(tmp_path / "other")
    stranger = AgentTls(agent_config(other, other.leaf("server"), **STRICT))
    with pytest.raises(ConnectionClosed):
        await ping(nursery, listener, "http", stranger.dial("dc1"))
    assert sum(n for reason, n in listener.counters.errors.items() if reason.startswith("tls_")) >= 1


async def test_without_verify_incoming_plaintext_and_tls_both_work(pki: Pki, nursery: trio.Nursery) -> None:
    tls = AgentTls(agent_config(pki, pki.leaf("server")))
    assert tls.listener is not None and not tls.listener.require
    assert tls.dial("dc1") is None  # no verify_outgoing: plaintext dialling
    listener = await serve(nursery, tls)
    assert await ping(nursery, listener, "raft", None, 1) == 1
    outgoing = AgentTls(agent_config(pki, pki.leaf("server"), verify_outgoing=True))
    assert await ping(nursery, listener, "raft", outgoing.dial("dc1"), 2) == 2


def test_verify_server_hostname_implies_tls_dialling_even_when_verify_outgoing_says_no(pki: Pki) -> None:
    """CVE-2018-19653: hostname verification was documented to imply verify_outgoing but did not."""
    tls = AgentTls(agent_config(pki, pki.leaf("server"), verify_server_hostname=True, verify_outgoing=False))
    dial = tls.dial("dc1")
    assert dial is not None and dial.server_hostname == "server.dc1.consul"
    assert dial.context.check_hostname
    assert tls.dial("dc7").server_hostname == "server.dc7.consul"  # type: ignore[union-attr]

