"""Script-driven interaction tests (etcd's rafttest/datadriven idea, our own small format).

A script in ``testdata/*.txt`` is a sequence of blocks::

    # comments are kept
    command arg arg key=value
    ----
    expected output lines

    next command
    ----
    ...

`run_script` executes every command against a `harness.Cluster` and renders the same file with the
actual output. The test compares the two; ``RAFT_REWRITE=1`` writes the actual output back (commit
that diff only if you understand every changed line).

Commands (one handler each, in `HANDLERS`):

* ``add-nodes a b c [learners=d,e] [pre_vote=false] [check_quorum=false]``
* ``add-empty d``: a server with an empty log, not yet a member
* ``campaign a`` / ``propose a DATA`` / ``read-index a CTX`` / ``transfer a b`` /
  ``conf-change a add_voter|add_learner|remove d``: act, then deliver until quiet; prints messages
* ``tick [a b ...] n=K [verbose=true]``: tick (all by default) K times; prints role, term and
  leader changes (and with verbose, every delivered message)
* ``isolate a`` / ``heal`` / ``crash a`` / ``restart a``
* ``drop [src=a] [dst=b] [type=App]`` loses matching messages until ``drop off``
* ``compact a b``: snapshot the state machine and compact the log
* read states released by any command are printed after its messages
* ``status``: one line per server
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from actors.raft import (
    AppendEntries,
    AppendResp,
    Entry,
    Heartbeat,
    HeartbeatResp,
    InstallSnapshot,
    RaftConfig,
    RaftError,
    RaftMessage,
    ReadIndexReq,
    ReadIndexResp,
    RequestVote,
    SnapshotResp,
    TimeoutNow,
    VoteResp,
)

from .harness import Cluster


def render_entry(e: Entry) -> str:
    if e.kind == "normal":
        return f"{e.index}@{e.term} {e.data.decode(errors='replace')!r}"
    return f"{e.index}@{e.term} {e.kind}"


def render(msg: RaftMessage) -> str:
    head = f"{msg.src}->{msg.dst} "
    if isinstance(msg, RequestVote):
        kind = "PreVote" if msg.pre_vote else "Vote"
        extra = " transfer" if msg.transfer else ""
        return head + f"{kind} term={msg.term} last={msg.last_index}@{msg.last_term}{extra}"
    if isinstance(msg, VoteResp):
        kind = "PreVoteResp" if msg.pre_vote else "VoteResp"
        return head + f"{kind} term={msg.term} {'granted' if msg.granted else 'rejected'}"
    if isinstance(msg, AppendEntries):
        ents = ", ".join(render_entry(e) for e in msg.entries)
        return head + f"App term={msg.term} prev={msg.prev_index}@{msg.prev_term} commit={msg.commit} [{ents}]"
    if isinstance(msg, AppendResp):
        if msg.reject:
            return head + (
                f"AppResp term={msg.term} reject index={msg.index} "
                f"hint={msg.conflict_index}@{msg.conflict_term}"
            )
        return head + f"AppResp term={msg.term} index={msg.index}"
    if isinstance(msg, Heartbeat):
        read = f" read={msg.read_seq}" if msg.read_seq else ""
        return head + f"Heartbeat term={msg.term} commit={msg.commit}{read}"
    if isinstance(msg, HeartbeatResp):
        read = f" read={msg.read_seq}" if msg.read_seq else ""
        return head + f"HeartbeatResp term={msg.term}{read}"
    if isinstance(msg, InstallSnapshot):
        done = " done" if msg.done else ""
        return head + (
            f"Snapshot term={msg.term} snap={msg.meta.index}@{msg.meta.term} "
            f"offset={msg.offset} len={len(msg.data)}{done}"
        )
    if isinstance(msg, SnapshotResp):
        flags = "".join([" done" if msg.done else "", " reject" if msg.reject else ""])
        return head + f"SnapshotResp term={msg.term} snap={msg.index} offset={msg.offset}{flags}"
    if isinstance(msg, TimeoutNow):
        return head + f"TimeoutNow term={msg.term}"
    if isinstance(msg, ReadIndexReq):
        return head + f"ReadIndex term={msg.term} ctx={msg.ctx.decode()}"
    if isinstance(msg, ReadIndexResp):
        err = f" error={msg.error!r}" if msg.error else ""
        return head + f"ReadIndexResp term={msg.term} ctx={msg.ctx.decode()} index={msg.index}{err}"
    return head + repr(msg)  # pragma: no cover


class Env:
    def __init__(self) -> None:
        self.cluster: Cluster | None = None

    @property
    def c(self) -> Cluster:
        assert self.cluster is not None, "add-nodes first"
        return self.cluster

    def status_line(self, name: str) -> str:
        if name in self.c.down:
            return f"{name}: down"
        core = self.c.core(name)
        return (
            f"{name}: {core.role} term={core.term} leader={core.leader or '-'} "
            f"commit={core.commit_index} last={core.last_index} applied={core.applied_index}"
        )

    def observe(self) -> dict[str, tuple]:
        return {
            n: ("down",) if n in self.c.down else (self.c.core(n).role, self.c.core(n).term, self.c.core(n).leader)
            for n in self.c.nodes
        }

    def act(self, fn: Callable[[], None]) -> list[str]:
        mark = len(self.c.delivered)
        try:
            fn()
        except RaftError as err:
            return [f"error: {type(err).__name__}: {err}"]
        self.c.stabilize()
        return [render(m) for m in self.c.delivered[mark:]]


def cmd_add_nodes(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    settings: dict[str, object] = {}
    for key, value in kw.items():
        if key in ("pre_vote", "check_quorum"):
            settings[key] = value.lower() == "true"
        elif key != "learners":
            settings[key] = int(value)
    learners = [x for x in kw.get("learners", "").split(",") if x]
    env.cluster = Cluster(args, learners=learners, config=RaftConfig(**settings))  # type: ignore[arg-type]
    return [env.status_line(n) for n in env.c.nodes]


def cmd_add_empty(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    env.c.add_empty(args[0])
    return [env.status_line(args[0])]


def cmd_campaign(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    return env.act(lambda: env.c.core(args[0]).campaign())


def cmd_propose(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    return env.act(lambda: env.c.core(args[0]).propose(args[1].encode()))


def cmd_read_index(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    return env.act(lambda: env.c.core(args[0]).read_index(args[1].encode()))


def cmd_transfer(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    return env.act(lambda: env.c.core(args[0]).transfer_leadership(args[1]))


def cmd_conf_change(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    from actors.raft import ConfChange

    return env.act(lambda: env.c.core(args[0]).propose_conf_change(ConfChange(op=args[1], node=args[2])))  # type: ignore[arg-type]


def cmd_tick(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    before = env.observe()
    mark = len(env.c.delivered)
    env.c.tick(*args, n=int(kw.get("n", "1")))
    after = env.observe()
    lines = []
    if kw.get("verbose") == "true":
        lines += [render(m) for m in env.c.delivered[mark:]]
    for n in env.c.nodes:
        if before[n] != after[n]:
            role, term, leader = after[n] if len(after[n]) == 3 else ("down", "-", "-")
            lines.append(f"{n}: {role} term={term} leader={leader or '-'}")
    return lines or ["(no role, term or leader changes)"]


def cmd_isolate(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    env.c.isolate(args[0])
    return ["ok"]


def cmd_heal(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    env.c.heal()
    return ["ok"]


def cmd_crash(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    env.c.crash(args[0])
    return ["ok"]


def cmd_restart(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    env.c.restart(args[0])
    return [env.status_line(args[0])]


MESSAGE_NAMES = {
    "PreVote": RequestVote,
    "Vote": RequestVote,
    "App": AppendEntries,
    "AppResp": AppendResp,
    "Heartbeat": Heartbeat,
    "HeartbeatResp": HeartbeatResp,
    "Snapshot": InstallSnapshot,
    "SnapshotResp": SnapshotResp,
}


def cmd_drop(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    """``drop src=a dst=b type=App``: silently lose matching messages; ``drop off`` stops it."""
    if args == ["off"]:
        env.c.filter = None
        return ["ok"]
    kind = MESSAGE_NAMES[kw["type"]] if "type" in kw else RaftMessage

    def rule(msg: RaftMessage) -> bool:
        return (
            isinstance(msg, kind)
            and kw.get("src", msg.src) == msg.src
            and kw.get("dst", msg.dst) == msg.dst
        )

    env.c.filter = rule
    return ["ok"]


def cmd_compact(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    """Snapshot the state machine of each named server at its applied index and compact."""
    lines = []
    for name in args:
        node = env.c.nodes[name]
        node.take_snapshot()
        stats = node.core.statistics()
        lines.append(f"{name}: snapshot={stats.snapshot_index} first={stats.first_index} last={stats.last_index}")
    return lines


def cmd_status(env: Env, args: list[str], kw: dict[str, str]) -> list[str]:
    return [env.status_line(n) for n in env.c.nodes]


def drain_read_states(env: Env) -> list[str]:
    """Every command reports the read states it released, wherever they appeared."""
    lines = []
    if env.cluster is None:
        return lines
    for name, node in env.c.nodes.items():
        for rs in node.read_states:
            err = f" error={rs.error!r}" if rs.error else ""
            lines.append(f"{name} read state: ctx={rs.ctx.decode()} index={rs.index}{err}")
        node.read_states.clear()
    return lines


HANDLERS: dict[str, Callable[[Env, list[str], dict[str, str]], list[str]]] = {
    "add-nodes": cmd_add_nodes,
    "add-empty": cmd_add_empty,
    "campaign": cmd_campaign,
    "propose": cmd_propose,
    "read-index": cmd_read_index,
    "transfer": cmd_transfer,
    "conf-change": cmd_conf_change,
    "tick": cmd_tick,
    "isolate": cmd_isolate,
    "heal": cmd_heal,
    "crash": cmd_crash,
    "restart": cmd_restart,
    "status": cmd_status,
    "drop": cmd_drop,
    "compact": cmd_compact,
}


def run_script(text: str) -> str:
    """Execute a script; return it with every expected-output section replaced by the actual."""
    env = Env()
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            out.append(line)
            i += 1
            continue
        words = shlex.split(line)
        args = [w for w in words[1:] if "=" not in w]
        kw = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        handler = HANDLERS.get(words[0])
        if handler is None:
            raise ValueError(f"line {i + 1}: unknown command {words[0]!r}")
        out.append(line)
        out.append("----")
        produced = handler(env, args, kw) + drain_read_states(env)
        out.extend(produced or ["(nothing delivered)"])
        i += 1
        if i < len(lines) and lines[i] == "----":  # skip the old expected output
            i += 1
            while i < len(lines) and lines[i].strip():
                i += 1
        out.append("")
        while i < len(lines) and not lines[i].strip():
            i += 1
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"
