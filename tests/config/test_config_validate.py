"""validate() and config_warnings(): Consul's messages for configurations that cannot run."""

import base64

import msgspec
import pytest

from actors.config import AgentConfig, ConfigError, Ports, build_config, config_warnings, validate

GOOD = AgentConfig(node_name="n1", data_dir="/var/lib/proconsul")


def with_(**changes):
    return msgspec.structs.replace(GOOD, **changes)


def test_a_plain_client_is_valid():
    assert validate(GOOD) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"datacenter": "dc 1"},
         'datacenter can only contain lowercase alphanumeric, - or _ characters. received: "dc 1"'),
        ({"datacenter": "dc.1"},
         'datacenter can only contain lowercase alphanumeric, - or _ characters. received: "dc.1"'),
        ({"datacenter": ""}, "datacenter cannot be empty"),
        ({"data_dir": None}, "data_dir cannot be empty"),
        ({"data_dir": ""}, "data_dir cannot be empty"),
        ({"node_name": ""}, "node_name cannot be empty"),
        ({"bootstrap": True}, "'bootstrap = true' requires 'server = true'"),
        ({"bootstrap_expect": -1}, "bootstrap_expect cannot be -1. Must be greater than or equal to zero"),
        ({"bootstrap_expect": 3}, "'bootstrap_expect > 0' requires 'server = true'"),
        ({"server": True, "bootstrap": True, "bootstrap_expect": 3},
         "'bootstrap_expect > 0' and 'bootstrap = true' are mutually exclusive"),
        ({"server": True, "dev": True, "bootstrap_expect": 3}, "'bootstrap_expect > 0' not allowed in dev mode"),
        ({"ports": Ports(http=70000)}, "ports.http: invalid port: 70000"),
        ({"ports": Ports(serf_wan=65536)}, "ports.serf_wan: invalid port: 65536"),
        ({"ports": Ports(server=0)}, "server-port must be greater than zero"),
        ({"ports": Ports(serf_lan=-1)}, "serf-lan-port must be greater than zero"),
        ({"log_level": "loud"},
         "Invalid log level: loud. Valid log levels are: [TRACE DEBUG INFO WARN ERR ERROR]"),
        ({"bind_addr": "not-an-ip"}, "bind_addr must be an ip address"),
        ({"advertise_addr": "0.0.0.0"}, "Advertise address cannot be 0.0.0.0, :: or [::]"),
        ({"advertise_addr": "::"}, "Advertise address cannot be 0.0.0.0, :: or [::]"),
        ({"advertise_addr_wan": "[::]"}, "Advertise WAN address cannot be 0.0.0.0, :: or [::]"),
        ({"advertise_addr": "somehost"}, "advertise_addr: invalid ip address: somehost"),
        ({"client_addr": "127.0.0.1 nope"}, "client_addr: invalid ip address: nope"),
        ({"recursors": ["0.0.0.0"]}, "DNS recursor address cannot be 0.0.0.0, :: or [::]"),
        ({"performance": msgspec.structs.replace(GOOD.performance, raft_multiplier=11)},
         "performance.raft_multiplier cannot be 11. Must be between 1 and 10"),
        ({"node_meta": {"bad key": "v"}},
         "node_meta invalid: Couldn't load metadata pair ('bad key', 'v'): Key contains invalid characters"),
        ({"node_meta": {"consul-x": "v"}},
         "node_meta invalid: Couldn't load metadata pair ('consul-x', 'v'): "
         "Key prefix 'consul-' is reserved for internal use"),
        ({"node_meta": {"k": "v" * 513}},
         f"node_meta invalid: Couldn't load metadata pair ('k', '{'v' * 513}'): "
         "Value is too long (limit: 512 characters)"),
        ({"node_meta": {f"k{i}": "v" for i in range(65)}},
         "node_meta invalid: Node metadata cannot contain more than 64 key/value pairs"),
        ({"seed": -3}, "seed cannot be -3. Must be greater than or equal to zero"),
    ],
)
def test_error_messages(changes, message):
    assert validate(with_(**changes)) == [message]


def test_dns_limits_cannot_be_negative():
    config = with_(dns_config=msgspec.structs.replace(GOOD.dns_config, udp_answer_limit=-1, a_record_limit=-2))
    assert validate(config) == [
        "dns_config.udp_answer_limit cannot be -1. Must be greater than or equal to zero",
        "dns_config.a_record_limit cannot be -2. Must be greater than or equal to zero",
    ]


def test_acl_policies():
    config = with_(acl=msgspec.structs.replace(GOOD.acl, default_policy="block", down_policy="panic"))
    assert validate(config) == [
        'acl.default_policy must be "allow" or "deny". received: "block"',
        'acl.down_policy must be one of "allow", "deny", "extend-cache" or "async-cache". received: "panic"',
    ]


