"""``proconsul kv get|put|delete``: Consul's KV sub-commands, with its flags, messages and exit codes.

What lives here: the three sub-commands, and the small client toolkit the HTTP-speaking commands share
(``catalog_cmd`` imports it from here):

* `FlagSet`: Go's ``flag`` package rules as Consul's commands inherit them: ``-name value``,
  ``-name=value``, ``--name``; boolean flags never take a separate value; parsing stops at the first
  argument that is not a flag (a lone ``-`` is an argument) or after ``--``; Go's error texts
  (``flag provided but not defined: -x``, ``flag needs an argument: -x``, ``invalid value ...``).
* `HttpFlags`: the flags every client command takes (``-http-addr``/``CONSUL_HTTP_ADDR``,
  ``-token``/``CONSUL_HTTP_TOKEN``, ``-token-file``/``CONSUL_HTTP_TOKEN_FILE``, ``-datacenter``,
  ``-stale``, and the TLS flags ``-ca-file``, ``-ca-path``, ``-client-cert``, ``-client-key``,
  ``-tls-server-name`` with their ``CONSUL_*`` variables, used for an ``https://`` agent address).
* `ApiClient`: one short request per call on the standard library; a status other than 2xx becomes
  the Go API client's ``Unexpected response code: <status> (<body>)``, and an unreachable agent the Go
  wording ``Get "<url>": dial tcp <addr>: connect: connection refused``.

Output follows Consul's UI: informational lines on stdout, errors on stderr, exit code 1 on any
error (``Error! No key exists at: foo``), 0 on success. Values are written as raw bytes.

What must never live here: KV semantics (the agent's), or anything that keeps state between runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Sequence

from actors.cli.http_client import CLIError, client_tls_context, resolve_http_addr, url_opener

SUMMARY = "Interact with the key-value store"

_UINT64_MAX = 2**64 - 1
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_PATH_SAFE = "/:@!$&'()*+,;=~"  # what Go leaves unescaped in a URL path (besides letters and digits)

Query = Sequence[tuple[str, "str | None"]]  # query parameters in order; None: a bare flag (``?recurse``)


# -- Go-style flags -------------------------------------------------------------------------------


class FlagError(Exception):
    """A command-line mistake; the message is Go's wording."""


class HelpRequested(Exception):
    """``-h`` / ``-help`` was given."""


