"""Small helpers the network probes share: splitting ``host:port`` and wording connection errors.

Error texts follow Go's ``net`` package, which is what Consul's check output shows
(``dial tcp 127.0.0.1:1: connect: connection refused``, ``dial tcp 10.0.0.1:80: i/o timeout``).

What must never live here: IO.
"""

from __future__ import annotations

import os
import socket


def split_host_port(address: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` into its parts; ValueError worded like Go's SplitHostPort."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1:]
        if not rest.startswith(":"):
            raise ValueError(f"address {address}: missing port in address")
        port_text = rest[1:]
    else:
        host, sep, port_text = address.rpartition(":")
        if not sep:
            raise ValueError(f"address {address}: missing port in address")
        if ":" in host:
            raise ValueError(f"address {address}: too many colons in address")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"address {address}: invalid port") from None
    return host, port


def _leaf(err: BaseException) -> BaseException:
    """The first concrete error behind trio's "all attempts to connect ... failed"."""
    cause = err.__cause__
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    return cause if isinstance(cause, OSError) else err


def dial_error(address: str, err: BaseException) -> str:
    leaf = _leaf(err)
    if isinstance(leaf, socket.gaierror):
        host = address.rsplit(":", 1)[0]
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(leaf, OSError) and leaf.errno:
        return f"dial tcp {address}: connect: {os.strerror(leaf.errno).lower()}"
    return f"dial tcp {address}: {leaf}"


def timeout_error(address: str) -> str:
    return f"dial tcp {address}: i/o timeout"
