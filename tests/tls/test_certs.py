"""Certificates: the CA and leaf builders, and ``proconsul tls ca create`` / ``tls cert create``."""

from __future__ import annotations

import datetime
import os
import ssl
from pathlib import Path

import pytest
import trio

from actors.cli import tls_cmd
from actors.tls.naming import leaf_plan
from runtime.tls.certs import create_ca, create_leaf, describe, load_issued, signed_by
from runtime.tls.contexts import TlsConfigError, dialling_context, serving_context

NOW = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def test_a_ca_signs_a_server_certificate_with_consul_names_and_validity() -> None:
    ca = create_ca("Consul Agent CA 1", days=1825, now=NOW)
    ca_info = describe(ca.cert_pem)
    assert ca_info.is_ca and ca_info.subject_cn == ca_info.issuer_cn == "Consul Agent CA 1"
    assert ca_info.not_after - ca_info.not_before == datetime.timedelta(days=1825, minutes=1)
    plan = leaf_plan("server", dc="dc1", domain="consul.")
    leaf = create_leaf(ca, common_name=plan.common_name, days=365, dns_names=plan.dns_names,
                       ip_addresses=plan.ip_addresses, now=NOW)
    info = describe(leaf.cert_pem)
    assert info.subject_cn == "server.dc1.consul" and info.issuer_cn == "Consul Agent CA 1"
    assert info.dns_names == ["server.dc1.consul", "localhost"] and info.ip_addresses == ["127.0.0.1"]
    assert info.server_auth and info.client_auth and not info.is_ca
    assert info.not_before == NOW - datetime.timedelta(minutes=1)
    assert info.not_after == NOW + datetime.timedelta(days=365)
    assert signed_by(leaf.cert_pem, ca.cert_pem)
    assert not signed_by(leaf.cert_pem, create_ca("Other", days=1, now=NOW).cert_pem)
    load_issued(leaf.cert_pem, leaf.key_pem)
    with pytest.raises(ValueError, match="does not belong"):
        load_issued(leaf.cert_pem, ca.key_pem)


def test_a_leaf_never_outlives_its_ca_and_client_names_differ() -> None:
    ca = create_ca("CA", days=10, now=NOW)
    plan = leaf_plan("client", dc="eu", domain="consul")
    leaf = create_leaf(ca, common_name=plan.common_name, days=365, dns_names=plan.dns_names, now=NOW)
    info = describe(leaf.cert_pem)
    assert info.not_after == describe(ca.cert_pem).not_after
    assert info.dns_names == ["client.eu.consul", "localhost"]
    assert leaf_plan("server", dc="dc1", domain="consul", node="s1").dns_names[0] == "s1.server.dc1.consul"
    assert leaf_plan("cli", dc="dc1", domain="consul").ip_addresses == []
    with pytest.raises(ValueError):
        create_leaf(ca, common_name="x", days=1, ip_addresses=["not-an-ip"])


def test_certificates_from_the_builder_complete_a_real_tls_handshake(tmp_path: Path) -> None:
    ca = create_ca("CA", days=5)
    server = create_leaf(ca, common_name="server.dc1.consul", days=5, dns_names=["server.dc1.consul"])
    for name, data in (("ca.pem", ca.cert_pem), ("s.pem", server.cert_pem), ("s-key.pem", server.key_pem)):
        (tmp_path / name).write_bytes(data)

    async def main() -> None:
        listener_ctx = serving_context(cert_file=str(tmp_path / "s.pem"), key_file=str(tmp_path / "s-key.pem"))
        client_ctx = dialling_context(ca_file=str(tmp_path / "ca.pem"))
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            async def serve(stream: trio.abc.Stream) -> None:
                tls = trio.SSLStream(stream, listener_ctx, server_side=True)
                await tls.send_all(b"hi")
                await tls.aclose()

            await nursery.start(trio.serve_listeners, serve, listeners)
            for hostname, ok in (("server.dc1.consul", True), ("server.dc2.consul", False)):
                tcp = await trio.open_tcp_stream("127.0.0.1", port)
                tls = trio.SSLStream(tcp, client_ctx, server_hostname=hostname)
                if ok:
                    assert await tls.receive_some(10) == b"hi"
                else:
                    with pytest.raises(trio.BrokenResourceError) as info:
                        await tls.do_handshake()
                    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
                await trio.aclose_forcefully(tls)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_context_builders_name_the_bad_file(tmp_path: Path) -> None:
    with pytest.raises(TlsConfigError, match="cannot read certificate file .*missing.pem"):
        serving_context(cert_file=str(tmp_path / "missing.pem"), key_file=str(tmp_path / "k.pem"))
    (tmp_path / "empty.pem").write_text("nothing here")
    with pytest.raises(TlsConfigError, match="no PEM certificate found"):
        dialling_context(ca_file=str(tmp_path / "empty.pem"))


