"""``proconsul actors [-http-addr ADDR] [-watch]``: the agent's live actor tree in the terminal.

Takes ``-token`` and the TLS flags (``-ca-file``, ``-ca-path``, ``-client-cert``, ``-client-key``,
``-tls-server-name``, or their ``CONSUL_*`` variables); ``-watch`` on an ``https://`` agent uses ``wss://``.

What lives here: rendering a tree snapshot (from ``GET /v1/agent/actors``) as a rich `Tree`, and the
``-watch`` loop that follows the inspector websocket, applies its update frames to a path-indexed copy
of the tree and redraws it live.

What must never live here: anything that changes the agent.
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.parse
from typing import Any

import trio
from rich.console import Console
from rich.live import Live
from rich.text import Text
from rich.tree import Tree

from actors.cli.http_client import (CLIError, client_tls_context, get_json, resolve_http_addr, split_flag, split_tls,
                                    split_token, tls_context_for)
from runtime.tls.handshake import HandshakeFailed, dial_tls

SUMMARY = "Shows the agent's live actor tree (-watch follows it)"

_STATE_STYLE = {"running": "green", "starting": "yellow", "restarting": "yellow", "stopped": "dim", "failed": "bold red"}


def label(node: dict[str, Any]) -> Text:
    name = node["path"].rsplit("/", 1)[-1]
    text = Text()
    text.append(name, style="bold")
    text.append(f" [{node['kind']}] ", style="cyan")
    text.append(node["state"], style=_STATE_STYLE.get(node["state"], ""))
    text.append(f"  handled={node['handled']} inbox={node['inbox']}")
    if node.get("dropped"):
        text.append(f" dropped={node['dropped']}", style="yellow")
    if node["restarts"]:
        text.append(f" restarts={node['restarts']}", style="yellow")
    error = node.get("last_error")
    if error:
        text.append(f"  last_error={error['type']}: {error['message']}", style="red")
    stats = node.get("stats") or {}
    if stats and node["kind"] != "supervisor":
        text.append("  " + " ".join(f"{k}={v}" for k, v in stats.items()), style="dim")
    return text


def render(root: dict[str, Any]) -> Tree:
    tree = Tree(label(root))

    def add(parent: Tree, node: dict[str, Any]) -> None:
        for child in node.get("children", []):
            add(parent.add(label(child)), child)

    add(tree, root)
    return tree


def rebuild(flat: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Turn the path-indexed flat nodes of the websocket stream back into a nested tree."""
    nodes = {path: {**node, "children": []} for path, node in flat.items()}
    root = None
    for path, node in nodes.items():
        parent = node.get("parent")
        if parent is None:
            root = node
        elif parent in nodes:
            nodes[parent]["children"].append(node)
    return root


