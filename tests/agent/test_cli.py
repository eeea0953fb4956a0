"""The ``proconsul`` command line as a user runs it: real processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.ports import free_ports

PROCONSUL = [sys.executable, "-m", "actors.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROCONSUL, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-nope"], "flag provided but not defined: -nope"),
        (["-node"], "flag needs an argument: -node"),
        (["-http-port", "eighty"], 'invalid value "eighty" for flag -http-port'),
        (["-dev", "-bootstrap-expect", "3"], "bootstrap_expect"),
        (["-server"], "data_dir"),
    ],
)
def test_agent_flag_errors_exit_1(args: list[str], message: str) -> None:
    result = run_cli("agent", *args)
    assert result.returncode == 1
    assert message in result.stderr


def test_unknown_command() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 1 and "Unknown command" in result.stderr


def wait_http(port: int, path: str, deadline_s: float = 20.0) -> object:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
                return json.loads(resp.read())
        except OSError as err:
            last = err
            time.sleep(0.05)
    raise AssertionError(f"agent did not answer on port {port}: {last}")


def test_dev_agent_serves_and_exits_0_on_sigterm() -> None:
    http, dns, server, lan, wan = free_ports(5)
    proc = subprocess.Popen(
        [*PROCONSUL, "agent", "-dev", "-node", "cli1", "-http-port", str(http), "-dns-port", str(dns),
         "-server-port", str(server), "-serf-lan-port", str(lan), "-serf-wan-port", str(wan), "-log-json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        tree = wait_http(http, "/v1/agent/actors")
        assert tree["path"] == "agent:cli1"
        shown = run_cli("actors", "-http-addr", f"127.0.0.1:{http}")
        assert shown.returncode == 0 and "agent:cli1" in shown.stdout and "http" in shown.stdout
        via_env = run_cli("actors", env={"CONSUL_HTTP_ADDR": f"127.0.0.1:{http}"})
        assert via_env.returncode == 0 and "agent:cli1" in via_env.stdout
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "Starting proconsul agent" in out
        log_lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert any(line["@message"] == "caught signal, shutting down" for line in log_lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_actors_command_without_agent_fails_cleanly() -> None:
    (port,) = free_ports(1)
    result = run_cli("actors", "-http-addr", f"127.0.0.1:{port}")
    assert result.returncode == 1 and "Error connecting to agent" in result.stderr


def test_reload_reads_new_config_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    (config_dir / "web.json").write_text(json.dumps({"service": {"name": "web", "port": 80}}))
    http, dns, server, lan, wan = free_ports(5)
    proc = subprocess.Popen(
        [*PROCONSUL, "agent", "-dev", "-node", "reload1", "-http-port", str(http), "-dns-port", str(dns),
         "-server-port", str(server), "-serf-lan-port", str(lan), "-serf-wan-port", str(wan),
         "-config-dir", str(config_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert set(wait_http(http, "/v1/agent/services")) == {"web"}
        (config_dir / "api.json").write_text(json.dumps({"service": {"name": "api", "port": 81}}))
        result = run_cli("reload", "-http-addr", f"127.0.0.1:{http}")
        assert result.returncode == 0 and "Configuration reload triggered" in result.stdout
        assert set(wait_http(http, "/v1/agent/services")) == {"web", "api"}
        (config_dir / "web.json").unlink()
        proc.send_signal(signal.SIGHUP)  # SIGHUP reloads too
        deadline = time.monotonic() + 20
        while set(wait_http(http, "/v1/agent/services")) != {"api"}:
            assert time.monotonic() < deadline, "SIGHUP did not reload the configuration"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
