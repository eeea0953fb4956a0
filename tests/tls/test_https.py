"""HTTPS on a real in-process agent: the API over TLS, client certificates, bad clients kept apart."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import msgspec
import pytest
import trio

from actors.agent import serve_agent
from actors.context import AgentContext
from tests.support.http_client import call
from tests.tls.tls_kit import Pki, Refused, dev_agent_config, https_call, tls_config, write_config


async def start(nursery: trio.Nursery, cfg) -> AgentContext:
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    assert ctx.extras.get("https_addr") is not None
    return ctx


def https_listener(ctx: AgentContext):
    return ctx.tree.get(f"{ctx.root_path}/https").actor


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


async def test_https_serves_the_api_with_the_ca_and_plain_http_stays_on_its_port(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    config = write_config(tmp_path / "tls.json", tls_config(pki, pki.leaf("server")))
    ctx = await start(nursery, dev_agent_config(config))
    addr = ctx.extras["https_addr"]
    reply = await https_call(addr, pki.client_context(), "GET", "/v1/status/leader")
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    plain = await call(ctx.http_addr, "GET", "/v1/status/leader")
    assert plain.status == 200 and plain.json() == reply.json()
    # A client that does not trust our CA refuses the agent's certificate.
    with pytest.raises(Refused):
        await https_call(addr, ssl.create_default_context(), "GET", "/v1/status/leader")


async def test_verify_incoming_refuses_a_client_without_certificate(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    data = tls_config(pki, pki.leaf("server"))
    data["tls"]["https"] = {"verify_incoming": True}
    ctx = await start(nursery, dev_agent_config(write_config(tmp_path / "tls.json", data)))
    addr = ctx.extras["https_addr"]
    with pytest.raises(Refused):
        await https_call(addr, pki.client_context(), "GET", "/v1/status/leader")
    # A certificate from another CA is refused as well; one from ours is served.
    other = Pki(tmp_path / "other")
    with pytest.raises(Refused):
        await https_call(addr, pki.client_context(other.leaf("client")), "GET", "/v1/status/leader")
    reply = await https_call(addr, pki.client_context(pki.leaf("client")), "GET", "/v1/status/leader")
    assert reply.status == 200
    assert https_listener(ctx).handshake_failures.get("tls_error", 0) >= 2


async def test_plain_http_on_the_https_port_fails_cleanly_and_the_listener_keeps_serving(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture) -> None:
    config = write_config(tmp_path / "tls.json", tls_config(pki, pki.leaf("server")))
    ctx = await start(nursery, dev_agent_config(config))
    addr = ctx.extras["https_addr"]
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        with trio.fail_after(10):
            stream = await trio.open_tcp_stream(*addr)
            async with stream:
                await stream.send_all(b"GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n")
                received = b""
                try:
                    while chunk := await stream.receive_some(65536):
                        received += chunk
                except trio.BrokenResourceError:
                    pass  # a reset is a clean refusal too
        assert b"HTTP/1.1 200" not in received and b"127.0.0.1" not in received
    reply = await https_call(addr, pki.client_context(), "GET", "/v1/status/leader")
    assert reply.status == 200
    listener = https_listener(ctx)
    assert listener.handshake_failures.get("tls_error", 0) == 3
    assert listener.server.statistics().requests_served == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_silent_tls_client_is_closed_after_the_handshake_timeout(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> None:
    cfg = dev_agent_config(write_config(tmp_path / "tls.json", tls_config(pki, pki.leaf("server"))))
    cfg = msgspec.structs.replace(cfg, limits=msgspec.structs.replace(cfg.limits, https_handshake_timeout=0.3))
    ctx = await start(nursery, cfg)
    addr = ctx.extras["https_addr"]
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream(*addr)
        async with stream:
            await stream.send_all(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
            started = trio.current_time()
            try:
                assert await stream.receive_some(1024) == b""
            except trio.BrokenResourceError:
                pass
            assert trio.current_time() - started >= 0.25
    assert https_listener(ctx).handshake_failures == {"timeout": 1}
    reply = await https_call(addr, pki.client_context(), "GET", "/v1/status/leader")
    assert reply.status == 200


async def test_cli_reaches_the_https_api_with_flags_and_environment(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.cli.kv_cmd import FlagSet, HttpFlags

    data = tls_config(pki, pki.leaf("server"))
    data["tls"]["https"] = {"verify_incoming": True}
    ctx = await start(nursery, dev_agent_config(write_config(tmp_path / "tls.json", data)))
    host, port = ctx.extras["https_addr"]
    cert, key = pki.leaf("cli")
    for name in ("CONSUL_CACERT", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY", "CONSUL_HTTP_SSL", "CONSUL_HTTP_ADDR"):
        monkeypatch.delenv(name, raising=False)

    def leader(argv: list[str]) -> object:
        flags = FlagSet()
        http = HttpFlags(flags)
        flags.parse(argv)
        return http.client().get_json("/v1/agent/self")["Config"]["NodeName"] == "tls1"

    with_flags = ["-http-addr", f"https://{host}:{port}", "-ca-file", pki.ca_file, "-client-cert", cert,
                  "-client-key", key]
    assert await trio.to_thread.run_sync(leader, with_flags)
    # -tls-server-name: the agent's certificate is checked against that name instead of the URL's host.
    assert await trio.to_thread.run_sync(leader, [*with_flags, "-tls-server-name", "server.dc1.consul"])
    from actors.cli.kv_cmd import ApiError

    with pytest.raises(ApiError, match="certificate"):
        await trio.to_thread.run_sync(leader, [*with_flags, "-tls-server-name", "server.dc9.consul"])
    monkeypatch.setenv("CONSUL_HTTP_SSL", "true")
    monkeypatch.setenv("CONSUL_CACERT", pki.ca_file)
    monkeypatch.setenv("CONSUL_CLIENT_CERT", cert)
    monkeypatch.setenv("CONSUL_CLIENT_KEY", key)
    assert await trio.to_thread.run_sync(leader, ["-http-addr", f"{host}:{port}"])

    monkeypatch.delenv("CONSUL_CLIENT_CERT")
    monkeypatch.delenv("CONSUL_CLIENT_KEY")
    with pytest.raises(ApiError):  # no client certificate: refused by verify_incoming
        await trio.to_thread.run_sync(leader, ["-http-addr", f"{host}:{port}"])
