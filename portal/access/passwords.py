"""Password hashing (bcrypt) and the password policy: 8+ characters, no common ones, <= 72 bytes."""

from __future__ import annotations

import functools
from importlib import resources

import bcrypt

from portal.errors import WeakPassword

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5: refuses) anything longer
MAX_CHARS = 1024  # a password field's max_chars; services cut longer input before checking it


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("portal").joinpath("data/common-passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_policy(password: str, username: str = "") -> None:
    """Raise WeakPassword with the rule broken; NIST SP 800-63B: length and blocklist only."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.")
    if len(password.encode()) > MAX_BYTES:
        raise WeakPassword(
            f"Use at most {MAX_BYTES} bytes (about {MAX_BYTES} letters; accented letters and "
            "emoji count as 2-4 bytes each)."
        )
    if password.lower() in _common_passwords():
        raise WeakPassword("That password is too common. Choose one that is harder to guess.")
    if username and password.lower() == username.lower():
        raise WeakPassword("The password must not be the username.")


def hash_password(password: str, rounds: int) -> str:
    if len(password.encode()) > MAX_BYTES:
        raise WeakPassword(f"Use at most {MAX_BYTES} bytes.")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, hashed: str) -> bool:
    """False for a wrong password, including one too long for bcrypt to have hashed."""
    data = password.encode()
    if len(data) > MAX_BYTES:
        # Spend the same time as a real check so length does not leak through timing.
        bcrypt.checkpw(data[:MAX_BYTES], hashed.encode())
        return False
    return bcrypt.checkpw(data, hashed.encode())


@functools.cache
def dummy_hash(rounds: int) -> str:
    """A hash to check unknown usernames against, so they cost the same bcrypt time."""
    return bcrypt.hashpw(b"no-such-user-padding", bcrypt.gensalt(rounds)).decode()
