"""Phone numbers and other contact handles, normalised before they reach Front.

Front reads a phone handle without `+<country code>` as a US number, so every number is
sent in E.164. The region used for numbers typed without a country code is a setting
(`DEFAULT_PHONE_REGION`), passed in by the caller.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from bot.core.errors import UserError

MAX_HANDLE_LENGTH = 200

# What people type in a phone number: digits, separators, a leading + or an extension.
_PHONE_CHARS = re.compile(r"^[\d\s+()./\-]+((ext\.?|x|#)\s*\d+)?$", re.IGNORECASE)


def looks_like_phone(text: str) -> bool:
    """True when `text` is made of phone-number characters, digits among them."""
    value = text.strip()
    return bool(_PHONE_CHARS.match(value)) and any(c.isdigit() for c in value)


def normalise_phone(text: str, region: str) -> str:
    """`text` as an E.164 number (`+33612345678`), or UserError saying what to type."""
    value = text.strip()
    if not value:
        raise UserError("Enter a phone number, e.g. +33 6 12 34 56 78.")
    try:
        number = phonenumbers.parse(value, region.upper())
    except NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise UserError(
            f"`{value}` is not a valid phone number. Type it with its country code, "
            f"e.g. +33 6 12 34 56 78 (numbers without one are read as {region.upper()} numbers)."
        )
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def normalise_handle(text: str, region: str) -> str:
    """A contact handle as Front should get it.

    Phone numbers become E.164 (or UserError when invalid); anything else (an email
    address, a SIP URI, a messaging app's user name) is kept as typed, trimmed, as long
    as it is one word of at most 200 characters.
    """
    value = text.strip()
    if not value:
        raise UserError("Enter a phone number (e.g. +33 6 12 34 56 78) or a handle.")
    if looks_like_phone(value):
        return normalise_phone(value, region)
    if any(c.isspace() for c in value) or len(value) > MAX_HANDLE_LENGTH:
        raise UserError(
            f"`{value[:60]}` is neither a phone number nor a handle. Type a number with its "
            "country code (e.g. +33 6 12 34 56 78), or a handle such as an email address."
        )
    return value


def display_handle(handle: str) -> str:
    """An E.164 number spaced for reading (`+33 6 12 34 56 78`); other handles as they are."""
    if not handle.startswith("+"):
        return handle
    try:
        number = phonenumbers.parse(handle, None)
    except NumberParseException:
        return handle
    return str(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))


__all__ = [
    "MAX_HANDLE_LENGTH",
    "display_handle",
    "looks_like_phone",
    "normalise_handle",
    "normalise_phone",
]
