from __future__ import annotations

import pytest

from bot.core.errors import UserError
from bot.core.phones import (
    display_handle,
    looks_like_phone,
    normalise_handle,
    normalise_phone,
)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("+33 6 12 34 56 78", "US", "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "us", "+14155552671"),
        ("+44 20 7946 0958", "FR", "+442079460958"),
        ("  +14155552671  ", "DE", "+14155552671"),
    ],
)
def test_numbers_become_e164(typed: str, region: str, e164: str) -> None:
    assert normalise_phone(typed, region) == e164
    assert normalise_handle(typed, region) == e164


@pytest.mark.parametrize("typed", ["12", "+33 6 12", "06 12 34 56 78 99 99", "+999 123 456"])
def test_invalid_numbers_are_refused_with_a_hint(typed: str) -> None:
    with pytest.raises(UserError) as err:
        normalise_handle(typed, "FR")
    assert "country code" in str(err.value)
    assert typed.strip() in str(err.value)


def test_a_number_without_country_code_names_the_region_it_was_read_in() -> None:
    with pytest.raises(UserError, match="read as US numbers"):
        normalise_phone("06 12 34 56 78", "US")


@pytest.mark.parametrize("handle", ["ada@example.com", "sip:ada@pbx.example.com", "whatsapp:ada_l"])
def test_other_handles_are_kept_as_typed(handle: str) -> None:
    assert normalise_handle(f" {handle} ", "US") == handle


@pytest.mark.parametrize("typed", ["", "   ", "Ada Lovelace", "x" * 201, "+33 6 12 3x 56"])
def test_non_handles_are_refused(typed: str) -> None:
    with pytest.raises(UserError):
        normalise_handle(typed, "US")


def test_looks_like_phone() -> None:
    assert looks_like_phone("+1 (415) 555-2671 ext. 12")
    assert not looks_like_phone("ada@example.com")
    assert looks_like_phone("12")
    assert not looks_like_phone("+ ()")


def test_display_handle() -> None:
    assert display_handle("+33612345678") == "+33 6 12 34 56 78"
    assert display_handle("ada@example.com") == "ada@example.com"
    assert display_handle("+999") == "+999"
