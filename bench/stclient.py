"""A browser tab without the drawing: Streamlit's websocket protocol, spoken like its frontend.

One `Tab` opens the page (GET /, which sets the browser cookie), then `/_stcore/stream` with the
Origin, Cookie and User-Agent a browser sends, and acts through rerun_script BackMsgs that carry
widget states. Widget ids are read from the deltas of the last run (`$$ID-<hash>-<key>`); a run is
over at its script_finished message. The portal's cookie component (a fetch to our own route,
portal/ui/cookies.py) is played as the browser plays it: POST the route, report the status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine
from http.cookies import SimpleCookie
from typing import Any, TypeVar

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

T = TypeVar("T")


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(work), in a thread of its own when this thread already runs an event loop.

    Playwright's sync API (the browser tests, in the same pytest process) keeps a loop running
    in the main thread, where asyncio.run refuses to start another.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(work)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, name="bench-asyncio")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
TRIGGER_PREFIX = "$$STREAMLIT_INTERNAL_KEY"  # + "_<component id>__events": its trigger widget
COOKIE_COMPONENT = "portal_cookie"
ERROR_ALERT = 1  # Alert.Format.ERROR
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


class TabError(RuntimeError):
    """The tab saw something a person would call broken (exception, error, drop, timeout)."""


@dataclasses.dataclass
class Run:
    """What the page showed after one action (the last script run of it)."""

    texts: list[str] = dataclasses.field(default_factory=list)
    widgets: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> kind
    components: list[tuple[str, str, Any]] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    runs: int = 0  # script runs the action took (st.rerun makes two)

    def shows(self, text: str) -> bool:
        return any(text in t for t in self.texts)

    def widget(self, key: str) -> str | None:
        """The id of the widget whose user key is `key` (the id ends with "-<key>")."""
        return next((w for w in self.widgets if w.endswith("-" + key)), None)

    def _element(self, element: Any) -> None:
        kind = element.WhichOneof("type")
        if kind is None:
            return
        sub = getattr(element, kind)
        fields = sub.DESCRIPTOR.fields_by_name
        for name in ("body", "label", "message"):
            if name in fields and getattr(sub, name):
                self.texts.append(getattr(sub, name))
        if kind == "exception":
            self.errors.append(f"exception: {sub.type}: {sub.message}")
        elif kind == "alert" and sub.format == ERROR_ALERT:
            self.errors.append(f"error message: {sub.body}")
        if "id" in fields and sub.id:
            self.widgets[sub.id] = kind
        if kind == "bidi_component":
            raw = sub.json or (sub.mixed.json if sub.HasField("mixed") else "")
            self.components.append((sub.id, sub.component_name, json.loads(raw) if raw else None))


class Tab:
    """One person's browser tab on the portal."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.page = ""  # the page_script_hash the last run was on
        self.ws: Any = None

    async def open(self) -> Run:
        """GET / (the browser cookie), then the websocket and the first run of the page."""
        from websockets.asyncio.client import connect

        await asyncio.to_thread(self._http, "GET", "/", None)
        self.ws = await connect(
            self.base_url.replace("http", "ws", 1) + "/_stcore/stream",
            origin=self.base_url,  # type: ignore[arg-type]
            subprotocols=["streamlit", "no-xsrf-token"],  # type: ignore[list-item]
            additional_headers={"Cookie": self._cookie_header()},
            user_agent_header=AGENT,
            proxy=None,
            max_size=None,
            open_timeout=self.timeout,
        )
        return await self.act([])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def act(self, states: list[WidgetState], page: str | None = None) -> Run:
        """Send one rerun_script with these widget states; wait for the run(s) to finish."""
        client = ClientState(
            query_string="",
            page_script_hash=self.page if page is None else page,
            widget_states={"widgets": states},
        )
        client.context_info.timezone = "UTC"
        client.context_info.locale = "en-GB"
        client.context_info.url = self.base_url + "/"
        await self.ws.send(BackMsg(rerun_script=client).SerializeToString())
        return await self._collect()

    async def _collect(self) -> Run:
        run = Run()
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TabError(f"no finished run within {self.timeout:.0f} s")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                raise TabError(f"no finished run within {self.timeout:.0f} s") from None
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                run = Run(errors=run.errors, runs=run.runs + 1)
                self.page = msg.new_session.page_script_hash or self.page
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
                self.page = msg.navigation.page_script_hash or self.page
            elif kind == "page_info_changed" or kind == "page_not_found":
                if kind == "page_not_found":
                    run.errors.append("page not found")
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                run._element(msg.delta.new_element)
            elif kind == "script_finished":
                if msg.script_finished in DONE:
                    return run
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise TabError("script failed to compile")

    async def click(self, run: Run, key: str) -> Run:
        return await self.act([_trigger(_need(run, key))])

    async def submit(self, run: Run, form: str, label: str, values: dict[str, str]) -> Run:
        """Fill a form's text inputs (by key) and press its submit button."""
        states = [WidgetState(id=_need(run, k), string_value=v) for k, v in values.items()]
        states.append(_trigger(_need(run, f"FormSubmitter:{form}-{label}")))
        return await self.act(states)

    async def go(self, url_path: str) -> Run:
        """Follow a link in the navigation to the page at this address."""
        if url_path not in self.pages:
            raise TabError(f"no page {url_path!r} in the navigation")
        return await self.act([], page=self.pages[url_path])

    async def cookie_ops(self, run: Run) -> Run:
        """Play the cookie component like a browser: POST its route, report the status."""
        seen: set[str] = set()
        while True:
            op = next((c for c in run.components if c[1].endswith(COOKIE_COMPONENT)), None)
            if op is None or not op[2] or op[2].get("nonce") in seen:
                return run  # drawn again after its answer: the script runs on (a re-render)
            seen.add(op[2].get("nonce"))
            status = await asyncio.to_thread(self._http, "POST", op[2]["url"], op[2]["body"])
            trigger = WidgetState(
                id=f"{TRIGGER_PREFIX}_{op[0]}__events",
                json_trigger_value=json.dumps([{"event": "status", "value": status}]),
            )
            run = await self.act([trigger])

    def _http(self, method: str, path: str, body: Any) -> int:
        headers = {"User-Agent": AGENT, "Cookie": self._cookie_header()}
        data = None
        if method == "POST":
            headers |= {
                "Origin": self.base_url,
                "Content-Type": "application/json",
                "X-Portal-Request": "1",
            }
            data = json.dumps(body or {}).encode()
        url = self.base_url + path  # always http://127.0.0.1:<port>, the server we started
        request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                self._keep(response.headers.get_all("Set-Cookie") or [])
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:  # a refusal is a status, as fetch() reports it
            return int(exc.code)

    def _keep(self, set_cookies: list[str]) -> None:
        for value in set_cookies:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items() if v)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def _need(run: Run, key: str) -> str:
    found = run.widget(key)
    if found is None:
        raise TabError(f"no widget {key!r} on the page ({run.texts[:3]})")
    return found
