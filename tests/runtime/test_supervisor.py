"""Supervision: restart strategies, intensity escalation, isolation, backoff, fault injection."""

from __future__ import annotations

import contextlib
import re
from typing import Callable, Iterator

import pytest
import trio
import trio.testing

from runtime.actor import Actor, ActorCrashed, ActorNotRunning, ActorRef
from runtime.messages import Message
from runtime.supervisor import ChildSpec, RestartPolicy, Supervisor, SupervisorGaveUp, run_root
from runtime.tree import ActorTree


class Work(Message, tag="test.work"):
    n: int


class Boom(Message, tag="test.boom"):
    why: str = "boom"


class Invariant(Message, tag="test.invariant"):
    pass


Inbox = Work | Boom | Invariant


class Worker(Actor):
    """Doubles numbers; crashes on Boom; breaks an invariant on Invariant."""

    kind = "worker"
    Inbox = Inbox
    instances: list["Worker"] = []

    def __init__(self) -> None:
        Worker.instances.append(self)

    async def handle(self, message: Work | Boom | Invariant) -> int:
        if isinstance(message, Boom):
            raise RuntimeError(message.why)
        if isinstance(message, Invariant):
            raise AssertionError("two leaders in one term")
        return message.n * 2


class FailsToStart(Actor):
    kind = "fragile"

    async def on_start(self) -> None:
        raise OSError("address already in use")


async def start_tree(nursery: trio.Nursery, root: Actor, name: str = "agent:t") -> ActorTree:
    tree = ActorTree()
    await nursery.start(run_root, tree, name, root)
    return tree


@contextlib.contextmanager
def raises_through_nursery(exc_type: type[BaseException], match: str) -> Iterator[list[BaseException]]:
    """Expect ``exc_type`` out of a nursery, i.e. wrapped in (possibly nested) exception groups."""
    caught: list[BaseException] = []
    try:
        yield caught
    except BaseExceptionGroup as group:
        matched, _ = group.split(exc_type)
        assert matched is not None, f"expected {exc_type.__name__}, got {group!r}"
        while isinstance(matched, BaseExceptionGroup):
            matched = matched.exceptions[0]
        assert re.search(match, str(matched)), f"{str(matched)!r} does not match {match!r}"
        caught.append(matched)
    else:
        raise AssertionError(f"{exc_type.__name__} was not raised")


