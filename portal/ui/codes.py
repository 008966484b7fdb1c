"""Backup codes on screen: the grid, and the download the wizard and self-service both offer."""

from __future__ import annotations

import streamlit as st

from portal.context import Portal
from portal.models import Identity


def code_grid(codes: list[str], used: list[bool] | None = None) -> None:
    used = used or [False] * len(codes)
    lines = [f"~~{c}~~ (used)" if u else f"`{c}`" for c, u in zip(codes, used, strict=True)]
    left, right = st.columns(2)
    half = (len(lines) + 1) // 2
    left.markdown("\n\n".join(lines[:half]))
    right.markdown("\n\n".join(lines[half:]))


def codes_text(portal: Portal, who: Identity, codes: list[str]) -> str:
    when = portal.now().strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(codes)
    return (
        f"{portal.settings.issuer} backup codes for {who.username}\n"
        f"Created {when}. Each code works once. Keep them safe.\n\n{body}\n"
    )


def download_button(portal: Portal, who: Identity, codes: list[str], key: str) -> None:
    """The codes as a .txt file (no rerun on click: the codes stay on screen)."""
    st.download_button(
        "Download backup codes (.txt)",
        data=codes_text(portal, who, codes),
        file_name=f"backup-codes-{who.username}.txt",
        mime="text/plain",
        key=key,
        on_click="ignore",
    )
