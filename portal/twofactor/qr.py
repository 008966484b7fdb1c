"""QR codes with segno, as PNG bytes (crisp: whole-pixel modules, no resampling)."""

from __future__ import annotations

import base64
import io

import segno


def png(text: str, scale: int = 6) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def data_uri(text: str, scale: int = 6) -> str:
    """The PNG as a data: URI, to show inline: no URL that could be fetched again."""
    return "data:image/png;base64," + base64.b64encode(png(text, scale)).decode("ascii")
