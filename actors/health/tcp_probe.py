"""The TCP check: passing when a connection to ``host:port`` opens within the timeout, else critical.

Output as Consul words it: ``TCP connect <addr>: Success``, or Go's dial error.

What must never live here: scheduling or state.
"""

from __future__ import annotations

import trio

from actors.local.records import CheckSpec

from .net import dial_error, split_host_port, timeout_error
from .result import ProbeResult, critical, passing


async def tcp_probe(spec: CheckSpec, timeout: float) -> ProbeResult:
    address = spec.tcp
    try:
        host, port = split_host_port(address)
    except ValueError as err:
        return critical(f"dial tcp {err}")
    try:
        with trio.fail_after(timeout):
            stream = await trio.open_tcp_stream(host, port)
    except trio.TooSlowError:
        return critical(timeout_error(address))
    except OSError as err:
        return critical(dial_error(address, err))
    await stream.aclose()
    return passing(f"TCP connect {address}: Success")
