"""Tiny Streamlit script for tests/e2e/test_plain_browser.py: hostile text through plain().

Each case renders the same escaped text as markdown, a caption and an alert, in a container
keyed ``case_<n>``; ``raw`` shows one link unescaped, to prove the test can see markup.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` is not installed

from portal.ui.plain import plain
from tests.hostile import HOSTILE, LINK  # noqa: E402

st.title(f"Plain text for {plain(HOSTILE[0])}")
for number, text in enumerate(HOSTILE):
    with st.container(key=f"case_{number}"):
        st.markdown(plain(text))
        st.caption(plain(text))
        st.warning(plain(text))
with st.container(key="raw"):
    st.markdown(LINK)
