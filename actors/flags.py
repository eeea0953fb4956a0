"""Command-line flags of ``proconsul agent``, spelled and parsed the way ``consul agent`` does.

What lives here: the flag table (name, kind, the config key it sets, one line of help), a small parser that
follows Go's ``flag`` package rules, `usage`, and the entry points that turn argv into a checked
`AgentConfig` by handing the parsed values to ``actors.config``.

Go ``flag`` rules kept here, because Consul users type flags that way:

- ``-name`` and ``--name`` are the same flag; values go as ``-name value`` or ``-name=value``.
- A boolean flag is ``-server`` or ``-server=<bool>`` (1, t, T, TRUE, true, True and the false forms);
  ``-server false`` sets true and leaves ``false`` as a positional argument.
- A non-boolean flag takes the next argument whatever it looks like (``-node -dev`` names the node "-dev").
- Parsing stops at the first argument that is not a flag, at a lone ``-``, or after ``--``; the agent takes
  no positional arguments, so anything left is an error.
- A flag given twice: the last value wins, except repeatable flags, which accumulate.
- Error messages are Go's: ``flag provided but not defined: -nope``, ``flag needs an argument: -node``,
  ``invalid value "x" for flag -http-port: ...``, ``invalid boolean value "x" for -server: ...``,
  ``bad flag syntax: ---x``; ``-h``/``-help`` ask for the usage text.

What must never live here: defaults, merge order or validation rules (all in ``actors.config``), reading the
environment, looking up the hostname (callers pass it), or printing; errors carry the usage text instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from actors.config import (
    AgentConfig,
    ConfigError,
    LoadResult,
    load_config,
    parse_duration,
)

__all__ = [
    "FlagError",
    "HelpRequested",
    "ParsedFlags",
    "load_agent_config",
    "parse_agent_flags",
    "parse_flags",
    "usage",
]


class FlagError(ConfigError):
    """The command line itself is wrong. ``str()`` is Go's message; ``usage`` is the text to show with it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.usage = usage()


class HelpRequested(FlagError):
    """``-h`` or ``-help`` was given: show ``usage`` and stop."""

    def __init__(self) -> None:
        super().__init__("flag: help requested")


class _Flag(NamedTuple):
    name: str
    kind: str  # bool | int | seed | string | duration | append | join | meta | path | format | dev | hcl
    key: str | None  # dotted path of the config key it sets, if any
    help: str


