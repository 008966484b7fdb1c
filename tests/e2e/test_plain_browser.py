"""In Chromium, text from a request passed through plain() renders as that text and nothing else.

No image, link, icon, colour, formula or list appears, and no request leaves 127.0.0.1, for
every input of tests/hostile.py, as markdown, caption and alert (tests/e2e/_plain_app.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import Server, open_app, script_server
from playwright.sync_api import expect

from tests.hostile import HOSTILE
from tests.unit.test_plain import expected

pytestmark = pytest.mark.e2e

# Anything markdown may produce beyond a paragraph of text (material icons are role="img").
MARKUP = (
    "img, a, svg, code, pre, strong, em, del, h1, h2, h3, h4, h5, h6, ul, ol, li, blockquote, "
    "table, hr, input, .katex, [role=img], .stMarkdownColoredText, .stMarkdownColoredBackground, "
    ".stMarkdownBadge, .stMarkdownShimmer, span[style]"
)

TEXT_BLOCKS = '[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"]'


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[Server]:
    with script_server("tests/e2e/_plain_app.py", tmp_path / "plain-server.log") as server:
        yield server


def test_hostile_text_renders_as_text_only(
    plain_server: Server, page: Any, request_recorder: Any
) -> None:
    open_app(page, plain_server.url, ready=page.locator(".st-key-raw a"))
    expect(page.locator(".st-key-raw a")).to_have_count(1)  # unescaped, a link does appear
    for number, text in enumerate(HOSTILE):
        case = page.locator(f".st-key-case_{number}")
        blocks = case.locator(TEXT_BLOCKS)
        expect(blocks).to_have_count(3)
        shown = [t.replace("\u2060", "") for t in blocks.all_text_contents()]
        assert shown == [expected(text)] * 3, (number, text)
        assert blocks.locator(MARKUP).count() == 0, text
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text().replace("\u2060", "") == f"Plain text for {expected(HOSTILE[0])}"
    assert heading.locator("img, a:not([href^='#'])").count() == 0  # only its own anchor
    request_recorder.assert_only_loopback()
