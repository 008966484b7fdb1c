"""Names of audit-trail events (one place, so the manager's filters and the tests agree)."""

SIGN_IN_OK = "sign_in_ok"
SIGN_IN_FAILED = "sign_in_failed"
CODE_FAILED = "code_failed"
SIGN_OUT = "sign_out"
LOCKOUT = "lockout"
LOCKOUT_CLEARED = "lockout_cleared"
ACCOUNT_CREATED = "account_created"
ACCOUNT_DISABLED = "account_disabled"
ACCOUNT_ENABLED = "account_enabled"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
FIRST_PASSWORD_CHANGED = "first_password_changed"  # noqa: S105 - an imported account's own
WIZARD_STARTED = "wizard_started"
WIZARD_ABANDONED = "wizard_abandoned"
WIZARD_VERIFIED = "wizard_verified"
WIZARD_COMPLETED = "wizard_completed"
KEY_REPLACED = "key_replaced"
KEY_REVEALED = "key_revealed"
STEP_UP_OK = "step_up_ok"
CODES_VIEWED = "backup_codes_viewed"
CODES_REGENERATED = "backup_codes_regenerated"
CODE_USED = "backup_code_used"
RESET_GRANTED = "reset_granted"
RESET_USED = "reset_used"
DEACTIVATED = "two_factor_deactivated"
SESSION_ENDED = "session_ended"
DEMO_RESET = "demo_reset"
API_KEY_CREATED = "api_key_created"
API_KEY_REVOKED = "api_key_revoked"
API_CODE_OK = "api_code_ok"  # a code checked through POST /api/validate (source: the key)
AUTHZ_REFUSED = "authz_refused"  # a signed-in person refused by a forward-auth rule
NOTICE_DISPUTED = "notice_disputed"  # "No, it wasn't me" on the account page
USERS_IMPORTED = "users_imported"  # one CSV import (detail: how many accounts)
BACKUP_MADE = "backup_made"  # a scheduled backup written (detail: its file)
BACKUP_FAILED = "backup_failed"  # a scheduled backup that could not be written (detail: why)
DATABASE_RESTORED = "database_restored"  # `portal restore` (actor: the OS login)
AUDIT_PRUNED = "audit_pruned"  # one retention run (detail: how many old events it removed)
ROLE_CHANGED = "role_changed"  # `portal user role` (break-glass, from the shell)
NOTEBOOK_RUN = "notebook_run"  # a manager ran a notebook (or one cell): detail has the values
NOTEBOOK_EXPORTED = "notebook_exported"
NOTEBOOK_SAVED = "notebook_saved"
NOTEBOOK_COPIED = "notebook_copied"
NOTEBOOK_DELETED = "notebook_deleted"

ALL = sorted(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str))

# What the manager's audit trail shows; the raw names above stay in the data (and in Explore).
LABELS = {
    SIGN_IN_OK: "Signed in",
    SIGN_IN_FAILED: "Sign-in failed",
    CODE_FAILED: "Wrong code",
    SIGN_OUT: "Signed out",
    LOCKOUT: "Locked out",
    LOCKOUT_CLEARED: "Lockout cleared",
    ACCOUNT_CREATED: "Account created",
    ACCOUNT_DISABLED: "Account disabled",
    ACCOUNT_ENABLED: "Account enabled",
    PASSWORD_CHANGED: "Password changed",
    FIRST_PASSWORD_CHANGED: "First password replaced",
    WIZARD_STARTED: "Set-up started",
    WIZARD_ABANDONED: "Set-up abandoned",
    WIZARD_VERIFIED: "Set-up code verified",
    WIZARD_COMPLETED: "Set-up completed (2FA on)",
    KEY_REPLACED: "Moved to a new phone",
    KEY_REVEALED: "Key shown for another device",
    STEP_UP_OK: "Confirmed with a code",
    CODES_VIEWED: "Backup codes viewed",
    CODES_REGENERATED: "New backup codes",
    CODE_USED: "Backup code used",
    RESET_GRANTED: "2FA reset by a manager",
    RESET_USED: "Reset used at sign-in",
    DEACTIVATED: "2FA turned off",
    SESSION_ENDED: "Sessions ended",
    DEMO_RESET: "Demo reset",
    NOTICE_DISPUTED: 'Reported "not me"',
    API_KEY_CREATED: "API key created",
    API_KEY_REVOKED: "API key revoked",
    API_CODE_OK: "Code checked by an app (API)",
    AUTHZ_REFUSED: "Refused by an access rule",
    USERS_IMPORTED: "Accounts imported",
    BACKUP_MADE: "Backup written",
    BACKUP_FAILED: "Backup failed",
    DATABASE_RESTORED: "Database restored",
    AUDIT_PRUNED: "Old audit events removed",
    ROLE_CHANGED: "Role changed",
    NOTEBOOK_RUN: "Notebook run",
    NOTEBOOK_EXPORTED: "Notebook exported",
    NOTEBOOK_SAVED: "Notebook saved",
    NOTEBOOK_COPIED: "Notebook copied",
    NOTEBOOK_DELETED: "Notebook deleted",
}


def label(name: str) -> str:
    """The readable name of an event; an unknown (older or newer) name is shown as it is."""
    return LABELS.get(name, name)
