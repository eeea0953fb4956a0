"""Small shared types of the scenario schema: durations, targets, the Struct base every table uses.

What lives here: `Duration` (a string like "10s" or a number of seconds, marked so the checker parses it
with its path), `Target` (a node name, a role such as ``leader`` or ``dc2:*``, or a list of those),
`Table` (the msgspec Struct base: keyword-only, unknown keys refused) and `Probability`.

What must never live here: parsing, defaults of any particular section, or knowledge of the agent.
"""

from __future__ import annotations

from typing import Annotated, Union

import msgspec

DURATION_MARK = {"duration": True}

Duration = Annotated[Union[str, int, float], msgspec.Meta(extra=DURATION_MARK)]
Target = Union[str, list[str]]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class Table(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every scenario table: a misspelt key is an error, never ignored. msgspec does not inherit
    ``kw_only``, so every subclass repeats ``kw_only=True`` (required keys may then follow optional ones)."""


def targets_of(value: Target | None) -> list[str]:
    """A target field as a list (a single string is a one-element list)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
