"""What st.text_input has no parameter for: the phone's digit keyboard, and focus after a step.

A tiny st.components.v2 component (no inline script: the CSP allows 'self' and blob: only;
nothing is fetched and nothing is sent back to the server). It finds keyed inputs by the
``st-key-<key>`` class Streamlit puts on their container, gives code fields
``inputmode="numeric"``, and moves the focus to the field the new step asks for, once per step
(``step``), so a rerun of the same step never steals the focus from where the person is; nor
does a step painted late, while the person is already typing in another field.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

# Authenticator codes only: backup codes have letters, so their field keeps the full keyboard.
CODE_AUTOCOMPLETE = "one-time-code"

_JS = """
export default function(component) {
  const { data, parentElement } = component;
  if (!data) return;
  // The previous run's elements stay in the DOM, faded, until the new run is done: skip them.
  const find = (key) => document.querySelector(
    `.st-key-${key}:not([data-stale="true"]) input`);
  // A slow page may paint after the person has started typing: never pull the caret out of a
  // field they are in (a password typed on would land in the username field, in clear).
  const typingElsewhere = (target) => {
    const active = document.activeElement;
    if (!active || active === document.body || active === target) return false;
    if (active.closest('[data-stale="true"]')) return false;  // the previous step's field
    return active.matches("input, textarea, select, [contenteditable]");
  };
  let tries = 0;
  const apply = () => {
    let missing = false;
    for (const [key, numeric] of data.inputmode) {
      const input = find(key);
      if (!input) missing = true;
      else if (numeric) input.setAttribute("inputmode", "numeric");
      else input.removeAttribute("inputmode");
    }
    // Remembered on this mount only: a new page (or a reload) mounts the component afresh.
    if (data.focus && parentElement.portalFocusToken !== data.token) {
      const input = find(data.focus);
      if (input) {
        parentElement.portalFocusToken = data.token;
        if (!typingElsewhere(input)) input.focus();
      } else missing = true;
    }
    // Widgets are painted a moment after the run that made them: look again for 5 s at most.
    if (missing && tries++ < 50) setTimeout(apply, 100);
  };
  apply();
}
"""

_CSS = ":host { display: none; }"

_component = st.components.v2.component("portal_fields", js=_JS, css=_CSS)


def behave(
    *,
    focus: str | None = None,
    step: str = "",
    numeric: Sequence[str] = (),
    text: Sequence[str] = (),
) -> None:
    """Digit keyboard for the ``numeric`` keyed inputs (not for ``text``); focus ``focus``.

    The focus moves once per ``step`` (its name) and page visit.
    """
    modes = [[key, True] for key in numeric] + [[key, False] for key in text]
    _component(
        data={"focus": focus, "token": step or (focus or ""), "inputmode": modes},
        key="portal_fields",
    )
