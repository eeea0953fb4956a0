"""``proconsul acl bootstrap|token ...|policy ...``: Consul's ACL commands, in Consul's output formats.

What lives here: the sub-commands and their formatters:

* ``acl bootstrap``; ``acl token create [-description] [-policy-name]... [-policy-id]... [-local]
  [-expires-ttl] [-secret] [-accessor]``, ``acl token list``, ``acl token read -id|-accessor-id|-self``,
  ``acl token delete -id|-accessor-id``; ``acl policy create -name [-description] [-rules]
  [-valid-datacenter]...``, ``acl policy list``, ``acl policy read -id|-name``.
* Consul's "pretty" token block (``AccessorID:``, ``SecretID:``, ``Description:``, ``Local:``,
  ``Create Time:`` as Go prints a ``time.Time``, ``Policies:`` as ``   <id> - <name>``), the policy block
  (``ID:``, ``Name:``, ``Description:``, ``Datacenters:``, ``Rules:`` then the rules) and the policy
  list entries; ``-meta`` adds hash and indexes; ``-format=json`` prints the agent's JSON indented.
* ``-rules`` takes the text itself, ``@path`` for a file, or ``-`` for stdin.

Every command takes the shared HTTP flags (``-http-addr``, ``-token``/``CONSUL_HTTP_TOKEN``,
``-token-file``...). Errors go to stderr with Consul's lead-in (``Failed ACL bootstrapping: ...``) and
exit 1. Flag parsing and the client come from ``kv_cmd``.

What must never live here: ACL semantics (the agent's) or anything kept between runs.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
from typing import Any, Callable

from actors.cli.kv_cmd import ApiError, Body, FlagSet, HttpFlags, error, info, run_command

SUMMARY = "Interact with Consul's ACLs"


# -- formatting -----------------------------------------------------------------------------------


def go_time(text: str) -> str:
    """An RFC3339 time as Go's ``%v`` prints a ``time.Time`` (``2006-01-02 15:04:05.999 +0000 UTC``)."""
    if not text:
        return "0001-01-01 00:00:00 +0000 UTC"
    head, dot, rest = text.partition(".")
    frac = ""
    if dot:
        digits = "".join(c for c in rest[:9] if c.isdigit())
        frac = "." + digits.rstrip("0") if digits.rstrip("0") else ""
        rest = rest[len(digits):]
        head += rest
    try:
        moment = datetime.datetime.fromisoformat(head.replace("Z", "+00:00"))
    except ValueError:
        return text
    offset = moment.strftime("%z") or "+0000"
    zone = "UTC" if offset == "+0000" else moment.strftime("%Z") or offset
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')}{frac} {offset} {zone}"


def _hex(b64: str | None) -> str:
    try:
        return base64.b64decode(b64 or "").hex()
    except ValueError:
        return ""


def format_token(token: dict[str, Any], meta: bool = False) -> str:
    lines = [
        f"AccessorID:       {token.get('AccessorID', '')}",
        f"SecretID:         {token.get('SecretID', '')}",
        f"Description:      {token.get('Description', '')}",
        f"Local:            {'true' if token.get('Local') else 'false'}",
        f"Create Time:      {go_time(token.get('CreateTime', ''))}",
    ]
    if token.get("ExpirationTime"):
        lines.append(f"Expiration Time:  {go_time(token['ExpirationTime'])}")
    if meta:
        lines += [f"Hash:             {_hex(token.get('Hash'))}",
                  f"Create Index:     {token.get('CreateIndex', 0)}",
                  f"Modify Index:     {token.get('ModifyIndex', 0)}"]
    if token.get("Policies"):
        lines.append("Policies:")
        lines += [f"   {p.get('ID', '')} - {p.get('Name', '')}" for p in token["Policies"]]
    return "\n".join(lines)


def format_policy(policy: dict[str, Any], meta: bool = False) -> str:
    lines = [
        f"ID:           {policy.get('ID', '')}",
        f"Name:         {policy.get('Name', '')}",
        f"Description:  {policy.get('Description', '')}",
        f"Datacenters:  {', '.join(policy.get('Datacenters') or [])}",
    ]
    if meta:
        lines += [f"Hash:         {_hex(policy.get('Hash'))}",
                  f"Create Index: {policy.get('CreateIndex', 0)}",
                  f"Modify Index: {policy.get('ModifyIndex', 0)}"]
    lines.append("Rules:")
    return "\n".join(lines) + "\n" + policy.get("Rules", "")


def format_policy_entry(policy: dict[str, Any], meta: bool = False) -> str:
    lines = [
        f"{policy.get('Name', '')}:",
        f"   ID:           {policy.get('ID', '')}",
        f"   Description:  {policy.get('Description', '')}",
        f"   Datacenters:  {', '.join(policy.get('Datacenters') or [])}",
    ]
    if meta:
        lines += [f"   Hash:         {_hex(policy.get('Hash'))}",
                  f"   Create Index: {policy.get('CreateIndex', 0)}",
                  f"   Modify Index: {policy.get('ModifyIndex', 0)}"]
    return "\n".join(lines)


