"""plain(): text from a request is inert in Streamlit markdown and reads back exactly as typed.

The rules below are the ones Streamlit 1.67's frontend applies (StreamlitMarkdown bundle): a
CommonMark/GFM parse, where a backslash escapes any ASCII punctuation, then plugins that search
the text *after* escapes are resolved (so escaping alone cannot stop them). The browser test
tests/e2e/test_plain_browser.py renders the same inputs in Chromium.
"""

from __future__ import annotations

import re
import string
import unicodedata

import pytest

from portal.ui.plain import plain
from portal.ui.widgets import _browser
from tests.hostile import HOSTILE, IMAGE, LINK

JOINER = "\u2060"
# Regexes copied from the 1.67 bundle; each runs on a text node, i.e. after escapes resolve.
TEXT_RULES = {
    "material icon": r":material_(\w+):",
    "streamlit logo": r":streamlit:",
    "emoji shortcode": r":\+1:|:-1:|:[\w-]+:",
    "bare link (GFM literal)": r"(?i)(https?://|www(?=\.))",
    "bare e-mail (GFM literal)": r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+",
    "typography": r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)",
}


def text_node(markdown: str) -> str:
    """The text the renderer's plugins see: every backslash escape resolved."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def expected(text: str) -> str:
    """What a reader should see: the input, whitespace collapsed, invisible controls marked."""
    shown = "".join(
        "\ufffd"
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and not ch.isspace()
        else ch
        for ch in text
    )
    return " ".join(shown.split())


def unescaped_punctuation(markdown: str) -> list[str]:
    found, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown) and markdown[i + 1] in string.punctuation:
            i += 2
            continue
        if markdown[i] in string.punctuation:
            found.append(markdown[i])
        i += 1
    return found


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_reads_back_as_typed(text: str) -> None:
    assert text_node(plain(text)).replace(JOINER, "") == expected(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_no_markdown_character_is_left_unescaped(text: str) -> None:
    markdown = plain(text)
    assert unescaped_punctuation(markdown) == []
    assert not re.search(r"[\r\n\t\x00-\x1f\x7f]", markdown)
    assert "![" not in markdown and "](" not in markdown and "http://" not in markdown


@pytest.mark.parametrize("text", HOSTILE)
def test_streamlit_text_plugins_find_nothing(text: str) -> None:
    node = text_node(plain(text))
    for name, rule in TEXT_RULES.items():
        assert not re.search(rule, node, re.ASCII), name


@pytest.mark.parametrize("text", HOSTILE)
def test_streamlit_source_rules_find_nothing(text: str) -> None:
    markdown = plain(text)
    assert ":material/" not in markdown  # rewritten to an icon before parsing
    # LaTeX loads when a "$" is left after escaped ones are removed (the bundle's own test)
    assert "$" not in re.sub(r"\\[\\$`]", "", markdown)


def test_ordinary_names_stay_readable() -> None:
    assert plain("Alice Example") == "Alice Example"
    assert plain("j.smith") == r"j\.smith"
    assert plain(None) == ""
    assert plain(42) == "42"
    assert plain(IMAGE) == r"\!\[\]\(http\:" + JOINER + r"\/\/evil\.example\/p\.png\)"
    assert plain(LINK) == r"\[Unlock here\]\(http\:" + JOINER + r"\/\/evil\.example\/unlock\)"


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", "Chrome"),
        ("Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 Safari/537.36 Edg/126.0", "Edge"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox"),
        ("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15", "Safari"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", ""),
        (IMAGE, "other browser"),
        (LINK, "other browser"),
        ("Safari[Unlock](http://evil.example)", "other browser"),  # a name, but not "Safari/"
        ("www.evil.example", "other browser"),
        ("evil.example/unlock", "other browser"),
        ("okhttp/4.12.0", "other browser"),
        ("Wget 1.21 see http:evil", "other browser"),
        (":material/lock:", "other browser"),
        ("A" * 41, "other browser"),
        ("line\nbreak", "other browser"),
    ],
)
def test_browser_is_a_known_name_or_a_short_plain_token(agent: str, shown: str) -> None:
    assert _browser(agent) == shown
