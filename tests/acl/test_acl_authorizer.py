"""The ACL authorizer: resolution order, defaults, merging, KV list and recursive-write rules, a reference model."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import actors.acl
from actors.acl.authorizer import ALLOW_ALL, MANAGEMENT, Authorizer, authorizer_for, permission_denied
from actors.acl.rules import GLOBAL_MANAGEMENT_RULES, PolicyRules, Rule, parse_rules

NAMED = ["agent", "event", "key", "node", "query", "service", "session"]
SCALARS = ["acl", "keyring", "operator", "mesh", "peering"]


def authz(*texts: str, default: str = "deny") -> Authorizer:
    return authorizer_for([parse_rules(t) for t in texts], default)


def can(a: Authorizer, resource: str, level: str, name: str | None = None) -> bool:
    method = getattr(a, f"{resource}_{level}")
    return method() if name is None else method(name)


# -- named resources: exact, prefix, default ---------------------------------------------------------


@pytest.mark.parametrize("resource", NAMED)
def test_exact_rule_grants_only_that_name(resource):
    a = authz(f'{resource} "web" {{ policy = "write" }}')
    assert can(a, resource, "read", "web") and can(a, resource, "write", "web")
    assert not can(a, resource, "read", "web2") and not can(a, resource, "read", "we")


@pytest.mark.parametrize("resource", NAMED)
def test_prefix_rule_grants_names_starting_with_it(resource):
    a = authz(f'{resource}_prefix "web" {{ policy = "read" }}')
    assert can(a, resource, "read", "web") and can(a, resource, "read", "web-1")
    assert not can(a, resource, "write", "web-1")
    assert not can(a, resource, "read", "we") and not can(a, resource, "read", "api")


@pytest.mark.parametrize("resource", NAMED)
def test_exact_beats_prefix_both_ways(resource):
    a = authz(f'{resource}_prefix "" {{ policy = "write" }}\n{resource} "db" {{ policy = "deny" }}')
    assert can(a, resource, "write", "dbx") and not can(a, resource, "read", "db")
    b = authz(f'{resource}_prefix "" {{ policy = "deny" }}\n{resource} "db" {{ policy = "read" }}')
    assert can(b, resource, "read", "db") and not can(b, resource, "write", "db") and not can(b, resource, "read", "x")


@pytest.mark.parametrize("resource", NAMED)
def test_longest_prefix_wins(resource):
    a = authz(
        f'{resource}_prefix "" {{ policy = "read" }}\n'
        f'{resource}_prefix "app" {{ policy = "deny" }}\n'
        f'{resource}_prefix "app/pub" {{ policy = "write" }}'
    )
    assert can(a, resource, "read", "zzz") and not can(a, resource, "write", "zzz")
    assert not can(a, resource, "read", "app/x")
    assert can(a, resource, "write", "app/pub/1") and can(a, resource, "write", "app/pub")
    assert not can(a, resource, "read", "app/pu")


@pytest.mark.parametrize("resource", NAMED)
def test_default_policy_applies_when_nothing_matches(resource):
    text = f'{resource}_prefix "x" {{ policy = "deny" }}'
    allow, deny = authz(text, default="allow"), authz(text, default="deny")
    assert can(allow, resource, "write", "y") and can(allow, resource, "read", "y")
    assert not can(deny, resource, "read", "y") and not can(deny, resource, "write", "y")
    assert not can(allow, resource, "read", "x1")  # a matching deny beats default allow


@pytest.mark.parametrize("resource", NAMED)
def test_read_does_not_grant_write_and_write_grants_read(resource):
    assert not can(authz(f'{resource} "n" {{ policy = "read" }}', default="allow"), resource, "write", "n")
    assert can(authz(f'{resource} "n" {{ policy = "write" }}'), resource, "read", "n")


# -- KV list ----------------------------------------------------------------------------------------


def test_key_list_semantics():
    a = authz('key_prefix "l/" { policy = "list" }\nkey_prefix "r/" { policy = "read" }\nkey_prefix "w/" { policy = "write" }')
    assert a.key_list("l/") and a.key_read("l/x") and not a.key_write("l/x")  # list grants list + read
    assert not a.key_list("r/") and a.key_read("r/x")  # read does not grant list
    assert a.key_list("w/") and a.key_write("w/x")  # write grants everything
    assert not a.key_list("other/")
    assert authz("", default="allow").key_list("any/")


# -- scalar resources --------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["operator", "keyring", "acl", "mesh", "peering"])
def test_scalar_resources(resource):
    read, write, deny = (authz(f'{resource} = "{p}"', default="allow") for p in ("read", "write", "deny"))
    assert can(read, resource, "read") and not can(read, resource, "write")
    assert can(write, resource, "read") and can(write, resource, "write")
    assert not can(deny, resource, "read") and not can(deny, resource, "write")
    assert not can(authz(""), resource, "read")


@pytest.mark.parametrize("resource", ["operator", "keyring", "mesh", "peering"])
def test_default_allow_grants_scalars_but_not_acl(resource):
    a = authz("", default="allow")
    assert can(a, resource, "read") and can(a, resource, "write")
    assert not a.acl_read() and not a.acl_write() and not a.snapshot()


def test_snapshot_needs_acl_write():
    assert authz('acl = "write"').snapshot()
    assert not authz('acl = "read"', default="allow").snapshot()


@pytest.mark.parametrize("resource", ["mesh", "peering"])
def test_mesh_and_peering_fall_back_to_operator(resource):
    a = authz('operator = "write"')
    assert can(a, resource, "read") and can(a, resource, "write")
    b = authz('operator = "read"', default="allow")
    assert can(b, resource, "read") and not can(b, resource, "write")
    c = authz(f'operator = "write"\n{resource} = "deny"')
    assert not can(c, resource, "read") and c.operator_write()
    d = authz(f'operator = "deny"\n{resource} = "read"')
    assert can(d, resource, "read") and not d.operator_read()


# -- merging several policies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "levels, expected",
    [
        (("read", "write"), "write"),
        (("write", "read"), "write"),
        (("write", "deny"), "deny"),
        (("deny", "write"), "deny"),
        (("read", "deny"), "deny"),
        (("list", "read"), "list"),
        (("read", "list", "write"), "write"),
        (("list", "deny"), "deny"),
    ],
)
def test_merge_precedence_deny_write_list_read(levels, expected):
    texts = [f'key_prefix "p/" {{ policy = "{lv}" }}' for lv in levels]
    a = authz(*texts, default="allow")
    single = authz(f'key_prefix "p/" {{ policy = "{expected}" }}', default="allow")
    for check in ("key_read", "key_list", "key_write"):
        assert getattr(a, check)("p/x") == getattr(single, check)("p/x"), check
    same_policy = authz("\n".join(texts), default="allow")  # duplicates inside one policy merge alike
    assert same_policy.key_write("p/x") == single.key_write("p/x")


def test_merge_keeps_exact_and_prefix_apart():
    a = authz('key_prefix "a/" { policy = "write" }', 'key "a/x" { policy = "read" }')
    assert a.key_write("a/y") and not a.key_write("a/x") and a.key_read("a/x")
    b = authz('key_prefix "a/" { policy = "deny" }', 'key "a/x" { policy = "write" }')
    assert b.key_write("a/x") and not b.key_read("a/y")


def test_merge_of_scalars():
    assert not authz('operator = "write"', 'operator = "deny"', default="allow").operator_read()
    assert authz('operator = "read"', 'operator = "write"').operator_write()
    assert authz('operator = "read"', "").operator_read()


def test_merging_is_order_independent():
    texts = ['service_prefix "" { policy = "read" }', 'service "db" { policy = "deny" }', 'service "db" { policy = "write" }']
    a, b = authz(*texts), authz(*reversed(texts))
    for name in ("db", "web", ""):
        assert a.service_read(name) == b.service_read(name) and a.service_write(name) == b.service_write(name)
    assert not a.service_read("db")


# -- recursive KV writes (CVE-2019-12291) ------------------------------------------------------------


def test_cve_2019_12291_prefix_token_cannot_delete_outside_its_prefix():
    a = authz('key_prefix "app/" { policy = "write" }')
    assert not a.key_write_prefix("app")  # would reach "app2", "apple"
    assert not a.key_write_prefix("")
    assert not a.key_write_prefix("ap")
    assert a.key_write_prefix("app/") and a.key_write_prefix("app/sub/")
    assert not a.key_write("app2") and not a.key_write("apple") and not a.key_write("")


def test_key_write_prefix_refused_when_anything_below_lacks_write():
    a = authz('key_prefix "" { policy = "write" }\nkey_prefix "app/secret/" { policy = "read" }')
    assert not a.key_write_prefix("") and not a.key_write_prefix("app/") and not a.key_write_prefix("app/secret/x")
    assert a.key_write_prefix("app/public/") and a.key_write_prefix("other")
    b = authz('key_prefix "" { policy = "write" }\nkey "app/lock" { policy = "deny" }')
    assert not b.key_write_prefix("app/") and not b.key_write_prefix("app/lock") and b.key_write_prefix("app/lock/")
    c = authz('key_prefix "app/" { policy = "write" }\nkey "app/" { policy = "list" }')
    assert not c.key_write_prefix("app/")  # an exact rule on the prefix itself counts


def test_key_write_prefix_under_default_allow():
    assert authz("", default="allow").key_write_prefix("")
    a = authz('key_prefix "app/cfg" { policy = "read" }', default="allow")
    assert not a.key_write_prefix("app") and not a.key_write_prefix("") and a.key_write_prefix("app/data")
    assert a.key_write("app/x")  # single-key writes are unaffected
    b = authz('key_prefix "" { policy = "read" }', default="allow")
    assert not b.key_write_prefix("zzz")  # a covering prefix rule without write refuses
    c = authz('key_prefix "app/" { policy = "write" }', default="allow")
    assert c.key_write_prefix("app") and c.key_write_prefix("")  # nothing below refuses; default allows


# -- singletons, management, construction ------------------------------------------------------------


def all_checks(a: Authorizer) -> dict[str, bool]:
    out = {}
    for resource in NAMED:
        for level in ("read", "write"):
            out[f"{resource}_{level}"] = can(a, resource, level, "any/name")
    for resource in SCALARS:
        for level in ("read", "write"):
            out[f"{resource}_{level}"] = can(a, resource, level)
    out["key_list"] = a.key_list("any/")
    out["key_write_prefix"] = a.key_write_prefix("")
    out["snapshot"] = a.snapshot()
    return out


def test_allow_all_allows_everything_but_is_no_token():
    assert all(all_checks(ALLOW_ALL).values())
    assert ALLOW_ALL.is_management is False


def test_management_allows_everything():
    assert all(all_checks(MANAGEMENT).values()) and MANAGEMENT.is_management
    built = authz(GLOBAL_MANAGEMENT_RULES, default="deny")
    assert all_checks(built) == all_checks(MANAGEMENT) and built.is_management


def test_deny_all_denies_everything():
    checks = all_checks(authz("", default="deny"))
    assert not any(checks.values()), checks
    assert not authorizer_for([], "deny").is_management


def test_is_management_means_acl_write():
    assert authz('acl = "write"').is_management
    assert not authz('acl = "read"\nkey_prefix "" { policy = "write" }').is_management


def test_bad_default_policy():
    with pytest.raises(ValueError):
        authorizer_for([], "extend-cache")


def test_authorizer_is_immutable():
    with pytest.raises(AttributeError):
        ALLOW_ALL.is_management = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        authz("")._default_allow = True  # type: ignore[misc]


def test_permission_denied_wording():
    assert (
        permission_denied("e5f3", "key:write", "app/x")
        == "Permission denied: token with AccessorID 'e5f3' lacks permission 'key:write' on \"app/x\""
    )
    assert permission_denied("e5f3", "operator:read") == "Permission denied: token with AccessorID 'e5f3' lacks permission 'operator:read'"
    assert permission_denied("", "acl:write", "") == "Permission denied: provided token lacks permission 'acl:write'"


def test_many_rules_stay_fast():
    rules = [Rule("key", f"k{i:05d}/", True, "write" if i % 3 else "deny") for i in range(20_000)]
    rules += [Rule("key", f"k{i:05d}/exact", False, "read") for i in range(0, 20_000, 7)]
    a = authorizer_for([PolicyRules(tuple(rules))], "deny")
    names = [f"k{i:05d}/some/deeper/key/name" for i in range(20_000)]
    start = time.perf_counter()
    granted = sum(a.key_write(n) for n in names) + sum(a.key_write_prefix(f"k{i:05d}/") for i in range(20_000))
    assert time.perf_counter() - start < 2.0
    assert granted > 0


# -- a brute-force reference model -------------------------------------------------------------------

PRECEDENCE = ["read", "list", "write", "deny"]  # later wins when merging
GRANTS = {"write": {"read", "list", "write"}, "list": {"read", "list"}, "read": {"read"}, "deny": set()}


def model_merged(policies: list[list[Rule]]) -> dict[tuple[str, bool, str], str]:
    merged: dict[tuple[str, bool, str], str] = {}
    for policy in policies:
        for r in policy:
            key = (r.resource, r.prefix, r.name)
            if key not in merged or PRECEDENCE.index(r.policy) >= PRECEDENCE.index(merged[key]):
                merged[key] = r.policy
    return merged


def model_level(merged, resource: str, name: str) -> str | None:
    if (resource, False, name) in merged:
        return merged[(resource, False, name)]
    covering = [n for (res, pre, n) in merged if res == resource and pre and name.startswith(n)]
    return merged[(resource, True, max(covering, key=len))] if covering else None


def model_named(merged, default: str, resource: str, name: str, need: str) -> bool:
    level = model_level(merged, resource, name)
    return default == "allow" if level is None else need in GRANTS[level]


def model_scalar(merged, default: str, resource: str, need: str) -> bool:
    level = merged.get((resource, False, ""))
    if level is None and resource in ("mesh", "peering"):
        level = merged.get(("operator", False, ""))
    if level is None:
        return False if resource == "acl" else default == "allow"
    return need in GRANTS[level]


def model_key_write_prefix(merged, default: str, prefix: str) -> bool:
    covering = [n for (res, pre, n) in merged if res == "key" and pre and prefix.startswith(n)]
    base = merged[("key", True, max(covering, key=len))] if covering else None
    if base is not None and base != "write":
        return False
    if any(res == "key" and n.startswith(prefix) and lv != "write" for (res, _, n), lv in merged.items()):
        return False
    return base is not None or default == "allow"


NAME_ALPHABET = "ab/"
small_names = st.text(alphabet=NAME_ALPHABET, max_size=4)


@st.composite
def policy_sets(draw):
    policies = []
    for _ in range(draw(st.integers(0, 3))):
        rules = []
        for _ in range(draw(st.integers(0, 8))):
            resource = draw(st.sampled_from(NAMED + SCALARS))
            if resource in SCALARS:
                rules.append(Rule(resource, "", False, draw(st.sampled_from(["read", "write", "deny"]))))
            else:
                levels = ["read", "write", "deny"] + (["list"] if resource == "key" else [])
                rules.append(Rule(resource, draw(small_names), draw(st.booleans()), draw(st.sampled_from(levels))))
        policies.append(rules)
    return policies


@settings(max_examples=300, deadline=None)
@given(policy_sets(), st.sampled_from(["allow", "deny"]), st.lists(small_names, min_size=1, max_size=6))
def test_authorizer_matches_reference_model(policies, default, probe_names):
    a = authorizer_for([PolicyRules(tuple(p)) for p in policies], default)
    merged = model_merged(policies)
    for name in probe_names + [n for (_, _, n) in merged]:
        for resource in NAMED:
            for need in ("read", "write"):
                assert can(a, resource, need, name) == model_named(merged, default, resource, name, need), (resource, need, name)
        assert a.key_list(name) == model_named(merged, default, "key", name, "list"), name
        assert a.key_write_prefix(name) == model_key_write_prefix(merged, default, name), name
    for resource in SCALARS:
        for need in ("read", "write"):
            assert can(a, resource, need) == model_scalar(merged, default, resource, need), (resource, need)
    assert a.snapshot() == model_scalar(merged, default, "acl", "write")


def all_keys(max_len: int) -> list[str]:
    keys = [""]
    frontier = [""]
    for _ in range(max_len):
        frontier = [k + c for k in frontier for c in NAME_ALPHABET]
        keys += frontier
    return keys


KEY_UNIVERSE = all_keys(5)


@settings(max_examples=200, deadline=None)
@given(policy_sets(), st.sampled_from(["allow", "deny"]))
def test_recursive_write_never_reaches_an_unwritable_key(policies, default):
    """The safety property behind CVE-2019-12291, checked over every key up to 5 characters."""
    a = authorizer_for([PolicyRules(tuple(p)) for p in policies], default)
    writable = {k for k in KEY_UNIVERSE if a.key_write(k)}
    for prefix in KEY_UNIVERSE[:40]:
        if a.key_write_prefix(prefix):
            under = [k for k in KEY_UNIVERSE if k.startswith(prefix)]
            assert all(k in writable for k in under), (prefix, [k for k in under if k not in writable])


# -- purity -------------------------------------------------------------------------------------------

FORBIDDEN = {"trio", "time", "random", "uuid", "os", "socket", "datetime", "secrets", "threading", "asyncio"}
CORE_FILES = ("__init__.py", "rules*.py", "authz_*.py", "authorizer.py")


def test_policy_core_imports_nothing_impure():
    package = pathlib.Path(actors.acl.__file__).parent
    paths = sorted({p for pattern in CORE_FILES for p in package.glob(pattern)})
    assert len(paths) >= 10
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            assert not FORBIDDEN.intersection(names), f"{path.name} imports {names}"


def test_policy_core_imports_with_trio_blocked():
    code = "import sys; sys.modules['trio'] = None; import actors.acl.rules, actors.acl.authorizer"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(actors.acl.__file__).parents[2])
