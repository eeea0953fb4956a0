"""JSON config files in Consul's format, config directories, and Consul's merge order."""

import json
import os

import pytest

from actors.config import (
    ConfigError,
    build_config,
    load_config,
    load_config_dir,
    load_config_file,
    merge_layers,
    source_from_dict,
)
from actors.flags import load_agent_config, parse_agent_flags


def write(directory, name, data):
    path = directory / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def errors_of(call, *args, **kwargs):
    with pytest.raises(ConfigError) as info:
        call(*args, **kwargs)
    return info.value.errors


FULL_FILE = {
    "node_name": "web-1",
    "datacenter": "eu1",
    "server": True,
    "bootstrap_expect": 3,
    "data_dir": "/var/lib/proconsul",
    "bind_addr": "10.0.0.5",
    "advertise_addr": "10.0.0.5",
    "client_addr": "0.0.0.0",
    "ports": {"http": 8501, "dns": 8601},
    "retry_join": ["10.0.0.6", "10.0.0.7"],
    "retry_join_wan": ["192.0.2.1"],
    "retry_interval": "15s",
    "log_level": "warn",
    "log_json": True,
    "enable_local_script_checks": True,
    "encrypt": "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",
    "domain": "internal.",
    "recursors": ["1.1.1.1"],
    "node_meta": {"rack": "r7"},
    "dns_config": {"node_ttl": "10s", "service_ttl": {"*": "5s", "web": "30s"}, "max_stale": "1m"},
    "limits": {"http_max_conns_per_client": 500},
    "performance": {"raft_multiplier": 2},
    "gossip_lan": {"probe_interval": "2s"},
    "acl": {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": "root", "agent": "a"}},
    "service": {"name": "web", "port": 80},
    "services": [{"name": "db", "port": 5432}],
    "check": {"id": "mem", "args": ["free"], "interval": "10s"},
    "seed": 7,
    "enable_fault_injection": True,
}


def test_load_full_file(tmp_path):
    path = write(tmp_path, "agent.json", FULL_FILE)
    config = load_config(hostname="ignored", config_paths=[path]).config
    assert config.node_name == "web-1"
    assert config.datacenter == "eu1"
    assert config.server and config.bootstrap_expect == 3
    assert config.ports.http == 8501 and config.ports.dns == 8601 and config.ports.server == 8300
    assert config.retry_join == ["10.0.0.6", "10.0.0.7"]
    assert config.retry_interval == 15.0
    assert config.log_level == "warn" and config.log_json
    assert config.dns_config.node_ttl == 10.0
    assert config.dns_config.service_ttl == {"*": 5.0, "web": 30.0}
    assert config.dns_config.max_stale == 60.0
    assert config.dns_config.udp_answer_limit == 3  # untouched keys keep their defaults
    assert config.limits.http_max_conns_per_client == 500 and config.limits.kv_max_value_size == 524288
    assert config.performance.raft_multiplier == 2
    assert config.gossip_lan.probe_interval == 2.0 and config.gossip_lan.probe_timeout == 0.5
    assert config.acl.enabled and config.acl.default_policy == "deny"
    assert config.acl.tokens.initial_management == "root" and config.acl.tokens.default is None
    # The single "service" / "check" go after the file's list, as Consul does.
    assert [s["name"] for s in config.services] == ["db", "web"]
    assert config.checks == [{"id": "mem", "args": ["free"], "interval": "10s"}]
    assert config.seed == 7 and config.enable_fault_injection


def test_unknown_keys_are_all_reported_with_path_and_file(tmp_path):
    path = write(tmp_path, "bad.json", {"nodename": "x", "ports": {"htp": 1}, "acl": {"tokens": {"mastr": "x"}}})
    assert errors_of(load_config_file, path) == [
        f"failed to parse {path}: invalid config key nodename",
        f"failed to parse {path}: invalid config key ports.htp",
        f"failed to parse {path}: invalid config key acl.tokens.mastr",
    ]


def test_dev_cannot_be_set_in_a_file(tmp_path):
    path = write(tmp_path, "dev.json", {"dev": True})
    assert errors_of(load_config_file, path) == [f"failed to parse {path}: invalid config key dev"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ports": {"http": "8500"}}, "ports.http: Expected `int`, got `str`"),
        ({"server": "yes"}, "server: Expected `bool`, got `str`"),
        ({"retry_join": "10.0.0.1"}, "retry_join: Expected `array`, got `str`"),
        ({"retry_join": ["a", 5]}, "retry_join[1]: Expected `str`, got `int`"),
        ({"acl": {"tokens": {"agent": 5}}}, "acl.tokens.agent: Expected `str | null`, got `int`"),
        ({"ports": 8500}, "ports: Expected `object`, got `int`"),
        ({"service": ["web"]}, "service: Expected `object`, got `array`"),
        ({"retry_interval": 30}, 'retry_interval: expected a duration string such as "30s", got int'),
        ({"retry_interval": "30"}, 'retry_interval: invalid duration: "30": time: missing unit in duration "30"'),
        (
            {"dns_config": {"service_ttl": {"web": "5x"}}},
            'dns_config.service_ttl["web"]: invalid duration: "5x": time: unknown unit "x" in duration "5x"',
        ),
    ],
)
def test_wrong_types_name_file_and_key_path(tmp_path, data, message):
    path = write(tmp_path, "types.json", data)
    assert errors_of(load_config_file, path) == [f"failed to parse {path}: {message}"]


