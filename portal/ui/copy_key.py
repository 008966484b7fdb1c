"""A visible, keyboard-reachable *Copy key* button (st.code's own copy icon shows on hover only).

A tiny st.components.v2 component: the key comes in as data, the click writes it with
navigator.clipboard and says "Copied" in a live region. No inline script (the CSP allows
'self' and blob: only), and nothing is sent back to the server.
"""

from __future__ import annotations

import streamlit as st

_HTML = """
<button type="button" class="copy-key" data-testid="copyKeyButton">Copy key</button>
<span class="copy-key-status" role="status" aria-live="polite"></span>
"""

_CSS = """
.copy-key {
  font: inherit; padding: 0.35rem 0.9rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.3));
  background: var(--st-background-color, #fff); color: var(--st-text-color, inherit);
}
.copy-key:focus-visible {
  outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: 2px;
}
.copy-key-status { margin-left: 0.6rem; }
"""

_JS = """
export default function(component) {
  const { data, parentElement } = component;
  const button = parentElement.querySelector(".copy-key");
  const status = parentElement.querySelector(".copy-key-status");
  if (!button || !data) return;
  button.onclick = () => {
    const done = (text) => { status.textContent = text; };
    if (!navigator.clipboard) {
      done("Copying is blocked here: select the key and copy it.");
      return;
    }
    navigator.clipboard.writeText(data.key).then(
      () => done("Copied"),
      () => done("Copying is blocked here: select the key and copy it."),
    );
  };
}
"""

_component = st.components.v2.component("portal_copy_key", html=_HTML, css=_CSS, js=_JS)


def copy_key_button(secret: str, key: str) -> None:
    """The *Copy key* button; the clipboard gets the key without spaces."""
    _component(data={"key": secret}, key=key)
