"""QR codes with segno, as PNG bytes (crisp: whole-pixel modules, no resampling)."""

from __future__ import annotations

import io

import segno


def png(text: str, scale: int = 6) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
