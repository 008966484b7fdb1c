"""Password hashing (bcrypt) and the password policy: 8+ characters, no common ones, <= 72 bytes."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from importlib import resources

import bcrypt

from portal.errors import InvalidInput, WeakPassword

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5: refuses) anything longer
FIRST_SALT = "importedfirstpassword."  # 22 characters: the salt field of a first-password form
_TO_BCRYPT = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
)
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


def check_new(password: str, confirm: str, username: str) -> None:
    """A new password typed twice: InvalidInput if they differ, WeakPassword if it breaks policy."""
    if password != confirm:
        raise InvalidInput("The two passwords do not match.")
    check_policy(password, username)


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
    ok = bcrypt.checkpw(data, hashed.encode())
    first = first_password_matches(password, hashed)  # an imported account's first password
    return ok if first is None else first


@functools.cache
def dummy_hash(rounds: int) -> str:
    """A hash to check unknown usernames against, so they cost the same bcrypt time."""
    return bcrypt.hashpw(b"no-such-user-padding", bcrypt.gensalt(rounds)).decode()


def _digest31(password: str) -> str:
    """31 characters of bcrypt's alphabet from SHA-256 of the password (186 bits)."""
    text = base64.b64encode(hashlib.sha256(password.encode()).digest()).decode()
    return text.translate(_TO_BCRYPT)[:31]


def first_password_hash(password: str, rounds: int) -> str:
    """A stored form of a first password, with no bcrypt run: a well-formed bcrypt string.

    Salt FIRST_SALT marks it; the rest is a SHA-256 digest (enough for a ~99-bit random
    password, as for API keys and session tokens). bcrypt.checkpw still runs on it at the
    usual cost and never matches, so until sign-in knows the form (first_password_matches),
    such an account refuses every password exactly like a wrong one, in the same time.
    """
    return f"$2b${rounds:02d}${FIRST_SALT}{_digest31(password)}"


def is_first_password(hashed: str) -> bool:
    """Whether `hashed` is an imported account's first password, to be changed at sign-in."""
    return len(hashed) == 60 and hashed[7:29] == FIRST_SALT


def first_password_matches(password: str, hashed: str) -> bool | None:
    """None unless `hashed` is a first-password form; else whether `password` is that one."""
    if not is_first_password(hashed):
        return None
    return hmac.compare_digest(hashed[29:], _digest31(password))
