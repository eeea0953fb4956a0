"""`StateCommand`, the base of every state-store command, in a module of its own.

What lives here: the one base Struct (and its ``now_ns`` contract), so that command families kept in
their own modules (``acl_commands``) can subclass it without importing the codec in ``commands``,
which in turn imports them for the `Command` union.

What must never live here: concrete commands, the codec, or behaviour.
"""

from __future__ import annotations

from runtime.messages import Message


class StateCommand(Message, frozen=True, kw_only=True):
    """Base of every state-store command.

    ``now_ns`` is the leader's clock when it proposed the command. Only commands that can start or check
    a lock-delay, stamp a session renewal, or stamp a creation time look at it; every command carries it
    so the leader can stamp uniformly.
    """

    now_ns: int = 0
