"""Tiny Streamlit script driven only by tests/e2e/test_harness_smoke.py.

It mimics what the portal's enrolment page shows: a QR code of an otpauth URI (rendered the
way the notes recommend: segno PNG through ``st.image(..., output_format="PNG")``), a text input
and a button whose result appears as a success alert. Nothing here may load a remote resource.
"""

from __future__ import annotations

import io

import segno
import streamlit as st

SMOKE_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
SMOKE_URI = (
    "otpauth://totp/Harness%20Smoke:alice%40example.test"
    f"?secret={SMOKE_SECRET}&issuer=Harness%20Smoke&algorithm=SHA1&digits=6&period=30"
)


@st.cache_data
def _qr_png(uri: str) -> bytes:
    buf = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buf, kind="png", scale=5, border=4)
    return buf.getvalue()


st.title("Harness smoke app")
st.image(_qr_png(SMOKE_URI), caption="Scan me", output_format="PNG")

with st.form("echo_form"):
    name = st.text_input("Your name", key="name")
    submitted = st.form_submit_button("Greet")
if submitted:
    st.success(f"Hello, {name}!")

code = st.text_input("One-time code", key="code", max_chars=6)
if st.button("Check code", key="check"):
    st.info(f"You typed {len(code)} digits")