_FLAGS = [
    _Flag("advertise", "string", "advertise_addr", "Address other agents should use to reach this one."),
    _Flag("advertise-wan", "string", "advertise_addr_wan", "Address advertised to other datacenters."),
    _Flag("bind", "string", "bind_addr", "Address to listen on for cluster traffic (gossip, server RPC)."),
    _Flag("bootstrap", "bool", "bootstrap", "Let this server elect itself leader (single-server setups)."),
    _Flag("bootstrap-expect", "int", "bootstrap_expect", "Number of servers to wait for before bootstrapping."),
    _Flag("client", "string", "client_addr", "Address(es) for the HTTP and DNS interfaces."),
    _Flag("config-dir", "path", None, "Read every .json file of this directory, by name. Repeatable."),
    _Flag("config-file", "path", None, "Read this JSON configuration file. Repeatable."),
    _Flag("config-format", "format", None, "Read config files as this format whatever their extension: json."),
    _Flag("data-dir", "string", "data_dir", "Directory for the agent's persistent state."),
    _Flag("datacenter", "string", "datacenter", "Datacenter this agent belongs to."),
    _Flag("dev", "dev", None, "Development mode: one in-memory server on 127.0.0.1 with fast timings."),
    _Flag("dns-port", "int", "ports.dns", "DNS port (TCP and UDP); 0 or less turns it off."),
    _Flag("domain", "string", "domain", "DNS domain served by this agent."),
    _Flag("enable-fault-injection", "bool", "enable_fault_injection",
          "proconsul only: enable /v1/agent/actors/crash and the network fault table."),
    _Flag("enable-local-script-checks", "bool", "enable_local_script_checks",
          "Allow script checks defined in config files only."),
    _Flag("enable-script-checks", "bool", "enable_script_checks",
          "Allow script checks, including ones registered over HTTP."),
    _Flag("encrypt", "string", "encrypt", "Base64 gossip encryption key (16, 24 or 32 bytes)."),
    _Flag("hcl", "hcl", None, "Not supported: proconsul reads JSON configuration only."),
    _Flag("http-port", "int", "ports.http", "HTTP API port; 0 or less turns it off."),
    _Flag("https-port", "int", "ports.https", "HTTPS API port; off by default."),
    _Flag("join", "join", "retry_join", "Deprecated: same as -retry-join. Repeatable."),
    _Flag("join-wan", "join", "retry_join_wan", "Deprecated: same as -retry-join-wan. Repeatable."),
    _Flag("log-json", "bool", "log_json", "Write logs as JSON."),
    _Flag("log-level", "string", "log_level", "Log level: trace, debug, info, warn or error."),
    _Flag("node", "string", "node_name", "Node name, unique in the datacenter; defaults to the hostname."),
    _Flag("node-id", "string", "node_id", "A UUID for this node; kept in <data-dir>/node-id across restarts."),
    _Flag("node-meta", "meta", "node_meta", "Node metadata as key:value. Repeatable."),
    _Flag("recursor", "append", "recursors", "Upstream DNS server for names outside the domain. Repeatable."),
    _Flag("retry-interval", "duration", "retry_interval", "Wait between attempts to join the LAN pool."),
    _Flag("retry-interval-wan", "duration", "retry_interval_wan", "Wait between attempts to join the WAN pool."),
    _Flag("retry-join", "append", "retry_join",
          "Address of an agent to join, retried until it works. Repeatable."),
    _Flag("retry-join-wan", "append", "retry_join_wan",
          "Address of a server in another datacenter to join over the WAN. Repeatable."),
    _Flag("retry-max", "int", "retry_max", "Give up joining the LAN pool after this many attempts; 0 never."),
    _Flag("retry-max-wan", "int", "retry_max_wan", "Give up joining the WAN pool after this many attempts."),
    _Flag("seed", "seed", "seed", "proconsul only: seed of every random stream; default derived from -node."),
    _Flag("serf-lan-port", "int", "ports.serf_lan", "LAN gossip port."),
    _Flag("serf-wan-port", "int", "ports.serf_wan", "WAN gossip port; 0 or less turns WAN gossip off."),
    _Flag("server", "bool", "server", "Run as a server (Raft member) rather than a client."),
    _Flag("server-port", "int", "ports.server", "Server RPC port (also carries Raft)."),
]
_BY_NAME = {flag.name: flag for flag in _FLAGS}

_PLACEHOLDER = {
    "int": "<int>",
    "seed": "<int>",
    "string": "<string>",
    "duration": "<duration>",
    "append": "<string>",
    "join": "<string>",
    "meta": "<key:value>",
    "path": "<path>",
    "format": "json",
    "hcl": "<string>",
}

_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def usage() -> str:
    """The help text: synopsis and every flag with one line of help."""
    entries = []
    for flag in _FLAGS:
        spelled = f"-{flag.name}" if flag.kind in ("bool", "dev") else f"-{flag.name}={_PLACEHOLDER[flag.kind]}"
        entries.append((spelled, flag.help))
    width = max(len(spelled) for spelled, _ in entries) + 2
    lines = [
        "Usage: proconsul agent [options]",
        "",
        "  Runs a proconsul agent, a client or a server of one datacenter, until interrupted.",
        "  Flags are written as Consul's: -flag, --flag, -flag=value or -flag value.",
        "  Durations are Go durations such as 500ms, 30s or 1m30s.",
        "",
        "Options:",
        "",
    ]
    lines += [f"  {spelled.ljust(width)}{text}" for spelled, text in entries]
    return "\n".join(lines) + "\n"


class ParsedFlags(msgspec.Struct, frozen=True, kw_only=True):
    """What the command line said, before any file is read.

    ``values`` is a layer shaped like a config file (``{"ports": {"http": 8501}, "retry_join": [...]}``)
    holding only what was given, with durations in seconds; ``config_paths`` keeps ``-config-file`` and
    ``-config-dir`` values in command-line order, as Consul does.
    """

    values: dict[str, Any] = {}
    config_paths: list[str] = []
    config_format: str | None = None
    dev: bool = False
    warnings: list[str] = []


