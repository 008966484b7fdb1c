"""The setup wizard's services: pending key -> verified -> backup codes -> active."""

from __future__ import annotations

import dataclasses
import datetime as dt

from portal import events
from portal.access.accounts import identity_for
from portal.context import Portal
from portal.errors import (
    AlreadyFinished,
    ClockSkew,
    CodeReused,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    InvalidState,
    StepUpRequired,
)
from portal.models import Factor, FactorStatus, Identity, User
from portal.twofactor import backup_codes, totp
from portal.twofactor.second_factor import is_fresh, secret_of
from store import Cursor
from store import account_view as view_store
from store import audit as audit_store
from store import factors as factor_store
from store import users as user_store
from store.account_view import AccountView


@dataclasses.dataclass(frozen=True)
class KeyView:
    """What the QR page shows: the key, its otpauth URI and the key grouped for typing."""

    secret: str = dataclasses.field(repr=False)
    uri: str = dataclasses.field(repr=False)
    factor_id: int = 0  # the key this view shows: the wizard's later steps act on it alone

    @property
    def grouped(self) -> str:
        return totp.group_key(self.secret)


@dataclasses.dataclass(frozen=True)
class EnrolmentState:
    enabled: bool
    enabled_at: dt.datetime | None
    pending: bool
    pending_verified: bool
    pending_started_at: dt.datetime | None
    codes_issued: bool


def state(p: Portal, identity: Identity, view: AccountView | None = None) -> EnrolmentState:
    """Where the person's set-up stands: from `view` (read once for this run) or the database."""
    if view is None or view.user_id != identity.user_id:
        with p.db.read() as cur:
            view = view_store.get_account_view(cur, identity.user_id)
    if view is None:  # the account is gone: nothing is on, nothing is pending
        return EnrolmentState(False, None, False, False, None, False)
    return EnrolmentState(
        enabled=view.enabled,
        enabled_at=view.enabled_at,
        pending=view.pending,
        pending_verified=view.pending_verified,
        pending_started_at=view.pending_started_at,
        codes_issued=view.pending_codes,
    )


def key_view(p: Portal, identity: Identity, factor: Factor) -> KeyView:
    secret = secret_of(p, factor)
    uri = totp.provisioning_uri(secret, identity.username, p.settings.issuer)
    return KeyView(secret, uri, factor.id)


def start(p: Portal, identity: Identity, source: str) -> KeyView:
    """A new pending key (replacing any earlier pending one); 2FA stays as it was until finish."""
    _require_recent_auth(p, identity)
    secret = totp.new_secret()
    now = p.now()
    blob = p.cipher.encrypt(secret.encode(), f"totp:{identity.user_id}")

    def begin(cur: Cursor) -> int:
        _lock_enabled(cur, identity)
        factor_store.delete_factors(cur, identity.user_id, FactorStatus.PENDING)
        factor_id = factor_store.insert_factor(cur, identity.user_id, blob, now)
        active = factor_store.get_factor(cur, identity.user_id, FactorStatus.ACTIVE)
        detail = "replacing the current key" if active else "new key"
        audit_store.insert_event(
            cur, now, events.WIZARD_STARTED, identity.username, identity.username, source, detail
        )
        return factor_id

    factor_id = p.db.transact(begin)
    uri = totp.provisioning_uri(secret, identity.username, p.settings.issuer)
    return KeyView(secret, uri, factor_id)


def resume(p: Portal, identity: Identity, factor_id: int | None = None) -> KeyView:
    """The pending key again (after closing the wizard early, or on the next step)."""
    with p.db.read() as cur:
        factor = _pending_in(cur, identity, factor_id)
    return key_view(p, identity, factor)


def report_abandoned(p: Portal, identity: Identity, source: str) -> None:
    st = state(p, identity)
    if st.pending:
        with p.db.write() as cur:
            audit_store.insert_event(
                cur,
                p.now(),
                events.WIZARD_ABANDONED,
                identity.username,
                identity.username,
                source,
                f"set-up started {st.pending_started_at:%Y-%m-%d %H:%M} UTC not finished",
            )


