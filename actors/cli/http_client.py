"""How CLI commands reach an agent's HTTP API: ``-http-addr`` and ``CONSUL_HTTP_ADDR``, as Consul's do.

What lives here: `split_flag(argv, name)` which pulls ``-http-addr`` and the like out of a command's
arguments, `split_token` (``-token`` / ``-token-file``, else ``CONSUL_HTTP_TOKEN`` /
``CONSUL_HTTP_TOKEN_FILE``), `resolve_http_addr`, and `request` / `get_json` built on the standard
library (a CLI call is one short request; it needs no event loop). Every request carries the token in
``X-Consul-Token`` when there is one (the environment's when the caller passes none).

HTTPS: an ``https://`` address, or ``CONSUL_HTTP_SSL=true`` with a bare ``host:port``, speaks TLS.
`client_tls_context` builds the context from the TLS flags (``-ca-file``, ``-ca-path``, ``-client-cert``,
``-client-key``, ``-tls-server-name``) or, for each one not given, Consul's environment variables
(``CONSUL_CACERT``, ``CONSUL_CAPATH``, ``CONSUL_CLIENT_CERT``, ``CONSUL_CLIENT_KEY``,
``CONSUL_TLS_SERVER_NAME``; ``CONSUL_HTTP_SSL_VERIFY=false`` skips checking the agent's certificate);
`url_opener` uses it and never a proxy. Commands parsing their own arguments take the TLS flags with
`split_tls` and build the context with `tls_context_for` (None for a plain ``http://`` agent), then pass
it to `request` / `get_json` (or to a websocket dial: ``wss://``).

What must never live here: command-specific logic.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Any

from runtime.tls.contexts import TlsConfigError, dialling_context

DEFAULT_HTTP_ADDR = "127.0.0.1:8500"


class CLIError(Exception):
    """A problem to report to the user in one line, exit code 1."""


_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")


def _env_true(name: str, default: bool) -> bool:
    value = os.environ.get(name, "")
    return default if not value else value in _GO_TRUE


def resolve_http_addr(flag_value: str | None) -> str:
    """``-http-addr`` wins, then ``CONSUL_HTTP_ADDR``, then 127.0.0.1:8500. Returns a base URL: a bare
    ``host:port`` is ``https://`` when ``CONSUL_HTTP_SSL`` is true, ``http://`` otherwise."""
    addr = flag_value or os.environ.get("CONSUL_HTTP_ADDR") or DEFAULT_HTTP_ADDR
    if "://" not in addr:
        addr = ("https://" if _env_true("CONSUL_HTTP_SSL", False) else "http://") + addr
    return addr.rstrip("/")


class _NamedContext(ssl.SSLContext):
    """A client context that checks the agent's certificate against ``tls_server_name`` rather than the
    host of the URL (``-tls-server-name``)."""

    tls_server_name = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["server_hostname"] = self.tls_server_name
        return super().wrap_socket(sock, *args, **kwargs)

    def wrap_bio(self, incoming: Any, outgoing: Any, server_side: bool = False,  # type: ignore[override]
                 server_hostname: Any = None, session: Any = None) -> Any:
        return super().wrap_bio(incoming, outgoing, server_side, self.tls_server_name, session)


def client_tls_context(ca_file: str = "", ca_path: str = "", client_cert: str = "", client_key: str = "",
                       tls_server_name: str = "") -> ssl.SSLContext:
    """The context for ``https://`` calls: flags first, then Consul's environment variables. Raises
    `CLIError` for files that cannot be used."""
    ca_file = ca_file or os.environ.get("CONSUL_CACERT", "")
    ca_path = ca_path or os.environ.get("CONSUL_CAPATH", "")
    client_cert = client_cert or os.environ.get("CONSUL_CLIENT_CERT", "")
    client_key = client_key or os.environ.get("CONSUL_CLIENT_KEY", "")
    tls_server_name = tls_server_name or os.environ.get("CONSUL_TLS_SERVER_NAME", "")
    if bool(client_cert) != bool(client_key):
        raise CLIError("Error: -client-cert and -client-key must be given together")
    try:
        context = dialling_context(ca_file=ca_file or None, ca_path=ca_path or None, cert_file=client_cert or None,
                                   key_file=client_key or None, verify=_env_true("CONSUL_HTTP_SSL_VERIFY", True))
    except TlsConfigError as exc:
        raise CLIError(f"Error setting up TLS: {exc}") from None
    if tls_server_name:
        context.__class__ = _NamedContext
        context.tls_server_name = tls_server_name  # type: ignore[attr-defined]
    return context