def flatten(node: dict[str, Any], parent: str | None = None, out: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    out = {} if out is None else out
    flat = {k: v for k, v in node.items() if k != "children"}
    flat["parent"] = parent
    out[node["path"]] = flat
    for child in node.get("children", []):
        flatten(child, node["path"], out)
    return out


def apply_frame(flat: dict[str, dict[str, Any]], frame: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if frame["type"] == "snapshot":
        return flatten(frame["tree"])
    if frame["type"] == "update":
        for path in frame.get("removed", []):
            flat.pop(path, None)
        for node in frame.get("changed", []):
            flat[node["path"]] = node
    return flat


INSPECTOR_PATH = "/v1/agent/actors"
HANDSHAKE_SECONDS = 10.0  # bound on the TLS handshake with the agent


class _Watched(trio.abc.Stream):
    """A stream that sets ``ended`` once the agent closes it or it breaks: trio_websocket would otherwise
    wait forever for an opening handshake that cannot come (e.g. a client certificate refused under
    TLS 1.3, which the client learns only when it reads)."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.ended = trio.Event()
        self.why = ""

    def _end(self, exc: BaseException | None) -> None:
        if exc is not None and not self.why:
            cause = exc.__cause__ or exc
            self.why = str(cause) or type(cause).__name__
        self.ended.set()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await self.inner.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._end(exc)
            raise

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        try:
            data = await self.inner.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._end(exc)
            raise
        if not data:
            self._end(None)
        return data

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _open_websocket(nursery: trio.Nursery, stream: _Watched, host: str, headers: list[tuple[str, str]]) -> Any:
    """The inspector websocket over ``stream`` (its reader runs in ``nursery``), or None when the agent
    ended the connection before answering the upgrade."""
    from trio_websocket import wrap_client_stream

    ws = None
    async with trio.open_nursery() as opening:
        async def upgrade() -> None:
            nonlocal ws
            ws = await wrap_client_stream(nursery, stream, host, INSPECTOR_PATH, extra_headers=headers)  # type: ignore[arg-type]
            opening.cancel_scope.cancel()

        async def ended() -> None:
            await stream.ended.wait()
            opening.cancel_scope.cancel()

        opening.start_soon(upgrade)
        opening.start_soon(ended)
    return ws


async def _follow(base: str, console: Console, headers: list[tuple[str, str]], tls: ssl.SSLContext | None,
                  max_frames: int | None) -> None:
    split = urllib.parse.urlsplit(base)
    host = split.hostname or "127.0.0.1"
    port = split.port or (443 if split.scheme == "https" else 80)
    stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    if split.scheme == "https":  # wss://
        try:
            stream = await dial_tls(stream, tls or client_tls_context(), server_hostname=host,
                                    timeout=HANDSHAKE_SECONDS)
        except HandshakeFailed as err:
            await trio.aclose_forcefully(stream)
            raise CLIError(f"TLS handshake with the agent at {base} failed: {err.detail}") from None
    watched = _Watched(stream)
    async with trio.open_nursery() as nursery:
        ws = await _open_websocket(nursery, watched, f"{host}:{port}", headers)
        if ws is None:
            await trio.aclose_forcefully(watched)
            why = f" ({watched.why})" if watched.why else ""
            raise CLIError(f"the agent at {base} closed the connection before the inspector handshake{why}")
        try:
            flat: dict[str, dict[str, Any]] = {}
            with Live(console=console, auto_refresh=False) as live:
                frames = 0
                while max_frames is None or frames < max_frames:
                    frames += 1
                    flat = apply_frame(flat, json.loads(await ws.get_message()))
                    root = rebuild(flat)
                    if root is not None:
                        live.update(render(root), refresh=True)
        finally:
            await ws.aclose()


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def watch(base: str, console: Console, token: str = "", tls: ssl.SSLContext | None = None,
                max_frames: int | None = None) -> None:
    """Follow the inspector websocket, redrawing the tree on every frame (``-token`` travels as
    ``X-Consul-Token`` on the upgrade request; a refused upgrade is reported with its status). An
    ``https://`` base is followed over ``wss://`` with ``tls`` (default: from the environment), the
    handshake bounded in time; ``max_frames`` ends the watch after that many frames (tests)."""
    from trio_websocket import ConnectionClosed, ConnectionRejected

    headers = [("X-Consul-Token", token)] if token else []
    try:
        await _follow(base, console, headers, tls, max_frames)
    except (BaseExceptionGroup, ConnectionRejected, ConnectionClosed, CLIError) as exc:
        leaf = _leaf(exc)
        if isinstance(leaf, ConnectionRejected):
            body = (leaf.body or b"").decode("utf-8", "replace").strip()
            raise CLIError(f"the agent refused the inspector connection: {leaf.status_code} {body}".rstrip()) from None
        if isinstance(leaf, ConnectionClosed):
            raise CLIError("the agent closed the inspector connection") from None
        if isinstance(leaf, (CLIError, OSError)):
            raise leaf from None
        raise


def run(argv: list[str]) -> int:
    console = Console()
    try:
        addr, rest = split_flag(argv, "http-addr")
        token, rest = split_token(rest)
        tls_flags, rest = split_tls(rest)
        watch_flag = False
        for arg in rest:
            if arg.lstrip("-") == "watch":
                watch_flag = True
            else:
                raise CLIError(f"flag provided but not defined: {arg}")
        base = resolve_http_addr(addr)
        tls = tls_context_for(base, tls_flags)
        if watch_flag:
            try:
                trio.run(watch, base, console, token, tls)
            except KeyboardInterrupt:
                return 0
            except OSError as err:
                raise CLIError(f"Error connecting to agent at {base}: {err}") from None
            return 0
        console.print(render(get_json(base, "/v1/agent/actors", token=token, tls=tls)))
        return 0
    except CLIError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
