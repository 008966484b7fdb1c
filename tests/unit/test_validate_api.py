"""POST /api/validate and its API keys (issue 14 part 2), over real HTTP requests.

The code check is the sign-in page's own (second_factor): the replay guard, the throttle and the
single use of backup codes are shared between the page and the API, which these tests show by
mixing both.
"""

from __future__ import annotations

import statistics
import time

import pytest

from portal import events
from portal.access import accounts
from portal.errors import InvalidCode, InvalidInput, PermissionDenied, Throttled
from portal.gateway import apikeys, routes
from portal.models import Role
from portal.twofactor import second_factor, totp
from store import audit as audit_store
from tests.conftest import PASSWORD, add_user, enrol
from tests.unit.test_authz_http import gateway_app
from tests.unit.test_authz_http import shared as shared  # noqa: F401 - the fixture

with __import__("warnings").catch_warnings():
    __import__("warnings").simplefilter("ignore")
    from starlette.testclient import TestClient

PEER = "testclient"  # the TestClient's peer "address"


@pytest.fixture
def api(shared) -> TestClient:
    return TestClient(gateway_app(), base_url="http://auth.example.org")


@pytest.fixture
def key(shared) -> str:
    return apikeys.create(shared, None, "vpn", "", "test").secret


@pytest.fixture
def alice(shared, clock):
    who = add_user(shared, "alice")
    secret, codes, _ = enrol(shared, clock, who)
    return secret, codes


def ask(api, key, username="alice", code="000000", **kw):
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    headers.update(kw.pop("headers", {}))
    return api.post("/api/validate", json={"username": username, "code": code}, headers=headers)


def events_of(p, kind):
    with p.db.read() as cur:
        return [e for e in audit_store.list_events(cur, limit=1000) if e.event == kind]


def test_a_right_code_is_ok_and_a_wrong_one_is_not(shared, clock, api, key, alice):
    secret, _ = alice
    wrong = ask(api, key, code="123456")
    assert (wrong.status_code, wrong.json()) == (200, {"ok": False})
    right = ask(api, key, code=totp.code_at(secret, clock.now()))
    assert (right.status_code, right.json()) == (200, {"ok": True})
    [ok] = events_of(shared, events.API_CODE_OK)
    assert ok.subject == "alice" and ok.source == f"{PEER} api-key:vpn"
    [failed] = events_of(shared, events.CODE_FAILED)
    assert failed.source == f"{PEER} api-key:vpn" and "api key vpn" in (failed.detail or "")


def test_every_failure_reads_the_same(shared, clock, api, key, alice):
    add_user(shared, "bob")  # no 2FA at all
    answers = [
        ask(api, key, username="nobody"),
        ask(api, key, username="bob"),
        ask(api, key, code="not a code"),
        ask(api, key, code="1234567"),
    ]
    assert {(a.status_code, a.text) for a in answers} == {(200, '{"ok":false}')}


def test_a_code_used_at_the_api_is_refused_by_the_sign_in_page_and_back(
    shared, clock, api, key, alice
):
    secret, _ = alice
    code = totp.code_at(secret, clock.now())
    assert ask(api, key, code=code).json() == {"ok": True}
    result = accounts.sign_in_password(shared, "alice", PASSWORD, "10.9.9.9 Chrome")
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(
            shared, result.user.id, result.password_at, code, "10.9.9.9 Chrome"
        )
    clock.advance(seconds=30)
    code = totp.code_at(secret, clock.now())
    second_factor.verify_sign_in(
        shared, result.user.id, result.password_at, code, "10.9.9.9 Chrome"
    )
    assert ask(api, key, code=code).json() == {"ok": False}  # the page used that step


def test_a_backup_code_works_once_across_the_api_and_the_page(shared, clock, api, key, alice):
    _, codes = alice
    assert ask(api, key, code=codes[0]).json() == {"ok": True}
    assert ask(api, key, code=codes[0]).json() == {"ok": False}
    result = accounts.sign_in_password(shared, "alice", PASSWORD, "10.9.9.9 Chrome")
    with pytest.raises(InvalidCode):
        second_factor.verify_sign_in(shared, result.user.id, result.password_at, codes[0], "x")


def test_the_throttle_is_the_sign_in_pages(shared, clock, api, key, alice):
    secret, _ = alice
    for _ in range(shared.settings.lockout_after):
        assert ask(api, key, code="123456").json() == {"ok": False}
        clock.advance(seconds=120)  # past every back-off: only the lockout is left
    # Locked at this address: the right code fails at the API and at the page from here.
    assert ask(api, key, code=totp.code_at(secret, clock.now())).json() == {"ok": False}
    with pytest.raises(Throttled, match="locked"):  # the page's sign-in, same address
        accounts.sign_in_password(shared, "alice", PASSWORD, f"{PEER} Chrome")
    elsewhere = accounts.sign_in_password(shared, "alice", PASSWORD, "10.9.9.9 Chrome")
    assert elsewhere.user.username == "alice"  # one address's lock, as on the page
    assert events_of(shared, events.LOCKOUT)


def test_unknown_names_are_throttled_too(shared, clock, api, key):
    for _ in range(shared.settings.throttle_after):
        ask(api, key, username="ghost", code="123456")
    with shared.db.read() as cur:
        failures = cur.execute("SELECT max(failures) FROM throttle").fetchone()
    assert failures == (shared.settings.throttle_after,)
    assert all(e.subject is None for e in events_of(shared, events.CODE_FAILED))


