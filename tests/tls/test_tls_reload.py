"""Reloading certificates (SIGHUP, ``PUT /v1/agent/reload``): new connections use the new files, old ones
are untouched, and a file that cannot be used fails the reload and keeps the certificate in use."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import h11
import pytest
import trio
from cryptography import x509

from actors.agent import serve_agent
from actors.config import ConfigError, build_config, source_from_dict
from actors.context import AgentContext
from actors.tls.agent_tls import AgentTls
from runtime.transport.connection import FramedConnection, connect
from runtime.transport.errors import ConnectionClosed
from runtime.transport.hello import Hello
from runtime.transport.secure import DialTls, dial_secure
from tests.support.http_client import call
from tests.tls.test_rpc_tls import STRICT, agent_config, ping, serve
from tests.tls.tls_kit import Pki, dev_agent_config, tls_config, write_config
from tests.transport.helpers import Ping, Pong


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def replace_files(target: tuple[str, str], source: tuple[str, str]) -> None:
    """Put ``source``'s certificate and key where ``target``'s are (same paths, new contents)."""
    shutil.copyfile(source[0], target[0])
    shutil.copyfile(source[1], target[1])


def file_serial(cert_file: str) -> int:
    return x509.load_pem_x509_certificate(Path(cert_file).read_bytes()).serial_number


def stream_serial(stream: trio.SSLStream) -> int:
    der = stream.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def open_https(addr: tuple[str, int], pki: Pki) -> trio.SSLStream:
    tcp = await trio.open_tcp_stream(*addr)
    stream = trio.SSLStream(tcp, pki.client_context(), server_hostname="127.0.0.1", https_compatible=True)
    await stream.do_handshake()
    return stream


async def get_on(stream: trio.SSLStream, target: str) -> int:
    """One keep-alive GET on an open HTTPS stream; the response status."""
    conn = h11.Connection(h11.CLIENT)
    await stream.send_all(conn.send(h11.Request(method="GET", target=target, headers=[("Host", "x")])))
    await stream.send_all(conn.send(h11.EndOfMessage()))
    status = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return status


async def https_serial(addr: tuple[str, int], pki: Pki) -> int:
    with trio.fail_after(10):
        stream = await open_https(addr, pki)
        async with stream:
            assert await get_on(stream, "/v1/status/leader") == 200
            return stream_serial(stream)


async def rpc_serial(addr: tuple[str, int], dial: DialTls) -> int:
    """The serial of the certificate the server port presents to a TLS dial (marker + handshake)."""
    with trio.fail_after(10):
        stream = await dial_secure(await trio.open_tcp_stream(*addr), dial, "server")
        async with stream:
            assert isinstance(stream, trio.SSLStream)
            return stream_serial(stream)


async def start(nursery: trio.Nursery, config_file: str) -> AgentContext:
    ctx = await nursery.start(lambda task_status: serve_agent(dev_agent_config(config_file), task_status=task_status))
    assert ctx.extras.get("https_addr") is not None and ctx.extras.get("server_addr") is not None
    return ctx


async def test_reload_serves_replaced_certificates_to_new_https_and_rpc_connections_only(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    files = pki.leaf("server")
    ctx = await start(nursery, write_config(tmp_path / "tls.json", tls_config(pki, files)))
    https, server_port = ctx.extras["https_addr"], ctx.extras["server_addr"]
    dialler = AgentTls(agent_config(pki, pki.leaf("client"), server=False, **STRICT)).dial("dc1")
    assert dialler is not None
    first = file_serial(files[0])
    assert await https_serial(https, pki) == first
    assert await rpc_serial(server_port, dialler) == first
    established = await open_https(https, pki)

    replace_files(files, pki.leaf("server"))
    second = file_serial(files[0])
    assert second != first
    reply = await call(ctx.http_addr, "PUT", "/v1/agent/reload")
    assert reply.status == 200, reply.text

    assert await https_serial(https, pki) == second
    assert await rpc_serial(server_port, dialler) == second
    async with established:  # opened before the reload: still served, with the certificate it started with
        assert stream_serial(established) == first
        with trio.fail_after(10):
            assert await get_on(established, "/v1/status/leader") == 200


async def test_a_reload_with_a_broken_certificate_fails_and_keeps_the_certificate_in_use(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    files = pki.leaf("server")
    ctx = await start(nursery, write_config(tmp_path / "tls.json", tls_config(pki, files)))
    https = ctx.extras["https_addr"]
    first = file_serial(files[0])
    Path(files[0]).write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    reply = await call(ctx.http_addr, "PUT", "/v1/agent/reload")
    assert reply.status == 500
    assert "Failed to reload configs: tls:" in reply.text and files[0] in reply.text
    assert await https_serial(https, pki) == first
    # A key that belongs to another certificate is refused as well.
    other = pki.leaf("server")
    shutil.copyfile(other[0], files[0])
    reply = await call(ctx.http_addr, "PUT", "/v1/agent/reload")
    assert reply.status == 500 and "Failed to reload configs: tls:" in reply.text
    assert await https_serial(https, pki) == first
    # Once the files are whole again, the reload succeeds.
    shutil.copyfile(other[1], files[1])
    assert (await call(ctx.http_addr, "PUT", "/v1/agent/reload")).status == 200
    assert await https_serial(https, pki) == file_serial(other[0])


async def test_dialers_holding_a_dial_use_the_reloaded_certificate_for_new_connections(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    server_files = pki.leaf("server", dc="dc2")  # not ours: a dc1 dialler checking names refuses it
    server_cfg = agent_config(pki, server_files, **STRICT)
    server = AgentTls(server_cfg)
    listener = await serve(nursery, server)
    client_files = pki.leaf("client")
    client_cfg = agent_config(pki, client_files, server=False, **STRICT)
    client = AgentTls(client_cfg)
    dial = client.dial("dc1")  # held for the whole test, as RPC clients and peer links hold theirs
    with pytest.raises(ConnectionClosed, match="TLS handshake"):
        await ping(nursery, listener, "http", dial)

    replace_files(server_files, pki.leaf("server"))
    server.reload(server_cfg)  # the listener's accepts now present a dc1 server certificate
    assert await ping(nursery, listener, "http", dial, 1) == 1
    assert listener.address is not None
    with trio.fail_after(10):
        established: FramedConnection = await connect(listener.address, Hello(kind="http", node="c1", dc="dc1"),
                                                      Pong, nursery=nursery, tls=dial)

    stranger = Pki(tmp_path / "other")
    replace_files(client_files, stranger.leaf("client"))
    client.reload(client_cfg)  # new dials present a certificate our CA did not sign: verify_incoming refuses
    with pytest.raises(ConnectionClosed):
        await ping(nursery, listener, "http", dial)
    async with established:  # dialled before the reload: unaffected
        with trio.fail_after(10):
            await established.send(Ping(n=7))
            assert (await established.receive()).n == 7
    assert server.reloads == 1 and client.reloads == 1


def test_a_reload_that_cannot_load_or_turns_tls_off_keeps_the_current_contexts(pki: Pki) -> None:
    files = pki.leaf("server")
    cfg = agent_config(pki, files, **STRICT)
    tls = AgentTls(cfg)
    listener, dial = tls.listener, tls.dial("dc1")
    assert listener is not None and dial is not None
    serving, dialling = listener.context, dial.context
    Path(files[1]).write_text("not a key")
    with pytest.raises(ConfigError, match=f"tls: cannot load certificate {files[0]} with key {files[1]}"):
        tls.reload(cfg)
    assert listener.context is serving and dial.context is dialling and tls.reloads == 0
    plain = build_config([source_from_dict("t.json", {"node_name": "n", "server": True, "data_dir": "/d"})],
                         hostname="h").config
    with pytest.raises(ConfigError, match="turns TLS off for the server port"):
        tls.reload(plain)
    assert listener.context is serving and tls.reloads == 0


def test_sighup_reloads_certificates_and_a_broken_file_leaves_the_process_serving(pki: Pki, tmp_path: Path) -> None:
    import json
    import os
    import socket
    import ssl

    from tests.cluster.proc_kit import ProcAgent, wait_until
    from tests.support.ports import free_ports

    files = pki.leaf("server")
    (https_port,) = free_ports(1)
    data = tls_config(pki, files)
    data["ports"] = {"https": https_port}
    config = write_config(tmp_path / "tls.json", data)
    agent = ProcAgent("hup1", tmp_path, ["-dev", "-config-file", config])
    context = pki.client_context()

    def served() -> int:
        with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls_socket:
                der = tls_socket.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der).serial_number

    try:
        agent.start()
        assert agent.proc is not None
        wait_until(lambda: served() == file_serial(files[0]), 60, "the agent serving HTTPS")
        replace_files(files, pki.leaf("server"))
        new = file_serial(files[0])
        os.kill(agent.proc.pid, signal.SIGHUP)
        wait_until(lambda: served() == new, 30, "the reloaded certificate on new connections")
        Path(files[0]).write_text("garbage")
        os.kill(agent.proc.pid, signal.SIGHUP)
        wait_until(lambda: "reload failed" in agent.log_path.read_text(), 30, "the failed reload logged")
        assert agent.alive, agent.log_path.read_text()[-2000:]
        assert served() == new
        assert json.loads(agent.call("GET", "/v1/status/leader")[1]) is not None
    finally:
        agent.kill()