def _set(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[leaf] = value


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_int(name: str, text: str) -> int:
    """Go's ``strconv.Atoi``: optional sign, ASCII digits, fits in 64 bits."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise FlagError(f"invalid value {_go_quote(text)} for flag -{name}: "
                        f"strconv.Atoi: parsing {_go_quote(text)}: invalid syntax")
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise FlagError(f"invalid value {_go_quote(text)} for flag -{name}: "
                        f"strconv.Atoi: parsing {_go_quote(text)}: value out of range")
    return number


def _parse_value(flag: _Flag, text: str) -> Any:
    if flag.kind == "int":
        return _parse_int(flag.name, text)
    if flag.kind == "seed":
        if not re.fullmatch(r"[0-9]+", text):
            raise FlagError(f"invalid value {_go_quote(text)} for flag -{flag.name}: "
                            "expected a non-negative integer")
        return int(text)
    if flag.kind == "duration":
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise FlagError(f"invalid value {_go_quote(text)} for flag -{flag.name}: {exc}") from None
    return text


def parse_flags(argv: Sequence[str]) -> ParsedFlags:
    """Parse ``proconsul agent`` arguments (without the program and sub-command names). Reads no files.

    Raises `FlagError` (or `HelpRequested`) with Go's wording.
    """
    values: dict[str, Any] = {}
    joins: dict[str, list[str]] = {}
    paths: list[str] = []
    config_format: str | None = None
    dev = False
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if len(arg) < 2 or arg[0] != "-":
            break
        if arg == "--":
            i += 1
            break
        name = arg[2:] if arg[1] == "-" else arg[1:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        i += 1
        value: str | None = None
        equals = name.find("=", 1)
        if equals != -1:
            name, value = name[:equals], name[equals + 1:]
        flag = _BY_NAME.get(name)
        if flag is None:
            if name in ("h", "help"):
                raise HelpRequested()
            raise FlagError(f"flag provided but not defined: -{name}")

        if flag.kind in ("bool", "dev"):
            text = "true" if value is None else value
            if text not in _TRUE + _FALSE:
                raise FlagError(f"invalid boolean value {_go_quote(text)} for -{name}: "
                                f"strconv.ParseBool: parsing {_go_quote(text)}: invalid syntax")
            if flag.kind == "dev":
                dev = text in _TRUE
            else:
                _set(values, flag.key or name, text in _TRUE)
            continue

        if flag.kind == "hcl":
            raise FlagError("flag -hcl is not supported: proconsul reads JSON configuration only "
                            "(use -config-file with a .json file)")
        if value is None:
            if i >= len(args):
                raise FlagError(f"flag needs an argument: -{name}")
            value = args[i]
            i += 1

        if flag.kind == "path":
            paths.append(value)
        elif flag.kind == "format":
            if value == "hcl":
                raise FlagError("invalid value \"hcl\" for flag -config-format: "
                                "proconsul reads JSON configuration only")
            if value != "json":
                raise FlagError(f"invalid value {_go_quote(value)} for flag -config-format: "
                                "config: -config-format must be either 'hcl' or 'json'")
            config_format = value
        elif flag.kind == "append":
            values.setdefault(flag.key, []).append(value)
        elif flag.kind == "join":
            joins.setdefault(flag.key, []).append(value)
        elif flag.kind == "meta":
            key, _, meta_value = value.partition(":")
            values.setdefault("node_meta", {})[key] = meta_value
        else:
            _set(values, flag.key or name, _parse_value(flag, value))

    rest = args[i:]
    if rest:
        raise FlagError(f"Unexpected extra arguments: [{' '.join(rest)}]")

    # Consul folds the deprecated -join values in after every -retry-join value (applyDeprecatedConfig).
    warnings = []
    for key, addresses in joins.items():
        values[key] = values.get(key, []) + addresses
        old = "start_join" if key == "retry_join" else "start_join_wan"
        warnings.append(f"The '{old}' field is deprecated. Use the '{key}' field instead.")
    return ParsedFlags(values=values, config_paths=paths, config_format=config_format, dev=dev,
                       warnings=warnings)


def load_agent_config(argv: Sequence[str], *, hostname: str) -> LoadResult:
    """argv -> checked configuration plus warnings, applying defaults, ``-dev``, files and flags in Consul's
    order (see ``actors.config``). Raises `FlagError` for a bad command line and `ConfigError` for a bad
    configuration (unreadable or invalid files, conflicting settings)."""
    parsed = parse_flags(argv)
    return load_config(
        hostname=hostname,
        dev=parsed.dev,
        config_paths=parsed.config_paths,
        config_format=parsed.config_format,
        flag_values=parsed.values,
        warnings=parsed.warnings,
    )


def parse_agent_flags(argv: Sequence[str], *, hostname: str) -> AgentConfig:
    """Like `load_agent_config`, returning only the configuration."""
    return load_agent_config(argv, hostname=hostname).config