def test_an_unknown_name_takes_as_long_as_a_known_one(shared, clock, api, key, alice):
    def median(username: str) -> float:
        took = []
        for _ in range(25):
            started = time.perf_counter()
            assert ask(api, key, username=username, code="123456").json() == {"ok": False}
            took.append(time.perf_counter() - started)
            clock.advance(seconds=600)  # keep clear of the back-off and lockout
        return statistics.median(took)

    median("alice"), median("ghost")  # warm up both paths
    known, unknown = median("alice"), median("ghost")
    assert 0.6 < unknown / known < 1.6, (known, unknown)


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"username": "alice"}', "application/json", 400),
        (b'{"username": 1, "code": "1"}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"username": "alice", "code": "1"}', "text/plain", 415),
        (b'{"username": "alice", "code": "1"}', "application/x-www-form-urlencoded", 415),
        (b'{"username": "' + b"a" * 5000 + b'", "code": "1"}', "application/json", 413),
    ],
)
def test_bad_requests_get_a_status_and_no_traceback(api, key, body, kind, status):
    headers = {"authorization": f"Bearer {key}", "content-type": kind}
    answer = api.post("/api/validate", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (status, {"ok": False})


def test_a_body_longer_than_it_claims_is_cut_off(api, key):
    def chunks():
        yield b'{"username": "alice", "code": "'
        for _ in range(10):
            yield b"1" * 1000
        yield b'"}'

    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    answer = api.post("/api/validate", content=chunks(), headers=headers)
    assert answer.status_code == 413


def test_a_browser_request_is_refused(api, key, alice):
    answer = ask(api, key, headers={"origin": "http://auth.example.org"})
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer p2fa_0000000000000000_" + "a" * 43, "Bearer x"],
)
def test_without_a_good_key_nothing_is_checked(shared, api, key, alice, authorization):
    answer = api.post(
        "/api/validate",
        json={"username": "alice", "code": "123456"},
        headers={"authorization": authorization},
    )
    assert (answer.status_code, answer.json()) == (401, {"ok": False})
    assert answer.headers["www-authenticate"] == "Bearer"
    assert events_of(shared, events.CODE_FAILED) == []


def test_a_revoked_key_is_refused(shared, clock, api, key, alice):
    secret, _ = alice
    apikeys.revoke(shared, None, "vpn", "test")
    answer = ask(api, key, code=totp.code_at(secret, clock.now()))
    assert answer.status_code == 401
    with pytest.raises(InvalidInput, match="no live key"):
        apikeys.revoke(shared, None, "vpn", "test")
    assert [e.detail for e in events_of(shared, events.API_KEY_REVOKED)] == ["vpn"]


def test_a_key_works_only_from_its_source_addresses(shared, clock, alice):
    secret, _ = alice
    limited = apikeys.create(shared, None, "pam", "10.0.0.0/8, 192.168.1.7", "test")
    assert apikeys.authenticate(shared, f"Bearer {limited.secret}", "10.20.30.40") is not None
    assert apikeys.authenticate(shared, f"Bearer {limited.secret}", "192.168.1.7") is not None
    assert apikeys.authenticate(shared, f"Bearer {limited.secret}", "192.168.1.8") is None
    assert apikeys.authenticate(shared, f"Bearer {limited.secret}", "testclient") is None
    with pytest.raises(InvalidInput, match="Not an IP address"):
        apikeys.create(shared, None, "bad", "10.0.0.0/8, intranet", "test")


def test_keys_are_stored_as_hashes_named_and_listed(shared, clock, api, key, alice):
    with shared.db.read() as cur:
        rows = cur.execute("SELECT * FROM api_keys").fetchall()
    assert key.startswith("p2fa_") and key.split("_", 2)[2] not in str(rows)
    ask(api, key)
    [listed] = apikeys.all_keys(shared, None)
    assert (listed.name, listed.created_by, listed.last_used_from) == ("vpn", "cli", PEER)
    assert listed.last_used_at == clock.now()
    with pytest.raises(InvalidInput, match="already a key named vpn"):
        apikeys.create(shared, None, "vpn", "", "test")
    with pytest.raises(InvalidInput, match="key name"):
        apikeys.create(shared, None, "", "", "test")
    [created] = events_of(shared, events.API_KEY_CREATED)
    assert created.actor == "cli" and "vpn" in (created.detail or "")


def test_only_a_security_manager_manages_keys(shared, clock):
    person = add_user(shared, "bob")
    with pytest.raises(PermissionDenied):
        apikeys.create(shared, person, "mine", "", "test")
    with pytest.raises(PermissionDenied):
        apikeys.all_keys(shared, person)
    boss = add_user(shared, "bea", Role.SECURITY_MANAGER)
    made = apikeys.create(shared, boss, "ssh", "", "test")
    assert apikeys.all_keys(shared, boss)[0].created_by == "bea" and made.name == "ssh"
    with pytest.raises(PermissionDenied):
        apikeys.revoke(shared, person, "ssh", "test")
    apikeys.revoke(shared, boss, "ssh", "test")
    assert routes.MAX_BODY == 4096
