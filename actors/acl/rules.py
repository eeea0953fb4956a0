"""ACL policy rules: the `Rule` / `PolicyRules` values and `parse_rules`, text (HCL1 or JSON) to rules.

What lives here: the vocabulary of Consul's rule language (resources, dispositions), the interpretation of
a decoded tree into `Rule`s with Consul's validation (`acl/policy.go` ``PolicyRules.Validate``), and the
text of the built-in ``global-management`` policy. `Rule.policy` is stored lower-cased (Consul's
``AccessLevelFromString`` lower-cases before checking).

Deliberately stricter than Consul, which silently ignores what its HCL decoder does not recognise: an
unknown resource (``keys``, ``namespace``…) or an unknown field inside a rule block is a `RulesError` here,
so a typo never yields a policy that quietly grants nothing.

What must never live here: deciding access (`authorizer`), character scanning (`rules_hcl_lex`),
grammar (`rules_hcl`, `rules_json`), or any IO.
"""

from __future__ import annotations

import msgspec

from .rules_errors import RulesError, syntax_error, where
from .rules_hcl import decode_hcl
from .rules_json import decode_json
from .rules_tree import Item, Obj, Pos, Value, describe

# HCL block name -> (Rule.resource, Rule.prefix)
NAMED_RESOURCES: dict[str, tuple[str, bool]] = {
    "agent": ("agent", False),
    "agent_prefix": ("agent", True),
    "event": ("event", False),
    "event_prefix": ("event", True),
    "key": ("key", False),
    "key_prefix": ("key", True),
    "node": ("node", False),
    "node_prefix": ("node", True),
    "query": ("query", False),
    "query_prefix": ("query", True),
    "service": ("service", False),
    "service_prefix": ("service", True),
    "session": ("session", False),
    "session_prefix": ("session", True),
}
SCALAR_RESOURCES: tuple[str, ...] = ("acl", "keyring", "mesh", "operator", "peering")
ALL_RESOURCE_WORDS: tuple[str, ...] = tuple(sorted((*NAMED_RESOURCES, *SCALAR_RESOURCES)))

READ, WRITE, LIST, DENY = "read", "write", "list", "deny"
DISPOSITIONS: tuple[str, ...] = (READ, WRITE, LIST, DENY)
LIST_RESOURCES = frozenset({"key"})  # "list" is valid for key / key_prefix only


class Rule(msgspec.Struct, frozen=True):
    """One grant: ``key_prefix "app/" { policy = "write" }`` is Rule("key", "app/", True, "write")."""

    # "key", "service", "node", "session", "event", "agent", "query" (named) or
    # "operator", "keyring", "acl", "mesh", "peering" (scalar)
    resource: str
    name: str  # "" for the scalar resources operator/keyring/acl/mesh/peering
    prefix: bool  # True for key_prefix, service_prefix, ...
    policy: str  # "read" | "write" | "list" | "deny"
    intentions: str = ""  # service / service_prefix only: "" (derived from policy) | "read" | "write" | "deny"


class PolicyRules(msgspec.Struct, frozen=True):
    """The rules of one policy, in source order (not merged: `authorizer.authorizer_for` merges)."""

    rules: tuple[Rule, ...]


EMPTY_RULES = PolicyRules(rules=())

# The rules of the built-in policy 00000000-0000-0000-0000-000000000001 ("global-management"), as Consul
# reports them in GET /v1/acl/policy/<id> (agent/structs/acl.go ACLPolicyGlobalManagementRules).
GLOBAL_MANAGEMENT_RULES = """
acl = "write"
agent_prefix "" {
\tpolicy = "write"
}
event_prefix "" {
\tpolicy = "write"
}
key_prefix "" {
\tpolicy = "write"
}
keyring = "write"
node_prefix "" {
\tpolicy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
\tpolicy = "write"
}
service_prefix "" {
\tpolicy = "write"
\tintentions = "write"
}
session_prefix "" {
\tpolicy = "write"
}"""


def parse_rules(text: str) -> PolicyRules:
    """Parse ACL rules written in HCL1 or JSON (JSON when the first non-blank character is ``{``).

    ``""`` (or only blanks and comments) gives no rules. Raises `RulesError` whose message is the 400 body:
    ``Failed to parse ACL rules: At L:C: ...`` for malformed text, unknown resources or fields, or
    ``Invalid <resource> policy: ...`` for a bad disposition.
    """
    if not isinstance(text, str):
        raise TypeError(f"ACL rules must be str, not {type(text).__name__}")
    if text == "":
        return EMPTY_RULES
    tree = decode_json(text) if text.lstrip()[:1] == "{" else decode_hcl(text)
    return PolicyRules(rules=tuple(_interpret(tree)))


