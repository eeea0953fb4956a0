"""End to end with a real resolver client: Debian's ``dig`` against the agent, over UDP and TCP."""

from __future__ import annotations

import shutil

import pytest
import trio

from tests.dns.conftest import TIMEOUT, Agent

DIG = shutil.which("dig")

pytestmark = pytest.mark.skipif(DIG is None, reason="dig is not installed (Debian package dnsutils)")


async def dig(agent: Agent, *args: str) -> str:
    host, port = agent.dns_addr
    with trio.fail_after(TIMEOUT):
        done = await trio.run_process([DIG, f"@{host}", "-p", str(port), "+time=2", "+tries=1", *args],
                                      capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


async def test_dig_end_to_end(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web", port=8080, tags=["primary"])
    await agent.service("web2", "10.0.0.2", "web", port=8081)

    assert sorted((await dig(agent, "+short", "web.service.consul")).split()) == ["10.0.0.1", "10.0.0.2"]
    srv = sorted((await dig(agent, "+short", "+tcp", "_web._primary.service.consul", "SRV")).splitlines())
    assert srv == ["1 1 8080 web1.node.dc1.consul."]
    assert (await dig(agent, "+short", "-x", "10.0.0.2")).split() == ["web2.node.dc1.consul."]

    full = await dig(agent, "nope.service.consul")
    assert "status: NXDOMAIN" in full and "flags: qr aa rd" in full
    assert "ns.consul. hostmaster.consul." in full  # the SOA in the authority section
    assert "status: REFUSED" in await dig(agent, "example.com")
