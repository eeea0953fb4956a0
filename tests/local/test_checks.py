"""Health checks running: TTL expiry, HTTP/TCP/script probes against real loopback servers, timeouts that
stay isolated, crash-restart reporting, alias checks and DeregisterCriticalServiceAfter."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import trio
import trio.testing

from actors.health import probes
from actors.health.supervisor import child_name
from actors.local.records import CheckSpec
from tests.local.conftest import FAST_HEALTH, Harness, until_catalog, until_local


async def test_ttl_check_expires_to_critical(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    await harness.ok("PUT", "/v1/agent/check/register", {"name": "app", "ttl": "10s"})
    await harness.ok("PUT", "/v1/agent/check/pass/app?note=alive")
    await trio.sleep(8)
    await harness.ok("PUT", "/v1/agent/check/pass/app?note=still%20alive")  # restarts the timer
    await trio.sleep(8)
    assert harness.check("app").status == "passing"
    await until_local(harness.local, lambda: harness.check("app").status == "critical", timeout=5)
    assert harness.check("app").output == "TTL expired (last output before timeout follows): still alive"
    # the status change reaches the catalog without any API call (debounced partial sync)
    await until_catalog(harness.ctx, lambda: harness.catalog_checks()["app"].status == "critical", timeout=1)


async def close_at_once(stream: trio.SocketStream) -> None:
    await stream.aclose()


class Backend:
    """A loopback HTTP server whose answer the test controls: a status code, or hanging forever."""

    def __init__(self) -> None:
        self.status = 200
        self.requests = 0
        self.port = 0
        self.seen: list[bytes] = []

    async def handle(self, stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await stream.receive_some(4096)
            if not chunk:
                return
            data += chunk
        self.requests += 1
        self.seen.append(data)
        if data.startswith(b"GET /hang"):
            await trio.sleep_forever()
        if data.split(b" ")[1] == b"/old":
            await stream.send_all(b"HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n")
            return
        reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error"}[self.status]
        body = f"status {self.status}".encode()
        await stream.send_all(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                              % (self.status, reason.encode(), len(body), body))

    async def start(self, nursery: trio.Nursery) -> "Backend":
        listeners = await nursery.start(partial(trio.serve_tcp, self.handle, 0, host="127.0.0.1"))
        self.port = listeners[0].socket.getsockname()[1]
        return self


@pytest.fixture
async def fast(nursery: trio.Nursery) -> Harness:
    return await Harness().start(nursery, health=FAST_HEALTH)


async def test_http_check_goes_critical_and_drops_out_of_passing(fast: Harness, nursery: trio.Nursery) -> None:
    server = await Backend().start(nursery)
    url = f"http://127.0.0.1:{server.port}/health"
    await fast.ok("PUT", "/v1/agent/service/register", {"name": "web", "check": {"http": url, "interval": "100ms"}})
    await until_local(fast.local, lambda: fast.check("service:web").status == "passing")
    assert fast.check("service:web").output == f"HTTP GET {url}: 200 OK Output: status 200"
    await until_catalog(fast.ctx, lambda: fast.catalog_checks()["service:web"].status == "passing")
    assert len(await fast.ok("GET", "/v1/health/service/web?passing")) == 1
    server.status = 500
    await until_local(fast.local, lambda: fast.check("service:web").status == "critical")
    assert fast.check("service:web").output.endswith(": 500 Internal Server Error Output: status 500")
    await until_catalog(fast.ctx, lambda: fast.catalog_checks()["service:web"].status == "critical")
    assert await fast.ok("GET", "/v1/health/service/web?passing") == []
    server.status = 429
    await until_local(fast.local, lambda: fast.check("service:web").status == "warning")


async def test_http_check_request_details_and_redirects(fast: Harness, nursery: trio.Nursery) -> None:
    server = await Backend().start(nursery)
    base = f"http://127.0.0.1:{server.port}"
    await fast.ok("PUT", "/v1/agent/check/register", {
        "name": "post", "http": f"{base}/probe?x=1", "method": "POST", "body": "ping",
        "header": {"X-Token": ["a", "b"]}, "interval": "200ms"})
    await until_local(fast.local, lambda: fast.check("post").status == "passing")
    request = server.seen[0]
    assert request.startswith(b"POST /probe?x=1 HTTP/1.1\r\n") and b"Content-Length: 4\r\n" in request
    assert b"X-Token: a\r\n" in request and b"X-Token: b\r\n" in request
    assert b"User-Agent: Consul Health Check\r\n" in request
    await fast.ok("PUT", "/v1/agent/check/register", {"name": "moved", "http": f"{base}/old", "interval": "200ms"})
    await fast.ok("PUT", "/v1/agent/check/register",
                  {"name": "pinned", "http": f"{base}/old", "interval": "200ms", "disable_redirects": True})
    await until_local(fast.local, lambda: fast.check("moved").status == "passing"
                      and fast.check("pinned").output.endswith(": 302 Found Output: "))
    assert fast.check("moved").output == f"HTTP GET {base}/old: 200 OK Output: status 200"
    assert fast.check("pinned").status == "critical"


async def test_hanging_endpoint_times_out_without_slowing_a_sibling(fast: Harness, nursery: trio.Nursery) -> None:
    server = await Backend().start(nursery)
    base = f"http://127.0.0.1:{server.port}"
    await fast.ok("PUT", "/v1/agent/check/register",
                  {"name": "slow", "http": f"{base}/hang", "interval": "100ms", "timeout": "300ms",
                   "status": "passing"})
    await fast.ok("PUT", "/v1/agent/check/register", {"name": "quick", "http": f"{base}/ok", "interval": "50ms"})
    quick = fast.ctx.tree.get(f"{fast.ctx.root_path}/health/{child_name('quick')}")
    with trio.fail_after(10):
        await until_local(fast.local, lambda: fast.check("slow").status == "critical")
    assert fast.check("slow").output == (f'Get "{base}/hang": context deadline exceeded '
                                          "(Client.Timeout exceeded while awaiting headers)")
    # while the slow probe hung for 300 ms, its 50 ms sibling kept probing and passing
    assert quick.actor.runs >= 2 and fast.check("quick").status == "passing"  # type: ignore[union-attr]


async def test_a_crashing_check_is_restarted_and_shows_critical(fast: Harness, nursery: trio.Nursery,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    listeners = await nursery.start(partial(trio.serve_tcp, close_at_once, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    await fast.ok("PUT", "/v1/agent/check/register",
                  {"name": "sibling", "tcp": f"127.0.0.1:{port}", "interval": "50ms"})
    await until_local(fast.local, lambda: fast.check("sibling").status == "passing")

    async def exploding(spec: CheckSpec, timeout: float) -> Any:
        if spec.http:
            raise RuntimeError("probe exploded")
        return await real_tcp(spec, timeout)

    real_tcp = probes.PROBES["tcp"]
    monkeypatch.setitem(probes.PROBES, "http", exploding)
    await fast.ok("PUT", "/v1/agent/check/register",
                  {"name": "buggy", "http": "http://127.0.0.1:1/", "interval": "50ms", "status": "passing"})
    await until_local(fast.local, lambda: fast.check("buggy").status == "critical")
    assert fast.check("buggy").output == "check failed and was restarted: RuntimeError: probe exploded"
    cell = fast.ctx.tree.get(f"{fast.ctx.root_path}/health/{child_name('buggy')}")
    assert cell.restarts >= 1 and cell.last_error is not None and cell.last_error.type == "RuntimeError"
    assert fast.check("sibling").status == "passing"
    assert fast.ctx.tree.get(f"{fast.ctx.root_path}/health").state == "running"


async def test_tcp_check(fast: Harness) -> None:
    async with trio.open_nursery() as server:
        listeners = await server.start(partial(trio.serve_tcp, close_at_once, 0, host="127.0.0.1"))
        address = "127.0.0.1:%d" % listeners[0].socket.getsockname()[1]
        await fast.ok("PUT", "/v1/agent/check/register", {"name": "up", "tcp": address, "interval": "50ms"})
        await until_local(fast.local, lambda: fast.check("up").status == "passing")
        assert fast.check("up").output == f"TCP connect {address}: Success"
        server.cancel_scope.cancel()
    await until_local(fast.local, lambda: fast.check("up").status == "critical")
    assert fast.check("up").output == f"dial tcp {address}: connect: connection refused"


async def test_script_checks_when_enabled(nursery: trio.Nursery) -> None:
    harness = await Harness("-enable-script-checks").start(nursery, health=FAST_HEALTH)
    cases = {"ok": (["sh", "-c", "echo fine"], "passing", "fine\n"),
             "meh": (["sh", "-c", "echo degraded >&2; exit 1"], "warning", "degraded\n"),
             "bad": (["sh", "-c", "exit 3"], "critical", ""),
             "gone": (["/nonexistent/program"], "critical", None)}
    for name, (args, _, _) in cases.items():
        await harness.ok("PUT", "/v1/agent/check/register", {"name": name, "args": args, "interval": "100ms"})
    await harness.ok("PUT", "/v1/agent/check/register",
                     {"name": "stuck", "args": ["sleep", "30"], "interval": "1s", "timeout": "200ms",
                      "status": "passing"})
    await until_local(harness.local, lambda: all(
        harness.check(name).status == status and (output is None or harness.check(name).output == output)
        for name, (_, status, output) in cases.items()) and harness.check("stuck").status == "critical")
    assert harness.check("gone").output.startswith("Failed to invoke: ")
    assert harness.check("stuck").output == "Timed out (200ms) running check"


async def test_script_output_is_bounded(nursery: trio.Nursery) -> None:
    harness = await Harness("-enable-script-checks").start(nursery, health=FAST_HEALTH)
    await harness.ok("PUT", "/v1/agent/check/register", {
        "name": "chatty", "args": ["sh", "-c", "head -c 10000 /dev/zero | tr '\\0' a; echo END"],
        "interval": "1s", "output_max_size": 100, "status": "critical"})
    await until_local(harness.local, lambda: harness.check("chatty").status == "passing")
    output = harness.check("chatty").output
    assert output.startswith("Captured 100 of 10004 bytes\n...\n") and output.endswith("aaaEND\n")


async def test_alias_check_mirrors_the_aliased_service(harness: Harness) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "db", "check": {"ttl": "30s"}})
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "check": {"alias_service": "db"}})
    await until_local(harness.local, lambda: harness.check("service:web").status == "critical")
    assert harness.check("service:web").output == 'Aliased check "Service \'db\' check" failing: '
    await harness.ok("PUT", "/v1/agent/check/pass/service:db")
    await until_local(harness.local, lambda: harness.check("service:web").status == "passing")
    assert harness.check("service:web").output == "All checks passing."


async def test_deregister_critical_service_after(harness: Harness, autojump_clock: trio.testing.MockClock) -> None:
    await harness.ok("PUT", "/v1/agent/service/register", {
        "name": "flaky", "check": {"ttl": "5s", "status": "passing", "deregister_critical_service_after": "10s"}})
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "steady"})
    start = trio.current_time()
    await until_local(harness.local, lambda: harness.local.state.service("flaky") is None, timeout=300)
    # critical after 5 s, and the 10 s setting is raised to Consul's one-minute floor, checked every 30 s
    assert 65 <= trio.current_time() - start <= 5 + 60 + 30 + 1
    await until_catalog(harness.ctx, lambda: "flaky" not in harness.catalog_services(), timeout=1)
    assert "steady" in harness.catalog_services() and "service:flaky" not in harness.catalog_checks()


async def test_checks_come_and_go_with_their_definitions(harness: Harness) -> None:
    tree = harness.ctx.tree
    health = f"{harness.ctx.root_path}/health"

    async def until_children(expected: set[str]) -> None:
        with trio.fail_after(5):
            while set(tree.get(health).children) != expected:
                await tree.wait_changed(tree.version)

    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "checks": [{"ttl": "9s"}, {"ttl": "9s"}]})
    await until_children({"reaper", "check:service:web:1", "check:service:web:2"})
    first = tree.get(f"{health}/check:service:web:1")
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "checks": [{"ttl": "5s"}, {"ttl": "9s"}]})
    with trio.fail_after(5):  # a changed definition restarts that check's actor (a new cell), not its sibling
        while tree.cells.get(f"{health}/check:service:web:1") in (None, first):
            await tree.wait_changed(tree.version)
    await harness.ok("PUT", "/v1/agent/service/deregister/web")
    await until_children({"reaper"})


async def test_reregistering_a_ttl_check_restarts_its_timer(harness: Harness,
                                                           autojump_clock: trio.testing.MockClock) -> None:
    definition = {"name": "web", "check": {"ttl": "10s", "status": "passing"}}
    await harness.ok("PUT", "/v1/agent/service/register", definition)
    start = trio.current_time()
    await trio.sleep(8)
    await harness.ok("PUT", "/v1/agent/service/register", {"name": "web", "check": {"ttl": "10s"}})
    await trio.sleep(8)
    assert harness.check("service:web").status == "passing"  # kept, and its timer restarted at 8 s
    await until_local(harness.local, lambda: harness.check("service:web").status == "critical", timeout=3)
    assert 18 <= trio.current_time() - start <= 18.5
