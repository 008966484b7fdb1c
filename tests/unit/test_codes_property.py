"""Property-based checks of code normalisation and verification."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.twofactor import backup_codes, totp

SECRET = totp.new_secret()


@given(st.lists(st.sampled_from(backup_codes.ALPHABET), min_size=12, max_size=12))
def test_any_backup_code_survives_display_case_and_spacing(chars):
    code = "".join(chars)
    shown = backup_codes.display(code)
    for typed in (shown, shown.upper(), shown.replace("-", " "), f"  {code} "):
        assert backup_codes.normalise(typed) == code
        assert backup_codes.looks_like_backup_code(typed)


@given(st.text(max_size=40))
def test_normalise_never_raises_and_only_removes_separators(text):
    out = backup_codes.normalise(text)
    assert not set(out) & set(" -\t")
    assert len(out) <= len(text)


@settings(max_examples=200)
@given(
    st.integers(min_value=1_600_000_000, max_value=4_000_000_000), st.sampled_from([" ", "-", ""])
)
def test_current_code_with_any_separator_matches_its_step(unix, sep):
    now = dt.datetime.fromtimestamp(unix, dt.UTC)
    code = totp.code_at(SECRET, now)
    typed = totp.normalise(code[:3] + sep + code[3:])
    assert totp.match_step(SECRET, typed, now) == totp.step_at(now)


@given(st.text(max_size=20))
def test_arbitrary_text_never_matches_unless_it_is_the_code(text):
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    hit = totp.match_step(SECRET, text, now)
    assert hit is None or totp.code_for_step(SECRET, hit) == text
