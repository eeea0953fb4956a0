"""Benchmark (not a test; pytest does not collect it): proconsul's DNS against dnsmasq, measured by dnsperf.

What lives here: a script that starts an in-process ``-dev`` agent (DNS on an ephemeral loopback port),
registers one service ``web`` with 10 instances through the HTTP API, starts Debian's ``dnsmasq`` on
another loopback port serving the same 10 A records from a hosts file, and runs ``dnsperf`` against
each with the same query file (``web.service.consul A``, plain UDP, no EDNS) in two modes:

* ``saturate``: 100 queries outstanding for ``--seconds``: throughput (queries/s);
* ``rate``: a fixed ``--rate`` queries/s: latency when not overloaded.

Latency percentiles come from dnsperf's ``-v`` per-query lines. Both servers answer NOERROR; note that
proconsul answers 3 of the 10 records over plain UDP (``udp_answer_limit``) and dnsmasq all 10.

Usage::

    apt-get install dnsperf dnsmasq   # once
    .venv/bin/python tests/dns/bench_dns.py [--seconds 10] [--rate 2000]

What must never live here: assertions; this reports figures and exits 0 (2 when a tool is missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import msgspec
import trio

from actors.agent import serve_agent
from actors.dns.server import bind
from actors.flags import parse_agent_flags

INSTANCES = 10
NAME = "web.service.consul"


async def http(addr: tuple[str, int], method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """A minimal HTTP/1.1 request (Connection: close), enough for registering and waiting."""
    stream = await trio.open_tcp_stream(*addr)
    async with stream:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        await stream.send_all(head.encode() + body)
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    header, _, payload = data.partition(b"\r\n\r\n")
    lines = header.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, payload


async def prepare_agent(nursery: trio.Nursery) -> Any:
    cfg = parse_agent_flags(["-dev", "-node", "bench", "-log-level", "warn"], hostname="bench")
    cfg = msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, http=0, dns=0))
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    with trio.fail_after(30):
        index = 0
        while True:  # wait for a leader: the agent's own registration shows up in the catalog
            path = f"/v1/catalog/service/consul?index={index}&wait=5s"
            status, headers, body = await http(ctx.http_addr, "GET", path)
            if status == 200 and json.loads(body):
                break
            index = int(headers.get("x-consul-index", "0"))
        for i in range(INSTANCES):
            register = {"Node": f"web-{i}", "Address": f"10.1.0.{i + 1}", "Service": {"Service": "web", "Port": 80}}
            status, _, body = await http(ctx.http_addr, "PUT", "/v1/catalog/register", json.dumps(register).encode())
            assert status == 200, body
    return ctx


async def free_port() -> int:
    udp, listeners = await bind("127.0.0.1", 0)
    port = udp.getsockname()[1]
    udp.close()
    for listener in listeners:
        listener.socket.close()
    return port


async def wait_answering(port: int, expect: int) -> None:
    query = dns.message.make_query(NAME, "A", use_edns=0, payload=4096)
    with trio.fail_after(10):
        while True:
            try:
                with trio.move_on_after(0.5):
                    reply = await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=0.5)
                    if sum(len(rrset) for rrset in reply.answer) == expect:
                        return
            except OSError:
                pass
            await trio.sleep(0.05)  # a startup poll of an external process, not test synchronisation


async def dnsperf(port: int, queries: Path, seconds: float, extra: list[str]) -> dict[str, Any]:
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries), "-l", str(seconds), "-v", *extra]
    done = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True, check=False)
    out = done.stdout.decode()
    latencies = sorted(float(line.split()[-1]) for line in out.splitlines() if line.startswith("> "))
    figures: dict[str, Any] = {"command": " ".join(cmd)}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Queries per second:"):
            figures["qps"] = float(line.split(":")[1])
        elif line.startswith("Queries lost:"):
            figures["lost"] = line.split(":")[1].strip()
        elif line.startswith("Response codes:"):
            figures["rcodes"] = line.split(":", 1)[1].strip()
    if latencies:
        figures["p50_ms"] = 1000 * latencies[len(latencies) // 2]
        figures["p99_ms"] = 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        figures["mean_ms"] = 1000 * statistics.fmean(latencies)
    return figures


async def main(seconds: float, rate: int) -> int:
    missing = [tool for tool in ("dnsperf", "dnsmasq") if shutil.which(tool) is None]
    if missing:
        print(f"cannot run: {', '.join(missing)} not installed (apt-get install dnsperf dnsmasq)")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        hosts = Path(tmp, "hosts")
        hosts.write_text("".join(f"10.1.0.{i + 1} {NAME}\n" for i in range(INSTANCES)))
        queries = Path(tmp, "queries")
        queries.write_text(f"{NAME} A\n")
        results: dict[str, dict[str, Any]] = {}
        async with trio.open_nursery() as nursery:
            ctx = await prepare_agent(nursery)
            ours = ctx.extras["dns_addr"][1]
            await wait_answering(ours, INSTANCES)
            theirs = await free_port()
            dnsmasq = await nursery.start(lambda task_status: trio.run_process(
                ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", f"--port={theirs}",
                 "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                 f"--addn-hosts={hosts}", "--pid-file=", "--user=root"],
                check=False, task_status=task_status))
            await wait_answering(theirs, INSTANCES)
            for server, port in (("proconsul", ours), ("dnsmasq", theirs)):
                results[f"{server} saturate"] = await dnsperf(port, queries, seconds, ["-c", "1", "-q", "100"])
                results[f"{server} rate {rate}/s"] = await dnsperf(port, queries, seconds, ["-Q", str(rate)])
            stats = ctx.tree.get(f"{ctx.root_path}/dns").actor.statistics()
            dnsmasq.terminate()
            nursery.cancel_scope.cancel()
    print(f"{'run':28} {'qps':>10} {'p50 ms':>8} {'p99 ms':>8} {'lost':>14}  rcodes")
    for label, fig in results.items():
        print(f"{label:28} {fig.get('qps', 0):10.0f} {fig.get('p50_ms', 0):8.3f} {fig.get('p99_ms', 0):8.3f} "
              f"{fig.get('lost', '?'):>14}  {fig.get('rcodes', '?')}")
    print("\ncommands:")
    for label, fig in results.items():
        print(f"  {label}: {fig['command']}")
    print(f"\nproconsul dns actor: queries={stats['queries']} dropped={stats['dropped']} errors={stats['errors']}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=2000)
    options = parser.parse_args()
    sys.exit(trio.run(main, options.seconds, options.rate))
