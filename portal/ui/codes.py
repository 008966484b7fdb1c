"""Backup codes on screen: the grid, and the copy / download / print buttons beside it.

Every place that shows codes (the wizard, *View backup codes*, after regenerating) goes
through `show_codes`, so they all look the same: xxxx-xxxx-xxxx.
"""

from __future__ import annotations

import streamlit as st

from portal.context import Portal
from portal.models import Identity
from portal.twofactor.backup_codes import display
from portal.ui.keep_codes import keep_buttons


def code_grid(codes: list[str], used: list[bool] | None = None) -> None:
    used = used or [False] * len(codes)
    lines = [f"~~{c}~~ (used)" if u else f"`{c}`" for c, u in zip(codes, used, strict=True)]
    left, right = st.columns(2)
    half = (len(lines) + 1) // 2
    left.markdown("\n\n".join(lines[:half]))
    right.markdown("\n\n".join(lines[half:]))


def codes_text(title: str, when: str, codes: list[str]) -> str:
    body = "\n".join(codes)
    return f"{title}\nDate: {when}. Each code works once. Keep them safe.\n\n{body}\n"


def show_codes(
    portal: Portal, who: Identity, codes: list[str], key: str, used: list[bool] | None = None
) -> bool:
    """The grid and the buttons; True once this set was copied, downloaded or printed."""
    shown = [display(c) for c in codes]
    code_grid(shown, used)
    unused = [c for c, u in zip(shown, used or [False] * len(shown), strict=True) if not u]
    title = f"{portal.settings.issuer} backup codes for {who.username}"
    when = portal.now().strftime("%Y-%m-%d %H:%M UTC")
    data = {
        "codes": unused,
        "text": codes_text(title, when, unused),
        "file": f"backup-codes-{who.username}.txt",
        "title": title,
        "account": who.username,
        "date": when,
    }
    return keep_buttons(data, key)
