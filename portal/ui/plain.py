"""plain(): text that came from a request, made inert for anything Streamlit renders as markdown.

st.markdown, st.caption, st.title, alerts, labels, help texts and dialog titles all render
markdown (GFM plus Streamlit's directives, icons, emoji, typography and KaTeX). A backslash makes
any ASCII punctuation literal in CommonMark, which stops every syntax rule. Some rules, though,
search the text *after* escapes are resolved (GFM's bare links and e-mails, `:material_x:` icons,
`:streamlit:`, emoji shortcodes, `->` arrows): an invisible word joiner breaks those patterns.
"""

from __future__ import annotations

import re
import string
import unicodedata

JOINER = "\u2060"  # zero-width, not whitespace, not punctuation: breaks a pattern, shows nothing
_ESCAPES = str.maketrans({ch: "\\" + ch for ch in string.punctuation})
_HIDDEN = ("Cc", "Cf", "Co", "Cs")  # controls, bidi overrides, zero-width characters
_WWW = re.compile(r"(www)(?=\.)", re.IGNORECASE)  # GFM links "www.x.y" without a scheme
_ARROWS = re.compile(r"(?<!\S)[-<>~=]{2,}(?!\S)")  # "->", "--", ">=" ... become symbols


def plain(value: object) -> str:
    """The value as markdown that shows exactly its text: one line, no markup, no links."""
    text = "" if value is None else str(value)
    text = "".join(
        "\ufffd" if unicodedata.category(ch) in _HIDDEN and not ch.isspace() else ch for ch in text
    )
    text = " ".join(text.split())  # newlines would start blocks: lists, headings, tables
    # After ':' and '@' a joiner breaks http://, :icon:, :emoji: and name@host.
    text = text.replace(":", ":" + JOINER).replace("@", "@" + JOINER)
    text = _WWW.sub(r"\1" + JOINER, text)
    text = _ARROWS.sub(lambda m: JOINER.join(m.group()), text)
    return text.translate(_ESCAPES)
