"""Gossip between real ``proconsul agent`` processes on loopback: retry-join through one address, a
``kill -9`` detected by every survivor, a user event fired at one agent reaching all, and ``proconsul
leave`` ending an agent's process after its graceful leave."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.gossip.processes import PROCONSUL, http_json, members_by_status, start_agents, wait_until

COUNT = 6
FAST_LAN = {"gossip_lan": {"probe_interval": "200ms", "probe_timeout": "100ms", "gossip_interval": "50ms",
                           "suspicion_mult": 3}}


def test_processes_join_detect_a_kill_and_share_events(tmp_path: Path) -> None:
    agents = start_agents(tmp_path, COUNT, config=FAST_LAN)
    names = {a.name for a in agents}
    try:
        wait_until(lambda: all(members_by_status(a) == dict.fromkeys(names, 1) for a in agents), 30,
                   "every agent to see every agent alive")
        victim, survivors = agents[-1], agents[:-1]
        victim.kill()
        wait_until(lambda: all(members_by_status(a).get(victim.name) == 4 for a in survivors), 20,
                   f"every survivor to mark {victim.name} failed")
        assert all(members_by_status(a)[s.name] == 1 for a in survivors for s in survivors)
        fired = http_json(survivors[1], "/v1/event/fire/ping", method="PUT", body=b"pong")
        wait_until(lambda: all(any(e["ID"] == fired["ID"] for e in http_json(a, "/v1/event/list?name=ping"))
                               for a in survivors), 10, "the event to reach every survivor")
        for agent in survivors:
            (event,) = http_json(agent, "/v1/event/list?name=ping")
            assert event["Payload"] == "cG9uZw==" and event["LTime"] >= 1
        leaver, rest = survivors[-1], survivors[:-1]
        left = subprocess.run([*PROCONSUL, "leave", "-http-addr", f"127.0.0.1:{leaver.http}"], capture_output=True,
                              text=True, timeout=30)
        assert left.returncode == 0 and left.stdout == "Graceful leave complete\n"
        assert leaver.proc.wait(timeout=15) == 0
        wait_until(lambda: all(members_by_status(a).get(leaver.name) == 3 for a in rest), 10,
                   f"every other agent to see {leaver.name} left")
    finally:
        for agent in agents:
            agent.stop()
