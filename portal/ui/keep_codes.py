"""*Copy all*, *Download .txt* and *Print* for backup codes, all made in the page.

A st.components.v2 component: the codes come in as data; the .txt is a Blob made in the
browser (never a /media/ URL that works without the session cookie), the print view is a
print-only block with just the codes, the account and the date, and each action reports
"kept" back to Python (a component state value), which is what enables *Finish*.
No inline script (the CSP allows 'self' and blob: only); text goes in as textContent.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

_HTML = """
<div class="keep" role="group" aria-label="Keep your backup codes">
  <button type="button" data-act="copy" data-testid="copyCodesButton">Copy all</button>
  <button type="button" data-act="download" data-testid="downloadCodesButton">Download .txt</button>
  <button type="button" data-act="print" data-testid="printCodesButton">Print</button>
  <span class="keep-status" role="status" aria-live="polite"></span>
</div>
"""

_CSS = """
.keep { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.keep button {
  font: inherit; padding: 0.35rem 0.9rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.3));
  background: var(--st-background-color, #fff); color: var(--st-text-color, inherit);
}
.keep button:focus-visible {
  outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: 2px;
}
.keep-status { margin-left: 0.4rem; }
"""

_JS = """
// The print block lives at the end of <body>, outside the app: in print, only it shows.
const PRINT_CSS = `
#portal-print-codes { display: none; }
@media print {
  body > *:not(#portal-print-codes) { display: none !important; }
  #portal-print-codes { display: block; font: 12pt/1.6 sans-serif; color: #000; }
  #portal-print-codes ol { font: 14pt/1.8 monospace; }
}
`;

function printBlock(data) {
  const block = document.createElement("div");
  block.id = "portal-print-codes";
  const add = (tag, text) => {
    const el = document.createElement(tag);
    el.textContent = text;
    block.appendChild(el);
    return el;
  };
  add("h1", data.title);
  add("p", "Account: " + data.account);
  add("p", "Date: " + data.date);
  const list = add("ol", "");
  for (const code of data.codes) {
    const item = document.createElement("li");
    item.textContent = code;
    list.appendChild(item);
  }
  add("p", "Each code works once. Keep them safe.");
  const style = document.createElement("style");
  style.id = "portal-print-codes-css";
  style.textContent = PRINT_CSS;
  return [block, style];
}

export default function(component) {
  const { data, parentElement, setStateValue } = component;
  if (!data) return;
  const status = parentElement.querySelector(".keep-status");
  const say = (text) => { status.textContent = text; };
  document.getElementById("portal-print-codes")?.remove();  // one print block per page
  document.getElementById("portal-print-codes-css")?.remove();
  const [block, style] = printBlock(data);
  document.head.appendChild(style);
  document.body.appendChild(block);
  const acts = {
    copy: () => {
      const blocked = () => say("Copying is blocked here: select the codes and copy them.");
      if (!navigator.clipboard) return blocked();
      navigator.clipboard.writeText(data.codes.join("\\n") + "\\n").then(() => {
        say("Copied");
        setStateValue("kept", "copied");
      }, blocked);
    },
    download: () => {
      const url = URL.createObjectURL(new Blob([data.text], { type: "text/plain" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = data.file;
      link.style.display = "none";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      say("Downloaded");
      setStateValue("kept", "downloaded");
    },
    print: () => {
      setStateValue("kept", "printed");
      say("Print dialog opened");
      window.print();
    },
  };
  for (const button of parentElement.querySelectorAll("button[data-act]")) {
    button.onclick = () => acts[button.dataset.act]();
  }
  return () => { block.remove(); style.remove(); };
}
"""

_component = st.components.v2.component("portal_keep_codes", html=_HTML, css=_CSS, js=_JS)


def keep_buttons(data: dict[str, Any], key: str) -> bool:
    """The three buttons; True once the codes were copied, downloaded or printed here."""
    result = _component(data=data, key=key, on_kept_change=lambda: None)
    return bool(result.get("kept"))
