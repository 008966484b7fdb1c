"""Text an attacker can put into a request (User-Agent, typed names, reasons), for plain-text tests.

Each line aims at one thing Streamlit 1.67's markdown renderer interprets: CommonMark and GFM
syntax, the link and e-mail literals GFM finds in plain text, Streamlit's own directives,
icons, emoji and typography, KaTeX, raw HTML, entities, and control characters.
"""

IMAGE = "![](http://evil.example/p.png)"
LINK = "[Unlock here](http://evil.example/unlock)"

HOSTILE = [
    IMAGE,
    LINK,
    "![x][ref]\n\n[ref]: http://evil.example/p.png",
    "[Unlock][1] [1]: http://evil.example",
    "<img src=http://evil.example/p.png>",
    "<http://evil.example/auto>",
    "<alice@evil.example>",
    "http://evil.example/bare",
    "HTTPS://EVIL.EXAMPLE/loud",
    "visit www.evil.example now",
    "WWW.Evil.Example",
    "alice@evil.example",
    "mailto:alice@evil.example",
    "javascript:alert(1)",
    ":material/lock: :material_lock: :streamlit: :smile: :+1: :-1:",
    ":red[alarm] :blue-background[calm] :red-badge[new] :small[fine] :rainbow[print]",
    ':color[x]{foreground="red"} :shimmer[wait] ::leaf[a]',
    "$x^2$ and $$\\int_0^1 x\\,dx$$ and \\$5 $6",
    "**bold** __strong__ *it* _it_ ~~strike~~ ~sub~ `code` ``code``",
    "# heading",
    "### small heading #",
    "> quote",
    "- item",
    "* item",
    "+ item",
    "1. item",
    "2) item",
    "---",
    "***",
    "===",
    "| a | b |\n|---|---|\n| c | d |",
    "- [x] task",
    "footnote[^1]\n\n[^1]: http://evil.example",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "&lt;b&gt; &#58; &#x5B;x&#x5D;(http://evil.example) &amp;",
    "<!-- hidden --> <script>alert(1)</script> <b>bold</b>",
    "{{template}} {% raw %}",
    "ends with a backslash \\",
    "\\*escaped already\\* \\\\*twice*",
    "line one\nline two\r\n![](http://evil.example/p.png)",
    "    indented code",
    "\ttabbed",
    "```\nfenced\n```",
    "~~~ fenced ~~~",
    "zero\u200bwidth and \u202eright-to-left and \x00nul \x1b[31m",
    "Ann O'Neil, \"Bob\" & Co. (Ltd.) = 100% ^ ; ? , @ ' _",
    "\u0130stanbul \u00e9t\u00e9 \u65e5\u672c \U0001f600",
]
