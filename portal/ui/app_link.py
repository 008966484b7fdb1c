"""*Open in authenticator app*: the otpauth:// link a phone needs (it cannot scan its own screen).

A tiny st.components.v2 component: the URI comes in as data and becomes the ``href`` of a real
link, shown on touch screens and narrow windows only (CSS media query). A link is only followed
when tapped: nothing loads the URI, and it never becomes a /media/ URL (st.markdown would drop
the otpauth: scheme anyway).
"""

from __future__ import annotations

import streamlit as st

_HTML = """
<p class="open-in-app">
  <a data-testid="openInAppLink">Open in authenticator app</a>
  <span class="hint">On this phone: adds the account to your app without scanning.</span>
</p>
"""

_CSS = """
.open-in-app { display: none; margin: 0; }
@media (pointer: coarse), (max-width: 640px) {
  .open-in-app { display: block; }
}
.open-in-app a {
  display: inline-block; padding: 0.5rem 1rem; border-radius: 0.5rem; font-weight: 600;
  background: var(--st-primary-color, #1f6feb); color: #fff; text-decoration: none;
}
.open-in-app a:focus-visible { outline: 2px solid var(--st-text-color, #111); outline-offset: 2px; }
.open-in-app .hint { display: block; margin-top: 0.35rem; }
"""

_JS = """
export default function(component) {
  const { data, parentElement } = component;
  const link = parentElement.querySelector("a");
  if (!link || !data || !String(data.uri).startsWith("otpauth://")) return;
  link.setAttribute("href", data.uri);
}
"""

_component = st.components.v2.component("portal_open_in_app", html=_HTML, css=_CSS, js=_JS)


def open_in_app_link(uri: str, key: str) -> None:
    """The link (touch screens and narrow windows only) that hands ``uri`` to the phone's app."""
    _component(data={"uri": uri}, key=key)