class FlagSet:
    """A tiny re-statement of Go's ``flag.FlagSet`` (see the module docstring)."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        self._help: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def bool(self, name: str, help: str) -> None:
        self._define(name, "bool", False, help)

    def string(self, name: str, default: str, help: str) -> None:
        self._define(name, "string", default, help)

    def uint(self, name: str, default: int, help: str) -> None:
        self._define(name, "uint", default, help)

    def strings(self, name: str, help: str) -> None:
        """A repeatable string flag (Consul's ``AppendSliceValue``): each use adds one value."""
        self._define(name, "list", [], help)

    def map(self, name: str, help: str) -> None:
        """Repeatable ``key=value`` pairs (Consul's ``FlagMapValue``)."""
        self._define(name, "map", {}, help)

    def _define(self, name: str, kind: str, default: Any, help: str) -> None:
        self._kinds[name] = kind
        self._help[name] = help
        self.values[name] = default

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def describe(self) -> str:
        lines = []
        for name in sorted(self._kinds):
            kind = self._kinds[name]
            shown = f"-{name}" if kind == "bool" else f"-{name}=<{'value' if kind != 'uint' else 'uint'}>"
            lines.append(f"  {shown}\n      {self._help[name]}")
        return "\n".join(lines)

    def parse(self, argv: list[str]) -> list[str]:
        """Set the flags found at the front of ``argv``; return the remaining (positional) arguments."""
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                return argv[i + 1:]
            if len(arg) < 2 or not arg.startswith("-"):
                return argv[i:]
            body = arg[2:] if arg.startswith("--") else arg[1:]
            if not body or body[0] in "-=":
                raise FlagError(f"bad flag syntax: {arg}")
            name, has_value, value = body.partition("=")
            kind = self._kinds.get(name)
            if kind is None:
                if name in ("h", "help"):
                    raise HelpRequested()
                raise FlagError(f"flag provided but not defined: -{name}")
            if kind == "bool":
                if not has_value:
                    self.values[name] = True
                elif value in _GO_TRUE or value in _GO_FALSE:
                    self.values[name] = value in _GO_TRUE
                else:
                    raise FlagError(f'invalid boolean value "{value}" for -{name}: parse error')
            else:
                if not has_value:
                    if i + 1 >= len(argv):
                        raise FlagError(f"flag needs an argument: -{name}")
                    i += 1
                    value = argv[i]
                self._set(name, kind, value)
            i += 1
        return []

    def _set(self, name: str, kind: str, value: str) -> None:
        if kind == "string":
            self.values[name] = value
        elif kind == "uint":
            if not value.isascii() or not value.isdigit():
                raise FlagError(f'invalid value "{value}" for flag -{name}: parse error')
            number = int(value)
            if number > _UINT64_MAX:
                raise FlagError(f'invalid value "{value}" for flag -{name}: value out of range')
            self.values[name] = number
        elif kind == "list":
            self.values[name] = [*self.values[name], value]
        else:  # map
            key, eq, val = value.partition("=")
            if not eq:
                raise FlagError(f'invalid value "{value}" for flag -{name}: Missing "=" value in argument: {value}')
            self.values[name] = {**self.values[name], key: val}


# -- HTTP flags and client ------------------------------------------------------------------------


class ApiError(Exception):
    """A request that did not get a 2xx answer (or no answer); the message is the Go client's."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    """One agent's HTTP API, called synchronously (a CLI run makes one or two requests)."""

    def __init__(self, base: str, token: str = "", datacenter: str = "", stale: bool = False,
                 timeout: float = 30.0, tls: Callable[[], Any] | None = None) -> None:
        self.base = base
        self.tls = tls  # builds the ssl.SSLContext for an https:// base (None: from the environment)
        self.token = token
        self.datacenter = datacenter
        self.stale = stale
        self.timeout = timeout

    def url(self, path: str, query: Query = ()) -> str:
        parts = []
        items = list(query)
        if self.datacenter:
            items.append(("dc", self.datacenter))
        for name, value in items:
            parts.append(name if value is None else f"{name}={urllib.parse.quote(value, safe='')}")
        return self.base + urllib.parse.quote(path, safe=_PATH_SAFE) + ("?" + "&".join(parts) if parts else "")

    def call(self, method: str, path: str, query: Query = (), body: bytes | None = None, *,
             ok_statuses: tuple[int, ...] = ()) -> tuple[int, bytes]:
        """Send one request; return (status, body) for 2xx and ``ok_statuses``, raise `ApiError` otherwise."""
        url = self.url(path, query)
        req = urllib.request.Request(url, data=body, method=method)
        if self.token:
            req.add_header("X-Consul-Token", self.token)
        try:
            opener = url_opener(self.base, self.tls() if self.tls is not None and url.startswith("https://") else None)
        except CLIError as err:
            raise ApiError(str(err)) from None
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            data = err.read()
            if err.code in ok_statuses:
                return err.code, data
            text = data.decode(errors="replace")
            raise ApiError(f"Unexpected response code: {err.code} ({text})", err.code) from None
        except (urllib.error.URLError, OSError) as err:
            raise ApiError(connection_error(method, url, err)) from None

    def get_json(self, path: str, query: Query = (), *, missing: Any = None) -> Any:
        """GET a JSON document; 404 answers ``missing``. Reads honour ``-stale``."""
        items = list(query) + ([("stale", None)] if self.stale else [])
        status, data = self.call("GET", path, items, ok_statuses=(404,))
        if status == 404:
            return missing
        return json.loads(data)


def connection_error(method: str, url: str, err: BaseException) -> str:
    """The Go client's ``*url.Error`` text for a request that never got an answer."""
    reason = getattr(err, "reason", err)
    op = method[:1] + method[1:].lower()
    netloc = urllib.parse.urlsplit(url).netloc
    if isinstance(reason, ConnectionRefusedError):
        return f'{op} "{url}": dial tcp {netloc}: connect: connection refused'
    if isinstance(reason, TimeoutError):
        return f'{op} "{url}": dial tcp {netloc}: i/o timeout'
    return f'{op} "{url}": {reason}'


_TLS_ENV = {"ca-file": "CACERT", "ca-path": "CAPATH", "client-cert": "CLIENT_CERT", "client-key": "CLIENT_KEY",
            "tls-server-name": "TLS_SERVER_NAME"}


class HttpFlags:
    """The flags of every command that talks to an agent (Consul's ``ClientFlags`` + ``ServerFlags``)."""

    TLS_FLAGS = ("ca-file", "ca-path", "client-cert", "client-key", "tls-server-name")

    def __init__(self, flags: FlagSet) -> None:
        self.flags = flags
        flags.string("http-addr", "", "The address of the agent's HTTP API, host:port or a URL; "
                     "also CONSUL_HTTP_ADDR. Default 127.0.0.1:8500.")
        flags.string("token", "", "ACL token for the request; also CONSUL_HTTP_TOKEN.")
        flags.string("token-file", "", "File holding the ACL token; also CONSUL_HTTP_TOKEN_FILE.")
        flags.string("datacenter", "", "Datacenter to ask; defaults to the agent's own.")
        flags.bool("stale", "Let any server answer reads, even without a leader (may be out of date).")
        for name in self.TLS_FLAGS:
            flags.string(name, "", f"TLS for an https:// address: {name}; also CONSUL_{_TLS_ENV[name]}.")

    def token(self) -> str:
        token = self.flags["token"] or os.environ.get("CONSUL_HTTP_TOKEN", "")
        if token:
            return token
        path = self.flags["token-file"] or os.environ.get("CONSUL_HTTP_TOKEN_FILE", "")
        if path:
            try:
                with open(path, encoding="utf-8") as fh:
                    return fh.read().strip()
            except OSError as err:
                raise ApiError(f"Error loading token file: {err}") from None
        return ""

    def client(self) -> ApiClient:
        def tls() -> Any:
            return client_tls_context(self.flags["ca-file"], self.flags["ca-path"], self.flags["client-cert"],
                                      self.flags["client-key"], self.flags["tls-server-name"])

        return ApiClient(resolve_http_addr(self.flags["http-addr"] or None), token=self.token(),
                         datacenter=self.flags["datacenter"], stale=self.flags["stale"], tls=tls)


# -- output ---------------------------------------------------------------------------------------


def info(text: str | bytes) -> None:
    """Consul's ``UI.Info``/``UI.Output``: one line on stdout (bytes are written as they are)."""
    data = text if isinstance(text, bytes) else text.encode()
    sys.stdout.flush()
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def error(text: str) -> None:
    """Consul's ``UI.Error``: one line on stderr."""
    print(text, file=sys.stderr, flush=True)


def tab_columns(rows: list[tuple[bytes, ...]], padding: int = 6) -> bytes:
    """Go's ``tabwriter`` with padding 6 (as Consul's commands configure it): every cell but a row's
    last is padded to its column's widest cell plus ``padding``."""
    widths: dict[int, int] = {}
    for row in rows:
        for col, cell in enumerate(row[:-1]):
            widths[col] = max(widths.get(col, 0), len(cell))
    out = []
    for row in rows:
        cells = [cell.ljust(widths[col] + padding) for col, cell in enumerate(row[:-1])]
        out.append(b"".join(cells) + row[-1])
    return b"\n".join(out)


Body = Callable[[FlagSet, HttpFlags, list[str]], int]


def run_command(usage: str, setup: Callable[[FlagSet], None], body: Body, argv: list[str]) -> int:
    """Parse ``argv`` with the flags ``setup`` defines (plus the HTTP ones) and run ``body``."""
    flags = FlagSet()
    setup(flags)
    http = HttpFlags(flags)
    try:
        args = flags.parse(argv)
    except HelpRequested:
        error(f"{usage}\n\nCommand Options:\n\n{flags.describe()}")
        return 0
    except FlagError as err:
        error(f"{err}\n\n{usage}")
        return 1
    try:
        return body(flags, http, args)
    except ApiError as err:
        error(f"Error connecting to Consul agent: {err}")
        return 1


# -- kv get ---------------------------------------------------------------------------------------

GET_USAGE = """Usage: proconsul kv get [options] [KEY_OR_PREFIX]

  Print the value stored at KEY. With -detailed, print its metadata too (indexes, flags,
  session). With -recurse, print every "key:value" under the prefix; with -keys, only the
  key names, grouped up to the next -separator (default "/")."""


def _get_flags(flags: FlagSet) -> None:
    flags.bool("base64", "Print values base64-encoded.")
    flags.bool("detailed", "Print the key's metadata (CreateIndex, ModifyIndex, Flags, LockIndex, Session).")
    flags.bool("keys", "List the key names under the prefix instead of values.")
    flags.bool("recurse", "Treat the key as a prefix and print every key under it.")
    flags.string("separator", "/", 'With -keys: list names only up to the next separator. Default "/".')


def _decode_value(entry: dict[str, Any]) -> bytes:
    value = entry.get("Value")
    return base64.b64decode(value) if value else b""


def _shown(value: bytes, as_base64: bool) -> bytes:
    return base64.b64encode(value) if as_base64 else value


def pretty_pair(entry: dict[str, Any], as_base64: bool) -> bytes:
    """The ``-detailed`` block of one entry (Consul's field order and alignment)."""
    rows = [
        (b"CreateIndex", str(entry.get("CreateIndex", 0)).encode()),
        (b"Flags", str(entry.get("Flags", 0)).encode()),
        (b"Key", str(entry.get("Key", "")).encode()),
        (b"LockIndex", str(entry.get("LockIndex", 0)).encode()),
        (b"ModifyIndex", str(entry.get("ModifyIndex", 0)).encode()),
        (b"Session", (entry.get("Session") or "-").encode()),
        (b"Value", _shown(_decode_value(entry), as_base64)),
    ]
    return tab_columns(rows)


def _kv_get(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if len(args) > 1:
        error(f"Too many arguments (expected 1, got {len(args)})")
        return 1
    key = args[0] if args else ""
    if key.startswith("/"):
        key = key[1:]
    if not key and not (flags["recurse"] or flags["keys"]):
        error("Error! Missing KEY argument")
        return 1
    client = http.client()
    path = "/v1/kv/" + key
    try:
        if flags["keys"]:
            query: list[tuple[str, str | None]] = [("keys", None)]
            if flags["separator"]:
                query.append(("separator", flags["separator"]))
            for name in client.get_json(path, query, missing=[]):
                info(name)
            return 0
        if flags["recurse"]:
            entries = client.get_json(path, [("recurse", None)], missing=[])
            for i, entry in enumerate(entries):
                if flags["detailed"]:
                    info(pretty_pair(entry, flags["base64"]))
                    if i < len(entries) - 1:
                        info("")
                else:
                    info(entry["Key"].encode() + b":" + _shown(_decode_value(entry), flags["base64"]))
            return 0
        found = client.get_json(path)
    except ApiError as err:
        error(f"Error querying Consul agent: {err}")
        return 1
    if not found:
        error(f"Error! No key exists at: {key}")
        return 1
    entry = found[0]
    if flags["detailed"]:
        info(pretty_pair(entry, flags["base64"]))
    else:
        info(_decode_value(entry))
    return 0


# -- kv put ---------------------------------------------------------------------------------------

PUT_USAGE = """Usage: proconsul kv put [options] KEY [DATA]

  Store DATA at KEY (an empty value when DATA is omitted). DATA "@path" reads a file, "-"
  reads stdin; -base64 decodes DATA first. -cas -modify-index=N writes only if the key's
  ModifyIndex is still N; -acquire/-release -session=ID take or give up the key's lock."""


def _put_flags(flags: FlagSet) -> None:
    flags.bool("acquire", "Take the key's lock for -session (creating the key if needed).")
    flags.bool("base64", "DATA is base64-encoded; store the decoded bytes.")
    flags.bool("cas", "Check-and-set: write only if the key's ModifyIndex equals -modify-index.")
    flags.uint("flags", 0, "An unsigned number stored with the key, opaque to the agent.")
    flags.uint("modify-index", 0, "The ModifyIndex -cas compares with.")
    flags.bool("release", "Give up the key's lock held by -session.")
    flags.string("session", "", "Session ID for -acquire / -release.")


class _ArgError(Exception):
    pass


def data_from_args(args: list[str]) -> tuple[str, bytes]:
    """KEY and the bytes to store, from the positional arguments (Consul's rules for ``@file`` and ``-``)."""
    if not args:
        raise _ArgError("Missing KEY argument")
    if len(args) > 2:
        raise _ArgError(f"Too many arguments (expected 1 or 2, got {len(args)})")
    key = args[0]
    if len(args) == 1 or args[1] == "":
        return key, b""
    data = args[1]
    if data.startswith("@"):
        try:
            with open(data[1:], "rb") as fh:
                return key, fh.read()
        except OSError as err:
            raise _ArgError(f"Failed to read file: open {data[1:]}: {err.strerror.lower() if err.strerror else err}")
    if data == "-":
        try:
            return key, sys.stdin.buffer.read()
        except OSError as err:
            raise _ArgError(f"Failed to read stdin: {err}")
    return key, os.fsencode(data)


def go_base64_decode(data: bytes) -> bytes:
    """Standard base64 with padding, refusing what Go's ``StdEncoding`` refuses (with its wording)."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    for i, byte in enumerate(data):
        if byte not in alphabet and byte not in b"\r\n":
            raise ValueError(f"illegal base64 data at input byte {i}")
    try:
        return base64.b64decode(data.replace(b"\r", b"").replace(b"\n", b""), validate=True)
    except binascii.Error:
        raise ValueError(f"illegal base64 data at input byte {len(data) - len(data) % 4}") from None


def _kv_put(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    try:
        key, value = data_from_args(args)
    except _ArgError as err:
        error(f"Error! {err}")
        return 1
    if flags["base64"]:
        try:
            value = go_base64_decode(value)
        except ValueError as err:
            error(f"Error! Cannot base 64 decode data: {err}")
            return 1
    session = flags["session"]
    if (flags["release"] or flags["acquire"]) and not session:
        error("Error! Missing -session (required with -acquire and -release)")
        return 1
    if flags["cas"] and flags["modify-index"] == 0:
        error("Must specify -modify-index with -cas!")
        return 1
    client = http.client()
    extra: list[tuple[str, str | None]] = [("flags", str(flags["flags"]))] if flags["flags"] else []
    path = "/v1/kv/" + key

    def put(query: list[tuple[str, str | None]]) -> bool:
        _, body = client.call("PUT", path, [*query, *extra], value)
        return b"true" in body

    if flags["cas"]:
        try:
            ok = put([("cas", str(flags["modify-index"]))])
        except ApiError as err:
            error(f"Error! Did not write to {key}: {err}")
            return 1
        if not ok:
            error(f"Error! Did not write to {key}: CAS failed")
            return 1
        info(f"Success! Data written to: {key}")
        return 0
    if flags["acquire"] or flags["release"]:
        verb = "acquire" if flags["acquire"] else "release"
        try:
            ok = put([(verb, session)])
        except ApiError as err:
            error(f"Error! Failed writing data: {err}")
            return 1
        if not ok:
            error(f"Error! Did not {verb} lock")
            return 1
        info(f"Success! Lock {verb}d on: {key}")
        return 0
    try:
        put([])
    except ApiError as err:
        error(f"Error! Failed writing data: {err}")
        return 1
    info(f"Success! Data written to: {key}")
    return 0


# -- kv delete ------------------------------------------------------------------------------------

DELETE_USAGE = """Usage: proconsul kv delete [options] KEY_OR_PREFIX

  Remove KEY (nothing happens if it does not exist). -recurse removes every key that starts
  with the prefix; -cas -modify-index=N removes the key only if its ModifyIndex is still N."""


def _delete_flags(flags: FlagSet) -> None:
    flags.bool("cas", "Check-and-set: delete only if the key's ModifyIndex equals -modify-index.")
    flags.uint("modify-index", 0, "The ModifyIndex -cas compares with.")
    flags.bool("recurse", "Delete every key under the prefix.")


def _kv_delete(flags: FlagSet, http: HttpFlags, args: list[str]) -> int:
    if len(args) > 1:
        error(f"Too many arguments (expected 1, got {len(args)})")
        return 1
    key = args[0] if args else ""
    if key.startswith("/"):
        key = key[1:]
    if not key and not flags["recurse"]:
        error("Error! Missing KEY argument")
        return 1
    if flags["cas"] and flags["modify-index"] == 0:
        error("Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.")
        return 1
    if flags["modify-index"] and not flags["cas"]:
        error("Cannot specify -modify-index without -cas!")
        return 1
    if flags["recurse"] and flags["cas"]:
        error("Cannot specify both -cas and -recurse!")
        return 1
    client = http.client()
    path = "/v1/kv/" + key
    if flags["recurse"]:
        try:
            client.call("DELETE", path, [("recurse", None)])
        except ApiError as err:
            error(f"Error! Did not delete prefix {key}: {err}")
            return 1
        info(f"Success! Deleted keys with prefix: {key}")
        return 0
    if flags["cas"]:
        try:
            _, body = client.call("DELETE", path, [("cas", str(flags["modify-index"]))])
        except ApiError as err:
            error(f"Error! Did not delete key {key}: {err}")
            return 1
        if b"true" not in body:
            error(f"Error! Did not delete key {key}: CAS failed")
            return 1
        info(f"Success! Deleted key: {key}")
        return 0
    try:
        client.call("DELETE", path)
    except ApiError as err:
        error(f"Error deleting key {key}: {err}")
        return 1
    info(f"Success! Deleted key: {key}")
    return 0


# -- dispatch -------------------------------------------------------------------------------------

SUBCOMMANDS: dict[str, tuple[str, str, Callable[[FlagSet], None], Body]] = {
    "get": ("Retrieves or lists data from the KV store", GET_USAGE, _get_flags, _kv_get),
    "put": ("Sets or updates data in the KV store", PUT_USAGE, _put_flags, _kv_put),
    "delete": ("Removes data from the KV store", DELETE_USAGE, _delete_flags, _kv_delete),
}

USAGE = "Usage: proconsul kv <subcommand> [options] [args]\n\n  Work with the key-value store.\n\nSubcommands:\n" + "\n".join(
    f"    {name:<10}{summary}" for name, (summary, *_rest) in SUBCOMMANDS.items())


def run(argv: list[str]) -> int:
    if not argv or argv[0] not in SUBCOMMANDS:
        error(USAGE)
        return 0 if argv and argv[0] in ("-h", "-help", "--help") else 1
    _, usage, setup, body = SUBCOMMANDS[argv[0]]
    return run_command(usage, setup, body, argv[1:])
