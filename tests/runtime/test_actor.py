"""Actors: typed inboxes, back-pressure versus dropping, request/reply timeouts, statistics."""

from __future__ import annotations

import msgspec
import pytest
import trio
import trio.testing

from runtime.actor import Actor, ActorRef, ActorTimeout
from runtime.messages import Message
from runtime.supervisor import ChildSpec, Supervisor, run_root
from runtime.tree import ActorTree


class Put(Message, tag="test.put"):
    n: int


class Other(Message, tag="test.other"):
    pass


class Gate:
    """Shared between the test and the actor: the actor waits on it before finishing each message."""

    def __init__(self) -> None:
        self.open = trio.Event()
        self.seen: list[int] = []


class Slow(Actor):
    kind = "slow"
    Inbox = Put
    inbox_size = 2

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def handle(self, message: Put) -> int:
        self.gate.seen.append(message.n)
        await self.gate.open.wait()
        return message.n

    def statistics(self) -> dict[str, int]:
        return {"seen": len(self.gate.seen)}


class SlowDropping(Slow):
    kind = "slow-drop"
    overflow = "drop"


async def boot(nursery: trio.Nursery, actor_class: type[Actor], *args: object) -> tuple[ActorTree, ActorRef]:
    tree = ActorTree()
    await nursery.start(run_root, tree, "agent:t", Supervisor([ChildSpec("x", actor_class, *args)]))
    return tree, ActorRef(tree.get("agent:t/x"))


async def test_await_inbox_applies_back_pressure() -> None:
    gate = Gate()
    async with trio.open_nursery() as nursery:
        tree, ref = await boot(nursery, Slow, gate)
        await ref.send(Put(n=1))  # taken by the actor, which now waits on the gate
        await trio.testing.wait_all_tasks_blocked()
        await ref.send(Put(n=2))
        await ref.send(Put(n=3))  # inbox (size 2) now full
        sent_fourth = trio.Event()

        async def sender() -> None:
            await ref.send(Put(n=4))
            sent_fourth.set()

        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        assert not sent_fourth.is_set()  # the sender is held back, nothing is lost
        assert tree.get("agent:t/x").inbox_depth() == 2
        gate.open.set()
        await sent_fourth.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert gate.seen == [1, 2, 3, 4]
        assert tree.get("agent:t/x").handled == 4 and tree.get("agent:t/x").dropped == 0
        nursery.cancel_scope.cancel()


async def test_drop_inbox_drops_and_counts() -> None:
    gate = Gate()
    async with trio.open_nursery() as nursery:
        tree, ref = await boot(nursery, SlowDropping, gate)
        assert await ref.send(Put(n=1))
        await trio.testing.wait_all_tasks_blocked()
        assert await ref.send(Put(n=2)) and await ref.send(Put(n=3))
        assert not await ref.send(Put(n=4))  # full: dropped at once, the sender never waits
        assert not ref.send_nowait(Put(n=5))
        gate.open.set()
        await trio.testing.wait_all_tasks_blocked()
        assert gate.seen == [1, 2, 3]
        assert tree.get("agent:t/x").dropped == 2
        nursery.cancel_scope.cancel()


async def test_request_times_out(autojump_clock: trio.testing.MockClock) -> None:
    gate = Gate()
    async with trio.open_nursery() as nursery:
        _, ref = await boot(nursery, Slow, gate)
        t0 = trio.current_time()
        with pytest.raises(ActorTimeout, match="did not answer within 1.5s"):
            await ref.request(Put(n=7), timeout=1.5)
        assert trio.current_time() - t0 == pytest.approx(1.5)
        gate.open.set()
        assert await ref.request(Put(n=8)) == 8
        nursery.cancel_scope.cancel()


async def test_inbox_is_typed() -> None:
    async with trio.open_nursery() as nursery:
        _, ref = await boot(nursery, Slow, Gate())
        with pytest.raises(TypeError, match="accepts Put; got Other"):
            await ref.send(Other())
        nursery.cancel_scope.cancel()


async def test_statistics_and_snapshot() -> None:
    gate = Gate()
    gate.open.set()
    async with trio.open_nursery() as nursery:
        tree, ref = await boot(nursery, Slow, gate)
        for n in range(3):
            await ref.request(Put(n=n))
        snap = tree.snapshot()
        assert snap is not None
        node = snap.children[0]
        assert (node.path, node.kind, node.state, node.handled, node.inbox, node.restarts) == ("agent:t/x", "slow", "running", 3, 0, 0)
        assert node.stats == {"seen": 3}
        assert isinstance(node.started_at, float) and node.started_at > 1.6e9
        doc = msgspec.json.decode(msgspec.json.encode(snap))
        assert set(doc) == {"path", "kind", "state", "restarts", "last_error", "inbox", "handled", "dropped",
                            "started_at", "stats", "children"}
        assert doc["stats"]["strategy"] == "one_for_one"
        nursery.cancel_scope.cancel()


async def test_tree_version_wakes_waiters() -> None:
    gate = Gate()
    gate.open.set()
    async with trio.open_nursery() as nursery:
        tree, ref = await boot(nursery, Slow, gate)
        seen = tree.version
        woke: list[int] = []

        async def watch() -> None:
            woke.append(await tree.wait_changed(seen))

        nursery.start_soon(watch)
        await trio.testing.wait_all_tasks_blocked()
        assert woke == []
        await ref.request(Put(n=1))
        await trio.testing.wait_all_tasks_blocked()
        assert woke and woke[0] > seen
        nursery.cancel_scope.cancel()
