"""Consul-style flags of `proconsul agent` (actors.flags)."""

import operator

import pytest

from actors.config import ConfigError
from actors.flags import FlagError, HelpRequested, load_agent_config, parse_agent_flags, parse_flags, usage

BASE = ["-data-dir=/var/lib/proconsul"]


def agent(*argv, hostname="host-1"):
    return parse_agent_flags([*BASE, *argv], hostname=hostname)


def flag_error(*argv):
    with pytest.raises(FlagError) as info:
        parse_agent_flags(list(argv), hostname="h")
    return str(info.value)


# (flag, value on the command line, attribute path, expected value). Booleans are covered separately.
VALUED = [
    ("advertise", "10.0.0.9", "advertise_addr", "10.0.0.9"),
    ("advertise-wan", "198.51.100.9", "advertise_addr_wan", "198.51.100.9"),
    ("bind", "10.0.0.8", "bind_addr", "10.0.0.8"),
    ("client", "0.0.0.0", "client_addr", "0.0.0.0"),
    ("data-dir", "/tmp/pc", "data_dir", "/tmp/pc"),
    ("datacenter", "eu-west", "datacenter", "eu-west"),
    ("dns-port", "8653", "ports.dns", 8653),
    ("domain", "example.", "domain", "example."),
    ("encrypt", "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", "encrypt",
     "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="),
    ("http-port", "8501", "ports.http", 8501),
    ("node-id", "5b1e4c5e-8a57-4c8e-9f43-1c0b6f3a2d10", "node_id", "5b1e4c5e-8a57-4c8e-9f43-1c0b6f3a2d10"),
    ("https-port", "8443", "ports.https", 8443),
    ("log-level", "trace", "log_level", "trace"),
    ("node", "web-1", "node_name", "web-1"),
    ("node-meta", "rack:r1", "node_meta", {"rack": "r1"}),
    ("recursor", "8.8.8.8", "recursors", ["8.8.8.8"]),
    ("retry-interval", "1m30s", "retry_interval", 90.0),
    ("retry-interval-wan", "500ms", "retry_interval_wan", 0.5),
    ("retry-join", "10.0.0.2", "retry_join", ["10.0.0.2"]),
    ("retry-join-wan", "192.0.2.4", "retry_join_wan", ["192.0.2.4"]),
    ("join", "10.0.0.3", "retry_join", ["10.0.0.3"]),
    ("join-wan", "192.0.2.5", "retry_join_wan", ["192.0.2.5"]),
    ("retry-max", "5", "retry_max", 5),
    ("retry-max-wan", "6", "retry_max_wan", 6),
    ("seed", "12345", "seed", 12345),
    ("serf-lan-port", "8311", "ports.serf_lan", 8311),
    ("serf-wan-port", "8312", "ports.serf_wan", 8312),
    ("server-port", "8310", "ports.server", 8310),
]

SPELLINGS = [
    lambda name, value: [f"-{name}", value],
    lambda name, value: [f"-{name}={value}"],
    lambda name, value: [f"--{name}", value],
    lambda name, value: [f"--{name}={value}"],
]


@pytest.mark.parametrize("spell", SPELLINGS, ids=["-f v", "-f=v", "--f v", "--f=v"])
@pytest.mark.parametrize(("name", "value", "path", "expected"), VALUED, ids=[row[0] for row in VALUED])
def test_every_valued_flag_in_every_spelling(spell, name, value, path, expected):
    config = agent(*spell(name, value))
    assert operator.attrgetter(path)(config) == expected


BOOLEANS = [
    ("server", "server"),
    ("log-json", "log_json"),
    ("enable-script-checks", "enable_script_checks"),
    ("enable-local-script-checks", "enable_local_script_checks"),
    ("enable-fault-injection", "enable_fault_injection"),
]


@pytest.mark.parametrize(("name", "attribute"), BOOLEANS)
@pytest.mark.parametrize(
    ("suffix", "expected"),
    [("", True), ("=true", True), ("=1", True), ("=T", True), ("=TRUE", True), ("=True", True),
     ("=false", False), ("=0", False), ("=f", False), ("=FALSE", False), ("=False", False)],
)
def test_boolean_flags(name, attribute, suffix, expected):
    for dashes in ("-", "--"):
        assert getattr(agent(f"{dashes}{name}{suffix}"), attribute) is expected


