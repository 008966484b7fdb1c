"""Helpers for the security-manager tests: portals, people, a large generated table, AppTest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from portal import crypto
from portal.clock import FixedClock
from portal.context import Portal, open_portal
from portal.settings import Settings
from portal.ui.resources import use_portal
from store import Database
from tests.conftest import PASSWORD, START, add_user, enrol

__all__ = ["PASSWORD", "START", "add_person", "enrol"]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "portal" / "app.py")
MANAGER_PAGE = str(ROOT / "pages" / "manager.py")


def make_portal(tmp_path: Path, clock: FixedClock) -> Portal:
    settings = Settings(
        db_path=str(tmp_path / "t.duckdb"),
        secret_key=crypto.encode_key(crypto.new_key()),
        bcrypt_rounds=4,
    )
    return open_portal(settings, clock)


add_person = add_user  # the manager tests' name for it


# --- a large generated table, inserted in bulk from pandas frames -------------------------------


def bulk_people(db: Database, n: int, now: dt.datetime, first_id: int = 1_000_000) -> pd.DataFrame:
    """Insert n generated accounts with factors, backup codes and throttle rows.

    Returns one row per account with the status, codes left and flags the rules below imply,
    so tests can compute the expected counts with pandas.
    """
    i = np.arange(n, dtype=np.int64)
    ids = first_id + i
    people = pd.DataFrame(
        {
            "id": ids,
            "username": [f"bulk{k:07d}" for k in i],
            "display_name": [f"Person {k} {'Alpha' if k % 3 == 0 else 'Beta'}" for k in i],
            "role": np.where(i % 1000 == 7, "security_manager", "user"),
            "password_hash": "x",
            "disabled": i % 97 == 5,
            "created_at": pd.Timestamp(now) - pd.to_timedelta(n - i, unit="s"),
            "last_sign_in_at": pd.Series(
                np.where(i % 2 == 0, pd.Timestamp(now) - pd.to_timedelta(i, unit="m"), pd.NaT),
                dtype="datetime64[us, UTC]",
            ),
            "reset_granted_at": pd.Series(pd.NaT, index=i, dtype="datetime64[us, UTC]"),
            "reset_expires_at": pd.Series(
                np.where(i % 10 == 2, pd.Timestamp(now) + pd.Timedelta(hours=1), pd.NaT),
                dtype="datetime64[us, UTC]",
            ),
            "reset_granted_by": None,
        }
    )
    active = i % 4 == 0
    pending = i % 4 == 1
    factors = pd.DataFrame(
        {
            "id": ids[active | pending],
            "user_id": ids[active | pending],
            "status": np.where(active, "active", "pending")[active | pending],
            "secret_enc": b"x",
            "created_at": pd.Timestamp(now) - pd.Timedelta(days=3),
            "verified_at": None,
            "activated_at": pd.Series(
                np.where(active, pd.Timestamp(now) - pd.Timedelta(days=2), pd.NaT)
            )[active | pending].astype("datetime64[us, UTC]"),
            "last_step": None,
        }
    )
    used = np.minimum(i % 11, 10)
    # each key's count of unused codes, as the store keeps it (migration 0008)
    factors["codes_left"] = np.where(active, 10 - used, 0)[active | pending]
    code_owner = np.repeat(ids[active], 10)
    code_used = np.tile(np.arange(10), int(active.sum())) < np.repeat(used[active], 10)
    codes = pd.DataFrame(
        {
            "id": np.arange(len(code_owner), dtype=np.int64) + first_id * 20,
            "user_id": code_owner,
            "factor_id": code_owner,
            "code_enc": b"x",
            "created_at": pd.Timestamp(now),
            "used_at": pd.Series(np.where(code_used, pd.Timestamp(now), pd.NaT)).astype(
                "datetime64[us, UTC]"
            ),
        }
    )
    locked = i % 50 == 3
    failing = locked | (i % 50 == 4)
    throttle = pd.DataFrame(
        {
            "key": [f"bulk-key-{k}" for k in i[failing]],  # stands in for the HMAC
            "scope": "account",
            "user_id": ids[failing],
            "failures": np.where(locked, 10, 3)[failing],
            "last_failure_at": pd.Timestamp(now),
            "expires_at": pd.Timestamp(now) + pd.Timedelta(minutes=15),
            "locked_until": pd.Series(
                np.where(locked, pd.Timestamp(now) + pd.Timedelta(minutes=10), pd.NaT)
            )[failing].astype("datetime64[us, UTC]"),
        }
    )
    with db.write() as cur:
        for table, frame in (
            ("users", people),
            ("factors", factors),
            ("backup_codes", codes),
            ("throttle", throttle),
        ):
            cur.register("frame", frame)
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")  # noqa: S608
            cur.unregister("frame")
    status = np.select(
        [i % 10 == 2, active, pending], ["reset granted", "enabled", "pending"], "off"
    )
    return pd.DataFrame(
        {
            "username": people["username"],
            "display_name": people["display_name"],
            "role": people["role"],
            "status": status,
            "disabled": people["disabled"],
            "codes_left": np.where(active, 10 - used, -1),
            "locked": locked,
        }
    )


# --- AppTest ---------------------------------------------------------------------------------


def start_app(p: Portal) -> AppTest:
    use_portal(p)
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.run()
    return at


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="si_username").input(username)
    at.text_input(key="si_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def sign_in_code(at: AppTest, code: str) -> AppTest:
    at.text_input(key="si_code").input(code)
    return at.button(key="FormSubmitter:second_factor-Verify").click().run()


def open_manager(at: AppTest, tab: str | None = None) -> AppTest:
    if tab is not None:
        at.session_state["sm_tab"] = tab
    return at.switch_page(MANAGER_PAGE).run()


def texts(at: AppTest) -> str:
    """Everything the page says in markdown, alerts, titles and captions, as one string."""
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.subheader)]
    parts += [e.value for e in (*at.success, *at.info, *at.warning, *at.error)]
    return "\n".join(str(v) for v in parts)


def select_rows(at: AppTest, rows: list[int], key: str = "sm_table") -> AppTest:
    """st.dataframe selection cannot be clicked in AppTest: seed it (see STREAMLIT-NOTES.md)."""
    at.session_state[key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()