async def wait_for(tree: ActorTree, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait (in virtual time) until ``condition()`` holds, re-checking whenever the tree changes."""
    with trio.fail_after(timeout):
        version = tree.version
        while not condition():
            version = await tree.wait_changed(version)


def ref(tree: ActorTree, path: str) -> ActorRef:
    return ActorRef(tree.get(path))


async def crash(tree: ActorTree, path: str) -> None:
    with pytest.raises(ActorCrashed):
        await ref(tree, path).request(Boom())


async def test_one_for_one_restarts_only_the_failed_child(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([ChildSpec("a", Worker), ChildSpec("b", Worker)]))
        await crash(tree, "agent:t/a")
        assert await ref(tree, "agent:t/a").request(Work(n=21)) == 42  # waits through the backoff
        a, b = tree.get("agent:t/a"), tree.get("agent:t/b")
        assert (a.restarts, b.restarts) == (1, 0)
        assert a.last_error is not None and a.last_error.type == "RuntimeError" and a.last_error.message == "boom"
        assert b.last_error is None and b.state == "running"
        nursery.cancel_scope.cancel()


async def test_one_for_all_restarts_every_child(autojump_clock: trio.testing.MockClock) -> None:
    policy = RestartPolicy(strategy="one_for_all")
    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([ChildSpec("a", Worker), ChildSpec("b", Worker), ChildSpec("c", Worker)], policy))
        b_before = tree.get("agent:t/b").actor
        await crash(tree, "agent:t/a")
        await trio.testing.wait_all_tasks_blocked()
        assert [tree.get(f"agent:t/{n}").state for n in "abc"] == ["restarting"] * 3
        assert await ref(tree, "agent:t/c").request(Work(n=1)) == 2
        await trio.testing.wait_all_tasks_blocked()
        assert [tree.get(f"agent:t/{n}").restarts for n in "abc"] == [1, 1, 1]
        assert tree.get("agent:t/b").actor is not b_before  # a fresh instance, not the old one
        nursery.cancel_scope.cancel()


async def test_rest_for_one_restarts_the_failed_child_and_later_ones(autojump_clock: trio.testing.MockClock) -> None:
    policy = RestartPolicy(strategy="rest_for_one")
    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([ChildSpec(n, Worker) for n in "abc"], policy))
        a_before = tree.get("agent:t/a").actor
        await crash(tree, "agent:t/b")
        await trio.testing.wait_all_tasks_blocked()
        assert [tree.get(f"agent:t/{n}").state for n in "abc"] == ["running", "restarting", "restarting"]
        assert await ref(tree, "agent:t/c").request(Work(n=1)) == 2
        await trio.testing.wait_all_tasks_blocked()
        assert [tree.get(f"agent:t/{n}").restarts for n in "abc"] == [0, 1, 1]
        assert tree.get("agent:t/a").actor is a_before
        nursery.cancel_scope.cancel()


async def test_intensity_escalates_to_the_parent_and_spares_the_sibling_subtree(autojump_clock: trio.testing.MockClock) -> None:
    inner_policy = RestartPolicy(max_restarts=2, within_seconds=60)
    inner = ChildSpec("health", Supervisor, [ChildSpec("check", Worker)], inner_policy)
    sibling = ChildSpec("raft", Supervisor, [ChildSpec("peer", Worker)])
    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([inner, sibling]))
        raft_peer = tree.get("agent:t/raft/peer").actor
        for attempt in range(3):  # the third failure within the window exceeds max_restarts=2
            await crash(tree, "agent:t/health/check")
            if attempt < 2:
                await ref(tree, "agent:t/health/check").request(Work(n=0))  # wait until it is back
        health = tree.get("agent:t/health")
        await wait_for(tree, lambda: health.restarts == 1 and tree.get("agent:t/health/check").state == "running")
        assert health.restarts == 1
        assert health.last_error is not None and health.last_error.type == "SupervisorGaveUp"
        assert "gave up after 3 failures" in health.last_error.message
        # The sibling subtree never noticed: same instance, no restart, still answering.
        assert tree.get("agent:t/raft/peer").actor is raft_peer
        assert tree.get("agent:t/raft").restarts == 0
        assert await ref(tree, "agent:t/raft/peer").request(Work(n=5)) == 10
        nursery.cancel_scope.cancel()


async def test_root_gives_up_and_the_error_reaches_the_caller(autojump_clock: trio.testing.MockClock) -> None:
    policy = RestartPolicy(max_restarts=1, within_seconds=60)
    with raises_through_nursery(SupervisorGaveUp, "gave up after 2 failures"):
        async with trio.open_nursery() as nursery:
            tree = await start_tree(nursery, Supervisor([ChildSpec("a", Worker)], policy))
            await crash(tree, "agent:t/a")
            await ref(tree, "agent:t/a").request(Work(n=0))
            await crash(tree, "agent:t/a")
            await trio.sleep(3600)  # the root failing ends this block with its error
    assert tree.get("agent:t").state == "failed"


async def test_backoff_doubles_with_failures_in_the_window(autojump_clock: trio.testing.MockClock) -> None:
    policy = RestartPolicy(backoff_initial=1.0, backoff_max=3.0, max_restarts=10, within_seconds=1000)
    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([ChildSpec("a", Worker)], policy))
        waits = []
        for _ in range(4):
            t0 = trio.current_time()
            await crash(tree, "agent:t/a")
            await trio.testing.wait_all_tasks_blocked()
            assert tree.get("agent:t/a").state == "restarting"
            await ref(tree, "agent:t/a").request(Work(n=0))
            waits.append(round(trio.current_time() - t0, 6))
        assert waits == [1.0, 2.0, 3.0, 3.0]
        nursery.cancel_scope.cancel()


async def test_failure_before_ready_is_restarted_then_escalates(autojump_clock: trio.testing.MockClock) -> None:
    policy = RestartPolicy(max_restarts=3, within_seconds=60)
    with raises_through_nursery(SupervisorGaveUp, "gave up") as caught:
        async with trio.open_nursery() as nursery:
            tree = await start_tree(nursery, Supervisor([ChildSpec("udp", FailsToStart)], policy))
            await trio.sleep(3600)
    cell = tree.get("agent:t/udp")
    assert cell.restarts == 3 and cell.state == "failed"
    assert cell.last_error is not None and cell.last_error.message == "address already in use"
    assert "OSError" in str(caught[0])


async def test_assertion_error_fails_stop_without_restart(autojump_clock: trio.testing.MockClock) -> None:
    with raises_through_nursery(SupervisorGaveUp, "broke an invariant"):
        async with trio.open_nursery() as nursery:
            tree = await start_tree(nursery, Supervisor([ChildSpec("raft", Worker)]))
            with pytest.raises(ActorCrashed):
                await ref(tree, "agent:t/raft").request(Invariant())
            await trio.sleep(3600)
    assert tree.get("agent:t/raft").restarts == 0


async def test_transient_and_temporary_children(autojump_clock: trio.testing.MockClock) -> None:
    class Job(Actor):
        kind = "job"

        async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            task_status.started()

    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([
            ChildSpec("once", Job, restart="transient"),
            ChildSpec("temp", Worker, restart="temporary"),
        ]))
        await trio.testing.wait_all_tasks_blocked()
        assert tree.get("agent:t/once").state == "stopped" and tree.get("agent:t/once").restarts == 0
        await crash(tree, "agent:t/temp")
        await trio.testing.wait_all_tasks_blocked()
        assert tree.get("agent:t/temp").state == "failed"
        with pytest.raises(ActorNotRunning):
            await ref(tree, "agent:t/temp").send(Work(n=1))
        nursery.cancel_scope.cancel()


async def test_fault_injection_crash_stop_restart(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        tree = await start_tree(nursery, Supervisor([ChildSpec("a", Worker), ChildSpec("b", Worker)]))
        tree.inject("agent:t/a", "crash")
        await trio.testing.wait_all_tasks_blocked()
        a = tree.get("agent:t/a")
        assert a.restarts == 1 and a.last_error is not None and a.last_error.type == "InjectedCrash"
        await ref(tree, "agent:t/a").request(Work(n=1))
        assert a.state == "running"

        tree.inject("agent:t/b", "stop")
        await trio.testing.wait_all_tasks_blocked()
        assert tree.get("agent:t/b").state == "stopped"
        with pytest.raises(ActorNotRunning):
            await ref(tree, "agent:t/b").request(Work(n=1))

        tree.inject("agent:t/b", "restart")
        await trio.testing.wait_all_tasks_blocked()
        assert tree.get("agent:t/b").state == "running"
        assert await ref(tree, "agent:t/b").request(Work(n=4)) == 8

        restarts = a.restarts
        tree.inject("agent:t/a", "restart")  # a deliberate restart is not a failure
        await trio.testing.wait_all_tasks_blocked()
        assert a.restarts == restarts + 1 and a.last_error.type == "InjectedCrash"
        assert tree.get("agent:t").actor.statistics()["failures_in_window"] == 1

        with pytest.raises(KeyError):
            tree.inject("agent:t/nope", "crash")
        with pytest.raises(ValueError, match="no supervisor"):
            tree.inject("agent:t", "crash")
        nursery.cancel_scope.cancel()


async def test_dynamic_children(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        sup = Supervisor([])
        tree = await start_tree(nursery, sup)
        child = await sup.add_child(ChildSpec("check:web", Worker))
        assert child.path == "agent:t/check:web"
        assert await child.request(Work(n=3)) == 6
        await sup.remove_child("check:web")
        assert "agent:t/check:web" not in tree.cells
        assert tree.snapshot().children == []
        nursery.cancel_scope.cancel()
