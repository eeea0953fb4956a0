"""Three in-process servers with TLS on the server port (verify_incoming, verify_outgoing,
verify_server_hostname): they elect and replicate; a server whose certificate is for another
datacenter is kept out; a client-certificate holder cannot speak Raft to them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import trio

from actors.config import TLS, TLSDefaults, TLSInternalRPC
from actors.raft.messages import RaftWire
from actors.state.commands import KVSet
from actors.tls.agent_tls import AgentTls
from runtime.transport.connection import connect
from runtime.transport.errors import ConnectionClosed
from runtime.transport.hello import Hello
from tests.cluster.cluster_kit import Server, leader_of, make_cluster, wait_for
from tests.tls.tls_kit import Pki, tls_config, write_config

STRICT = {"verify_incoming": True, "verify_outgoing": True, "verify_server_hostname": True}


def tls_cluster(tmp_path: Path, pki: Pki) -> list[Server]:
    config = write_config(tmp_path / "tls.json", tls_config(pki, pki.leaf("server"), **STRICT))
    return make_cluster(tmp_path / "data", extra_flags=("-config-file", config))


def server_listener(server: Server):
    assert server.ctx is not None
    return server.ctx.tree.get(f"{server.ctx.root_path}/server").actor


def value_at(server: Server, key: str) -> bytes | None:
    _, entry = server.raft.store.kv_get(key)
    return None if entry is None else entry.value


async def test_a_tls_cluster_elects_a_leader_and_replicates_a_write(tmp_path: Path, nursery: trio.Nursery) -> None:
    pki = Pki(tmp_path / "pki")
    nodes = tls_cluster(tmp_path, pki)
    for node in nodes:
        await node.start(nursery)
    await wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader over TLS")
    follower = next(n for n in nodes if n is not leader_of(nodes))
    assert follower.ctx is not None and follower.ctx.backend is not None
    applied = await follower.ctx.backend.write(KVSet(key="secure", value=b"yes"))  # forwarded over TLS RPC
    assert applied.error is None
    await wait_for(lambda: all(n.raft.applied_index >= applied.index for n in nodes), what="replication")
    assert all(value_at(n, "secure") == b"yes" for n in nodes)
    for node in nodes:
        stats = server_listener(node).statistics()
        assert stats["tls"] == "required"
        assert not {r for r in stats["errors"] if r in ("plaintext_refused", "unauthorized")}

    # A plaintext Raft dial is refused; so is a CA-signed client certificate.
    target = server_listener(nodes[0])
    client_tls = AgentTls(msgspec.structs.replace(nodes[0].cfg, server=False, tls=tls_block(pki, pki.leaf("client"))))
    for dial, reason in ((None, "plaintext_refused"), (client_tls.dial("dc1"), "unauthorized")):
        with trio.fail_after(10):
            conn = await connect(target.address, Hello(kind="raft", node="intruder", dc="dc1"), RaftWire,
                                 nursery=nursery, tls=dial)
            async with conn:
                try:
                    await conn.receive()
                    raise AssertionError("the server kept talking to an unauthorised Raft peer")
                except ConnectionClosed:
                    pass
        assert target.counters.errors[reason] >= 1
    for node in nodes:
        node.crash()


def tls_block(pki: Pki, cert: tuple[str, str]) -> TLS:
    return TLS(defaults=TLSDefaults(ca_file=pki.ca_file, cert_file=cert[0], key_file=cert[1]),
               internal_rpc=TLSInternalRPC(verify_incoming=True, verify_outgoing=True, verify_server_hostname=True))


async def test_a_server_with_a_certificate_for_another_datacenter_is_refused(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    pki = Pki(tmp_path / "pki")
    nodes = tls_cluster(tmp_path, pki)
    odd = nodes[2]
    odd.cfg = msgspec.structs.replace(odd.cfg, tls=tls_block(pki, pki.leaf("server", dc="dc2")))
    for node in nodes:
        await node.start(nursery)
    good = nodes[:2]
    await wait_for(lambda: leader_of(good) is not None, timeout=30, what="a leader among the dc1 servers")
    leader = leader_of(good)
    assert leader is not None and leader.ctx is not None and leader.ctx.backend is not None
    applied = await leader.ctx.backend.write(KVSet(key="k", value=b"v"))
    assert applied.error is None
    await wait_for(lambda: all(n.raft.applied_index >= applied.index for n in good), what="replication to dc1")

    # The dc1 servers refuse the odd one's Raft connections (its certificate names server.dc2.consul)...
    await wait_for(lambda: any(server_listener(n).counters.errors["unauthorized"] for n in good),
                   timeout=20, what="a refused Raft connection from the dc2-certified server")
    # ... and their own links to it fail the hostname check (a dc2 certificate is no dc1 server's).
    def links_to_odd_failed() -> bool:
        for node in good:
            assert node.ctx is not None
            cell = node.ctx.tree.get(f"{node.ctx.root_path}/raft/peers").children.get(f"peer:{odd.name}")
            link = cell.actor if cell is not None else None
            if link is None or not link.last_error or "TLS handshake" not in link.last_error:
                return False
        return True

    await wait_for(links_to_odd_failed, timeout=20, what="dc1 servers failing the TLS check of the dc2 certificate")
    assert value_at(odd, "k") is None and odd.raft.leader is None
    for node in nodes:
        node.crash()
