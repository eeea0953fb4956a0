"""``proconsul actors -watch`` against an agent with ACLs on: the token travels on the websocket upgrade.

Without a token the agent refuses the upgrade (the inspector needs ``operator:read``) and the CLI says
so with the status; with the management token it receives the tree.
"""

from __future__ import annotations

import io

import pytest
import trio
from rich.console import Console

from actors.agent import serve_agent
from actors.cli.actors_cmd import watch
from actors.cli.http_client import CLIError
from tests.acl.matrix_kit import ROOT, acl_dev_config


async def test_watch_sends_the_token_and_reports_a_refusal(nursery: trio.Nursery) -> None:
    cfg = acl_dev_config()
    ctx = await nursery.start(lambda task_status: serve_agent(cfg, task_status=task_status))
    host, port = ctx.http_addr
    base = f"http://{host}:{port}"

    with pytest.raises(CLIError, match="refused the inspector connection: 403"):
        with trio.fail_after(10):
            await watch(base, Console(file=io.StringIO()))

    out = io.StringIO()
    async with trio.open_nursery() as inner:  # the watch never ends by itself: stop it once it has drawn
        inner.start_soon(watch, base, Console(file=out, force_terminal=True, width=200), ROOT)
        with trio.fail_after(10):
            while "agent:n1" not in out.getvalue():
                await trio.sleep(0.02)
        inner.cancel_scope.cancel()