def url_opener(base: str, context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """An opener for the agent at ``base`` that never uses a proxy; an ``https://`` base speaks TLS with
    ``context`` (default: `client_tls_context` from the environment)."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if base.startswith("https://"):
        handlers.append(urllib.request.HTTPSHandler(context=context or client_tls_context()))
    return urllib.request.build_opener(*handlers)


TLS_FLAGS = ("ca-file", "ca-path", "client-cert", "client-key", "tls-server-name")


def split_tls(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Remove the TLS flags (`TLS_FLAGS`) from argv; return ({flag: value} for those given, rest)."""
    given: dict[str, str] = {}
    for name in TLS_FLAGS:
        value, argv = split_flag(argv, name)
        if value is not None:
            given[name] = value
    return given, argv


def tls_context_for(base: str, flags: dict[str, str]) -> ssl.SSLContext | None:
    """The client context for the agent at ``base`` from `split_tls`'s flags (the environment fills in
    the rest): None unless ``base`` is ``https://``. Raises `CLIError` for files that cannot be used."""
    if not base.startswith("https://"):
        return None
    return client_tls_context(flags.get("ca-file", ""), flags.get("ca-path", ""), flags.get("client-cert", ""),
                              flags.get("client-key", ""), flags.get("tls-server-name", ""))


def split_flag(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove ``-name value`` / ``-name=value`` (single or double dash) from argv; return (value, rest)."""
    value: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        bare = arg.lstrip("-")
        if arg.startswith("-") and (bare == name or bare.startswith(name + "=")):
            if "=" in bare:
                value = bare.split("=", 1)[1]
            else:
                if i + 1 >= len(argv):
                    raise CLIError(f"flag needs an argument: -{name}")
                value = argv[i + 1]
                i += 1
        else:
            rest.append(arg)
        i += 1
    return value, rest


def env_token() -> str:
    """``CONSUL_HTTP_TOKEN``, else the contents of ``CONSUL_HTTP_TOKEN_FILE``, else ``""``."""
    token = os.environ.get("CONSUL_HTTP_TOKEN", "")
    if token:
        return token
    return _token_file(os.environ.get("CONSUL_HTTP_TOKEN_FILE", ""))


def _token_file(path: str) -> str:
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError as err:
        raise CLIError(f"Error loading token file: {err}") from None


def split_token(argv: list[str]) -> tuple[str, list[str]]:
    """Remove ``-token`` / ``-token-file`` from argv; the token they name, else the environment's."""
    token, rest = split_flag(argv, "token")
    path, rest = split_flag(rest, "token-file")
    return token or _token_file(path or "") or env_token(), rest


def request(base: str, method: str, path: str, body: bytes | None = None, timeout: float = 10.0,
            token: str | None = None, tls: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    """One request; ``tls`` is the context for an ``https://`` base (default: from the environment)."""
    req = urllib.request.Request(base + path, data=body, method=method)
    token = env_token() if token is None else token
    if token:
        req.add_header("X-Consul-Token", token)
    try:
        with url_opener(base, tls).open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise CLIError(f"Error connecting to agent at {base}: {reason}") from None


def get_json(base: str, path: str, token: str | None = None, tls: ssl.SSLContext | None = None) -> Any:
    status, body = request(base, "GET", path, token=token, tls=tls)
    if status != 200:
        raise CLIError(f"Unexpected response code: {status} ({body.decode(errors='replace').strip()})")
    return json.loads(body)
