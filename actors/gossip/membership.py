"""Serf's member statuses over SWIM's states, with join and leave intents ordered by a Lamport clock.

SWIM says whether a member answers (alive, suspect, dead, left); Serf adds *why* a member went away.
The rules, as in hashicorp/serf:

- a SWIM ``join`` (new, or back from dead/left) makes a member *alive*; ``suspect`` changes nothing
  (Serf shows suspects as alive); ``failed`` makes it *left* if it was *leaving*, else *failed*; a
  graceful SWIM ``left`` makes it *left*; ``reaped`` forgets it.
- a leave intent newer than the member's status time makes an alive member *leaving* and a failed one
  *left* (that is ``force-leave``); ``prune`` also forgets it. An intent about ourselves while we are not
  leaving is refuted: the caller broadcasts a newer join intent.
- a join intent newer than the status time turns *leaving* back into *alive*.
- intents about members not known yet are kept (``recent_intent_timeout``, Serf's 5 min) and applied
  when the member appears, because gossip may deliver the intent before the member.

What lives here: `MemberTable` and its `IntentOutcome`. Pure: callers pass ``now``.
What must never live here: the SWIM protocol, clocks, or IO.
"""

from __future__ import annotations

from typing import Literal

from actors.gossip.members import SerfMember, Status
from actors.swim.effects import Member, MemberEventKind
from actors.swim.serf import decode_tags

IntentOutcome = Literal["apply", "ignore", "refute"]
"""``apply``: the intent was news (re-broadcast it); ``ignore``: stale or unknown kind; ``refute``: it
says we are leaving and we are not (answer with a newer join intent, do not re-broadcast)."""

RECENT_INTENT_TIMEOUT = 300.0  # Serf RecentIntentTimeout
MAX_RECENT_INTENTS = 1024


class _Record:
    __slots__ = ("name", "addr", "tags", "status", "status_ltime", "incarnation")

    def __init__(self, member: Member) -> None:
        self.name = member.name
        self.addr = member.addr
        self.tags = decode_tags(member.meta)
        self.status: Status = "alive"
        self.status_ltime = 0
        self.incarnation = member.incarnation

    def view(self) -> SerfMember:
        return SerfMember(name=self.name, address=self.addr[0], port=self.addr[1], tags=dict(self.tags),
                          status=self.status, status_ltime=self.status_ltime, incarnation=self.incarnation)


class MemberTable:
    """Every member this node knows, with its Serf status."""

    def __init__(self, me: str, recent_intent_timeout: float = RECENT_INTENT_TIMEOUT) -> None:
        self.me = me
        self.recent_intent_timeout = recent_intent_timeout
        self._records: dict[str, _Record] = {}
        self._intents: dict[str, tuple[Literal["join", "leave"], int, float]] = {}
        self.dirty = False  # set on every visible change; the owner clears it once published

    # -- views -----------------------------------------------------------------------------------------

    def members(self) -> list[SerfMember]:
        return [r.view() for r in self._records.values()]

    def get(self, name: str) -> SerfMember | None:
        record = self._records.get(name)
        return None if record is None else record.view()

    def status_ltimes(self) -> dict[str, int]:
        return {r.name: r.status_ltime for r in self._records.values()}

    def left_names(self) -> list[str]:
        return [r.name for r in self._records.values() if r.status == "left"]

    def counts(self) -> dict[str, int]:
        out = {"alive": 0, "leaving": 0, "left": 0, "failed": 0}
        for record in self._records.values():
            out[record.status] += 1
        return out

    @property
    def intent_queue(self) -> int:
        return len(self._intents)

    # -- SWIM events -----------------------------------------------------------------------------------

    def on_swim_event(self, now: float, kind: MemberEventKind, member: Member) -> None:
        name = member.name
        if kind == "reaped":
            if self._records.pop(name, None) is not None:
                self.dirty = True
            return
        record = self._records.get(name)
        if record is None:
            record = self._records[name] = _Record(member)
            self._apply_recent_intent(now, record)
            self._settle(record, kind)
            self.dirty = True
            return
        before = (record.addr, record.tags, record.status)
        record.addr = member.addr
        record.tags = decode_tags(member.meta)
        record.incarnation = member.incarnation
        if kind == "join":
            record.status = "alive"
            self._apply_recent_intent(now, record)
        self._settle(record, kind)
        if (record.addr, record.tags, record.status) != before:
            self.dirty = True

    @staticmethod
    def _settle(record: _Record, kind: MemberEventKind) -> None:
        if kind == "failed":
            record.status = "left" if record.status in ("leaving", "left") else "failed"
        elif kind == "left":
            record.status = "left"
        elif kind in ("alive", "update") and record.status in ("failed", "left"):
            record.status = "alive"

    def set_own_status(self, status: Status) -> None:
        record = self._records.get(self.me)
        if record is not None and record.status != status:
            record.status = status
            self.dirty = True

    # -- intents ---------------------------------------------------------------------------------------

    def join_intent(self, now: float, ltime: int, node: str) -> IntentOutcome:
        record = self._records.get(node)
        if record is None:
            return "apply" if self._remember(now, node, "join", ltime) else "ignore"
        if ltime <= record.status_ltime:
            return "ignore"
        record.status_ltime = ltime
        if record.status == "leaving":
            record.status = "alive"
            self.dirty = True
        return "apply"

    def leave_intent(self, now: float, ltime: int, node: str, prune: bool, *, self_leaving: bool) -> IntentOutcome:
        if node == self.me and not self_leaving:
            return "refute"
        record = self._records.get(node)
        if record is None:
            return "apply" if self._remember(now, node, "leave", ltime) else "ignore"
        if ltime <= record.status_ltime:
            return "ignore"
        record.status_ltime = ltime
        if record.status == "alive":
            record.status = "leaving"
        elif record.status == "failed":
            record.status = "left"
        if prune and record.status in ("left", "leaving") and node != self.me:
            del self._records[node]
            self._remember(now, node, "leave", ltime)  # so an older intent still in flight cannot revive it
        self.dirty = True
        return "apply"

    def _remember(self, now: float, node: str, kind: Literal["join", "leave"], ltime: int) -> bool:
        held = self._intents.get(node)
        if held is not None and held[1] >= ltime:
            return False
        self._intents[node] = (kind, ltime, now)
        horizon = now - self.recent_intent_timeout
        for name in [n for n, (_, _, when) in self._intents.items() if when < horizon]:
            del self._intents[name]
        while len(self._intents) > MAX_RECENT_INTENTS:
            del self._intents[next(iter(self._intents))]
        return True

    def _apply_recent_intent(self, now: float, record: _Record) -> None:
        held = self._intents.pop(record.name, None)
        if held is None:
            return
        kind, ltime, when = held
        if now - when > self.recent_intent_timeout or ltime <= record.status_ltime:
            return
        record.status_ltime = ltime
        if kind == "leave" and record.name != self.me:
            record.status = "leaving"
