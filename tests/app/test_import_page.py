"""The manager page's Import tab in AppTest: upload, preview, confirm or cancel (both engines)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from portal import events
from portal.context import Portal
from portal.models import Identity
from portal.ui.manager import keys
from tests.app.manager_helpers import open_manager, sign_in, start_app, texts

PEOPLE = (
    b"username,display_name,email,role\n"
    b"ann,Ann A,ann@example.org,\nbob,Bob **B**,,security_manager\n"
)


@pytest.fixture
def import_tab(portal: Portal, boss: Identity) -> AppTest:
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at, "Import")


def upload(at: AppTest, data: bytes, name: str = "people.csv") -> AppTest:
    at.file_uploader(key=keys.import_file_key(at.session_state)).set_value((name, data, "text/csv"))
    return at.run()


def preview(at: AppTest) -> list[tuple[int, str, str]]:
    (frame,) = [d.value for d in at.dataframe if "Action" in d.value.columns]
    return list(zip(frame["Line"], frame["Username"], frame["Action"], strict=True))


def has_preview(at: AppTest) -> bool:
    return any("Action" in d.value.columns for d in at.dataframe)


def people(p: Portal) -> list[str]:
    with p.db.read() as cur:
        return [
            r[0] for r in cur.execute("SELECT username FROM users ORDER BY username").fetchall()
        ]


def imported(p: Portal) -> list[tuple[str, str]]:
    with p.db.read() as cur:
        rows = cur.execute(
            "SELECT actor, detail FROM audit WHERE event = ?", [events.USERS_IMPORTED]
        ).fetchall()
    return [tuple(r) for r in rows]


def test_upload_preview_confirm_creates_all_and_shows_the_passwords_once(
    import_tab: AppTest, portal: Portal
) -> None:
    at = upload(import_tab, PEOPLE)
    assert not at.exception
    assert preview(at) == [(2, "ann", "create"), (3, "bob", "create")]
    assert people(portal) == ["boss"]  # a preview writes nothing
    at.button(key=keys.IM_CONFIRM).click().run()
    assert not at.exception
    assert people(portal) == ["ann", "bob", "boss"]
    assert imported(portal) == [("boss", "2 account(s): 1 user(s), 1 security manager(s)")]
    assert "Imported 2 account(s)" in texts(at)
    saved = at.session_state[keys.IM_DONE][0]
    assert saved.splitlines()[0] == "username,first_password" and "\nbob," in saved
    assert at.session_state[keys.IM_GEN] == 1  # a fresh uploader: the file is gone
    at.button(key=keys.IM_SAVED).click().run()
    assert keys.IM_DONE not in at.session_state and "Imported" not in texts(at)


def test_every_bad_row_is_in_the_preview_and_nothing_can_be_imported(
    import_tab: AppTest, portal: Portal
) -> None:
    at = upload(import_tab, PEOPLE + b"Ann,again,,\nboss,Me,,\nx y,,,\n")
    rows = preview(at)
    assert rows[:2] == [(2, "ann", "create"), (3, "bob", "create")]
    assert rows[2] == (4, "ann", "error: also on line 2")
    assert rows[3] == (5, "boss", "error: already has an account")
    assert rows[4][0] == 6 and rows[4][2].startswith("error: A username has 2-64 characters")
    assert "3 row(s) have problems" in texts(at)
    assert not [b for b in at.button if b.key == keys.IM_CONFIRM]
    at.button(key=keys.IM_CANCEL).click().run()
    assert not has_preview(at) and keys.IM_PLAN not in at.session_state
    assert people(portal) == ["boss"] and imported(portal) == []


def test_cancel_drops_the_file_and_creates_nothing(import_tab: AppTest, portal: Portal) -> None:
    at = upload(import_tab, PEOPLE)
    at.button(key=keys.IM_CANCEL).click().run()
    assert not has_preview(at) and at.session_state[keys.IM_GEN] == 1
    assert people(portal) == ["boss"] and imported(portal) == []


def test_a_file_that_is_not_utf8_is_one_message(import_tab: AppTest, portal: Portal) -> None:
    at = upload(import_tab, "username\nj\u00f6rg\n".encode("latin-1"))
    assert [e.value for e in at.error] == [
        "The file is not UTF-8 text (line 2): save it as 'CSV UTF-8' and try again."
    ]
    assert not at.exception and people(portal) == ["boss"]


def test_a_name_taken_between_preview_and_confirm_imports_none(
    import_tab: AppTest, portal: Portal
) -> None:
    from portal.access import accounts
    from tests.conftest import PASSWORD

    at = upload(import_tab, PEOPLE)
    accounts.create_account(portal, None, "bob", PASSWORD)  # someone else, meanwhile
    at.button(key=keys.IM_CONFIRM).click().run()
    assert "while the import ran (bob): nothing was imported" in texts(at)
    assert people(portal) == ["bob", "boss"] and imported(portal) == []