def test_bootstrap_flag():
    config = agent("-server", "-bootstrap")
    assert config.bootstrap and config.self_bootstrap
    assert agent("-server", "-bootstrap=false").bootstrap is False


def test_bootstrap_expect_flag():
    assert agent("-server", "-bootstrap-expect", "3").bootstrap_expect == 3
    assert agent("-server", "--bootstrap-expect=5").bootstrap_expect == 5


def test_dev_flag_forms():
    assert parse_agent_flags(["-dev"], hostname="h").dev
    assert parse_agent_flags(["--dev=true"], hostname="h").server
    assert parse_flags(["-dev=false"]).dev is False


def test_later_value_wins_for_single_flags():
    assert agent("-node", "a", "-node=b").node_name == "b"
    assert agent("-server=true", "-server=false").server is False


def test_repeatable_flags_accumulate():
    config = agent(
        "-retry-join", "a", "--retry-join=b", "-retry-join-wan", "w1", "-retry-join-wan", "w2",
        "-recursor", "1.1.1.1", "-recursor=8.8.8.8", "-node-meta", "rack:r1", "-node-meta=zone:z:1",
        "-node-meta", "flag",
    )
    assert config.retry_join == ["a", "b"]
    assert config.retry_join_wan == ["w1", "w2"]
    assert config.recursors == ["1.1.1.1", "8.8.8.8"]
    assert config.node_meta == {"rack": "r1", "zone": "z:1", "flag": ""}  # split on the first ':' only


def test_join_is_a_deprecated_alias_of_retry_join_appended_after_it():
    result = load_agent_config([*BASE, "-join", "j1", "-retry-join", "r1", "-join=j2"], hostname="h")
    assert result.config.retry_join == ["r1", "j1", "j2"]
    assert "The 'start_join' field is deprecated. Use the 'retry_join' field instead." in result.warnings


def test_non_boolean_flag_takes_the_next_argument_whatever_it_is():
    assert agent("-node", "-dev").node_name == "-dev"


def test_empty_node_falls_back_to_hostname():
    assert agent("-node=", hostname="box").node_name == "box"


def test_dev_mode_from_flags():
    config = parse_agent_flags(["-dev"], hostname="laptop")
    assert (config.dev, config.server, config.bootstrap, config.self_bootstrap) == (True, True, False, True)
    assert config.data_dir is None and config.node_name == "laptop"
    assert config.bind_addr == "127.0.0.1" and config.client_addr == "127.0.0.1"
    assert config.log_level == "DEBUG"


def test_flags_override_dev_defaults():
    config = parse_agent_flags(["-dev", "-log-level=info", "-bind=127.0.0.2"], hostname="h")
    assert (config.log_level, config.bind_addr) == ("info", "127.0.0.2")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-nope"], "flag provided but not defined: -nope"),
        (["--nope=3"], "flag provided but not defined: -nope"),
        (["-ui"], "flag provided but not defined: -ui"),
        (["-node"], "flag needs an argument: -node"),
        (["-dev", "--retry-join"], "flag needs an argument: -retry-join"),
        (["-http-port", "x"], 'invalid value "x" for flag -http-port: strconv.Atoi: parsing "x": invalid syntax'),
        (["-http-port="], 'invalid value "" for flag -http-port: strconv.Atoi: parsing "": invalid syntax'),
        (["-bootstrap-expect=1.5"],
         'invalid value "1.5" for flag -bootstrap-expect: strconv.Atoi: parsing "1.5": invalid syntax'),
        (["-server-port=99999999999999999999"],
         'invalid value "99999999999999999999" for flag -server-port: '
         'strconv.Atoi: parsing "99999999999999999999": value out of range'),
        (["-retry-interval=30"],
         'invalid value "30" for flag -retry-interval: time: missing unit in duration "30"'),
        (["-retry-interval", "soon"],
         'invalid value "soon" for flag -retry-interval: time: invalid duration "soon"'),
        (["-server=yes"],
         'invalid boolean value "yes" for -server: strconv.ParseBool: parsing "yes": invalid syntax'),
        (["-dev="], 'invalid boolean value "" for -dev: strconv.ParseBool: parsing "": invalid syntax'),
        (["-seed=abc"], 'invalid value "abc" for flag -seed: expected a non-negative integer'),
        (["---dev"], "bad flag syntax: ---dev"),
        (["-=dev"], "bad flag syntax: -=dev"),
        (["extra"], "Unexpected extra arguments: [extra]"),
        (["-dev", "extra", "-server"], "Unexpected extra arguments: [extra -server]"),
        (["-server", "false"], "Unexpected extra arguments: [false]"),
        (["-dev", "--", "-server"], "Unexpected extra arguments: [-server]"),
        (["-dev", "-"], "Unexpected extra arguments: [-]"),
        (["-config-format=yaml"],
         "invalid value \"yaml\" for flag -config-format: config: -config-format must be either 'hcl' or 'json'"),
    ],
)
def test_flag_errors_use_go_wording(argv, message):
    assert flag_error(*argv) == message


