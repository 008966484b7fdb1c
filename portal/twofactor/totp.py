"""TOTP (RFC 6238) through pyotp: the only module that imports it."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from urllib.parse import quote

import pyotp

SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
DIGITS = 6
PERIOD = 30


def new_secret() -> str:
    """A fresh random base32 secret (160 bits)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def normalise(text: str) -> str:
    """Authenticator codes are often typed as '123 456' or '123-456'."""
    return "".join(ch for ch in text.strip() if ch not in " -\t")


def step_at(instant: dt.datetime) -> int:
    return int(instant.timestamp()) // PERIOD


def code_at(secret: str, instant: dt.datetime) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).at(instant)


def code_for_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step)


def seconds_left(instant: dt.datetime) -> float:
    return PERIOD - (instant.timestamp() % PERIOD)


def is_code(text: str) -> bool:
    """Exactly six ASCII digits (str.isdigit alone accepts other scripts' digits)."""
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def match_step(secret: str, code: str, instant: dt.datetime, window: int = 1) -> int | None:
    """The time step within +-window of instant whose code equals code, else None."""
    if not is_code(code):
        return None
    now_step = step_at(instant)
    hit = None
    # Unlike pyotp's verify, no early exit: constant work, so timing tells no step apart.
    for offset in range(-window, window + 1):
        if secrets.compare_digest(code_for_step(secret, now_step + offset), code):
            hit = now_step + offset if hit is None else hit
    return hit


def skew_steps(secret: str, code: str, instant: dt.datetime, search: int) -> int | None:
    """How many steps off the code is, searching +-search steps (for the clock hint)."""
    if not is_code(code):
        return None
    now_step = step_at(instant)
    for distance in range(1, search + 1):
        for offset in (distance, -distance):
            if secrets.compare_digest(code_for_step(secret, now_step + offset), code):
                return offset
    return None


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """otpauth:// URI with issuer and an 'Issuer:username' label, as the apps expect."""
    label = quote(f"{issuer}:{username}", safe=":@")
    params = (
        f"secret={secret}&issuer={quote(issuer, safe='')}"
        f"&algorithm=SHA1&digits={DIGITS}&period={PERIOD}"
    )
    return f"otpauth://totp/{label}?{params}"


def group_key(secret: str) -> str:
    """The key in groups of four for typing by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
