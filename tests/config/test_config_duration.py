"""Go duration parsing and formatting (actors.config.parse_duration / format_duration)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.config import format_duration, parse_duration

VALID = [
    ("10s", 10.0),
    ("1m30s", 90.0),
    ("100ms", 0.1),
    ("1h", 3600.0),
    ("87600h", 315_360_000.0),
    ("1.5s", 1.5),
    ("300us", 0.0003),
    ("300\u00b5s", 0.0003),  # micro sign
    ("300\u03bcs", 0.0003),  # Greek mu
    ("2ns", 2e-9),
    ("0", 0.0),
    ("+0", 0.0),
    ("-0", 0.0),
    ("0s", 0.0),
    ("-1.5h", -5400.0),
    ("+5s", 5.0),
    (".5s", 0.5),
    ("5.s", 5.0),
    ("1h2m3s4ms5us6ns", 3723.004005006),
    ("1.000000001s", 1.000000001),
    ("0.0000000001s", 0.0),  # below a nanosecond truncates, like Go
    ("9223372036854775807ns", 9223372036.854775807),
    ("-9223372036854775808ns", -9223372036.854775808),
]


@pytest.mark.parametrize(("text", "seconds"), VALID)
def test_valid_go_durations(text, seconds):
    assert parse_duration(text) == seconds


INVALID = [
    ("", 'time: invalid duration ""'),
    ("10", 'time: missing unit in duration "10"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("1S", 'time: unknown unit "S" in duration "1S"'),
    ("s", 'time: invalid duration "s"'),
    (".s", 'time: invalid duration ".s"'),
    ("-", 'time: invalid duration "-"'),
    ("--1s", 'time: invalid duration "--1s"'),
    (" 1s", 'time: invalid duration " 1s"'),
    ("1s ", 'time: unknown unit "s " in duration "1s "'),
    ("1s2", 'time: missing unit in duration "1s2"'),
    ("1.2.3s", 'time: missing unit in duration "1.2.3s"'),
    ("abc", 'time: invalid duration "abc"'),
    ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
    ("2562048h", 'time: invalid duration "2562048h"'),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_garbage_raises_with_go_message(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == message


def test_numbers_are_nanoseconds_like_consul_api_check_definitions():
    assert parse_duration(10_000_000_000) == 10.0
    assert parse_duration(1_500_000_000.9) == 1.5  # time.Duration(float64) truncates
    assert parse_duration(0) == 0.0


@pytest.mark.parametrize("value", [True, None, [1], float("nan"), float("inf")])
def test_non_durations_are_refused(value):
    with pytest.raises((TypeError, ValueError)):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (90, "1m30s"),
        (0.1, "100ms"),
        (1.5, "1.5s"),
        (3600, "1h0m0s"),
        (87600 * 3600, "87600h0m0s"),
        (0.0003, "300\u00b5s"),
        (2e-9, "2ns"),
        (0.0015, "1.5ms"),
        (-90, "-1m30s"),
        (30, "30s"),
    ],
)
def test_format_like_go(seconds, text):
    assert format_duration(seconds) == text


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_format_then_parse_round_trips(ns):
    # Within +-2^40 ns (about 18 minutes) a float of seconds still resolves single nanoseconds.
    seconds = ns / 1_000_000_000
    assert parse_duration(format_duration(seconds)) == seconds
