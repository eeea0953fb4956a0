"""``proconsul acl ...`` as a user runs it: the CLI in a subprocess against a ``proconsul agent -dev``
process with ACLs on (default deny), plus the ``-token`` / ``CONSUL_HTTP_TOKEN`` plumbing of the other
commands. One agent serves the module; the bootstrap test runs first and hands its token on.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from actors.cli.acl_cmd import go_time
from actors.cli.http_client import request, split_token
from tests.cluster.cluster_kit import PROCONSUL, REPO, AgentProcess


@pytest.fixture(scope="module")
def agent() -> Iterator[AgentProcess]:
    proc = AgentProcess("cli-acl", config={"acl": {"enabled": True, "default_policy": "deny"}}).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def root(agent: AgentProcess) -> str:
    result = cli(agent, "acl", "bootstrap")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in out(result).splitlines() if ":" in line and not line.startswith(" "))
    return lines["SecretID"].strip()


def cli(agent: AgentProcess, *args: str, env: dict[str, str] | None = None,
        stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    argv = list(args)
    words = 3 if argv[1] in ("token", "policy") else 2
    argv[words:words] = ["-http-addr", agent.http_addr]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CONSUL_HTTP")}
    return subprocess.run([*PROCONSUL, *argv], capture_output=True, timeout=30, cwd=REPO, input=stdin,
                          env={**base_env, **(env or {})})


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode()


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode()


def test_bootstrap_prints_the_token_and_refuses_a_second_time(agent: AgentProcess, root: str):
    again = cli(agent, "acl", "bootstrap")
    assert again.returncode == 1
    assert err(again).startswith("Failed ACL bootstrapping: Unexpected response code: 403 "
                                 "(Permission denied: ACL bootstrap no longer allowed (reset index: ")
    me = cli(agent, "acl", "token", "read", "-self", "-token", root)
    assert me.returncode == 0, err(me)
    text = out(me)
    assert f"SecretID:         {root}\n" in text
    assert "Description:      Bootstrap Token (Global Management)\n" in text
    assert "Policies:\n   00000000-0000-0000-0000-000000000001 - global-management" in text


def test_policy_and_token_lifecycle(agent: AgentProcess, root: str, tmp_path: Path):
    env = {"CONSUL_HTTP_TOKEN": root}
    rules = tmp_path / "web.hcl"
    rules.write_text('service_prefix "web" {\n  policy = "write"\n}\n')
    made = cli(agent, "acl", "policy", "create", "-name", "web", "-description", "web services",
               "-rules", f"@{rules}", env=env)
    assert made.returncode == 0, err(made)
    assert out(made).startswith("ID:           ")
    assert "Name:         web\nDescription:  web services\nDatacenters:  \nRules:\nservice_prefix" in out(made)
    listed = cli(agent, "acl", "policy", "list", env=env)
    assert "web:\n   ID:           " in out(listed) and "global-management:\n" in out(listed)
    by_name = cli(agent, "acl", "policy", "read", "-name", "web", env=env)
    assert by_name.returncode == 0 and "Name:         web" in out(by_name)
    bad = cli(agent, "acl", "policy", "create", "-name", "bad", "-rules", 'key "x" { policy = "nope" }', env=env)
    assert bad.returncode == 1 and "Failed to create new policy: Unexpected response code: 400" in err(bad)

    token = cli(agent, "acl", "token", "create", "-description", "web token", "-policy-name", "web", env=env)
    assert token.returncode == 0, err(token)
    fields = dict(line.split(":", 1) for line in out(token).splitlines() if ":" in line and not line.startswith(" "))
    accessor = fields["AccessorID"].strip()
    assert fields["Description"].strip() == "web token" and fields["Local"].strip() == "false"
    assert " - web" in out(token)
    tokens = cli(agent, "acl", "token", "list", env=env)
    assert accessor in out(tokens) and "00000000-0000-0000-0000-000000000002" in out(tokens)
    read = cli(agent, "acl", "token", "read", "-id", accessor, "-meta", env=env)
    assert f"AccessorID:       {accessor}" in out(read) and "Create Index:     " in out(read)
    gone = cli(agent, "acl", "token", "delete", "-id", accessor, env=env)
    assert gone.returncode == 0 and out(gone).strip() == f'Token "{accessor}" deleted successfully'
    missing = cli(agent, "acl", "token", "read", "-id", accessor, env=env)
    assert missing.returncode == 1 and "404" in err(missing)


def test_token_flag_env_and_file_reach_the_agent(agent: AgentProcess, root: str, tmp_path: Path):
    denied = cli(agent, "acl", "token", "list")
    assert denied.returncode == 1 and "403" in err(denied)
    assert cli(agent, "acl", "token", "list", "-token", root).returncode == 0
    token_file = tmp_path / "token"
    token_file.write_text(root + "\n")
    assert cli(agent, "acl", "token", "list", env={"CONSUL_HTTP_TOKEN_FILE": str(token_file)}).returncode == 0


def test_http_client_sends_flag_env_and_file_tokens(agent: AgentProcess, root: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    """``actors/cli/http_client`` (operator, reload, actors): ``-token`` / ``-token-file`` / env."""
    for name in ("CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    base = f"http://{agent.http_addr}"
    assert request(base, "GET", "/v1/acl/token/self")[0] == 404  # no token at all
    token, rest = split_token(["-token", root, "list-peers"])
    assert (token, rest) == (root, ["list-peers"])
    assert request(base, "GET", "/v1/acl/token/self", token=token)[0] == 200
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", root)
    assert split_token([])[0] == root
    assert request(base, "GET", "/v1/acl/token/self")[0] == 200
    monkeypatch.delenv("CONSUL_HTTP_TOKEN")
    token_file = tmp_path / "t"
    token_file.write_text(root + "\n")
    assert split_token(["-token-file", str(token_file)])[0] == root


def test_go_time_matches_gos_formatting():
    assert go_time("2024-05-01T10:00:00.123456Z") == "2024-05-01 10:00:00.123456 +0000 UTC"
    assert go_time("2024-05-01T10:00:00Z") == "2024-05-01 10:00:00 +0000 UTC"
