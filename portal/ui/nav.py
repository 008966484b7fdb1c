"""Page files and links between pages (st.Page needs absolute paths: see STREAMLIT-NOTES.md)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent.parent.parent / "pages"

TITLES = {
    "first_run": ("First run", "🚀"),
    "sign_in": ("Sign in", "🔑"),
    "home": ("My account", "👤"),
    "two_factor": ("Configure two-factor authentication", "🛡️"),
    "manager": ("Security manager", "🗂️"),
}


def page(name: str, default: bool = False) -> st.Page:
    title, icon = TITLES[name]
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=name, default=default)


def link(name: str, label: str | None = None) -> None:
    title, icon = TITLES[name]
    st.page_link(PAGES / f"{name}.py", label=label or title, icon=icon)
