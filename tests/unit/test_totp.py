import base64
import datetime as dt

import pytest

from portal.twofactor import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix", "expected"),
    [  # RFC 6238 appendix B, SHA1, last 6 of the 8 digits
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ],
)
def test_rfc6238_vectors(unix: int, expected: str) -> None:
    assert totp.code_at(RFC_SECRET, dt.datetime.fromtimestamp(unix, dt.UTC)) == expected


def test_new_secret_has_160_bits() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    assert secret != totp.new_secret()


def test_window_accepts_one_step_either_side_only() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 15, tzinfo=dt.UTC)
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.code_for_step(RFC_SECRET, step + offset)
        assert totp.match_step(RFC_SECRET, code, now, window=1) == step + offset
    for offset in (-2, 2):
        code = totp.code_for_step(RFC_SECRET, step + offset)
        assert totp.match_step(RFC_SECRET, code, now, window=1) is None


def test_window_edge_is_exact_at_step_boundary() -> None:
    boundary = dt.datetime.fromtimestamp(30 * 1000, dt.UTC)
    code = totp.code_for_step(RFC_SECRET, 998)
    assert totp.match_step(RFC_SECRET, code, boundary) is None
    assert totp.match_step(RFC_SECRET, code, boundary - dt.timedelta(microseconds=1)) == 998


def test_skew_is_found_with_sign() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    ahead = totp.code_at(RFC_SECRET, now + dt.timedelta(minutes=3))
    assert totp.skew_steps(RFC_SECRET, ahead, now, 10) == 6
    behind = totp.code_at(RFC_SECRET, now - dt.timedelta(minutes=2))
    assert totp.skew_steps(RFC_SECRET, behind, now, 10) == -4


def test_provisioning_uri_has_issuer_label_and_parameters() -> None:
    uri = totp.provisioning_uri("ABC", "alice", "Acme 2FA")
    assert uri.startswith("otpauth://totp/Acme%202FA:alice?")
    for part in ("secret=ABC", "issuer=Acme%202FA", "algorithm=SHA1", "digits=6", "period=30"):
        assert part in uri


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"])
def test_malformed_codes_never_match(bad: str) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert totp.match_step(RFC_SECRET, bad, now) is None