def _output_flags(flags: FlagSet) -> None:
    flags.string("format", "pretty", 'Output format: "pretty" or "json".')
    flags.bool("meta", "Also show the hash and the Raft indexes.")


def _show(flags: FlagSet, obj: Any, pretty: Callable[[Any, bool], str]) -> int:
    if flags["format"] == "json":
        info(json.dumps(obj, indent=4))
    elif flags["format"] == "pretty":
        info(pretty(obj, flags["meta"]))
    else:
        error(f"Unknown format: {flags['format']}")
        return 1
    return 0


def _no_args(args: list[str]) -> bool:
    if args:
        error(f"Too many arguments (expected 0, got {len(args)})")
        return False
    return True


def _json_call(http: HttpFlags, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    _, raw = http.client().call(method, path, body=data)
    return json.loads(raw) if raw.strip() else None


# -- acl bootstrap --------------------------------------------------------------------------------

BOOTSTRAP_USAGE = """Usage: proconsul acl bootstrap [options]

  Create the cluster's first management token. Allowed once; afterwards only after the reset
  index has been written to <data_dir>/acl-bootstrap-reset on the leader."""


def _bootstrap(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not _no_args(args):
        return 1
    try:
        token = _json_call(http, "PUT", "/v1/acl/bootstrap")
    except ApiError as err:
        error(f"Failed ACL bootstrapping: {err}")
        return 1
    token.pop("ID", None)
    return _show(flags, token, format_token)


# -- acl token ------------------------------------------------------------------------------------

TOKEN_CREATE_USAGE = """Usage: proconsul acl token create [options]

  Create a token linked to the given policies (by -policy-name or -policy-id, repeatable)."""


def _token_create_flags(flags: FlagSet) -> None:
    _output_flags(flags)
    flags.string("accessor", "", "Create the token with this AccessorID (a UUID) instead of a generated one.")
    flags.string("description", "", "A description of the token.")
    flags.string("expires-ttl", "", "How long the token lives (e.g. 8h); between 1m and 24h.")
    flags.bool("local", "Create a token local to this datacenter.")
    flags.strings("policy-id", "ID of a policy to link to the token. May be given several times.")
    flags.strings("policy-name", "Name of a policy to link to the token. May be given several times.")
    flags.string("secret", "", "Create the token with this SecretID (a UUID) instead of a generated one.")


def _token_create(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not _no_args(args):
        return 1
    body: dict[str, Any] = {"Description": flags["description"], "Local": flags["local"],
                            "Policies": [{"ID": p} for p in flags["policy-id"]]
                            + [{"Name": p} for p in flags["policy-name"]]}
    if flags["accessor"]:
        body["AccessorID"] = flags["accessor"]
    if flags["secret"]:
        body["SecretID"] = flags["secret"]
    if flags["expires-ttl"]:
        body["ExpirationTTL"] = flags["expires-ttl"]
    try:
        token = _json_call(http, "PUT", "/v1/acl/token", body)
    except ApiError as err:
        error(f"Failed to create new token: {err}")
        return 1
    return _show(flags, token, format_token)


TOKEN_LIST_USAGE = """Usage: proconsul acl token list [options]

  List every token (SecretIDs are shown as <hidden> to tokens without acl:write)."""


def _list(flags: FlagSet, http: HttpFlags, args: list[str], path: str, what: str,
          render: Callable[[list[Any], Any], str]) -> int:
    """A list command: GET ``path``, then JSON (``-format json``) or Consul's text blocks."""
    if not _no_args(args):
        return 1
    try:
        items = _json_call(http, "GET", path) or []
    except ApiError as err:
        error(f"Failed to retrieve the {what} list: {err}")
        return 1
    if flags["format"] == "json":
        info(json.dumps(items, indent=4))
        return 0
    return _show(flags, items, render)


def _token_list(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    return _list(flags, http, args, "/v1/acl/tokens", "token",
                 lambda ts, meta: "\n\n".join(format_token(t, meta) for t in ts))


TOKEN_READ_USAGE = """Usage: proconsul acl token read [options] -id ACCESSOR_ID

  Show one token; -self shows the token the request is made with."""


def _token_id_flags(flags: FlagSet) -> None:
    _output_flags(flags)
    flags.string("id", "", "The AccessorID of the token.")
    flags.string("accessor-id", "", "The AccessorID of the token (same as -id).")


def _token_read_flags(flags: FlagSet) -> None:
    _token_id_flags(flags)
    flags.bool("self", "Show the token the request is made with.")


def _token_read(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not _no_args(args):
        return 1
    accessor = flags["accessor-id"] or flags["id"]
    if not accessor and not flags["self"]:
        error("Must specify the -accessor-id parameter")
        return 1
    path = "/v1/acl/token/self" if flags["self"] else f"/v1/acl/token/{accessor}"
    try:
        token = _json_call(http, "GET", path)
    except ApiError as err:
        error(f"Error reading token {accessor!r}: {err}" if accessor else f"Error reading token: {err}")
        return 1
    return _show(flags, token, format_token)


TOKEN_DELETE_USAGE = """Usage: proconsul acl token delete [options] -id ACCESSOR_ID

  Delete a token."""


def _token_delete(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not _no_args(args):
        return 1
    accessor = flags["accessor-id"] or flags["id"]
    if not accessor:
        error("Must specify the -accessor-id parameter")
        return 1
    try:
        _json_call(http, "DELETE", f"/v1/acl/token/{accessor}")
    except ApiError as err:
        error(f'Error deleting token "{accessor}": {err}')
        return 1
    info(f'Token "{accessor}" deleted successfully')
    return 0


# -- acl policy -----------------------------------------------------------------------------------

POLICY_CREATE_USAGE = """Usage: proconsul acl policy create -name NAME [options]

  Create a policy. -rules takes the rules text, @path to read a file, or - to read stdin."""


def _policy_create_flags(flags: FlagSet) -> None:
    _output_flags(flags)
    flags.string("description", "", "A description of the policy.")
    flags.string("name", "", "The new policy's name (required).")
    flags.string("rules", "", "The rules: HCL or JSON text, @path for a file, - for stdin.")
    flags.strings("valid-datacenter", "A datacenter the policy applies in. May be given several times.")


def read_rules(value: str) -> str:
    """``-rules``: the text, ``@path`` (a file) or ``-`` (stdin), as Consul's ``helpers.LoadDataSource``."""
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as fh:
            return fh.read()
    if value == "-":
        return sys.stdin.read()
    return value


def _policy_create(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not _no_args(args):
        return 1
    if not flags["name"]:
        error("Missing required '-name' flag")
        return 1
    try:
        rules = read_rules(flags["rules"])
    except OSError as err:
        error(f"Error loading rules: {err}")
        return 1
    body = {"Name": flags["name"], "Description": flags["description"], "Rules": rules,
            "Datacenters": flags["valid-datacenter"]}
    try:
        policy = _json_call(http, "PUT", "/v1/acl/policy", body)
    except ApiError as err:
        error(f"Failed to create new policy: {err}")
        return 1
    return _show(flags, policy, format_policy)


POLICY_LIST_USAGE = """Usage: proconsul acl policy list [options]

  List every policy."""


def _policy_list(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    return _list(flags, http, args, "/v1/acl/policies", "policy",
                 lambda ps, meta: "\n".join(format_policy_entry(p, meta) for p in ps))


POLICY_READ_USAGE = """Usage: proconsul acl policy read [options] -id ID | -name NAME

  Show one policy with its rules."""


def _policy_read_flags(flags: FlagSet) -> None:
    _output_flags(flags)
    flags.string("id", "", "The ID of the policy.")
    flags.string("name", "", "The name of the policy.")


def _policy_read(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if not _no_args(args):
        return 1
    if not flags["id"] and not flags["name"]:
        error("Must specify either the -id or -name parameters")
        return 1
    path = f"/v1/acl/policy/{flags['id']}" if flags["id"] else f"/v1/acl/policy/name/{flags['name']}"
    try:
        policy = _json_call(http, "GET", path)
    except ApiError as err:
        error(f"Error reading policy {flags['id'] or flags['name']!r}: {err}")
        return 1
    return _show(flags, policy, format_policy)


# -- dispatch -------------------------------------------------------------------------------------

Sub = tuple[str, str, Callable[[FlagSet], None], Body]

COMMANDS: dict[str, Sub] = {
    "bootstrap": ("Bootstrap Consul's ACL system", BOOTSTRAP_USAGE, _output_flags, _bootstrap),
    "token create": ("Create an ACL token", TOKEN_CREATE_USAGE, _token_create_flags, _token_create),
    "token list": ("List ACL tokens", TOKEN_LIST_USAGE, _output_flags, _token_list),
    "token read": ("Read an ACL token", TOKEN_READ_USAGE, _token_read_flags, _token_read),
    "token delete": ("Delete an ACL token", TOKEN_DELETE_USAGE, _token_id_flags, _token_delete),
    "policy create": ("Create an ACL policy", POLICY_CREATE_USAGE, _policy_create_flags, _policy_create),
    "policy list": ("List ACL policies", POLICY_LIST_USAGE, _output_flags, _policy_list),
    "policy read": ("Read an ACL policy", POLICY_READ_USAGE, _policy_read_flags, _policy_read),
}

USAGE = "Usage: proconsul acl <subcommand> [options] [args]\n\n  Manage ACL tokens and policies.\n\nSubcommands:\n" + \
    "\n".join(f"    {name:<15}{summary}" for name, (summary, *_rest) in COMMANDS.items())


def run(argv: list[str]) -> int:
    name = argv[0] if argv else ""
    if name in ("token", "policy") and len(argv) > 1:
        name = f"{argv[0]} {argv[1]}"
        rest = argv[2:]
    else:
        rest = argv[1:]
    if name not in COMMANDS:
        error(USAGE)
        return 0 if name in ("-h", "-help", "--help") else 1
    _, usage, setup, body = COMMANDS[name]
    return run_command(usage, setup, body, rest)