def _context(pos: Pos, label: str) -> str:
    return f"{where(pos)}{label}: " if label else where(pos)


def _invalid(block: str, pos: Pos, label: str, message: str) -> RulesError:
    return RulesError(f"Invalid {block} policy: {_context(pos, label)}{message}")


def _disposition(block: str, resource: str, value: Value, pos: Pos, label: str, field: str = "policy") -> str:
    allowed = DISPOSITIONS if resource in LIST_RESOURCES and field == "policy" else (READ, WRITE, DENY)
    wanted = "one of " + ", ".join(f'"{a}"' for a in allowed)
    if not isinstance(value, str):
        raise _invalid(block, pos, label, f"{field} must be a string ({wanted}), got {describe(value)}")
    level = value.lower()
    if level == LIST and level not in allowed:
        raise _invalid(block, pos, label, f'"list" is only valid for key and key_prefix rules; want {wanted}')
    if level not in allowed:
        shown = "missing policy" if value == "" and field == "policy" else f'"{value}" is not a valid access level'
        raise _invalid(block, pos, label, f"{shown}; want {wanted}")
    return level


def _interpret(tree: Obj) -> list[Rule]:
    rules: list[Rule] = []
    scalars_seen: set[str] = set()
    for item in tree.items:
        word = item.key.lower()
        if word in SCALAR_RESOURCES:
            if word in scalars_seen:
                raise syntax_error(
                    item.pos, f'the argument "{word}" was already set. Each argument can only be defined once'
                )
            scalars_seen.add(word)
            if not isinstance(item.value, str):
                raise syntax_error(item.pos, f'{word} must be a string such as "read", got {describe(item.value)}')
            if item.value != "":  # Consul: "this one is allowed to be empty"
                rules.append(Rule(word, "", False, _disposition(word, word, item.value, item.pos, "")))
        elif word in NAMED_RESOURCES:
            for name, body, pos in _blocks(word, item):
                rules.append(_rule(word, name, body, pos))
        else:
            wanted = ", ".join(ALL_RESOURCE_WORDS)
            raise syntax_error(item.pos, f'unknown ACL resource "{item.key}"; want one of {wanted}')
    return rules


def _blocks(word: str, item: Item) -> list[tuple[str, Value, Pos]]:
    """The (name, body, position) triples under ``key_prefix { "a/" {...} "b/" {...} }`` or a list of such."""
    containers = item.value if isinstance(item.value, (tuple, list)) else (item.value,)
    found: list[tuple[str, Value, Pos]] = []
    for container in containers:
        if not isinstance(container, Obj):
            raise syntax_error(
                item.pos, f'{word} must be followed by a name and a block, as in {word} "name" {{ policy = "read" }}; '
                f"got {describe(container)}"
            )
        found.extend((sub.key, sub.value, sub.pos if sub.pos is not None else item.pos) for sub in container.items)
    return found


def _rule(word: str, name: str, body: Value, pos: Pos) -> Rule:
    resource, prefix = NAMED_RESOURCES[word]
    label = f'{word} "{name}"'
    if not isinstance(body, Obj):
        raise syntax_error(pos, f'{label} must be a block such as {{ policy = "read" }}, got {describe(body)}')
    fields = ("policy", "intentions") if resource == "service" else ("policy",)
    values: dict[str, tuple[Value, Pos]] = {}
    for field_item in body.items:
        field = field_item.key.lower()
        field_pos = field_item.pos if field_item.pos is not None else pos
        if field not in fields:
            takes = " and ".join(fields)
            raise syntax_error(field_pos, f'{label}: unknown field "{field_item.key}"; a {word} block takes {takes}')
        if field in values:
            raise syntax_error(
                field_pos, f'{label}: the argument "{field}" was already set. Each argument can only be defined once'
            )
        values[field] = (field_item.value, field_pos)
    policy_value, policy_pos = values.get("policy", ("", pos))
    policy = _disposition(word, resource, policy_value, policy_pos, label)
    intentions = ""
    if "intentions" in values:
        value, value_pos = values["intentions"]
        if value != "":
            intentions = _disposition(word, resource, value, value_pos, label, field="intentions")
    return Rule(resource, name, prefix, policy, intentions)
