"""Backup codes: 12 characters (~60 bits) without look-alike characters, shown xxxx-xxxx-xxxx."""

from __future__ import annotations

import secrets

# No 0/o, 1/l/i: people copy these from paper.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 12


def generate(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))
    return sorted(codes)


def normalise(text: str) -> str:
    """Lower-case and drop spaces and dashes, so 'ABCD-efgh ijkm' is accepted."""
    return "".join(ch for ch in text.strip().lower() if ch not in " -\t")


def looks_like_backup_code(text: str) -> bool:
    code = normalise(text)
    return len(code) == LENGTH and all(ch in ALPHABET for ch in code)


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_totp(text: str) -> str:
    """Authenticator codes are often typed as '123 456' or '123-456'."""
    return "".join(ch for ch in text.strip() if ch not in " -\t")
