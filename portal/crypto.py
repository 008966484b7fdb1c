"""AES-GCM encryption of secrets at rest, with a key kept outside the database."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.errors import EncryptionKeyError

KEY_BYTES = 32
NONCE_BYTES = 12
_CHECK_PLAINTEXT = b"portal-key-check-v1"


class Cipher:
    """Encrypts small values; the associated data binds a ciphertext to its row and purpose."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise EncryptionKeyError(f"The encryption key must be {KEY_BYTES} bytes.")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise EncryptionKeyError(
                "A stored secret could not be decrypted: the encryption key does not match."
            ) from exc

    def key_check(self) -> bytes:
        return self.encrypt(_CHECK_PLAINTEXT, "key-check")

    def matches(self, check: bytes) -> bool:
        try:
            return self.decrypt(check, "key-check") == _CHECK_PLAINTEXT
        except EncryptionKeyError:
            return False


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise EncryptionKeyError("The encryption key is not valid base64.") from exc
    if len(key) != KEY_BYTES:
        raise EncryptionKeyError(
            f"The encryption key must decode to {KEY_BYTES} bytes, not {len(key)}."
        )
    return key


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def read_key_file(path: Path) -> bytes:
    """The key from a file put there for the portal (secret_key_file): never created here."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise EncryptionKeyError(
            f"The key file {path} (secret_key_file) does not exist. Create it once, e.g. "
            f"`openssl rand -base64 32 > {path}`, and give every server the same file."
        ) from None
    except OSError as exc:
        raise EncryptionKeyError(
            f"The key file {path} (secret_key_file) cannot be read: {exc.strerror}."
        ) from None
    return decode_key(text)


def load_or_create_key(key_text: str | None, key_file: Path, may_create: bool) -> bytes:
    """The key from the setting, else the key file; create the file (0600) only when allowed."""
    if key_text:
        return decode_key(key_text)
    if key_file.is_file():
        return decode_key(key_file.read_text())
    if not may_create:
        raise EncryptionKeyError(
            f"The encryption key file {key_file} is missing and the database already holds "
            "encrypted secrets. Restore the key file or set PORTAL_SECRET_KEY."
        )
    key = new_key()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(encode_key(key) + "\n")
    return key
