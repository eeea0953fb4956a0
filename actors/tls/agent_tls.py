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

Reload (SIGHUP, ``PUT /v1/agent/reload``): `AgentTls.reload` re-reads the files and replaces the contexts
as one generation; listeners and dialers hold callables asking for the current context per connection
(``ListenerTls``/``DialTls`` sources, `AgentTls.current_https`), so new connections use the new
certificates and established ones are untouched. A file that cannot be used fails the reload with
`ConfigError` and keeps the old contexts.

What must never live here: sockets, certificate generation, or protocol handlers.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, NamedTuple

import msgspec

from actors.config import AgentConfig, ConfigError, TLSSettings
from actors.tls.naming import server_name
from runtime.log import get_logger
from runtime.tls.contexts import TlsConfigError, dialling_context, serving_context
from runtime.transport.hello import Hello
from runtime.transport.secure import DialTls, ListenerTls, TlsPeer

if TYPE_CHECKING:
    from actors.context import AgentContext

log = get_logger("tls")

_SIDES = {"rpc_serving": "the server port", "dialling": "dialling servers (verify_outgoing)", "https": "HTTPS"}


class _Contexts(NamedTuple):
    """One generation of the agent's contexts (None: that side has no TLS)."""

    rpc_serving: ssl.SSLContext | None
    dialling: ssl.SSLContext | None
    https: ssl.SSLContext | None


class AgentTls:
    def __init__(self, config: AgentConfig) -> None:
        self.datacenter = config.datacenter
        self.domain = config.domain
        self.rpc: TLSSettings = config.tls.effective("internal_rpc")
        self.https: TLSSettings = config.tls.effective("https")
        if config.ports.https >= 0 and not self.https.has_cert:
            raise ConfigError("ports.https is set but no certificate and key are configured "
                              "(tls.defaults.cert_file and key_file): HTTPS needs a certificate")
        self._serve_https = config.ports.https >= 0
        self._contexts = self._build(self.rpc, self.https)
        self.reloads = 0  # successful `reload` calls
        self.listener: ListenerTls | None = None
        if self._contexts.rpc_serving is not None:
            self.listener = ListenerTls(self._current_rpc_serving, require=self.rpc.verify_incoming)

    def _build(self, rpc: TLSSettings, https: TLSSettings) -> _Contexts:
        """Every context the settings call for, read from their files now; `ConfigError` if any fails."""
        try:
            rpc_serving: ssl.SSLContext | None = None
            if rpc.has_cert:
                assert rpc.cert_file is not None and rpc.key_file is not None
                incoming = "required" if rpc.verify_incoming else ("optional" if rpc.has_ca else "none")
                rpc_serving = serving_context(cert_file=rpc.cert_file, key_file=rpc.key_file, ca_file=rpc.ca_file,
                                              ca_path=rpc.ca_path, client_certs=incoming,
                                              min_version=rpc.tls_min_version)
            dialling: ssl.SSLContext | None = None
            if rpc.verify_outgoing:
                dialling = dialling_context(ca_file=rpc.ca_file, ca_path=rpc.ca_path, cert_file=rpc.cert_file,
                                            key_file=rpc.key_file, check_hostname=rpc.verify_server_hostname,
                                            min_version=rpc.tls_min_version)
            https_context: ssl.SSLContext | None = None
            if https.has_cert and self._serve_https:
                assert https.cert_file is not None and https.key_file is not None
                https_context = serving_context(
                    cert_file=https.cert_file, key_file=https.key_file, ca_file=https.ca_file,
                    ca_path=https.ca_path, client_certs="required" if https.verify_incoming else "none",
                    min_version=https.tls_min_version)
        except TlsConfigError as exc:
            raise ConfigError(f"tls: {exc}") from None
        return _Contexts(rpc_serving, dialling, https_context)

    def reload(self, config: AgentConfig) -> None:
        """Re-read certificates, keys and CAs (the files ``config`` names, which may be the same paths with
        new contents) and use them for every connection from now on; established ones keep theirs.

        All contexts are built before any is replaced: a file that cannot be used raises `ConfigError`
        and the current contexts stay. What shapes the wiring is fixed when the agent starts: the
        ``verify_*`` settings (changes are logged and need a restart), and which sides use TLS at all
        (a reload that would turn one on or off is refused)."""
        rpc = self._keep_verify(config.tls.effective("internal_rpc"), self.rpc, "internal_rpc")
        https = self._keep_verify(config.tls.effective("https"), self.https, "https")
        fresh = self._build(rpc, https)
        for side, old, new in zip(_Contexts._fields, self._contexts, fresh):
            if (old is None) != (new is None):
                now = "on" if new is not None else "off"
                raise ConfigError(f"tls: the reloaded configuration turns TLS {now} for {_SIDES[side]}, "
                                  "which needs a restart of the agent")
        self.rpc, self.https, self._contexts = rpc, https, fresh
        self.reloads += 1
        log.info("TLS certificates reloaded", rpc_cert=rpc.cert_file or "", https_cert=https.cert_file or "")

    @staticmethod
    def _keep_verify(new: TLSSettings, old: TLSSettings, interface: str) -> TLSSettings:
        kept = msgspec.structs.replace(new, verify_incoming=old.verify_incoming, verify_outgoing=old.verify_outgoing,
                                       verify_server_hostname=old.verify_server_hostname)
        if kept != new:
            log.warning("TLS verify settings changed on reload; they take effect after a restart",
                        interface=interface)
        return kept

    def _current_rpc_serving(self) -> ssl.SSLContext:
        context = self._contexts.rpc_serving
        assert context is not None  # a reload never removes a context the agent started with
        return context

    def _current_dialling(self) -> ssl.SSLContext:
        context = self._contexts.dialling
        assert context is not None
        return context

    @property
    def https_context(self) -> ssl.SSLContext | None:
        """The HTTPS serving context now (None: no HTTPS)."""
        return self._contexts.https

    def current_https(self) -> ssl.SSLContext:
        """What the HTTPS listener asks for each connection it accepts."""
        context = self._contexts.https
        assert context is not None
        return context

    @property
    def server_identity(self) -> str:
        """The name a server of this datacenter must present: ``server.<dc>.<domain>``."""
        return server_name(self.datacenter, self.domain)

    def dial(self, datacenter: str) -> DialTls | None:
        """How to dial a server of ``datacenter``: None is plaintext (no ``verify_outgoing``)."""
        if self._contexts.dialling is None:
            return None
        hostname = server_name(datacenter, self.domain) if self.rpc.verify_server_hostname else None
        return DialTls(self._current_dialling, hostname)

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
