"""Durations of the ``timeouts`` input: Terraform/Go grammar in, short human text out."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ims_provider.durations import defaults_text, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45m", 2700.0),
        ("1h30m", 5400.0),
        ("90s", 90.0),
        ("2h", 7200.0),
        ("1h30m15s", 5415.0),
        ("600", 600.0),
        ("  10m ", 600.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("+5m", 300.0),
        ("1H", 3600.0),
        ("30m1h", 5400.0),  # Go accepts any order
        (".5m", 30.0),
        (600, 600.0),
        (2.5, 2.5),
    ],
)
def test_parses_terraform_style_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("-5m", "negative"),
        ("0", "zero"),
        ("0s", "zero"),
        ("0h0m", "zero"),
        ("5x", "unknown unit 'x'"),
        ("5d", "unknown unit 'd'"),
        ("abc", "not a duration"),
        ("1h30", "number without a unit"),
        ("h", "not a duration"),
        ("5 m", "number without a unit"),
        ("1e3", "unknown unit 'e'"),
        (-1, "negative"),
        (0, "zero"),
        (math.inf, "not a finite duration"),
        (math.nan, "not a finite duration"),
    ],
)
def test_rejects_invalid_durations_with_a_clear_message(text: str | float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize("value", [True, None, ["5m"], {"m": 5}])
def test_rejects_non_duration_types(value: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)  # type: ignore[arg-type]


def test_error_names_the_field_and_gives_examples() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("10 minutes", field="timeouts.create")
    text = str(info.value)
    assert text.startswith("timeouts.create: ")
    assert "'45m'" in text and "'1h30m'" in text


def test_error_without_field_has_no_prefix() -> None:
    with pytest.raises(ValueError, match=r"^'5x' has the unknown unit"):
        parse_duration("5x")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.4, "0s"),
        (45, "45s"),
        (59.4, "59s"),
        (59.6, "1m00s"),
        (60, "1m00s"),
        (190, "3m10s"),
        (422, "7m02s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (3720, "1h02m"),
        (3779, "1h02m"),
        (36000, "10h00m"),
        (-5, "0s"),
        (math.nan, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=1, max_value=3599))
def test_format_round_trips_below_an_hour(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=3600, max_value=100 * 3600))
def test_format_round_trips_to_the_minute_above_an_hour(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds // 60 * 60


@given(
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=9999),
    st.booleans(),
)
def test_parse_sums_components(hours: int, minutes: int, seconds: int, skip_zero: bool) -> None:
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s")]
    text = "".join(f"{n}{u}" for n, u in parts if n or not skip_zero)
    total = hours * 3600 + minutes * 60 + seconds
    if total == 0:
        with pytest.raises(ValueError):
            parse_duration(text or "0")
    else:
        assert parse_duration(text) == total


@given(st.text(max_size=12))
def test_parse_never_raises_anything_but_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert seconds > 0 and math.isfinite(seconds)


def test_default_timeouts_are_said_as_the_docs_say_them() -> None:
    assert defaults_text({"create": 300.0, "update": 300.0, "delete": 300.0}) == "defaults 5m each"
    assert defaults_text({"create": 3600.0, "update": 600.0}) == "defaults create 60m, update 10m"
    assert defaults_text({"create": 90.0, "delete": 60.0}) == "defaults create 1m30s, delete 1m"
