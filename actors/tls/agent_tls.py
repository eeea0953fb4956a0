"""One agent's TLS: contexts for the server port and HTTPS, how to dial servers, who may speak Raft.

What lives here: `AgentTls` and `agent_tls(ctx)` (built once per agent, kept in ``ctx.extras["tls"]``).
From the effective ``tls.internal_rpc`` and ``tls.https`` settings (`actors.config.TLS.effective`):

- ``listener``: the server port's `ListenerTls`, present when the agent has a certificate. Client
  certificates are required with ``verify_incoming`` (and plaintext is refused), otherwise checked when
  sent (so a server can still tell a server certificate from another one).
- `AgentTls.dial`: the `DialTls` for the servers of a datacenter, or None (plaintext) without
  ``verify_outgoing``. With ``verify_server_hostname`` (which implies ``verify_outgoing``: never
  plaintext, CVE-2018-19653) the server's certificate must name ``server.<that dc>.<domain>``: a
  CA-signed client certificate cannot pose as a server (CVE-2019-9764), nor a server of another
  datacenter as one of ours. The agent presents its own certificate when it has one.
- `AgentTls.admit_server`: the ``admit`` hook for server-only protocols (Raft, server RPC) under
  ``verify_server_hostname``: the peer must have come over TLS with a certificate naming
  ``server.<our dc>.<domain>`` (CVE-2021-37219). Client agents' forwarded API calls are not restricted.
- ``https_context``: the HTTPS serving context; client certificates required with
  ``tls.https.verify_incoming``.

Unreadable files, a key that does not match its certificate, or an HTTPS port without a certificate
raise `actors.config.ConfigError` with one clear line, before anything listens.

What must never live here: sockets, certificate generation, or protocol handlers.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from actors.config import AgentConfig, ConfigError, TLSSettings
from actors.tls.naming import server_name
from runtime.tls.contexts import TlsConfigError, dialling_context, serving_context
from runtime.transport.hello import Hello
from runtime.transport.secure import DialTls, ListenerTls, TlsPeer

if TYPE_CHECKING:
    from actors.context import AgentContext


class AgentTls:
    def __init__(self, config: AgentConfig) -> None:
        self.datacenter = config.datacenter
        self.domain = config.domain
        self.rpc: TLSSettings = config.tls.effective("internal_rpc")
        self.https: TLSSettings = config.tls.effective("https")
        rpc, https = self.rpc, self.https
        if config.ports.https >= 0 and not https.has_cert:
            raise ConfigError("ports.https is set but no certificate and key are configured "
                              "(tls.defaults.cert_file and key_file): HTTPS needs a certificate")
        try:
            self.listener: ListenerTls | None = None
            if rpc.has_cert:
                assert rpc.cert_file is not None and rpc.key_file is not None
                incoming = "required" if rpc.verify_incoming else ("optional" if rpc.has_ca else "none")
                context = serving_context(cert_file=rpc.cert_file, key_file=rpc.key_file, ca_file=rpc.ca_file,
                                          ca_path=rpc.ca_path, client_certs=incoming,
                                          min_version=rpc.tls_min_version)
                self.listener = ListenerTls(context, require=rpc.verify_incoming)
            self._dialling: ssl.SSLContext | None = None
            if rpc.verify_outgoing:
                self._dialling = dialling_context(ca_file=rpc.ca_file, ca_path=rpc.ca_path, cert_file=rpc.cert_file,
                                                  key_file=rpc.key_file, check_hostname=rpc.verify_server_hostname,
                                                  min_version=rpc.tls_min_version)
            self.https_context: ssl.SSLContext | None = None
            if https.has_cert and config.ports.https >= 0:
                assert https.cert_file is not None and https.key_file is not None
                self.https_context = serving_context(
                    cert_file=https.cert_file, key_file=https.key_file, ca_file=https.ca_file,
                    ca_path=https.ca_path, client_certs="required" if https.verify_incoming else "none",
                    min_version=https.tls_min_version)
        except TlsConfigError as exc:
            raise ConfigError(f"tls: {exc}") from None

    @property
    def server_identity(self) -> str:
        """The name a server of this datacenter must present: ``server.<dc>.<domain>``."""
        return server_name(self.datacenter, self.domain)

    def dial(self, datacenter: str) -> DialTls | None:
        """How to dial a server of ``datacenter``: None is plaintext (no ``verify_outgoing``)."""
        if self._dialling is None:
            return None
        hostname = server_name(datacenter, self.domain) if self.rpc.verify_server_hostname else None
        return DialTls(self._dialling, hostname)

    def admit_server(self, hello: Hello, peer: TlsPeer | None) -> str | None:
        """`runtime.transport.protocols` ``admit`` hook for Raft and server RPC: None lets the peer in."""
        if not self.rpc.verify_server_hostname:
            return None
        wanted = self.server_identity
        if peer is None:
            return f"plaintext, but verify_server_hostname requires TLS with a certificate for {wanted}"
        if wanted not in peer.names:
            shown = ", ".join(sorted(peer.names)) or "no certificate"
            return f"peer certificate ({shown}) is not for {wanted}"
        return None


def agent_tls(ctx: "AgentContext") -> AgentTls:
    """The agent's `AgentTls`, built on first use and kept in ``ctx.extras["tls"]``."""
    tls = ctx.extras.get("tls")
    if tls is None:
        tls = ctx.extras["tls"] = AgentTls(ctx.config)
    return tls
