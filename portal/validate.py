"""Checks for form input shared by the services: clear messages, nothing changed on failure."""

from __future__ import annotations

import re
import unicodedata

from portal.errors import InvalidInput

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME = 100
MAX_FIELD = 256  # nothing we accept is longer; refuse before hashing or querying


def username(text: str) -> str:
    """Lower-cased username: 2-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit."""
    name = text.strip().lower()
    if not name:
        raise InvalidInput("Enter a username.")
    if not USERNAME_RE.match(name):
        raise InvalidInput(
            "A username has 2-64 characters: letters a-z, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def display_name(text: str, fallback: str) -> str:
    name = unicodedata.normalize("NFC", " ".join(text.split()))
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"A display name has at most {MAX_DISPLAY_NAME} characters.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput("The display name contains control characters.")
    return name or fallback


EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


def email(text: str) -> str | None:
    """An email address for notices, or None when left empty."""
    value = text.strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise InvalidInput("That email address does not look right (name@example.org).")
    return value


def reason(text: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise InvalidInput("Give a short reason; it goes into the audit trail.")
    if len(value) > 500:
        raise InvalidInput("Keep the reason under 500 characters.")
    return value
