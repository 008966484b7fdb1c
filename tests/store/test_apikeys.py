"""API keys and forward-auth denial counters in SQL, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.errors import ConstraintViolation
from store import apikeys as apikey_store
from tests.conftest import START

LATER = START + dt.timedelta(minutes=5)


def test_a_key_is_stored_listed_used_and_revoked_once(db):
    with db.write() as cur:
        apikey_store.insert_key(cur, "00aa", "vpn", "hash-1", "10.0.0.0/8", START, "boss")
    with db.write() as cur:
        apikey_store.update_last_used(cur, "00aa", LATER, "10.1.2.3")
    with db.read() as cur:
        key = apikey_store.get_key(cur, "00aa")
        assert apikey_store.get_key_by_name(cur, "vpn") == key
        assert apikey_store.get_key(cur, "nope") is None
    assert key is not None
    assert (key.name, key.secret_hash, key.sources, key.created_by) == (
        "vpn",
        "hash-1",
        "10.0.0.0/8",
        "boss",
    )
    assert key.last_used_at == LATER and key.last_used_from == "10.1.2.3"
    assert "hash-1" not in repr(key)
    with db.write() as cur:
        assert apikey_store.update_revoked(cur, "vpn", LATER, "boss") is True
        assert apikey_store.update_revoked(cur, "vpn", LATER, "boss") is False
    with db.read() as cur:
        [listed] = apikey_store.list_keys(cur)
    assert listed.revoked_at == LATER and listed.revoked_by == "boss"


def test_key_names_are_unique(db):
    with db.write() as cur:
        apikey_store.insert_key(cur, "00aa", "vpn", "h", "", START, "boss")
    with pytest.raises(ConstraintViolation), db.write() as cur:
        apikey_store.insert_key(cur, "00bb", "vpn", "h", "", START, "boss")
    with db.read() as cur:
        assert [k.id for k in apikey_store.list_keys(cur)] == ["00aa"]


def test_denials_are_counted_per_day_host_and_reason(db):
    for at, host, reason in [
        (START, "app", "no session"),
        (LATER, "app", "no session"),
        (LATER, "app", "managers only"),
        (START + dt.timedelta(days=1), "app", "no session"),
    ]:
        with db.write() as cur:
            apikey_store.upsert_denial(cur, at, host, reason)
    with db.read() as cur:
        rows = apikey_store.list_denials(cur, START.date())
        later = apikey_store.list_denials(cur, (START + dt.timedelta(days=1)).date())
    counts = {(r.day, r.reason): r.count for r in rows}
    assert counts == {
        (START.date(), "no session"): 2,
        (START.date(), "managers only"): 1,
        ((START + dt.timedelta(days=1)).date(), "no session"): 1,
    }
    assert [r.count for r in later] == [1]
    assert max(r.last_at for r in rows if r.day == START.date()) == LATER