def verify(
    p: Portal, identity: Identity, code: str, source: str, factor_id: int | None = None
) -> None:
    """Check a code against the pending key; a near miss explains the phone's clock."""
    cleaned = totp.normalise(code[:64])
    if not totp.is_code(cleaned):
        raise InvalidInput(f"Enter the {totp.DIGITS}-digit code shown in your authenticator app.")
    now = p.now()

    def check(cur: Cursor) -> None:
        _lock_enabled(cur, identity)
        factor = _pending_in(cur, identity, factor_id)
        secret = secret_of(p, factor)
        step = totp.match_step(secret, cleaned, now, p.settings.totp_window)
        if step is None:
            off = totp.skew_steps(secret, cleaned, now, p.settings.skew_hint_steps)
            if off is not None:
                raise ClockSkew(off * totp.PERIOD / 60)
            raise InvalidCode(
                "That code does not match. Check that you scanned the code shown here and "
                "type the code your app shows now."
            )
        if not factor_store.update_factor_verified(cur, factor.id, step, now):
            if factor.verified_at is not None and factor.last_step == step:
                return  # the same code again (double click, second tab): already verified
            raise CodeReused("That code was used already. Wait for the next code in your app.")
        audit_store.insert_event(
            cur, now, events.WIZARD_VERIFIED, identity.username, identity.username, source
        )

    p.db.transact(check)


def issue_codes(p: Portal, identity: Identity, factor_id: int | None = None) -> list[str]:
    """Backup codes for the verified pending key (the same ones again on a rerun or other tab)."""

    def issue(cur: Cursor) -> list[str]:
        _lock_enabled(cur, identity)
        factor = _pending_in(cur, identity, factor_id)
        if factor.verified_at is None:
            raise InvalidState("Verify a code from your app first.")
        existing = factor_store.list_backup_codes(cur, factor.id)
        if existing:
            return [backup_codes.decrypt(p, identity.user_id, c.code_enc) for c in existing]
        return backup_codes.issue(p, cur, identity.user_id, factor.id)

    return p.db.transact(issue)


def finish(p: Portal, identity: Identity, source: str, factor_id: int | None = None) -> Identity:
    """Turn the verified key on (replacing an old key and its codes) in one transaction.

    Everything is re-read under the person's row lock, and the key turns on by a conditional
    UPDATE: a second Finish (another tab, a double click) changes nothing and says so.
    """
    now = p.now()

    def turn_on(cur: Cursor) -> User:
        user = _lock_enabled(cur, identity)
        factor = _pending_in(cur, identity, factor_id)
        if factor.verified_at is None or not factor_store.list_backup_codes(cur, factor.id):
            raise InvalidState("Verify a code and save your backup codes first.")
        if not factor_store.update_factor_active(cur, factor.id, now):
            raise AlreadyFinished()
        replaced = factor_store.delete_factors_except(cur, identity.user_id, None, factor.id)
        user_store.update_reset_grant(cur, identity.user_id, None, None, None)
        event = events.KEY_REPLACED if replaced else events.WIZARD_COMPLETED
        audit_store.insert_event(
            cur, now, event, identity.username, identity.username, source, "2FA enabled"
        )
        return user

    user = p.db.transact(turn_on)
    refreshed = identity_for(user, identity.signed_in_at, now)
    return dataclasses.replace(refreshed, password_at=identity.password_at)


def _lock_enabled(cur: Cursor, identity: Identity) -> User:
    """Lock the person's row; a disabled or deleted account can change nothing."""
    user = user_store.lock_user(cur, identity.user_id)
    if user is None or user.disabled:
        raise InvalidCredentials("Your account is disabled. Ask your security manager.")
    return user


def _pending_in(cur: Cursor, identity: Identity, factor_id: int | None) -> Factor:
    """The pending key (the one this wizard works on, if it names one), read in `cur`."""
    factor = factor_store.get_factor(cur, identity.user_id, FactorStatus.PENDING)
    if factor is not None and factor_id in (None, factor.id):
        return factor
    if factor_id is not None:
        done = factor_store.get_factor_by_id(cur, factor_id)
        if done is not None and done.user_id == identity.user_id and done.activated_at:
            raise AlreadyFinished()
        if factor is not None:
            raise InvalidState(
                "This set-up was started again in another tab or window: continue there, "
                "or close this one and start again from the menu."
            )
    raise InvalidState("This set-up is no longer in progress. Start again from the menu.")


def _require_recent_auth(p: Portal, identity: Identity) -> None:
    with p.db.read() as cur:
        active = factor_store.get_factor(cur, identity.user_id, FactorStatus.ACTIVE)
    if active is not None:
        if not is_fresh(p, identity):
            raise StepUpRequired()
        return
    window = dt.timedelta(minutes=p.settings.step_up_minutes)
    if identity.password_at is None or p.now() - identity.password_at > window:
        raise StepUpRequired("Please enter your password again to start the set-up.")
