"""Throughput benchmark for runtime.http (not a test; pytest does not collect it).

Starts the server in its own process with a trivial JSON handler, drives it from one or more client
processes, each running a Trio loop with many keep-alive connections (one request in flight per
connection, no pipelining; the client drives non-blocking sockets with Trio's readiness waits so that
it stays cheaper than the server it measures). Prints the request rate seen by the clients, and the
server's requests per second of its own CPU time: on a 2-core machine where client and server share
the cores, that second number is the one-core throughput of the server.

    .venv/bin/python tests/http/bench_http.py --connections 64 --seconds 5 --clients 1
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import trio  # noqa: E402

REQUEST = b"GET /v1/status/leader HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"


def run_server(conn: "mp.connection.Connection") -> None:
    from runtime.http import Router, json_response, serve_http

    router = Router()

    async def leader(req):  # noqa: ANN001, ANN202
        return json_response("127.0.0.1:8300")

    router.add("GET", "/v1/status/leader", leader)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_http, router, "127.0.0.1", 0)
            conn.send(server.port)
            await trio.to_thread.run_sync(conn.recv)  # "start"
            t0, served0 = os.times(), server.requests_served
            await trio.to_thread.run_sync(conn.recv)  # "stop"
            t1 = os.times()
            conn.send((t1.user - t0.user, t1.system - t0.system, server.requests_served - served0))
            nursery.cancel_scope.cancel()

    trio.run(main)


async def _one_connection(port: int, stop_at: float, counter: list[int]) -> None:
    # Plain non-blocking socket driven by Trio's readiness waits: far cheaper per request than
    # SocketStream, so one client process can keep the server busy.
    sock = trio.socket.socket()
    await sock.connect(("127.0.0.1", port))
    raw = sock._sock  # noqa: SLF001 - the stdlib socket under trio's wrapper
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    done = 0
    try:
        while trio.current_time() < stop_at:
            raw.send(REQUEST)
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    i = buf.find(b"Content-Length: ", 0, end)
                    j = buf.find(b"\r\n", i)
                    total = end + 4 + int(buf[i + 16 : j])
                    if len(buf) >= total:
                        if not buf.startswith(b"HTTP/1.1 200"):
                            raise RuntimeError(f"unexpected response {buf[:40]!r}")
                        buf = buf[total:]
                        break
                try:
                    data = raw.recv(65536)
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(raw)
                    continue
                if not data:
                    raise RuntimeError("server closed the connection")
                buf += data
            done += 1
    finally:
        sock.close()
    counter[0] += done


def run_client(port: int, connections: int, seconds: float, result: "mp.Queue[tuple[int, float]]") -> None:
    async def main() -> None:
        counter = [0]
        started = time.perf_counter()
        stop_at = trio.current_time() + seconds
        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(_one_connection, port, stop_at, counter)
        result.put((counter[0], time.perf_counter() - started))

    trio.run(main)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--connections", type=int, default=64, help="keep-alive connections in total")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=1, help="client processes")
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=run_server, args=(child,), daemon=True)
    server.start()
    port = parent.recv()
    results: mp.Queue[tuple[int, float]] = ctx.Queue()
    per = [args.connections // args.clients + (i < args.connections % args.clients) for i in range(args.clients)]
    clients = [ctx.Process(target=run_client, args=(port, n, args.seconds, results)) for n in per]
    parent.send("start")
    for p in clients:
        p.start()
    outcomes = [results.get() for _ in clients]
    total = sum(count for count, _ in outcomes)
    elapsed = max(seconds for _, seconds in outcomes)
    for p in clients:
        p.join()
    parent.send("stop")
    user, system, served = parent.recv()
    server_cpu = user + system
    server.join(timeout=5)
    print(f"connections={args.connections} clients={args.clients} seconds={args.seconds}")
    print(f"completed {total} requests in {elapsed:.2f}s wall: {total / elapsed:,.0f} req/s")
    print(
        f"server: {served} requests in {server_cpu:.2f}s CPU ({user:.2f} user + {system:.2f} system): "
        f"{served / server_cpu:,.0f} req/s per core"
    )


if __name__ == "__main__":
    main()
