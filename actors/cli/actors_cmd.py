"""``proconsul actors [-http-addr ADDR] [-watch]``: the agent's live actor tree in the terminal.

What lives here: rendering a tree snapshot (from ``GET /v1/agent/actors``) as a rich `Tree`, and the
``-watch`` loop that follows the inspector websocket, applies its update frames to a path-indexed copy
of the tree and redraws it live.

What must never live here: anything that changes the agent.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import trio
from rich.console import Console
from rich.live import Live
from rich.text import Text
from rich.tree import Tree

from actors.cli.http_client import CLIError, get_json, resolve_http_addr, split_flag, split_token

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


async def watch(base: str, console: Console, token: str = "") -> None:
    """Follow the inspector websocket, redrawing the tree on every frame (``-token`` travels as
    ``X-Consul-Token`` on the upgrade request; a refused upgrade is reported with its status)."""
    from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

    url = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/v1/agent/actors"
    flat: dict[str, dict[str, Any]] = {}
    headers = [("X-Consul-Token", token)] if token else []
    try:
        async with open_websocket_url(url, extra_headers=headers) as ws:
            with Live(console=console, auto_refresh=False) as live:
                while True:
                    flat = apply_frame(flat, json.loads(await ws.get_message()))
                    root = rebuild(flat)
                    if root is not None:
                        live.update(render(root), refresh=True)
    except ConnectionRejected as err:
        body = (err.body or b"").decode("utf-8", "replace").strip()
        raise CLIError(f"the agent refused the inspector connection: {err.status_code} {body}".rstrip()) from None
    except ConnectionClosed:
        raise CLIError("the agent closed the inspector connection") from None


def run(argv: list[str]) -> int:
    console = Console()
    try:
        addr, rest = split_flag(argv, "http-addr")
        token, rest = split_token(rest)
        watch_flag = False
        for arg in rest:
            if arg.lstrip("-") == "watch":
                watch_flag = True
            else:
                raise CLIError(f"flag provided but not defined: {arg}")
        base = resolve_http_addr(addr)
        if watch_flag:
            try:
                trio.run(watch, base, console, token)
            except KeyboardInterrupt:
                return 0
            except OSError as err:
                raise CLIError(f"Error connecting to agent at {base}: {err}") from None
            return 0
        console.print(render(get_json(base, "/v1/agent/actors", token=token)))
        return 0
    except CLIError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
