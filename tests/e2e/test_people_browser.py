"""Signing in as different people, in a real browser (Debian's chromium, Playwright).

Users are made with the real CLI; a real server on 127.0.0.1 checks every request. Each
test signs in through the token dialog and looks at what that person is shown and offered.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from stockwatch.service.commands import Upload
from tests.conftest import csv_bytes, run_cli
from tests.e2e.test_dashboard_browser import watch_csp
from tests.live_server import LiveServer, live_server

BOOTSTRAP = "bootstrap-token-0123456789abcdef"


def _add(data: Path, *args: str) -> str:
    added = run_cli(data, "users", "add", *args)
    assert added.returncode == 0, added.stderr
    return added.stdout.strip()


@pytest.fixture
def chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    """Two stores with stock-outs, a Berlin store user and a Berlin manager with an email."""
    data = tmp_path / "data"
    tokens = {
        "berlin": _add(data, "berlin", "--role", "store", "--store", "Berlin"),
        "ana": _add(
            data, "ana", "--role", "manager", "--store", "Berlin", "--email", "ana@example.com"
        ),
        "admin": BOOTSTRAP,
    }
    monkeypatch.setenv("STOCKWATCH_TOKEN", BOOTSTRAP)
    with live_server(data) as live:
        db = live.backend
        start = csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 0), ("Karachi", "Fan", 3))
        db.process_upload(db.receive(Upload("start.csv", uploader="admin"), io.BytesIO(start)))
        yield live, tokens


def sign_in(browser: Browser, live: LiveServer, token: str) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked = watch_csp(page)
    page.goto(live.url + "/")
    expect(page.locator("#token-dialog")).to_be_visible()
    page.fill("#token-input", token)
    page.click("#token-form button")
    expect(page.locator("#live")).to_have_text("live")
    return page, blocked


def test_a_store_user_sees_and_uploads_only_its_own_store(
    browser: Browser, chain: tuple[LiveServer, dict[str, Any]], tmp_path: Path
) -> None:
    live, tokens = chain
    page, blocked = sign_in(browser, live, tokens["berlin"])
    expect(page.locator("#who-name")).to_have_text("berlin · store · Berlin")
    expect(page.locator(".store-card")).to_have_count(1)
    expect(page.locator(".store-card")).to_contain_text("Berlin")
    expect(page.locator("body")).not_to_contain_text("Karachi")
    expect(page.locator("a[data-nav=people]")).to_be_hidden()
    expect(page.locator("#notify-me")).to_be_hidden()  # no email address to send to

    mixed = tmp_path / "berlin.csv"
    mixed.write_bytes(csv_bytes(("Berlin", "Echo Dot", 9), ("Karachi", "Tap", 50)))
    page.set_input_files("#file-input", str(mixed))
    page.click("#upload-button")
    status = page.locator("#upload-status")
    expect(status).to_contain_text("1 row loaded, 1 rejected")
    expect(status).to_contain_text('store "Karachi" is not one of yours')
    row = page.locator("#uploads tr").first
    expect(row).to_contain_text("berlin.csv")
    expect(row.locator("td.uploader")).to_have_text("berlin")
    expect(page.locator("#uploads")).not_to_contain_text("start.csv")  # an admin's, all stores

    page.click("a[data-nav=alerts]")
    page.select_option("#alert-state", "all")
    expect(page.locator("#alert-groups section")).to_have_count(1)
    expect(page.locator("#alert-groups")).to_contain_text("Berlin")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    page.click("a[data-nav=thresholds]")
    expect(page.locator("#threshold-forms")).to_be_hidden()
    assert blocked == []


def test_a_manager_acts_on_its_stores_alerts_and_asks_to_be_emailed(
    browser: Browser, chain: tuple[LiveServer, dict[str, Any]]
) -> None:
    live, tokens = chain
    page, blocked = sign_in(browser, live, tokens["ana"])
    expect(page.locator("#who-name")).to_have_text("ana · manager · Berlin")
    expect(page.locator(".store-card")).to_have_count(1)
    expect(page.locator("#upload-panel")).to_be_hidden()  # a manager does not upload

    notify = page.locator("#notify-me")
    expect(notify).to_have_text("Email me my alerts")
    notify.click()
    expect(notify).to_have_text("Stop emailing me")
    listed = run_cli(live.data_dir, "subscriptions", "list", "--json")
    assert '"target": "ana@example.com"' in listed.stdout and '"Berlin"' in listed.stdout

    page.click("a[data-nav=alerts]")
    alert = page.locator("#alert-groups li")
    expect(alert).to_have_count(1)  # Berlin's; Karachi's are not this manager's
    expect(alert).to_contain_text("Echo Dot")
    alert.locator("input.note").fill("on its way")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#alert-groups li").first).to_contain_text(
        "acknowledged by ana: on its way"
    )
    page.click("a[data-nav=thresholds]")
    expect(page.locator("#threshold-forms")).to_be_visible()
    page.fill("#t-store", "Karachi")
    page.fill("#t-item", "*")
    page.fill("#t-minimum", "5")
    page.click("#threshold-form button")
    expect(page.locator("#threshold-status")).to_contain_text("not one of yours")
    notify.click()
    expect(notify).to_have_text("Email me my alerts")
    assert blocked == []


def test_an_admin_adds_rotates_and_revokes_people_on_the_page(
    browser: Browser, chain: tuple[LiveServer, dict[str, Any]]
) -> None:
    live, tokens = chain
    page, blocked = sign_in(browser, live, tokens["admin"])
    expect(page.locator("#who-name")).to_have_text("admin · admin · all stores")
    page.click("a[data-nav=people]")
    expect(page.locator("#user-rows tr")).to_have_count(2)
    page.fill("#u-name", "kim")
    page.select_option("#u-role", "viewer")
    page.fill("#u-stores", "Karachi")
    page.click("#user-form button")
    token = page.locator("#new-token-text")
    expect(token).to_have_text(token_pattern())
    first = token.text_content()
    kim = page.locator("#user-rows tr[data-user=kim]")
    expect(kim).to_contain_text("Karachi")
    kim.get_by_role("button", name="New token").click()
    expect(token).not_to_have_text(first or "")
    kim.get_by_role("button", name="Revoke").click()
    expect(kim).to_contain_text("revoked")
    audit = page.locator("#audit-rows")
    expect(audit).to_contain_text("user.revoke")
    expect(audit).to_contain_text("user.rotate")
    expect(audit).to_contain_text("user.add")
    assert blocked == []


def token_pattern() -> re.Pattern[str]:
    import re

    return re.compile(r"^sw_[A-Za-z0-9_-]{40,}$")