def test_flag_errors_carry_the_usage_text():
    with pytest.raises(FlagError) as info:
        parse_flags(["-nope"])
    assert info.value.usage == usage()
    assert isinstance(info.value, ConfigError)


def test_hcl_is_not_supported():
    for argv in (["-hcl", 'datacenter = "x"'], ['-hcl=server = true'], ["-config-format", "hcl"]):
        message = flag_error(*argv)
        assert "JSON" in message and ("hcl" in message.lower())


@pytest.mark.parametrize("argv", [["-h"], ["-help"], ["--help"], ["-dev", "-h"]])
def test_help(argv):
    with pytest.raises(HelpRequested) as info:
        parse_flags(argv)
    assert "Usage: proconsul agent" in info.value.usage


def test_conflicting_flags_give_validation_messages():
    with pytest.raises(ConfigError) as info:
        parse_agent_flags(["-dev", "-bootstrap-expect=3"], hostname="h")
    assert info.value.errors == ["'bootstrap_expect > 0' not allowed in dev mode"]
    assert not isinstance(info.value, FlagError)
    with pytest.raises(ConfigError) as info:
        agent("-server", "-bootstrap", "-bootstrap-expect=3")
    assert info.value.errors == ["'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive"]
    with pytest.raises(ConfigError) as info:
        agent("-bootstrap-expect=3")
    assert info.value.errors == ["'bootstrap_expect > 0' requires 'server = true'"]
    with pytest.raises(ConfigError) as info:
        parse_agent_flags(["-server"], hostname="h")
    assert info.value.errors == ["data_dir cannot be empty"]


def test_bootstrap_expect_one_with_dev_is_plain_bootstrap():
    # Consul turns bootstrap_expect=1 into bootstrap before validating, so this is accepted.
    config = parse_agent_flags(["-dev", "-bootstrap-expect=1"], hostname="h")
    assert (config.bootstrap, config.bootstrap_expect) == (True, 0)


def test_parse_flags_collects_without_reading_files():
    parsed = parse_flags(["-config-file", "/nowhere/a.json", "--config-dir=/nowhere/d", "-http-port=1",
                          "-retry-interval=2s", "-config-format", "json"])
    assert parsed.config_paths == ["/nowhere/a.json", "/nowhere/d"]
    assert parsed.config_format == "json"
    assert parsed.values == {"ports": {"http": 1}, "retry_interval": 2.0}
    assert parsed.dev is False


def test_usage_lists_every_flag_with_one_line_of_help():
    text = usage()
    names = [row[0] for row in VALUED] + [row[0] for row in BOOLEANS] + [
        "bootstrap", "bootstrap-expect", "config-dir", "config-file", "config-format", "dev", "hcl",
    ]
    option_lines = [line for line in text.splitlines() if line.startswith("  -")]
    for name in names:
        [line] = [ln for ln in option_lines if ln.split()[0].split("=")[0] == f"-{name}"]
        assert len(line.split(None, 1)) == 2  # the flag, then its help text
    assert len(option_lines) == len(set(names))
