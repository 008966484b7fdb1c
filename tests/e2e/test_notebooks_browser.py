"""The Notebooks tab in Chromium: a built-in runs, draws its charts, asks no other host."""

from __future__ import annotations

from typing import Any

import pytest
from harness import (
    RequestRecorder,
    Server,
    expect_signed_in,
    open_app,
    open_nav,
    portal_first_run,
    portal_sign_in,
    wait_for_app_idle,
    wait_for_rerun,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

MANAGER, MANAGER_PW = "root", "root-pass-3390"


def test_a_builtin_notebook_runs_with_charts_and_no_outside_request(
    portal_server: Server, page: Any, request_recorder: RequestRecorder
) -> None:
    open_app(
        page, portal_server.url, ready=page.get_by_role("heading", name="Welcome to the 2FA Portal")
    )
    portal_first_run(page, MANAGER, MANAGER_PW)
    portal_sign_in(page, MANAGER, MANAGER_PW)
    expect_signed_in(page, MANAGER)
    open_nav(page, "Security manager")
    page.get_by_role("tab", name="Notebooks").click()
    opened = page.locator(".st-key-sm_nb_open_1 button")
    wait_for_rerun(page, opened)
    opened.click()
    run_all = page.get_by_role("button", name="▶ Run all")
    wait_for_rerun(page, run_all)
    expect(page.get_by_text("Why this matters")).to_be_visible()
    run_all.click()
    wait_for_rerun(page, page.get_by_text("took ").first)
    wait_for_app_idle(page)
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts.first).to_be_visible()
    assert charts.count() == 2  # the notebook's two (the overview has none without set-ups)
    assert page.get_by_test_id("stException").count() == 0
    request_recorder.assert_only_loopback()
