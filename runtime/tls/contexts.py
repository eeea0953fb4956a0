"""``ssl.SSLContext`` builders for both ends of a connection, and the names a verified peer presented.

What lives here:

- `MIN_VERSIONS`: minimum protocol version names (``TLSv1_0`` .. ``TLSv1_3``) to ``ssl.TLSVersion``.
- `read_ca_bundle`: the PEM text of a CA file and/or every ``*.pem``/``*.crt`` file of a CA directory
  (plain files, no ``c_rehash`` links needed).
- `serving_context`: certificate + key, and whether a client certificate is ignored, checked if sent, or
  required (then checked against the CA).
- `dialling_context`: the CA that must have signed the server, optionally our own certificate + key to
  present, and whether the server's name is checked against the ``server_hostname`` a dial passes.
- `peer_dns_names`: the DNS subject alternative names of the certificate a peer presented and the
  handshake verified (an empty set when it presented none).
- `ContextSource` and `current_context`: where a listener or dialler gets its context for each new
  connection: a fixed ``ssl.SSLContext``, or a callable answering the current one (so an owner can
  replace its contexts, e.g. when certificates are reloaded, without touching established connections).

Every builder raises `TlsConfigError` naming the file and what is wrong with it, so a bad path or a key
that does not match its certificate stops the program with one clear line.

What must never live here: sockets, handshakes (``handshake``), or product naming rules.
"""

from __future__ import annotations

import os
import ssl
from typing import Any, Callable, Literal, Union

MIN_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1_0": ssl.TLSVersion.TLSv1,
    "TLSv1_1": ssl.TLSVersion.TLSv1_1,
    "TLSv1_2": ssl.TLSVersion.TLSv1_2,
    "TLSv1_3": ssl.TLSVersion.TLSv1_3,
}

ClientCerts = Literal["none", "optional", "required"]

ContextSource = Union[ssl.SSLContext, Callable[[], ssl.SSLContext]]


def current_context(source: ContextSource) -> ssl.SSLContext:
    """The context to use for a connection starting now: ``source`` itself, or what it answers when called."""
    return source if isinstance(source, ssl.SSLContext) else source()


class TlsConfigError(ValueError):
    """A CA, certificate or key that cannot be used; the message names the file."""


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    return str(exc) or type(exc).__name__


def read_ca_bundle(ca_file: str | None = None, ca_path: str | None = None) -> str:
    """PEM text of every CA certificate named; raises `TlsConfigError` if none can be read."""
    parts: list[str] = []
    if ca_file:
        try:
            with open(ca_file, encoding="ascii") as fh:
                parts.append(fh.read())
        except (OSError, UnicodeDecodeError) as exc:
            raise TlsConfigError(f"cannot read CA file {ca_file}: {_why(exc)}") from None
    if ca_path:
        try:
            names = sorted(os.listdir(ca_path))
        except OSError as exc:
            raise TlsConfigError(f"cannot read CA directory {ca_path}: {_why(exc)}") from None
        for name in names:
            full = os.path.join(ca_path, name)
            if not name.endswith((".pem", ".crt")) or not os.path.isfile(full):
                continue
            try:
                with open(full, encoding="ascii") as fh:
                    parts.append(fh.read())
            except (OSError, UnicodeDecodeError) as exc:
                raise TlsConfigError(f"cannot read CA file {full}: {_why(exc)}") from None
    bundle = "\n".join(parts)
    if "-----BEGIN CERTIFICATE-----" not in bundle:
        where = " and ".join(p for p in (ca_file, ca_path) if p) or "(none given)"
        raise TlsConfigError(f"no PEM certificate found in {where}")
    return bundle


def _base(purpose: ssl.Purpose, min_version: str) -> ssl.SSLContext:
    version = MIN_VERSIONS.get(min_version)
    if version is None:
        raise TlsConfigError(f"unknown TLS minimum version {min_version!r} (one of {', '.join(MIN_VERSIONS)})")
    protocol = ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT
    context = ssl.SSLContext(protocol)
    context.minimum_version = version
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def _load_pair(context: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    for path, what in ((cert_file, "certificate"), (key_file, "key")):
        if not os.path.isfile(path):
            raise TlsConfigError(f"cannot read {what} file {path}: no such file")
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise TlsConfigError(f"cannot load certificate {cert_file} with key {key_file}: {exc.reason or exc}") from None
    except OSError as exc:
        raise TlsConfigError(f"cannot load certificate {cert_file} with key {key_file}: {_why(exc)}") from None


def _load_ca(context: ssl.SSLContext, ca_file: str | None, ca_path: str | None) -> None:
    bundle = read_ca_bundle(ca_file, ca_path)
    try:
        context.load_verify_locations(cadata=bundle)
    except ssl.SSLError as exc:
        where = " and ".join(p for p in (ca_file, ca_path) if p)
        raise TlsConfigError(f"cannot load CA certificates from {where}: {exc.reason or exc}") from None


def serving_context(*, cert_file: str, key_file: str, ca_file: str | None = None, ca_path: str | None = None,
                    client_certs: ClientCerts = "none", min_version: str = "TLSv1_2") -> ssl.SSLContext:
    """The accepting side. ``client_certs`` other than "none" needs a CA to check them against."""
    context = _base(ssl.Purpose.CLIENT_AUTH, min_version)
    _load_pair(context, cert_file, key_file)
    if client_certs != "none":
        if not (ca_file or ca_path):
            raise TlsConfigError("checking client certificates needs a CA file or directory")
        _load_ca(context, ca_file, ca_path)
        context.verify_mode = ssl.CERT_REQUIRED if client_certs == "required" else ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def dialling_context(*, ca_file: str | None = None, ca_path: str | None = None, cert_file: str | None = None,
                     key_file: str | None = None, check_hostname: bool = True, verify: bool = True,
                     min_version: str = "TLSv1_2") -> ssl.SSLContext:
    """The connecting side. With ``verify`` the server's chain must lead to the CA (given, or the system's
    when none is); with ``check_hostname`` its certificate must also name the ``server_hostname`` dialled.
    ``verify=False`` (an explicit "insecure" choice of the caller) checks nothing."""
    context = _base(ssl.Purpose.SERVER_AUTH, min_version)
    if cert_file and key_file:
        _load_pair(context, cert_file, key_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file or ca_path:
        _load_ca(context, ca_file, ca_path)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def peer_dns_names(ssl_object: Any) -> frozenset[str]:
    """DNS SANs of the peer's certificate as the handshake verified it (``getpeercert()`` of an
    ``ssl.SSLObject``, a ``trio.SSLStream`` or an ``ssl.SSLSocket``). Empty when no verified certificate
    was presented (a context with ``CERT_NONE`` never reports one)."""
    try:
        cert = ssl_object.getpeercert()
    except (ValueError, ssl.SSLError):
        return frozenset()
    if not cert:
        return frozenset()
    return frozenset(value.lower() for kind, value in cert.get("subjectAltName", ()) if kind == "DNS")
