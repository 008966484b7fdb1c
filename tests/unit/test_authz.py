"""Forward-auth decisions (issue 14 part 1): the rules file, target URLs and who may pass."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import events
from portal.access import accounts, sessions
from portal.gateway import authz
from portal.gateway.rules import (
    Rule,
    Rules,
    clean_path,
    load_rules,
    parse_target,
    target_from_headers,
)
from portal.models import Role
from portal.settings import Settings
from portal.twofactor import second_factor, totp
from store import audit as audit_store
from tests.conftest import PASSWORD, add_user, enrol

BROWSER, AGENT = "browser-1", "Mozilla/5.0 Chrome/156"
HOSTS = "app.example.org, wiki.example.org"
RULES = """
[[rule]]
host = "app.example.org"
path = "/admin"
allow = "managers"

[[rule]]
host = "app.example.org"
path = "/"
allow = "two_factor"

[[rule]]
host = "wiki.example.org"
path = "/payroll"
fresh_minutes = 5
"""


@pytest.fixture
def rules(tmp_path) -> Rules:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return load_rules(HOSTS, str(path))


def at(url: str):
    target = parse_target(url)
    assert target is not None, url
    return target


# --- rules and targets ---------------------------------------------------------------------


def test_the_longest_path_prefix_of_the_host_wins(rules):
    assert rules.rule_for(at("https://app.example.org/admin/users")).allow == "managers"
    assert rules.rule_for(at("https://app.example.org/admin")).allow == "managers"
    assert rules.rule_for(at("https://app.example.org/administrator")).allow == "two_factor"
    assert rules.rule_for(at("https://app.example.org/")).allow == "two_factor"
    # A host of the allow-list without a rule: any signed-in person.
    assert rules.rule_for(at("https://wiki.example.org/home")) == Rule("wiki.example.org")


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.org/open/../admin/x",
        "https://app.example.org/%61dmin",
        "https://app.example.org//admin",
        "https://app.example.org/open/%2e%2e/admin",
        "https://app.example.org/./admin?x=1",
    ],
)
def test_paths_are_compared_as_the_app_will_route_them(rules, url):
    assert rules.rule_for(at(url)).allow == "managers"


def test_hosts_off_the_allow_list_have_no_rule(rules):
    for url in ["https://evil.example/", "https://app.example.org.evil.example/"]:
        assert rules.rule_for(at(url)) is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "//app.example.org/",
        "https://user@app.example.org/",
        "https://app.example.org/\r\nSet-Cookie: x=1",
        "https://app.example.org:99999/",
        "ftp://app.example.org/",
        "",
    ],
)
def test_only_plain_http_urls_are_targets(url):
    assert parse_target(url) is None


def test_targets_come_from_x_original_url_or_the_forwarded_headers():
    nginx = target_from_headers({"x-original-url": "https://App.Example.org:8443/a/b?c=d"})
    assert nginx is not None and (nginx.host, nginx.path) == ("app.example.org", "/a/b")
    traefik = target_from_headers(
        {
            "x-forwarded-proto": "https",
            "x-forwarded-host": "wiki.example.org",
            "x-forwarded-uri": "/p",
        }
    )
    assert traefik is not None and traefik.url == "https://wiki.example.org/p"
    assert target_from_headers({"x-forwarded-host": "wiki.example.org"}) is None
    assert clean_path("/a/b/") == "/a/b" and clean_path("") == "/"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('[[rule]]\nhost = "other.example.org"\n', "not in authz_hosts"),
        ('[[rule]]\nhost = "app.example.org"\nallow = "everyone"\n', "allow must be one of"),
        ('[[rule]]\nhost = "app.example.org"\npath = "admin"\n', "clean absolute path"),
        ('[[rule]]\nhost = "app.example.org"\nfresh_minutes = -1\n', "fresh_minutes"),
        ('[[rule]]\nhost = "app.example.org"\nwho = "x"\n', "unknown rule keys: who"),
        ("[rule\n", "authz_rules_file"),
        ('hosts = ["x"]\n', r"only \[\[rule\]\] tables"),
    ],
)
def test_a_malformed_rules_file_is_refused_with_the_reason(tmp_path, text, why):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=why):
        load_rules(HOSTS, str(path))


def test_the_allow_list_takes_host_names_only():
    with pytest.raises(ValueError, match="not a host name"):
        load_rules("https://app.example.org", "")
    assert load_rules(" A.example.org ,b.example.org", "").hosts == {
        "a.example.org",
        "b.example.org",
    }


# --- decisions ------------------------------------------------------------------------------


def session_for(p, who) -> str:
    ticket = sessions.issue_ticket(p, who, BROWSER, "test")
    return sessions.redeem_ticket(p, ticket.ticket, BROWSER, AGENT)


def with_code(p, clock, name: str, role: Role = Role.USER):
    """An enrolled person signed in with password and code; returns (identity, token)."""
    who = add_user(p, name, role, display=name.title())
    secret, _, _ = enrol(p, clock, who)
    clock.advance(seconds=30)
    result = accounts.sign_in_password(p, name, PASSWORD, "test")
    code = totp.code_at(secret, clock.now())
    verified = second_factor.verify_sign_in(p, result.user.id, result.password_at, code, "test")
    return verified.identity, session_for(p, verified.identity)


def decide(p, rules, url, token):
    return authz.decide(p, rules, at(url), token, BROWSER, AGENT)


def test_no_or_unknown_cookie_is_401(p, rules):
    assert decide(p, rules, "https://wiki.example.org/", "").status == 401
    assert decide(p, rules, "https://wiki.example.org/", "forged-token").status == 401


def test_a_complete_sign_in_passes_with_who_it_is(p, clock, rules):
    who, token = with_code(p, clock, "alice")
    decision = decide(p, rules, "https://app.example.org/page", token)
    assert decision.status == 200 and decision.identity is not None
    assert decision.identity.username == "alice" and decision.identity.display_name == "Alice"


def test_password_alone_passes_only_where_the_rule_and_policy_allow(p, rules):
    who = add_user(p, "bob")
    token = session_for(p, who)
    assert decide(p, rules, "https://wiki.example.org/", token).status == 200
    refused = decide(p, rules, "https://app.example.org/", token)
    assert (refused.status, refused.reason) == (403, authz.NEEDS_TWO_FACTOR)
    assert "two-factor" in refused.message


def test_the_2fa_policy_refuses_a_person_whose_grace_is_over(p, clock, rules):
    who = add_user(p, "bob")
    token = session_for(p, who)
    strict = dataclass_replace(p, require_2fa="all", require_2fa_grace_days=0)
    refused = decide(strict, rules, "https://wiki.example.org/", token)
    assert (refused.status, refused.reason) == (403, authz.POLICY)


def dataclass_replace(p, **changes):
    import dataclasses

    settings: Settings = dataclasses.replace(p.settings, **changes)
    return dataclasses.replace(p, settings=settings)


def test_managers_only_refuses_people_and_lets_managers_pass(p, clock, rules):
    _, user_token = with_code(p, clock, "alice")
    _, boss_token = with_code(p, clock, "bea", Role.SECURITY_MANAGER)
    refused = decide(p, rules, "https://app.example.org/admin/x", user_token)
    assert (refused.status, refused.reason) == (403, authz.MANAGERS_ONLY)
    assert decide(p, rules, "https://app.example.org/admin/x", boss_token).status == 200


def test_step_up_needs_a_code_within_the_rules_minutes(p, clock, rules):
    _, token = with_code(p, clock, "alice")
    clock.advance(minutes=4, seconds=59)
    assert decide(p, rules, "https://wiki.example.org/payroll/may", token).status == 200
    clock.advance(seconds=2)
    late = decide(p, rules, "https://wiki.example.org/payroll/may", token)
    assert (late.status, late.reason) == (403, authz.NOT_FRESH)
    assert "last 5 minute(s)" in late.message
    assert decide(p, rules, "https://wiki.example.org/other", token).status == 200


def test_ended_expired_disabled_or_moved_sessions_are_401(p, clock, rules):
    who, token = with_code(p, clock, "alice")
    url = "https://wiki.example.org/"
    assert authz.decide(p, rules, at(url), token, "other-browser", AGENT).status == 401
    assert decide(p, rules, url, token).status == 401  # the misused session was ended
    who, token = with_code(p, clock, "carol")
    sessions.end_all(p, who, "signed out everywhere", None, "test")
    assert decide(p, rules, url, token).status == 401
    _, token = with_code(p, clock, "dave")
    clock.advance(minutes=p.settings.session_idle_minutes + 1)
    assert decide(p, rules, url, token).status == 401


def test_a_missing_browser_cookie_is_401_and_leaves_the_session_alone(p, clock, rules):
    # e.g. a browser cookie from before session_cookie_domain, on the portal's host only
    _, token = with_code(p, clock, "alice")
    url = "https://wiki.example.org/"
    assert authz.decide(p, rules, at(url), token, "", AGENT).status == 401
    assert decide(p, rules, url, token).status == 200


def test_an_unknown_app_is_refused_even_when_signed_in(p, clock, rules):
    _, token = with_code(p, clock, "alice")
    decision = decide(p, rules, "https://evil.example/", token)
    assert (decision.status, decision.reason) == (403, authz.UNKNOWN_APP)
    assert authz.decide(p, rules, None, token, BROWSER, AGENT).status == 403


def test_denials_are_counted_and_rule_refusals_audited_once_a_minute(p, clock, rules):
    who = add_user(p, "bob")
    token = session_for(p, who)
    for url in ["https://app.example.org/", "https://app.example.org/x", "https://evil.example/"]:
        target = at(url)
        authz.record_denial(p, rules, target, authz.decide(p, rules, target, token, BROWSER, AGENT))
    target = at("https://app.example.org/")
    authz.record_denial(p, rules, target, authz.decide(p, rules, target, "", BROWSER, AGENT))
    counts = {(d.host, d.reason): d.count for d in authz.denials(p)}
    assert counts == {
        ("app.example.org", authz.NEEDS_TWO_FACTOR): 2,
        (authz.OTHER_HOST, authz.UNKNOWN_APP): 1,
        ("app.example.org", authz.NO_SESSION): 1,
    }
    with p.db.read() as cur:
        refused = [
            e for e in audit_store.list_events(cur, "bob") if e.event == events.AUTHZ_REFUSED
        ]
    assert len(refused) == 1  # once within the minute (an unknown host is refused unread)
    clock.advance(minutes=1, seconds=1)
    target = at("https://app.example.org/")
    authz.record_denial(p, rules, target, authz.decide(p, rules, target, token, BROWSER, AGENT))
    with p.db.read() as cur:
        later = [e for e in audit_store.list_events(cur, "bob") if e.event == events.AUTHZ_REFUSED]
    assert len(later) == 2 and later[0].detail == f"{authz.NEEDS_TWO_FACTOR}: app.example.org/"


def test_an_allowed_request_writes_nothing(p, clock, rules):
    _, token = with_code(p, clock, "alice")
    with p.db.read() as cur:
        before = audit_store.latest_id(cur)
    for _ in range(3):
        assert decide(p, rules, "https://wiki.example.org/", token).allowed
    with p.db.read() as cur:
        assert audit_store.latest_id(cur) == before
    assert authz.denials(p) == []
    _ = dt  # the module's clock maths is in the clock fixture
