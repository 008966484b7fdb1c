"""The three notebooks that ship with the portal, in their stored (JSON) form.

They are seeded into the database on first use (portal.manager.notebooks) and cannot be edited or
deleted there, only copied. Event names come from portal.events, never from a request.
"""

from __future__ import annotations

from typing import Any

from portal import events

_RANGE = [
    {"name": "start", "kind": "date", "label": "From", "default": "-30d"},
    {"name": "end", "kind": "date", "label": "To", "default": "today"},
]
_IN_RANGE = "CAST(occurred_at AS DATE) BETWEEN :start AND :end"


def _md(text: str) -> dict[str, Any]:
    return {"kind": "markdown", "source": text}


def _sql(text: str, chart: dict[str, str] | None = None) -> dict[str, Any]:
    return {"kind": "sql", "source": text, "chart": chart}


_COVERAGE_WHY = (
    "## Why this matters\n"
    "An account without a second factor falls to one stolen password. Coverage "
    "shows how far the roll-out has come; the second table lists the people whose "
    "**grace period is over** and who still have not finished the set-up: they can "
    "only open the set-up wizard until they do. (The grace period counts from the "
    "account's creation here; the portal also waits for the day the policy was "
    "switched on, so a few older accounts may show early.)"
)


def _coverage_params(grace_days: int) -> list[dict[str, Any]]:
    return [
        *_RANGE,
        {
            "name": "grace_days",
            "kind": "int",
            "label": "Grace period (days)",
            "default": str(grace_days),
        },
        {
            "name": "role",
            "kind": "choice",
            "label": "Role",
            "choices": ["any", "user", "security_manager"],
        },
    ]


def _coverage(grace_days: int) -> dict[str, Any]:
    return {
        "name": "Enrolment coverage and grace period",
        "description": "Who uses 2FA, who is still pending, and who is past the grace period.",
        "params": _coverage_params(grace_days),
        "cells": [
            _md(_COVERAGE_WHY),
            _sql(
                "SELECT role, status, count(*) AS accounts\n"
                "FROM user_status\n"
                "WHERE NOT disabled AND (:role = 'any' OR role = :role)\n"
                "GROUP BY role, status ORDER BY role, status",
                {"kind": "bar", "x": "status", "y": "accounts", "color": "role"},
            ),
            _sql(
                "SELECT username, display_name, role, status, created_at,\n"
                "       created_at + :grace_days * INTERVAL 1 DAY AS grace_ended\n"
                "FROM user_status\n"
                "WHERE status <> 'enabled' AND NOT disabled\n"
                "  AND (:role = 'any' OR role = :role)\n"
                "  AND created_at + :grace_days * INTERVAL 1 DAY <= portal_now()\n"
                "ORDER BY created_at"
            ),
            _md("Set-ups finished per day in the chosen period:"),
            _sql(
                "SELECT CAST(occurred_at AS DATE) AS day, count(*) AS completed\n"
                "FROM audit\n"
                f"WHERE event = '{events.WIZARD_COMPLETED}' AND {_IN_RANGE}\n"
                "GROUP BY day ORDER BY day",
                {"kind": "line", "x": "day", "y": "completed"},
            ),
        ],
    }


_FAILURES = {
    "name": "Sign-in failures and lockouts",
    "description": "Wrong passwords and codes per day, the accounts most tried, and lockouts.",
    "params": [
        *_RANGE,
        {"name": "person", "kind": "text", "label": "Only this username (empty: everyone)"},
    ],
    "cells": [
        _md(
            "## Why this matters\n"
            "A burst of wrong passwords is someone guessing; wrong codes after a right password "
            "mean the password is already known. Lockouts show where the throttle stepped in. "
            "Look for one account tried from many places, or many accounts from one place."
        ),
        _sql(
            "SELECT CAST(occurred_at AS DATE) AS day,\n"
            f"       count(*) FILTER (WHERE event = '{events.SIGN_IN_FAILED}') AS wrong_password,\n"
            f"       count(*) FILTER (WHERE event = '{events.CODE_FAILED}') AS wrong_code,\n"
            f"       count(*) FILTER (WHERE event = '{events.LOCKOUT}') AS lockouts\n"
            "FROM audit\n"
            f"WHERE event IN ('{events.SIGN_IN_FAILED}', '{events.CODE_FAILED}', "
            f"'{events.LOCKOUT}')\n"
            f"  AND {_IN_RANGE} AND (:person = '' OR subject = lower(:person))\n"
            "GROUP BY day ORDER BY day",
            {"kind": "bar", "x": "day", "y": "wrong_password"},
        ),
        _sql(
            "SELECT subject AS username, count(*) AS failures,\n"
            "       count(DISTINCT source) AS sources, max(occurred_at) AS last_failure\n"
            "FROM audit\n"
            f"WHERE event IN ('{events.SIGN_IN_FAILED}', '{events.CODE_FAILED}')\n"
            f"  AND {_IN_RANGE} AND (:person = '' OR subject = lower(:person))\n"
            "GROUP BY subject ORDER BY failures DESC, username LIMIT 50"
        ),
        _sql(
            "SELECT occurred_at, subject AS username, source, detail\n"
            "FROM audit\n"
            f"WHERE event = '{events.LOCKOUT}' AND {_IN_RANGE}\n"
            "  AND (:person = '' OR subject = lower(:person))\n"
            "ORDER BY occurred_at DESC"
        ),
    ],
}

_RESETS = {
    "name": "Resets, deactivations and who did them",
    "description": "Every 2FA reset and deactivation in the period, by the manager who did it.",
    "params": list(_RANGE),
    "cells": [
        _md(
            "## Why this matters\n"
            "A reset or a deactivation removes a person's second factor: it is the step an "
            "attacker who talked a help desk round would need. Each one should have a reason "
            "and a manager you can ask; a manager with many of them deserves a second look."
        ),
        _sql(
            "SELECT actor AS manager,\n"
            f"       count(*) FILTER (WHERE event = '{events.RESET_GRANTED}') AS resets,\n"
            f"       count(*) FILTER (WHERE event = '{events.DEACTIVATED}') AS deactivations\n"
            "FROM audit\n"
            f"WHERE event IN ('{events.RESET_GRANTED}', '{events.DEACTIVATED}') AND {_IN_RANGE}\n"
            "GROUP BY actor ORDER BY resets + deactivations DESC, manager",
            {"kind": "bar", "x": "manager", "y": "resets"},
        ),
        _sql(
            "SELECT occurred_at, event, actor AS manager, subject AS person, detail AS reason\n"
            "FROM audit\n"
            f"WHERE event IN ('{events.RESET_GRANTED}', '{events.DEACTIVATED}', "
            f"'{events.RESET_USED}') AND {_IN_RANGE}\n"
            "ORDER BY occurred_at DESC"
        ),
    ],
}


def builtins(grace_days: int) -> list[dict[str, Any]]:
    """The shipped notebooks; the grace period's default is the portal's setting."""
    return [_coverage(grace_days), _FAILURES, _RESETS]