def test_cli_creates_a_ca_then_numbered_server_and_client_certificates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert tls_cmd.run(["ca", "create", "-days", "30"]) == 0
    out = capsys.readouterr().out
    assert "==> Saved consul-agent-ca.pem" in out and "==> Saved consul-agent-ca-key.pem" in out
    ca_pem = (tmp_path / "consul-agent-ca.pem").read_bytes()
    assert describe(ca_pem).subject_cn.startswith("Consul Agent CA ")
    assert os.stat(tmp_path / "consul-agent-ca-key.pem").st_mode & 0o077 == 0
    assert tls_cmd.run(["ca", "create"]) == 1
    assert "consul-agent-ca.pem already exists." in capsys.readouterr().err

    assert tls_cmd.run(["cert", "create", "-server"]) == 0
    assert tls_cmd.run(["cert", "create", "-server", "-additional-dnsname", "consul.example",
                        "-additional-ipaddress", "10.1.2.3", "-days", "7"]) == 0
    assert tls_cmd.run(["cert", "create", "-client", "-dc", "dc2"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: Server Certificates grants authority" in out
    assert "==> Using consul-agent-ca.pem and consul-agent-ca-key.pem" in out
    for name in ("dc1-server-consul-0", "dc1-server-consul-1", "dc2-client-consul-0"):
        assert f"==> Saved {name}.pem" in out and f"==> Saved {name}-key.pem" in out
    first = describe((tmp_path / "dc1-server-consul-0.pem").read_bytes())
    assert first.dns_names == ["server.dc1.consul", "localhost"] and first.ip_addresses == ["127.0.0.1"]
    second = describe((tmp_path / "dc1-server-consul-1.pem").read_bytes())
    assert second.dns_names == ["consul.example", "server.dc1.consul", "localhost"]
    assert second.ip_addresses == ["10.1.2.3", "127.0.0.1"]
    assert second.not_after - second.not_before == datetime.timedelta(days=7, minutes=1)
    client = describe((tmp_path / "dc2-client-consul-0.pem").read_bytes())
    assert client.subject_cn == "client.dc2.consul"
    for name in ("dc1-server-consul-0", "dc1-server-consul-1", "dc2-client-consul-0"):
        assert signed_by((tmp_path / f"{name}.pem").read_bytes(), ca_pem)
        load_issued((tmp_path / f"{name}.pem").read_bytes(), (tmp_path / f"{name}-key.pem").read_bytes())


@pytest.mark.parametrize(("argv", "message"), [
    (["cert", "create"], "Please provide either -server, -client, or -cli"),
    (["cert", "create", "-server", "-client"], "Please provide either -server, -client, or -cli"),
    (["cert", "create", "-client", "-node", "n1"], "-node requires -server"),
    (["cert", "create", "-server"], "Error reading CA"),
    (["cert", "create", "-server", "-bogus"], "flag provided but not defined: -bogus"),
    (["ca", "create", "-days", "0"], "-days must be greater than zero"),
])
def test_cli_errors(argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert tls_cmd.run(argv) == 1
    assert message in capsys.readouterr().err