def test_null_means_not_given(tmp_path):
    path = write(tmp_path, "nulls.json", {"data_dir": None, "ports": {"http": None}, "datacenter": None})
    source = load_config_file(path)
    assert source.data == {"ports": {}}


def test_deprecated_start_join_is_folded_into_retry_join(tmp_path):
    path = write(tmp_path, "join.json", {"retry_join": ["a"], "start_join": ["b"], "start_join_wan": ["w"]})
    source = load_config_file(path)
    assert source.data["retry_join"] == ["a", "b"]
    assert source.data["retry_join_wan"] == ["w"]
    assert "The 'start_join' field is deprecated. Use the 'retry_join' field instead." in source.warnings


def test_hcl_is_refused_clearly(tmp_path):
    path = write(tmp_path, "agent.hcl", 'datacenter = "dc1"')
    [message] = errors_of(load_config_file, path)
    assert "HCL" in message and "not supported" in message and "JSON" in message and path in message


def test_unknown_extension_needs_config_format(tmp_path):
    path = write(tmp_path, "agent.conf", {"datacenter": "dc2"})
    [message] = errors_of(load_config_file, path)
    assert message.startswith(f"file {path} has unknown extension")
    assert load_config_file(path, config_format="json").data == {"datacenter": "dc2"}


def test_malformed_json_and_non_object(tmp_path):
    broken = write(tmp_path, "broken.json", '{"datacenter": "dc1"')
    assert errors_of(load_config_file, broken)[0].startswith(f"failed to parse {broken}: ")
    listed = write(tmp_path, "list.json", "[1, 2]")
    assert errors_of(load_config_file, listed) == [
        f"failed to parse {listed}: the top level must be a JSON object, got array"
    ]


def test_empty_file_contributes_nothing(tmp_path):
    assert load_config_file(write(tmp_path, "empty.json", "")).data == {}


def test_missing_path(tmp_path):
    missing = str(tmp_path / "nope.json")
    [message] = errors_of(load_config, hostname="h", config_paths=[missing])
    assert message.startswith(f"config: Open failed on {missing}.")


def test_config_dir_reads_json_files_in_lexical_order(tmp_path):
    write(tmp_path, "20-b.json", {"datacenter": "b", "retry_join": ["2"]})
    write(tmp_path, "10-a.json", {"datacenter": "a", "retry_join": ["1"]})
    write(tmp_path, "30-c.json", {"retry_join": ["3"], "data_dir": "/d"})
    write(tmp_path, "README.md", "not config")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "00-ignored.json", {"datacenter": "ignored"})
    sources = load_config_dir(tmp_path)
    assert [os.path.basename(s.name) for s in sources] == ["10-a.json", "20-b.json", "30-c.json", "README.md"]
    result = load_config(hostname="h", config_paths=[str(tmp_path)])
    assert result.config.datacenter == "b"  # the later file wins
    assert result.config.retry_join == ["1", "2", "3"]  # lists append across files
    assert any(w.startswith("skipping file") and "README.md" in w for w in result.warnings)
    assert [os.path.basename(f) for f in result.files] == ["10-a.json", "20-b.json", "30-c.json"]


def test_config_dir_with_hcl_file_is_an_error(tmp_path):
    write(tmp_path, "a.json", {"datacenter": "a"})
    write(tmp_path, "b.hcl", 'datacenter = "b"')
    [message] = errors_of(load_config_dir, tmp_path)
    assert "HCL" in message and "b.hcl" in message