@pytest.mark.parametrize("size", [16, 24, 32])
def test_encrypt_accepts_base64_of_16_24_32_bytes(size):
    assert validate(with_(encrypt=base64.b64encode(bytes(range(size))).decode())) == []


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (base64.b64encode(b"x" * 15).decode(),
         "encrypt has invalid key: key size must be 16, 24 or 32 bytes (got 15)"),
        (base64.b64encode(b"x" * 33).decode(),
         "encrypt has invalid key: key size must be 16, 24 or 32 bytes (got 33)"),
        ("abc", "encrypt has invalid key: illegal base64 data (length must be a multiple of 4, '=' padded)"),
        ("pUqJrVyVRj5jsiYEkM/tFQ!=", "encrypt has invalid key: illegal base64 data at input byte 22"),
        ("pUqJrVyVRj5jsiYEkM/tFQ\u00e9=",
         "encrypt has invalid key: illegal base64 data: only ASCII characters are allowed"),
    ],
)
def test_encrypt_rejects_bad_keys(key, message):
    assert validate(with_(encrypt=key)) == [message]


def test_log_levels_are_case_insensitive():
    for level in ("trace", "Debug", "INFO", "warn", "err", "error"):
        assert validate(with_(log_level=level)) == []


def test_dev_needs_no_data_dir():
    assert validate(with_(dev=True, server=True, data_dir=None)) == []


def test_every_problem_is_reported_at_once():
    config = with_(datacenter="DC 1", data_dir=None, bootstrap=True, log_level="x")
    assert len(validate(config)) == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ports": Ports(http=8600)}, "HTTP address 127.0.0.1:8600 already configured for DNS"),
        ({"ports": Ports(https=8500)}, "HTTPS address 127.0.0.1:8500 already configured for HTTP"),
        ({"ports": Ports(serf_lan=8300)},
         "Serf Advertise LAN address 0.0.0.0:8300 already configured for RPC Advertise"),
        ({"advertise_addr": "127.0.0.1", "ports": Ports(server=8500)},
         "RPC Advertise address 127.0.0.1:8500 already configured for HTTP"),
        ({"client_addr": "::1", "ports": Ports(http=8600)}, "HTTP address [::1]:8600 already configured for DNS"),
    ],
)
def test_duplicate_ports_on_the_same_address(changes, message):
    assert validate(with_(**changes)) == [message]


def test_same_port_on_different_addresses_is_fine():
    # HTTP on the client address, server RPC on the advertise address: different sockets.
    assert validate(with_(advertise_addr="10.0.0.1", ports=Ports(server=8500))) == []
    # A disabled listener claims nothing.
    assert validate(with_(ports=Ports(http=-1, https=-1, dns=-1))) == []


def test_build_raises_config_error_with_all_messages():
    with pytest.raises(ConfigError) as info:
        build_config([], hostname="h", flag_values={"bootstrap": True, "log_level": "x"})
    assert info.value.errors == [
        "data_dir cannot be empty",
        "'bootstrap = true' requires 'server = true'",
        "Invalid log level: x. Valid log levels are: [TRACE DEBUG INFO WARN ERR ERROR]",
    ]
    assert str(info.value) == "\n".join(info.value.errors)


@pytest.mark.parametrize(
    ("changes", "warning"),
    [
        ({"node_name": "web_1"},
         'Node name "web_1" will not be discoverable via DNS due to invalid characters. '
         "Valid characters include all alpha-numerics and dashes."),
        ({"node_name": "n" * 64},
         f'Node name "{"n" * 64}" will not be discoverable via DNS due to it being too long. '
         "Valid lengths are between 1 and 63 bytes."),
        ({"server": True, "bootstrap_expect": 2},
         "bootstrap_expect = 2: A cluster with 2 servers will provide no failure tolerance."),
        ({"server": True, "bootstrap_expect": 4},
         "bootstrap_expect is even number: A cluster with an even number of servers does not achieve "
         "optimum fault tolerance."),
        ({"server": True, "bootstrap_expect": 3}, "bootstrap_expect > 0: expecting 3 servers"),
        ({"server": True, "bootstrap": True}, "bootstrap = true: do not enable unless necessary"),
        ({"client_addr": ""},
         "client_addr is empty, client services (DNS, HTTP, HTTPS) will not be listening for connections"),
    ],
)
def test_warnings(changes, warning):
    assert warning in config_warnings(with_(**changes))


def test_invalid_dns_node_name_is_a_warning_not_an_error():
    config = with_(node_name="my.host")
    assert validate(config) == []
    assert config_warnings(config)


def test_script_checks_without_acls_warn():
    assert any("enable-script-checks" in w for w in config_warnings(with_(enable_script_checks=True)))
    assert config_warnings(GOOD) == []
