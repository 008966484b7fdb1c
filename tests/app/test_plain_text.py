"""Every surface shows request text as plain text: the markdown source it sends is escaped.

AppTest exposes each element's markdown source (`.value`), so these tests read what the browser
would be asked to render. AppTest has no User-Agent: hostile sources go in through the services'
`source` argument, as the audit and session rows would hold them.
"""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from portal.access import sessions
from portal.context import Portal
from portal.models import Role
from portal.twofactor import second_factor, self_service, totp
from portal.ui.manager import keys
from tests.app.conftest import enter_code, sign_in
from tests.app.manager_helpers import open_manager, select_rows, start_app
from tests.conftest import PASSWORD, add_user, enrol
from tests.hostile import IMAGE, LINK

J = "\u2060"  # word joiner: keeps "http:" + "//" from being found as a link in the text
IMAGE_MD = r"\!\[\]\(http\:" + J + r"\/\/evil\.example\/p\.png\)"
LINK_MD = r"\[Unlock here\]\(http\:" + J + r"\/\/evil\.example\/unlock\)"


def sources(at: AppTest) -> list[str]:
    """The markdown source of every element that renders markdown, sidebar included."""
    kinds = ("title", "header", "subheader", "markdown", "caption")
    kinds += ("success", "info", "warning", "error", "exception")
    return [str(el.value) for kind in kinds for el in getattr(at, kind)]


def assert_no_markup(at: AppTest) -> None:
    for text in sources(at):
        assert "![" not in text and "](" not in text and "http://" not in text, text


def test_display_name_is_plain_in_title_and_sidebar(app: AppTest, portal: Portal) -> None:
    add_user(portal, "mal_lory", display=IMAGE)
    app.run()
    sign_in(app, "mal_lory")
    assert [t.value for t in app.title] == [f"Hello, {IMAGE_MD}"]
    assert f"Signed in as **{IMAGE_MD}**" in [m.value for m in app.sidebar.markdown]
    assert r"mal\_lory · user" in [c.value for c in app.sidebar.caption]
    assert_no_markup(app)


def test_was_this_you_shows_where_from_as_plain_text(app: AppTest, portal: Portal, clock) -> None:
    secret, codes, who = enrol(portal, clock, add_user(portal, "alice"))
    second_factor.verify_sign_in(portal, who.user_id, clock.now(), codes[0], LINK)
    self_service.view_backup_codes(portal, who, IMAGE)
    app.run()
    sign_in(app, "alice")
    enter_code(app, totp.code_at(secret, clock.now()))
    lines = [m.value for m in app.markdown if "UTC**" in m.value]
    assert any(line.endswith(f"_(from {LINK_MD})_") for line in lines), lines
    assert any(line.endswith(f"_(from {IMAGE_MD})_") for line in lines), lines
    assert_no_markup(app)


def test_signed_in_browsers_show_their_source_as_plain_text(app: AppTest, portal: Portal) -> None:
    who = add_user(portal, "alice")
    ticket = sessions.issue_ticket(portal, who, "other-browser", IMAGE)
    sessions.redeem_ticket(portal, ticket.ticket, "other-browser", "UA")
    app.run()
    sign_in(app, "alice")
    assert any(m.value.startswith(f"- {IMAGE_MD}, signed in") for m in app.markdown)
    assert_no_markup(app)


def test_typed_username_never_reaches_markdown(app: AppTest, portal: Portal) -> None:
    add_user(portal, "alice")
    app.run()
    sign_in(app, IMAGE, "wrong password")
    assert [e.value for e in app.error] == ["Incorrect username or password."]
    assert_no_markup(app)


def test_first_run_message_names_the_manager_in_plain_text(app: AppTest) -> None:
    app.text_input(key="fr_username").input("first_boss")
    app.text_input(key="fr_password").input(PASSWORD)
    app.text_input(key="fr_confirm").input(PASSWORD)
    app.button(key="FormSubmitter:first_run-Create security manager").click().run()
    assert any(r"Security manager **first\_boss** created" in s.value for s in app.success)


def _manager(portal: Portal) -> AppTest:
    add_user(portal, "boss", Role.SECURITY_MANAGER, "Bea Boss")
    at = start_app(portal)
    sign_in(at, "boss")
    return open_manager(at)


def test_manager_dialog_message_and_audit_show_request_text_plainly(portal: Portal) -> None:
    add_user(portal, "mal_lory", display=IMAGE)
    at = _manager(portal)
    at.text_input(key=keys.SEARCH).input("mal_lory").run()
    assert list(at.dataframe[0].value["display_name"]) == [IMAGE]  # a table cell is plain text
    select_rows(at, [0], keys.table_key(at.session_state))
    at.button(key=keys.action_key("disable")).click().run()
    assert any(rf"- **{IMAGE_MD}** (mal\_lory)" in text for text in sources(at)), sources(at)
    assert_no_markup(at)
    at.text_input(key=keys.REASON).input(LINK)
    at.button(key=keys.CONFIRM).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [r"Disabled: mal\_lory."]
    at.session_state[keys.TAB] = keys.TABS[1]
    at.run()
    trail: pd.DataFrame = at.dataframe[0].value
    assert LINK in set(trail["detail"])  # the reason, as a plain cell
    assert_no_markup(at)


def test_manager_create_message_names_the_account_in_plain_text(portal: Portal) -> None:
    at = _manager(portal)
    at.button(key=keys.action_key("create")).click().run()
    at.text_input(key=keys.NEW_USERNAME).input("new_user")
    at.text_input(key=keys.NEW_DISPLAY).input(LINK)
    at.text_input(key=keys.NEW_PASSWORD).input(PASSWORD)
    at.text_input(key=keys.NEW_CONFIRM).input(PASSWORD)
    at.button(key=keys.CONFIRM).click().run()
    assert any(r"Account **new\_user** created" in s.value for s in at.success), sources(at)
    assert_no_markup(at)