def test_merge_rules():
    base = {"a": 1, "l": [1], "m": {"x": 1, "y": 1}, "s": {"p": 1}}
    top = {"a": 2, "l": [2], "m": {"y": 2, "z": 2}, "s": {"q": 2}}
    assert merge_layers(base, top) == {"a": 2, "l": [1, 2], "m": {"x": 1, "y": 2, "z": 2}, "s": {"p": 1, "q": 2}}
    assert base == {"a": 1, "l": [1], "m": {"x": 1, "y": 1}, "s": {"p": 1}}  # inputs untouched


def test_flags_beat_files_and_files_beat_dev(tmp_path):
    path = write(tmp_path, "a.json", {"datacenter": "file-dc", "log_level": "WARN", "ports": {"http": 1111}})
    config = parse_agent_flags(["-dev", "-config-file", path, "-datacenter=flag-dc"], hostname="h")
    assert config.datacenter == "flag-dc"  # flag > file
    assert config.log_level == "WARN"  # file > -dev's DEBUG
    assert config.ports.http == 1111 and config.ports.dns == 8600
    assert config.server  # from -dev, untouched by the file


def test_file_can_undo_a_dev_setting(tmp_path):
    path = write(tmp_path, "a.json", {"server": False})
    config = parse_agent_flags(["-dev", "-config-file", path], hostname="h")
    assert config.server is False and config.dev is True


def test_list_flags_come_before_file_entries(tmp_path):
    # Consul merges list-valued flags ahead of the files (builder.go: "flags.slices" in the head).
    path = write(tmp_path, "a.json", {"retry_join": ["file-1"], "recursors": ["9.9.9.9"], "data_dir": "/d"})
    config = parse_agent_flags(
        ["-retry-join", "flag-1", "-config-file", path, "-retry-join=flag-2", "-recursor", "1.1.1.1"],
        hostname="h",
    )
    assert config.retry_join == ["flag-1", "flag-2", "file-1"]
    assert config.recursors == ["1.1.1.1", "9.9.9.9"]


def test_node_meta_flags_overlay_file_keys(tmp_path):
    path = write(tmp_path, "a.json", {"node_meta": {"rack": "r1", "zone": "z1"}, "data_dir": "/d"})
    config = parse_agent_flags(["-config-file", path, "-node-meta", "rack:r2"], hostname="h")
    assert config.node_meta == {"rack": "r2", "zone": "z1"}


def test_config_file_and_dir_keep_command_line_order(tmp_path):
    one = write(tmp_path, "one.json", {"datacenter": "one", "data_dir": "/d"})
    folder = tmp_path / "conf.d"
    folder.mkdir()
    write(folder, "x.json", {"datacenter": "dir"})
    two = write(tmp_path, "two.json", {"datacenter": "two"})
    assert parse_agent_flags(["-config-dir", str(folder), "-config-file", one], hostname="h").datacenter == "one"
    assert parse_agent_flags(["-config-file", one, "-config-dir", str(folder)], hostname="h").datacenter == "dir"
    argv = ["-config-file", one, "-config-dir", str(folder), "-config-file", two]
    result = load_agent_config(argv, hostname="h")
    assert result.config.datacenter == "two"
    assert [os.path.basename(f) for f in result.files] == ["one.json", "x.json", "two.json"]


def test_services_and_checks_append_across_files(tmp_path):
    write(tmp_path, "a.json", {"service": {"name": "a"}, "data_dir": "/d"})
    write(tmp_path, "b.json", {"services": [{"name": "b"}], "check": {"id": "c"}})
    config = load_config(hostname="h", config_paths=[str(tmp_path)]).config
    assert [s["name"] for s in config.services] == ["a", "b"]
    assert config.checks == [{"id": "c"}]


def test_source_from_dict_for_programmatic_layers():
    source = source_from_dict("scenario", {"server": True, "data_dir": "/d", "retry_interval": "1s"})
    config = build_config([source], hostname="n1").config
    assert config.server and config.retry_interval == 1.0
    assert errors_of(source_from_dict, "scenario", {"serverr": True}) == [
        "failed to parse scenario: invalid config key serverr"
    ]


def test_validation_errors_from_files_surface(tmp_path):
    path = write(tmp_path, "a.json", {"bootstrap_expect": 3, "data_dir": "/d"})
    assert errors_of(load_config, hostname="h", config_paths=[path]) == [
        "'bootstrap_expect > 0' requires 'server = true'"
    ]


def test_a_bad_list_is_reported_even_next_to_its_single_form(tmp_path):
    path = write(tmp_path, "a.json", {"services": "web", "service": {"name": "db"}})
    assert errors_of(load_config_file, path) == [f"failed to parse {path}: services: Expected `array`, got `str`"]
