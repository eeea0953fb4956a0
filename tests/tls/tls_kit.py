"""Shared helpers of the TLS tests: a throw-away PKI on disk, agent configs that use it, HTTPS calls.

What lives here: `Pki` (a CA and, on demand, server/client certificates for any datacenter, written as PEM
files under a temporary directory, named as ``consul tls`` names them), `tls_config` (the ``tls`` block of
a JSON agent config pointing at those files), `https_call` (one HTTP/1.1 request over TLS with Trio and
h11, optionally presenting a client certificate) and `dev_agent_config` (a ``-dev`` config with ephemeral
HTTP/HTTPS ports, as only in-process tests need).

What must never live here: assertions (tests own those) or sleeps used as synchronisation.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import h11
import msgspec
import trio

from actors.config import AgentConfig
from actors.flags import parse_agent_flags
from actors.tls.naming import ca_file_names, leaf_plan
from runtime.tls.certs import Issued, create_ca, create_leaf
from runtime.tls.contexts import dialling_context
from tests.support.http_client import Reply


class Pki:
    """A CA in ``root`` and leaf certificates made from it: ``pki.leaf("server", dc="dc1")`` -> paths."""

    def __init__(self, root: Path, domain: str = "consul") -> None:
        self.root = root
        self.domain = domain
        root.mkdir(parents=True, exist_ok=True)
        self.ca = create_ca("Consul Agent CA test", days=30)
        cert_name, key_name = ca_file_names(domain)
        self.ca_file = self._write(cert_name, self.ca.cert_pem)
        self.ca_key_file = self._write(key_name, self.ca.key_pem)
        self._count = 0

    def _write(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.write_bytes(data)
        return str(path)

    def leaf(self, kind: Any = "server", *, dc: str = "dc1", ca: Issued | None = None) -> tuple[str, str]:
        """(cert file, key file) of a new ``kind`` certificate for ``dc`` signed by ``ca`` (default ours)."""
        plan = leaf_plan(kind, dc=dc, domain=self.domain)
        issued = create_leaf(ca or self.ca, common_name=plan.common_name, days=10, dns_names=plan.dns_names,
                             ip_addresses=plan.ip_addresses, server_auth=plan.server_auth,
                             client_auth=plan.client_auth)
        self._count += 1
        cert = self._write(f"{plan.prefix}-{self._count}.pem", issued.cert_pem)
        key = self._write(f"{plan.prefix}-{self._count}-key.pem", issued.key_pem)
        return cert, key

    def client_context(self, cert: tuple[str, str] | None = None) -> ssl.SSLContext:
        """What an HTTPS client trusting our CA uses (checking the agent's name: 127.0.0.1 is in its SANs)."""
        return dialling_context(ca_file=self.ca_file, cert_file=cert[0] if cert else None,
                                key_file=cert[1] if cert else None)


def tls_config(pki: Pki, cert: tuple[str, str], **rpc: Any) -> dict[str, Any]:
    """A config-file ``tls`` block: CA and certificate in ``defaults``, ``rpc`` into ``internal_rpc``."""
    block: dict[str, Any] = {"defaults": {"ca_file": pki.ca_file, "cert_file": cert[0], "key_file": cert[1]}}
    if rpc:
        block["internal_rpc"] = rpc
    return {"tls": block}


def write_config(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def dev_agent_config(config_file: str | None = None, *extra: str, https: bool = True) -> AgentConfig:
    """A ``-dev`` agent on ephemeral loopback ports; HTTPS on an ephemeral port too when ``https``."""
    args = ["-dev", "-node", "tls1", *extra]
    if config_file is not None:
        args += ["-config-file", config_file]
    cfg = parse_agent_flags(args, hostname="testhost")
    ports = msgspec.structs.replace(cfg.ports, http=0, https=0 if https else -1, dns=-1, serf_lan=0, serf_wan=0,
                                    server=0)
    return msgspec.structs.replace(cfg, ports=ports)


class Refused(Exception):
    """The server (or our own certificate check) ended the connection before any HTTP response."""


async def https_call(addr: tuple[str, int], context: ssl.SSLContext, method: str, target: str,
                     server_hostname: str = "127.0.0.1", timeout: float = 10.0) -> Reply:
    """One request over TLS; raises `Refused` if the connection ends before a response (a refused
    handshake shows up so: under TLS 1.3 a client learns that its certificate was refused only when it
    reads)."""
    try:
        return await _https_call(addr, context, method, target, server_hostname, timeout)
    except (trio.BrokenResourceError, h11.RemoteProtocolError) as exc:
        raise Refused(f"{type(exc).__name__}: {exc.__cause__ or exc}") from None


async def _https_call(addr: tuple[str, int], context: ssl.SSLContext, method: str, target: str,
                      server_hostname: str, timeout: float) -> Reply:
    with trio.fail_after(timeout):
        tcp = await trio.open_tcp_stream(*addr)
        stream = trio.SSLStream(tcp, context, server_hostname=server_hostname, https_compatible=True)
        async with stream:
            conn = h11.Connection(h11.CLIENT)
            headers = [("Host", f"{addr[0]}:{addr[1]}"), ("Content-Length", "0"), ("Connection", "close")]
            await stream.send_all(conn.send(h11.Request(method=method, target=target, headers=headers)))
            await stream.send_all(conn.send(h11.EndOfMessage()))
            status, got, body = 0, {}, b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                    got = {k.decode().lower(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    return Reply(status, got, body)
