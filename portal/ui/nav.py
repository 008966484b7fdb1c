"""Page files and links between pages (st.Page needs absolute paths: see STREAMLIT-NOTES.md).

Every page name of the portal is registered on every run, so a bookmarked address never meets
Streamlit's "Page not found" dialog: a page the person may not open yet is a hidden stand-in at
the same address (the sign-in form, first run, or a step back to the landing page with a
message). Only these names are ever a destination; nothing from the request picks a page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from portal.ui import state

PAGES = Path(__file__).resolve().parent.parent.parent / "pages"
APP_NAME = "2FA Portal"

TITLES = {  # sidebar label (short enough not to be cut) and icon; a page's heading may be longer
    "first_run": ("First run", "🚀"),
    "sign_in": ("Sign in", "🔑"),
    "home": ("My account", "👤"),
    "two_factor": ("Two-factor set-up", "🛡️"),
    "manager": ("Security manager", "🗂️"),
}
GATES = ("first_run", "sign_in")  # pages that stand in for the others until someone is signed in
NARROW = "(max-width: 767.98px)"  # Streamlit's "md" breakpoint: below it the sidebar is an overlay
IN_PAGE = ("page_sign_out", "virtual_authenticator_inline")  # keys shown on narrow screens only

_COLLAPSE_JS = """
export default function() {
  if (window.__portalCollapse) return;
  window.__portalCollapse = true;
  // Streamlit closes the overlay after a page link only for a phone's user agent, never after
  // a button: close it after every page link, Sign out and Reset demo on any narrow screen.
  document.addEventListener("click", (event) => {
    if (!window.matchMedia("NARROW").matches || !event.target.closest) return;
    const hit = event.target.closest(
      '[data-testid="stSidebarNav"] a, .st-key-sign_out button, .st-key-va_reset button');
    if (!hit || !hit.closest('[data-testid="stSidebar"]')) return;
    setTimeout(() => {  // after Streamlit's own handler (a phone's user agent closes it there)
      const bar = document.querySelector('[data-testid="stSidebar"]');
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close && bar && bar.getAttribute("data-collapsed") !== "true") close.click();
    }, 0);
  }, true);
}
""".replace("NARROW", NARROW)
_collapse = st.components.v2.component("portal_collapse_sidebar", js=_COLLAPSE_JS)


def page(name: str, default: bool = False) -> st.Page:
    title, icon = TITLES[name]
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=name, default=default)


def tab_title(current: st.Page) -> str:
    """What the browser tab says on this page (a stand-in says what it shows)."""
    return f"{current.title} · {APP_NAME}"


def pages_for(allowed: list[str], landing: str) -> dict[str, st.Page]:
    """Every page name: the allowed ones, and hidden stand-ins at the others' addresses."""
    built = {name: page(name, default=name == landing) for name in allowed}
    for name in TITLES:
        if name in built:
            continue
        if landing in GATES:  # nobody signed in yet: the gate's form, at the asked-for address
            title, icon = TITLES[landing]
            script: Path | Callable[[], None] = PAGES / f"{landing}.py"
        else:
            title, icon = TITLES[name]
            script = _step_back(name, built[landing], quiet=name in GATES)
        built[name] = st.Page(script, title=title, icon=icon, url_path=name, visibility="hidden")
    return built


def _step_back(name: str, landing: st.Page, quiet: bool) -> Callable[[], None]:
    def run() -> None:
        if not quiet:
            state.flash(
                st.session_state,
                "warning",
                f"The page you asked for, {TITLES[name][0]}, is not open to your account "
                f"right now, so you are on {landing.title} instead.",
            )
        st.switch_page(landing)

    run.__name__ = f"step_back_{name}"
    return run


def name_of(pages: dict[str, st.Page], current: st.Page) -> str:
    return next(name for name, p in pages.items() if p is current)


def narrow_screen_helpers() -> None:
    """Once per run: the in-page copies show on narrow screens only; the overlay closes itself."""
    hidden = ", ".join(f".st-key-{key}" for key in IN_PAGE)
    st.html(
        f"<style>@media not {NARROW} {{ {hidden} {{ display: none; }} }}"
        ".st-key-collapse_sidebar { display: none; }</style>"
    )
    with st.container(key="collapse_sidebar"):
        _collapse(key="collapse_sidebar_js", height=0)


def link(name: str, label: str | None = None) -> None:
    title, icon = TITLES[name]
    st.page_link(PAGES / f"{name}.py", label=label or title, icon=icon)
