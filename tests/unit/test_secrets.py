import os
import stat
from pathlib import Path

import pytest

from portal import crypto
from portal.context import open_portal
from portal.errors import EncryptionKeyError
from portal.settings import Settings
from portal.twofactor import backup_codes
from tests.conftest import add_user, enrol


def test_database_file_holds_no_secret_or_backup_code(settings, clock):
    p = open_portal(settings, clock)
    secret, codes, _ = enrol(p, clock, add_user(p, "alice"))
    p.db.close()
    raw = Path(settings.db_path).read_bytes()
    wal = Path(settings.db_path + ".wal")
    if wal.exists():
        raw += wal.read_bytes()
    import base64

    raw_secret = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert secret.encode() not in raw
    assert raw_secret not in raw
    for code in codes:
        assert code.encode() not in raw
        assert backup_codes.display(code).encode() not in raw


def test_key_file_is_created_0600_and_reused(tmp_path, clock):
    settings = Settings(db_path=str(tmp_path / "k.duckdb"), bcrypt_rounds=4)
    p = open_portal(settings, clock)
    p.db.close()
    mode = stat.S_IMODE(os.stat(settings.key_file).st_mode)
    assert mode == 0o600
    key = settings.key_file.read_text()
    open_portal(settings, clock).db.close()
    assert settings.key_file.read_text() == key


def test_missing_key_file_is_a_clear_error_not_a_new_key(tmp_path, clock):
    settings = Settings(db_path=str(tmp_path / "k.duckdb"), bcrypt_rounds=4)
    open_portal(settings, clock).db.close()
    settings.key_file.unlink()
    with pytest.raises(EncryptionKeyError, match="missing"):
        open_portal(settings, clock)
    assert not settings.key_file.exists()


def test_wrong_key_is_a_clear_error(settings, clock):
    open_portal(settings, clock).db.close()
    other = Settings(
        db_path=settings.db_path, secret_key=crypto.encode_key(crypto.new_key()), bcrypt_rounds=4
    )
    with pytest.raises(EncryptionKeyError, match="does not match"):
        open_portal(other, clock)


@pytest.mark.parametrize("bad", ["not base64 at all!!", "c2hvcnQ="])
def test_malformed_key_is_a_clear_error(tmp_path, clock, bad):
    settings = Settings(db_path=str(tmp_path / "k.duckdb"), secret_key=bad)
    with pytest.raises(EncryptionKeyError):
        open_portal(settings, clock)


def test_ciphertext_is_bound_to_its_context():
    cipher = crypto.Cipher(crypto.new_key())
    blob = cipher.encrypt(b"secret", "totp:1")
    assert cipher.decrypt(blob, "totp:1") == b"secret"
    with pytest.raises(EncryptionKeyError):
        cipher.decrypt(blob, "totp:2")
