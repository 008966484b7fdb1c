"""Every failure a person can meet is a PortalError; pages turn them into messages.

One root, unlike the anchors' mix of ValueError, False and per-view errors: one page helper
catches them all and shows the same words whichever factor failed."""

from __future__ import annotations

import datetime as dt


class PortalError(Exception):
    """Root of the portal's expected errors; str() is safe to show to a person."""

    message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class InvalidCredentials(PortalError):
    """Username or password wrong, or the account cannot sign in (never says which)."""

    message = "Incorrect username or password."


class InvalidCode(PortalError):
    """A second-factor code did not verify (never says which factor or why at sign-in)."""

    message = (
        "That code is not valid. Each code works once: if you just used it, wait for the next."
    )


class ClockSkew(InvalidCode):
    """The code would match if the phone's clock were right: tell the person by how much."""

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes
        direction = "ahead of" if minutes > 0 else "behind"
        super().__init__(
            "That code is not valid now, but it would be if your phone's clock were right: "
            f"it looks about {abs(round(minutes))} minute(s) {direction} this computer. "
            "Set the phone to use network time and try again."
        )


class CodeReused(InvalidCode):
    """The code's time step was already used; each code works once."""


class Throttled(PortalError):
    """Too many failed attempts; wait before trying again."""

    def __init__(
        self,
        seconds: float,
        locked: bool = False,
        until: dt.datetime | None = None,
        contact: str = "your security manager",
    ) -> None:
        self.seconds = max(1, int(seconds + 0.999))
        self.locked = locked
        if not locked:
            text = f"Too many failed attempts. Please wait {self.seconds} second(s) and try again."
            super().__init__(text)
            return
        minutes = (self.seconds + 59) // 60
        wait = "about 1 minute" if minutes == 1 else f"about {minutes} minutes"
        if until is None:
            when = f"for {wait}"
        elif minutes < 12 * 60:
            when = f"until {until.astimezone(dt.UTC):%H:%M} UTC (in {wait})"
        else:  # a lock that outlasts the day names the date too
            when = f"until {until.astimezone(dt.UTC):%d %B %H:%M} UTC"
        super().__init__(
            f"Too many failed attempts. Sign-in is locked {when}: try again then, or ask "
            f"{contact} to unlock it sooner."
        )


class PermissionDenied(PortalError):
    """The acting person lacks the role or the fresh second factor that the action needs."""

    message = "You are not allowed to do that."


class StepUpRequired(PermissionDenied):
    """The action needs a second factor given in the last few minutes."""

    message = "Please confirm it's you with a current authenticator code first."


class InvalidInput(PortalError):
    """A form value is empty, too long or malformed; the message says what to fix."""


class WeakPassword(InvalidInput):
    """A new password breaks the password policy; the message says which rule."""


class UsernameTaken(InvalidInput):
    """A new account's username already exists."""

    message = "That username is already taken."


class NotFound(PortalError):
    """The record asked for does not exist (any more)."""

    message = "That record no longer exists. Refresh the page."


class InvalidState(PortalError):
    """The action does not fit the current state (e.g. finishing a wizard never started)."""

    message = "This page is out of date. Start again from the menu."


class AlreadyFinished(InvalidState):
    """The set-up this page shows was finished already (in another tab, or by a double click)."""

    message = (
        "This set-up was already finished (in another tab or window): two-factor "
        "authentication is on. Nothing was changed."
    )


class SetupAlreadyDone(InvalidState):
    """The first-run page was used already."""

    message = "The first security-manager account already exists. Please sign in."


class StoreUnavailable(PortalError):
    """The database file cannot be opened or written (locked by another process, disk full...)."""


class ConstraintViolation(PortalError):
    """A write broke a schema rule (a duplicate key, a missing value); none of it was kept."""

    message = "That conflicts with a record that is already saved."


class EncryptionKeyError(PortalError):
    """The encryption key is missing, malformed or does not match the database."""


class SessionRefused(PortalError):
    """A ticket or session cookie that is unknown, used, expired, ended or from another browser."""

    message = "This sign-in link is no longer valid. Please sign in again."


class NotADemoDatabase(PortalError):
    """Demo mode was asked for on a database that `portal demo` did not create."""


class PolicySettingError(PortalError, ValueError):
    """The require_2fa or require_2fa_grace_days setting has a value the portal does not know."""


class TwoFactorRequired(PermissionDenied):
    """The policy requires 2FA and the person has not set it up (in time)."""

    message = (
        "Your organisation requires two-factor authentication. Set it up to continue: "
        "the other pages open once it is on."
    )
