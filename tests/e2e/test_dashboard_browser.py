"""The dashboard in a real browser: Debian's chromium driven by Playwright.

Nothing is mocked: a real server on 127.0.0.1, real uploads through the page's form.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import csv_bytes
from tests.live_server import LiveServer, live_server

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data") as live:
        yield live


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    blocked = watch_csp(page)
    page.goto(server.url + "/")
    expect(page.locator("#live")).to_have_text("live")
    yield page
    assert dialogs == [], "a script ran from the data"
    assert blocked == [], "the Content-Security-Policy blocked part of the dashboard"
    context.close()


def watch_csp(page: Page) -> list[str]:
    """Console reports of anything the Content-Security-Policy refused, and page errors."""
    found: list[str] = []
    page.on(
        "console",
        lambda m: found.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: found.append(str(e)))
    return found


def test_the_api_docs_work_offline_under_the_same_policy(
    browser: Browser, server: LiveServer
) -> None:
    page = browser.new_page()
    blocked = watch_csp(page)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None,
    )
    response = page.goto(server.url + "/docs")
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    expect(page.locator(".opblock-summary-path", has_text="/api/uploads").first).to_be_visible()
    assert blocked == [] and outside == []
    page.close()


def upload(page: Page, tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.set_input_files("#file-input", str(path))
    page.click("#upload-button")


def test_upload_through_the_form_updates_the_page_live(page: Page, tmp_path: Path) -> None:
    upload(
        page,
        tmp_path,
        "inventory-berlin.csv",
        csv_bytes(
            ("Berlin", "Echo Dot", 12),
            ("Berlin", "Echo Plus", 0),
            ("Berlin", "Echo Show", 18),
            header="Store,item,count",
        ),
    )
    card = page.locator(".store-card", has_text="Berlin")
    expect(card).to_contain_text("1 out of stock")
    expect(page.locator("#alerts")).to_contain_text("Berlin is out of stock of Echo Plus")
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    card.click()
    expect(page.locator("#store-name")).to_have_text("Berlin")
    expect(page.locator("#store-chart .bars path")).to_have_count(3)
    out_row = page.locator("tr.out_of_stock")
    expect(out_row).to_have_count(1)
    expect(out_row).to_contain_text("Echo Plus")
    page.fill("#item-search", "show")
    expect(page.locator("#stock-rows tr")).to_have_count(1)
    page.fill("#item-search", "")
    page.click("#stock-rows tr:has-text('Echo Dot')")
    expect(page.locator("#history-title")).to_have_text("Echo Dot: count over time")
    page.goto(page.url.split("#")[0] + "#/")
    # A second upload, seen without a reload: the out-of-stock item comes back.
    upload(page, tmp_path, "restock.csv", csv_bytes(("Berlin", "Echo Plus", 9)))
    expect(card).to_contain_text("all stocked")


def test_a_report_shows_each_rejected_row(page: Page, tmp_path: Path) -> None:
    upload(
        page,
        tmp_path,
        "mixed.csv",
        csv_bytes(("Pusan", "Echo Dot", 3), ("Pusan", "Echo Look", "twelve"), ("Pusan", "", 4)),
    )
    expect(page.locator("#upload-status")).to_contain_text("loaded with errors")
    report = page.locator("tr.report")
    expect(report).to_contain_text('line 3: count "twelve" is not a whole number')
    expect(report).to_contain_text("line 4: item is empty")


def test_names_are_text_never_html(page: Page, tmp_path: Path) -> None:
    upload(page, tmp_path, "xss.csv", csv_bytes((XSS, XSS, 0), ("Karachi", XSS, 5)))
    expect(page.locator("#alerts")).to_contain_text(f"{XSS} is out of stock of {XSS}")
    expect(page.locator(".store-card", has_text=XSS)).to_have_count(1)
    assert page.locator("img").count() == 0
    page.locator(".store-card", has_text="Karachi").click()
    expect(page.locator("#stock-rows")).to_contain_text(XSS)
    expect(page.locator("#store-chart .bars path")).to_have_count(1)
    assert page.locator("img").count() == 0


def test_screenshot_for_the_readme(browser: Browser, tmp_path: Path) -> None:
    from importlib import resources

    with live_server(tmp_path / "shot") as live:
        db = live.ctx.db()
        folder = resources.files("stockwatch") / "demo_data"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".csv"):
                with entry.open("rb") as source:
                    db.process_upload(db.receive(entry.name, source))
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(live.url + "/")
        expect(page.locator(".store-card")).to_have_count(6)
        page.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
        page.goto(live.url + "/#/store/Berlin")
        expect(page.locator("#store-chart .bars path")).to_have_count(6)
        page.screenshot(path=str(DOCS / "dashboard-store.png"), full_page=True)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        mobile = phone.new_page()
        mobile.goto(live.url + "/")
        expect(mobile.locator(".store-card")).to_have_count(6)
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        phone.close()
        context.close()


def test_the_dashboard_asks_for_the_token_once(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_TOKEN", "t0ken-for-the-shop")
    with live_server(tmp_path / "guarded") as live:
        db = live.ctx.db()
        import io

        db.process_upload(db.receive("a.csv", io.BytesIO(csv_bytes(("Pusan", "Echo", 0)))))
        context = browser.new_context()
        page = context.new_page()
        page.goto(live.url + "/")
        expect(page.locator("#token-dialog")).to_be_visible()
        page.fill("#token-input", "t0ken-for-the-shop")
        page.click("#token-form button")
        expect(page.locator(".store-card", has_text="Pusan")).to_contain_text("1 out of stock")
        expect(page.locator("#live")).to_have_text("live")
        page.reload()  # remembered: no second question
        expect(page.locator(".store-card", has_text="Pusan")).to_have_count(1)
        expect(page.locator("#token-dialog")).to_be_hidden()
        context.close()


def test_the_store_page_downloads_safe_csv(page: Page, tmp_path: Path) -> None:
    upload(page, tmp_path, "f.csv", csv_bytes(("Lima", "=SUM(A1)", 0), ("Lima", "Kindle", 4)))
    page.locator(".store-card", has_text="Lima").click()
    expect(page.locator("#stock-rows")).to_contain_text("=SUM(A1)")  # shown as it is
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename == "stock-Lima.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert "'=SUM(A1)" in text and "Lima,Kindle,4,ok" in text
