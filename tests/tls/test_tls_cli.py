"""The CLI commands that parse their own arguments (``reload``, ``operator``, ``actors``) reach an HTTPS
agent with ``verify_incoming``: the TLS flags, Consul's ``CONSUL_*`` variables, and ``actors -watch``
over ``wss://``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import pytest
import trio
from rich.console import Console

from actors.agent import serve_agent
from actors.cli import actors_cmd, operator_cmd, reload_cmd
from actors.cli.http_client import CLIError, tls_context_for
from actors.context import AgentContext
from tests.tls.tls_kit import Pki, dev_agent_config, tls_config, write_config

ENV = ("CONSUL_CACERT", "CONSUL_CAPATH", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY", "CONSUL_HTTP_SSL",
       "CONSUL_HTTP_ADDR", "CONSUL_TLS_SERVER_NAME", "CONSUL_HTTP_SSL_VERIFY", "CONSUL_HTTP_TOKEN")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


async def strict_agent(pki: Pki, tmp_path: Path, nursery: trio.Nursery) -> tuple[AgentContext, str]:
    """An agent whose HTTPS API requires a client certificate from our CA; (context, https:// base)."""
    data = tls_config(pki, pki.leaf("server"))
    data["tls"]["https"] = {"verify_incoming": True}
    cfg = dev_agent_config(write_config(tmp_path / "tls.json", data))
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    host, port = ctx.extras["https_addr"]
    return ctx, f"https://{host}:{port}"


async def run_cli(command: Callable[[list[str]], int], argv: list[str]) -> int:
    with trio.fail_after(30):
        return await trio.to_thread.run_sync(command, argv)


async def test_reload_operator_and_actors_take_the_tls_flags(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    ctx, base = await strict_agent(pki, tmp_path, nursery)
    cert, key = pki.leaf("cli")
    flags = ["-http-addr", base, "-ca-file", pki.ca_file, "-client-cert", cert, "-client-key", key]

    assert await run_cli(reload_cmd.run, flags) == 0
    assert "Configuration reload triggered" in capsys.readouterr().out
    assert await run_cli(operator_cmd.run, ["raft", "list-peers", *flags]) == 0
    assert "tls1" in capsys.readouterr().out
    assert await run_cli(actors_cmd.run, flags) == 0
    assert "agent:tls1" in capsys.readouterr().out
    # -tls-server-name (the flag=value form too): checked against the agent's certificate.
    assert await run_cli(reload_cmd.run, [*flags, "-tls-server-name=server.dc1.consul"]) == 0
    capsys.readouterr()
    assert await run_cli(reload_cmd.run, [*flags, "-tls-server-name", "server.dc9.consul"]) == 1
    assert "certificate" in capsys.readouterr().err

    # Without a client certificate verify_incoming refuses the connection: a clear error, exit code 1.
    assert await run_cli(reload_cmd.run, ["-http-addr", base, "-ca-file", pki.ca_file]) == 1
    assert "Error connecting to agent at https://" in capsys.readouterr().err
    assert await run_cli(operator_cmd.run, ["raft", "list-peers", "-http-addr", base, "-ca-file", pki.ca_file]) == 1
    capsys.readouterr()

    # Consul's environment variables instead of flags, with a bare host:port and CONSUL_HTTP_SSL.
    monkeypatch.setenv("CONSUL_HTTP_ADDR", base.removeprefix("https://"))
    monkeypatch.setenv("CONSUL_HTTP_SSL", "true")
    monkeypatch.setenv("CONSUL_CACERT", pki.ca_file)
    monkeypatch.setenv("CONSUL_CLIENT_CERT", cert)
    monkeypatch.setenv("CONSUL_CLIENT_KEY", key)
    assert await run_cli(operator_cmd.run, ["raft", "list-peers"]) == 0
    assert "tls1" in capsys.readouterr().out
    assert await run_cli(reload_cmd.run, []) == 0
    # A flag wins over its variable: a certificate from another CA is refused.
    other = Pki(tmp_path / "other").leaf("cli")
    assert await run_cli(reload_cmd.run, ["-client-cert", other[0], "-client-key", other[1]]) == 1


async def test_actors_watch_follows_an_https_agent_over_wss(
        pki: Pki, tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    ctx, base = await strict_agent(pki, tmp_path, nursery)
    cert, key = pki.leaf("cli")
    tls = tls_context_for(base, {"ca-file": pki.ca_file, "client-cert": cert, "client-key": key})
    assert tls is not None
    out = io.StringIO()
    with trio.fail_after(30):
        await actors_cmd.watch(base, Console(file=out, width=200), tls=tls, max_frames=1)
    assert "agent:tls1" in out.getvalue()
    # -tls-server-name applies to the websocket's handshake as well.
    named = tls_context_for(base, {"ca-file": pki.ca_file, "client-cert": cert, "client-key": key,
                                              "tls-server-name": "server.dc9.consul"})
    with pytest.raises(CLIError, match="TLS handshake .* failed: .*certificate"), trio.fail_after(30):
        await actors_cmd.watch(base, Console(file=io.StringIO()), tls=named, max_frames=1)
    # Without a client certificate the agent refuses the websocket's TLS handshake.
    bare = tls_context_for(base, {"ca-file": pki.ca_file})
    with pytest.raises(CLIError, match="closed the connection before the inspector handshake"), trio.fail_after(30):
        await actors_cmd.watch(base, Console(file=io.StringIO()), tls=bare, max_frames=1)
