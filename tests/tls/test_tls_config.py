"""The tls block of the agent configuration: layering, deprecated keys, and the errors that stop a start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.config import ConfigError, build_config, load_config, source_from_dict
from actors.tls.agent_tls import AgentTls
from tests.cluster.cluster_kit import REPO
from tests.tls.tls_kit import Pki, tls_config


def build(data: dict[str, Any], **kw: Any):
    return build_config([source_from_dict("t.json", {"data_dir": "/d", **data})], hostname="h", **kw)


def errors_of(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        build(data)
    return str(info.value)


def test_defaults_fill_each_interface_and_interfaces_override() -> None:
    cfg = build({"tls": {"defaults": {"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem",
                                      "verify_incoming": True},
                         "https": {"verify_incoming": False, "cert_file": "/h.pem", "key_file": "/hk.pem"}}}).config
    rpc, https = cfg.tls.effective("internal_rpc"), cfg.tls.effective("https")
    assert (rpc.ca_file, rpc.cert_file, rpc.verify_incoming) == ("/ca.pem", "/c.pem", True)
    assert rpc.tls_min_version == "TLSv1_2"
    assert (https.ca_file, https.cert_file, https.verify_incoming) == ("/ca.pem", "/h.pem", False)
    assert not rpc.verify_outgoing and not rpc.verify_server_hostname


def test_deprecated_top_level_keys_move_into_the_tls_block_with_warnings() -> None:
    result = build({"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem", "verify_incoming": True,
                    "verify_outgoing": True, "verify_server_hostname": True, "verify_incoming_https": False,
                    "tls_min_version": "tls13"})
    tls = result.config.tls
    assert (tls.defaults.ca_file, tls.defaults.cert_file, tls.defaults.key_file) == ("/ca.pem", "/c.pem", "/k.pem")
    assert tls.defaults.verify_incoming and tls.defaults.verify_outgoing
    assert tls.internal_rpc.verify_server_hostname and tls.https.verify_incoming is False
    assert tls.defaults.tls_min_version == "TLSv1_3"
    assert "The 'verify_server_hostname' field is deprecated. Use the 'tls.internal_rpc.verify_server_hostname' " \
           "field instead." in result.warnings
    assert any("'tls_min_version' value 'tls13' is deprecated" in w for w in result.warnings)


def test_a_tls_block_value_wins_over_a_deprecated_key_of_the_same_file() -> None:
    tls = build({"ca_file": "/old.pem", "tls": {"defaults": {"ca_file": "/new.pem"}}}).config.tls
    assert tls.defaults.ca_file == "/new.pem"


def test_verify_server_hostname_implies_verify_outgoing() -> None:
    """CVE-2018-19653: hostname verification without TLS would be plaintext."""
    cfg = build({"tls": {"defaults": {"ca_file": "/ca.pem", "cert_file": "/c", "key_file": "/k",
                                      "verify_outgoing": False},
                         "internal_rpc": {"verify_server_hostname": True}}}).config
    assert cfg.tls.effective("internal_rpc").verify_outgoing


@pytest.mark.parametrize(("data", "message"), [
    ({"tls": {"defaults": {"verify_incoming": True, "cert_file": "/c", "key_file": "/k"}}},
     "tls.internal_rpc.verify_incoming is set but no CA is configured"),
    ({"verify_server_hostname": True, "cert_file": "/c", "key_file": "/k"},
     "tls.internal_rpc.verify_server_hostname is set (it implies verify_outgoing) but no CA is configured"),
    ({"tls": {"defaults": {"verify_outgoing": True}}}, "tls.internal_rpc.verify_outgoing is set but no CA"),
    ({"server": True, "tls": {"defaults": {"ca_file": "/ca"}, "internal_rpc": {"verify_server_hostname": True}}},
     "verify_server_hostname is set on a server but no certificate and key"),
    ({"tls": {"defaults": {"cert_file": "/c"}}}, "tls.internal_rpc: cert_file and key_file must be given together"),
    ({"tls": {"defaults": {"tls_min_version": "ssl3"}}},
     'tls.internal_rpc.tls_min_version: invalid TLS version "ssl3"'),
    ({"ports": {"https": 8501}, "tls": {"defaults": {"cert_file": "/c", "key_file": "/k"},
                                         "https": {"verify_incoming": True}}},
     "tls.https.verify_incoming is set but no CA is configured"),
    ({"tls": {"internal_rpc": {"verify_server_hostname": "yes"}}}, "tls.internal_rpc.verify_server_hostname"),
    ({"tls": {"defaults": {"cafile": "/x"}}}, "invalid config key tls.defaults.cafile"),
])
def test_settings_that_cannot_work_are_refused_with_a_clear_message(data: dict[str, Any], message: str) -> None:
    assert message in errors_of(data)


def test_missing_files_are_named_when_the_configuration_is_loaded(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    cert = pki.leaf("server")
    good = tls_config(pki, cert)
    path = tmp_path / "ok.json"
    path.write_text(json.dumps({"data_dir": str(tmp_path), **good}))
    assert load_config(hostname="h", config_paths=[path]).config.tls.defaults.cert_file == cert[0]
    bad = tls_config(pki, (str(tmp_path / "nope.pem"), cert[1]))
    bad["tls"]["defaults"]["ca_path"] = str(tmp_path / "no-dir")
    path.write_text(json.dumps({"data_dir": str(tmp_path), **bad}))
    with pytest.raises(ConfigError) as info:
        load_config(hostname="h", config_paths=[path])
    assert f"tls.internal_rpc.cert_file: {tmp_path / 'nope.pem'}: no such file" in info.value.errors
    assert f"tls.https.ca_path: {tmp_path / 'no-dir'}: no such directory" in info.value.errors


def test_agent_tls_refuses_an_https_port_without_a_certificate_and_a_mismatched_key(tmp_path: Path) -> None:
    cfg = build({"ports": {"https": 8501}}).config
    with pytest.raises(ConfigError, match="ports.https is set but no certificate"):
        AgentTls(cfg)
    pki = Pki(tmp_path / "pki")
    cert, _ = pki.leaf("server")
    _, other_key = pki.leaf("server")
    cfg = build(tls_config(pki, (cert, other_key))).config
    with pytest.raises(ConfigError, match="tls: cannot load certificate"):
        AgentTls(cfg)
    cfg = build(tls_config(pki, pki.leaf("server"))).config
    assert AgentTls(msgspec.structs.replace(cfg, ports=msgspec.structs.replace(cfg.ports, https=0))).https_context


def test_the_agent_command_stops_with_one_line_for_an_https_port_without_certificate(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "actors.cli", "agent", "-dev", "-https-port", "18501"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "ports.https is set but no certificate and key are configured" in proc.stderr
