"""Screenshots of sign-in, every set-up wizard step, the manager page and a phone, in Chromium.

Starts `portal demo` on a free loopback port, drives it as a trainer would (every code is read
from the virtual authenticator panel, as the class would read it), and writes
docs/screenshots/*.png. Run it again after a change to the pages:

    python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import (  # noqa: E402 - the repository root must be importable first
    PORTAL_WIZARD_NAV,
    launch_chromium,
    start_server,
    wait_for_app_idle,
    wait_for_rerun,
)

PASSWORD = "demo-2fa-portal"  # noqa: S105 - portal.demo.PASSWORD, printed by `portal demo`
CODE = re.compile(r"(?<!\d)(\d{3} \d{3})(?!\d)")
SKEW_SWITCH = "Simulate a phone clock 2 minutes off"


class Shooter:
    """The page and the folder; shot() waits for the run to settle, then saves a full-page PNG."""

    def __init__(self, page: Any, out: Path) -> None:
        self.page = page
        self.out = out
        self.taken: list[Path] = []

    def shot(self, name: str) -> None:
        wait_for_app_idle(self.page)
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)

    def main(self) -> Any:
        return self.page.get_by_test_id("stMain")

    def panel(self) -> Any:
        return self.page.locator(".st-key-virtual_authenticator")

    def code(self, phone_off: bool = False) -> str:
        """The code the virtual authenticator shows now (waits for the switch to take effect)."""
        from playwright.sync_api import expect

        fast = self.panel().get_by_text("runs 2 minutes fast")
        expect(fast).to_have_count(1 if phone_off else 0)
        expect(self.panel()).to_contain_text(CODE)
        found = CODE.search(self.panel().inner_text())
        assert found, "no code in the virtual authenticator"
        return found.group(1)

    def click(self, name: str, then: Any) -> None:
        self.main().get_by_role("button", name=name, exact=True).click()
        wait_for_rerun(self.page, then)


def sign_in(s: Shooter, username: str) -> None:
    from playwright.sync_api import expect

    page = s.page
    # After a sign-out the previous run's form can linger (stale) for a moment: wait for one.
    expect(page.get_by_label("Username", exact=True)).to_have_count(1)
    wait_for_app_idle(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_in_with_code(s: Shooter) -> None:
    sign_in(s, "ada")
    wait_for_rerun(s.page, s.page.get_by_label("Authentication code"))
    s.code()
    s.shot("01-sign-in-code")
    s.page.get_by_label("Authentication code").fill(s.code())
    s.click("Verify", s.page.get_by_role("heading", name="Hello, Ada Okafor"))
    s.page.get_by_role("button", name="Sign out").click()
    wait_for_rerun(s.page, s.page.get_by_label("Username", exact=True))


def wizard(s: Shooter) -> None:
    from playwright.sync_api import expect

    page, main = s.page, s.main()
    sign_in(s, "trainer")
    wait_for_rerun(page, page.get_by_role("heading", name="Hello, Terry Trainer"))
    main.get_by_role("link", name=PORTAL_WIZARD_NAV).click()
    wait_for_rerun(page, main.get_by_label("Password", exact=True))
    s.shot("02-wizard-password")
    main.get_by_label("Password", exact=True).fill(PASSWORD)
    s.click("Continue", main.get_by_text("Install one of these apps"))
    s.shot("03-wizard-intro")
    s.click("Next", page.get_by_test_id("stImage"))
    s.code()  # the virtual phone has the new key
    s.shot("04-wizard-qr")
    s.click("I can't scan this code", main.get_by_text("Type this key into your app"))
    s.shot("05-wizard-key")
    s.click("Next", main.get_by_label("Code from your app"))
    verify_with_wrong_clock(s)
    page.get_by_test_id("stSidebarUserContent").get_by_text(SKEW_SWITCH).click()
    wait_for_app_idle(page)
    page.wait_for_timeout(1500)  # the panel redraws its code once a second
    main.get_by_label("Code from your app").fill(s.code())
    s.click("Verify", main.get_by_text("The code is correct"))
    s.shot("07-wizard-verified")
    s.click("Next", main.get_by_text("backup codes", exact=False).first)
    s.shot("08-wizard-backup-codes")
    # Finish waits until the codes were kept: copied, downloaded or printed.
    with page.expect_download():
        main.get_by_role("button", name="Download .txt", exact=True).click()
    stored = main.get_by_role("checkbox", name="I have stored my backup codes safely")
    expect(stored).to_be_enabled()
    main.get_by_text("I have stored my backup codes safely").click()
    s.click("Finish", main.get_by_text("Two-factor authentication is on."))
    s.shot("09-wizard-done")
    page.get_by_role("button", name="Sign out").first.click()
    wait_for_rerun(page, page.get_by_label("Username", exact=True))


def manager(s: Shooter) -> None:
    """The security manager's page: overview and the accounts table."""
    page = s.page
    sign_in(s, "manager")
    wait_for_rerun(page, page.get_by_label("Authentication code"))
    page.get_by_label("Authentication code").fill(s.code())
    s.click("Verify", page.get_by_role("link", name="Security manager").first)
    page.get_by_role("link", name="Security manager").first.click()
    wait_for_rerun(page, page.get_by_text("Accounts", exact=True).first)
    s.shot("10-manager")


def phone(s: Shooter) -> None:
    """A phone-sized sign-in code step: the virtual authenticator inline, Sign out in the page."""
    page = s.page
    sign_in(s, "ada")
    wait_for_rerun(page, page.get_by_label("Authentication code"))
    s.code()
    s.shot("11-phone-sign-in-code")


def verify_with_wrong_clock(s: Shooter) -> None:
    main = s.main()
    s.page.get_by_test_id("stSidebarUserContent").get_by_text(SKEW_SWITCH).click()
    main.get_by_label("Code from your app").fill(s.code(phone_off=True))
    s.click("Verify", main.get_by_text("it would be if your phone's clock were right"))
    s.shot("06-wizard-clock-warning")


def take(out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portal-shots-") as tmp:
        cmd = [sys.executable, "-m", "portal", "demo", "--port", "{port}"]
        server = start_server(cmd, {}, cwd=ROOT, log_path=Path(tmp) / "server.log", name="demo")
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                expect.set_options(timeout=20_000)
                context = browser.new_context(
                    viewport={"width": 1280, "height": 820}, locale="en-GB", timezone_id="UTC"
                )
                shooter = Shooter(context.new_page(), out)
                shooter.page.goto(server.url)
                wait_for_rerun(shooter.page, shooter.page.get_by_label("Username", exact=True))
                sign_in_with_code(shooter)
                wizard(shooter)
                manager(shooter)
                small = browser.new_context(
                    viewport={"width": 390, "height": 844},
                    locale="en-GB",
                    timezone_id="UTC",
                    is_mobile=True,
                    has_touch=True,
                )
                shooter.page = small.new_page()
                shooter.page.goto(server.url)
                wait_for_rerun(shooter.page, shooter.page.get_by_label("Username", exact=True))
                phone(shooter)
                browser.close()
        except Exception:
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    return shooter.taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"Screenshots into {args.out}:", flush=True)
    taken = take(args.out.resolve())
    print(f"{len(taken)} screenshots in {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
