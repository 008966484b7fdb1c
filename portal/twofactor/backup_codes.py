"""Backup codes: 12 characters (~60 bits) without look-alike characters, shown xxxx-xxxx-xxxx.

They are made here, and encrypted here before the store sees them.
"""

from __future__ import annotations

import secrets

from portal.context import Portal
from store import Cursor
from store import factors as factor_store

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
    """The one form on screen, on paper and in the .txt: xxxx-xxxx-xxxx (idempotent)."""
    code = normalise(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def encrypt(p: Portal, user_id: int, code: str) -> bytes:
    return p.cipher.encrypt(code.encode(), f"backup:{user_id}")


def decrypt(p: Portal, user_id: int, blob: bytes) -> str:
    return p.cipher.decrypt(blob, f"backup:{user_id}").decode()


def issue(p: Portal, cur: Cursor, user_id: int, factor_id: int) -> list[str]:
    """A fresh set for the key, encrypted and inserted in `cur` (the caller holds the row lock)."""
    codes = generate(p.settings.backup_code_count)
    blobs = [encrypt(p, user_id, c) for c in codes]
    factor_store.insert_backup_codes(cur, user_id, factor_id, blobs, p.now())
    return codes


def running_low(p: Portal, left: int | None) -> bool:
    """The one "backup codes are low" rule: 2FA on, with settings.backup_codes_low or fewer left."""
    return left is not None and left <= p.settings.backup_codes_low
