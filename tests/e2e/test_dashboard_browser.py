"""The dashboard in a real browser: Debian's chromium driven by Playwright.

Nothing is mocked: a real server on 127.0.0.1, real uploads through the page's form.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stockwatch.service.commands import Upload
from tests.conftest import csv_bytes
from tests.e2e.conftest import needs_chromium
from tests.live_server import LiveServer, live_server

DOCS = Path(__file__).resolve().parents[2] / "docs"

needs_chromium()

from playwright.sync_api import Browser, Dialog, Page, expect  # noqa: E402

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
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


# Everything visible must fit the viewport, and no box may cut its own content: a table
# scrolling sideways, a badge squashed, a list hiding its last row.
OVERFLOW = "\n".join(
    line
    for line in (Path(__file__).parent / "overflow.js").read_text().splitlines()
    if not line.startswith("//")
)


def load_lab(db: Any) -> None:
    """What ``make run`` shows: the demo's three weeks of six stores, with thresholds."""
    from stockwatch.cli.demo import load_demo

    load_demo(db, None)


PAGES = {
    "overview": ("/", ".store-card"),
    "store": ("/#/store/Berlin", "#stock-rows tr"),
    "item": ("/#/item/Echo%20Dot", "#item-rows tr"),
    "alerts": ("/#/alerts", "#alert-groups section"),
    "thresholds": ("/#/thresholds", "#threshold-rows tr"),
    "order": ("/#/order", "#order-rows tr[data-line]"),
}


def test_every_page_fits_a_phone_and_the_screenshots_for_the_docs(
    browser: Browser, tmp_path: Path
) -> None:
    with live_server(tmp_path / "shot") as live:
        db = live.backend
        load_lab(db)
        desktop = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = desktop.new_page()
        shots = {
            "overview": "dashboard.png",
            "store": "dashboard-store.png",
            "item": "item.png",
            "alerts": "alerts.png",
            "order": "to-order.png",
        }
        for name, (path, ready) in PAGES.items():
            page.goto(live.url + path)
            expect(page.locator(ready).first).to_be_visible()
            assert page.evaluate(OVERFLOW) == [], name
            if name in shots:
                page.screenshot(path=str(DOCS / shots[name]), full_page=True)
        page.goto(live.url + "/#/item/Echo%20Dot")
        expect(page.locator("#item-rows tr", has_text="Berlin")).to_contain_text(" d")
        page.goto(live.url + "/#/store/Berlin")
        page.click("#stock-rows tr:has-text('Echo Plus')")  # three weeks of dated counts
        ticks = page.locator("#history-chart .xtick text")
        expect(ticks.first).to_be_visible()
        assert all(" " in t and ":" not in t for t in ticks.all_text_contents()), "a day axis"
        desktop.close()

        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        mobile = phone.new_page()
        for name, (path, ready) in PAGES.items():
            mobile.goto(live.url + path)
            expect(mobile.locator(ready).first).to_be_visible()
            assert mobile.evaluate(OVERFLOW) == [], f"{name} on a phone"
            if name in ("overview", "alerts"):
                target = "phone.png" if name == "overview" else "phone-alerts.png"
                mobile.screenshot(path=str(DOCS / target), full_page=True)
        # Acknowledged with a long note, muted, resolved: the longest lines an alert has
        # (591 px wide on a phone, #27).
        from stockwatch.service.commands import Acknowledge, Mute
        from stockwatch.service.reads import acknowledge, mute

        first = db.reads().alerts(True, 1, None, None, False)[0]
        note = "20 ordered from the Hamburg warehouse, arriving Thursday_morning_before_nine"
        acknowledge(
            db.alert_notes(), Acknowledge(str(first.id), "maria.fernandez@example.com", note)
        )
        later = "2999-01-01T00:00:00.000Z"
        mute(db.alert_notes(), Mute("Berlin", "*", later, "ana"), None, names=db.reads())
        mobile.goto(live.url + "/#/alerts")
        mobile.select_option("#alert-state", "all")
        expect(mobile.locator("#alert-groups")).to_contain_text("maria.fernandez")
        assert mobile.evaluate(OVERFLOW) == [], "all alerts on a phone"
        phone.close()


def test_the_dashboard_asks_for_the_token_once_and_says_a_wrong_one_is_wrong(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_TOKEN", "t0ken-for-the-shop")
    with live_server(tmp_path / "guarded") as live:
        db = live.backend
        import io

        db.process_upload(db.receive(Upload("a.csv"), io.BytesIO(csv_bytes(("Pusan", "Echo", 0)))))
        context = browser.new_context()
        page = context.new_page()
        page.goto(live.url + "/")
        expect(page.locator("#token-dialog")).to_be_visible()
        expect(page.locator("#token-error")).to_be_hidden()
        page.fill("#token-input", "not-the-token-at-all")  # a wrong one is said to be wrong
        page.click("#token-form button")
        expect(page.locator("#token-error")).to_be_visible()
        expect(page.locator("#token-error")).to_contain_text("not accepted")
        page.fill("#token-input", "t0ken-for-the-shop")
        page.click("#token-form button")
        expect(page.locator("#token-dialog")).to_be_hidden()
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
    assert "'=SUM(A1)" in text and "Lima,Kindle,,4,ok" in text


def test_the_alerts_page_groups_filters_acknowledges_and_mutes(
    page: Page, tmp_path: Path, server: LiveServer
) -> None:
    data = csv_bytes(("Berlin", "Echo Plus", 0), ("Pusan", "Echo Dot", 0), ("Pusan", "Tap", 0))
    upload(page, tmp_path, "two.csv", data)
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    page.click("a[data-nav=alerts]")
    groups = page.locator("#alert-groups section")
    expect(groups).to_have_count(2)
    page.select_option("#alert-store", "Pusan")
    expect(groups).to_have_count(1)
    expect(groups.first).to_contain_text("2 alerts")
    first = page.locator("#alert-groups li").first
    first.locator("input.note").fill("20 ordered")
    first.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#alert-groups li").first).to_contain_text(
        "acknowledged by the dashboard: 20 ordered"
    )
    page.locator("#alert-groups li").nth(1).get_by_role("button", name="Mute 7 days").click()
    expect(page.locator("#alert-groups li").nth(1)).to_contain_text("muted until")
    # Each alert links to its item's page.
    page.locator("#alert-groups li").first.locator("a").first.click()
    expect(page.locator("#item-name")).not_to_be_empty()
    page.goto(server.url + "/alerts")  # the page's own address
    expect(page.locator("#alerts-view")).to_be_visible()


def test_where_is_it_finds_an_item_in_every_store(page: Page, tmp_path: Path) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", 12), ("Pusan", "Echo Dot", 0), ("Pusan", "Tap", 3))
    upload(page, tmp_path, "stores.csv", data)
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    page.fill("#find", "echo d")
    result = page.locator("#find-results li")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Echo Dot — in stock in Berlin (12)")
    result.locator("a").click()
    expect(page.locator("#item-name")).to_have_text("Echo Dot")
    expect(page.locator("#item-rows tr")).to_have_count(2)
    expect(page.locator("#item-summary")).to_contain_text("12 in 2 stores · 1 out of stock")


def test_thresholds_are_edited_on_the_page_and_act_at_once(page: Page, tmp_path: Path) -> None:
    upload(page, tmp_path, "b.csv", csv_bytes(("Berlin", "Echo Dot", 3), ("Berlin", "Tap", 40)))
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    page.click("a[data-nav=thresholds]")
    page.fill("#t-store", "Berln")  # a typo is refused with the name meant (#27)
    page.fill("#t-item", "*")
    page.fill("#t-minimum", "5")
    page.click("#threshold-form button")
    expect(page.locator("#threshold-status")).to_contain_text('did you mean "Berlin"?')
    page.check("#t-new")  # unless the store is expected
    page.click("#threshold-form button")
    expect(page.locator("#threshold-status")).to_contain_text("Set Berln / *")
    page.locator("#threshold-rows tr", has_text="Berln").get_by_role("button").click()
    page.uncheck("#t-new")
    page.fill("#t-store", "Berlin")
    page.click("#threshold-form button")
    expect(page.locator("#threshold-status")).to_contain_text("1 alert raised, 0 resolved")
    expect(page.locator("#threshold-rows tr")).to_have_count(1)
    path = tmp_path / "minimums.csv"
    path.write_bytes(b"store,item,minimum,cover_days\nBerlin,Tap,50,7\n")
    page.set_input_files("#t-file", str(path))
    page.click("#threshold-import button")
    expect(page.locator("#threshold-status")).to_contain_text("Imported minimums.csv")
    expect(page.locator("#threshold-rows tr")).to_have_count(2)
    page.locator("#threshold-rows tr", has_text="Tap").get_by_role("button").click()
    expect(page.locator("#threshold-status")).to_contain_text("1 resolved")
    page.click("a[data-nav=overview]")
    expect(page.locator("#alerts")).to_contain_text("Berlin is low on Echo Dot: 3 left (minimum 5)")


def test_a_held_snapshot_is_applied_from_its_report(page: Page, tmp_path: Path) -> None:
    full = csv_bytes(("Lima", "A", 1), ("Lima", "B", 2), ("Lima", "C", 3))
    upload(page, tmp_path, "full.csv", full)
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    page.check("#snapshot-input")
    upload(page, tmp_path, "short.csv", csv_bytes(("Lima", "A", 1), ("Lima", "x", "bad")))
    status = page.locator("#upload-status")
    expect(status).to_contain_text("needs confirmation: held")
    expect(status).to_contain_text("2 of 3 items of Lima")
    report = page.locator("tr.report").first  # the newest upload's, at the top
    expect(report).to_contain_text("would set 2 left-out items to 0: Lima / B, Lima / C")
    expect(report).to_contain_text('line 3: count "bad" is not a whole number — item x')
    report.get_by_role("button", name="Apply it").click()
    expect(page.locator("tr.report").first).to_contain_text("Snapshot: set 2 left-out items")
    expect(page.locator(".store-card", has_text="Lima")).to_contain_text("2 out of stock")


def test_the_overview_paints_without_the_chart_library_and_says_what_is_running_out(
    browser: Browser, tmp_path: Path
) -> None:
    """#27: the first paint waited for 4.8 MB of plotly.js that the overview never uses;
    an item running out said "ok"; "Open alerts" had no count."""
    with live_server(tmp_path / "demo") as live:
        load_lab(live.backend)
        page = browser.new_page()
        scripts: list[str] = []
        page.on("request", lambda r: scripts.append(r.url) if "plotly" in r.url else None)
        page.goto(live.url + "/")
        expect(page.locator(".store-card", has_text="Berlin")).to_contain_text("running out")
        expect(page.locator("#open-count")).to_have_text(re.compile(r"^\(\d+\)$"))
        expect(page.locator("#summary")).to_contain_text("running out")
        page.wait_for_load_state("networkidle")
        assert scripts == [], "the overview loaded the chart library"
        page.goto(live.url + "/#/store/Berlin")
        running = page.locator("#stock-rows tr.running_out")
        expect(running.first).to_contain_text("running out")
        page.check("#only-problems")
        expect(page.locator("#stock-rows tr.running_out").first).to_be_visible()
        expect(page.locator("#store-chart .bars path").first).to_be_attached()
        assert any("plotly" in url for url in scripts), "the store page draws its chart"
        page.close()


def test_a_file_no_layout_reads_is_mapped_from_drop_downs(page: Page, tmp_path: Path) -> None:
    """The columns are offered in drop-downs (guessed from their names), the mapping is
    saved under a name, and the same file is sent again with it."""
    upload(page, tmp_path, "till.csv", b"Branch;Article;Qty\nBerlin;Echo Dot;0\nBerlin;Tap;4\n")
    form = page.locator("#map-columns")
    expect(form).to_be_visible()
    expect(page.locator("#upload-status")).to_contain_text("no usable header")
    assert page.locator("#map-store").input_value() == "Branch"
    assert page.locator("#map-item").input_value() == "Article"
    assert page.locator("#map-count").input_value() == "Qty"
    expect(page.locator("#map-name")).to_have_value("till")
    # The docs page "Files from your store system" shows this step.
    page.locator("#upload-panel").screenshot(path=str(DOCS / "map-columns.png"))
    page.click("#map-save")
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    expect(form).to_be_hidden()
    expect(page.locator(".store-card", has_text="Berlin")).to_contain_text("1 out of stock")


def test_an_oversold_item_says_by_how_much(page: Page, tmp_path: Path) -> None:
    upload(
        page, tmp_path, "oversold.csv", csv_bytes(("Pusan", "Echo Dot", -3), ("Pusan", "Tap", 4))
    )
    card = page.locator(".store-card", has_text="Pusan")
    expect(card).to_contain_text("1 out of stock")
    card.click()
    row = page.locator("#stock-rows tr.out_of_stock")
    expect(row).to_contain_text("Echo Dot")
    expect(row).to_contain_text("oversold by 3")


def test_an_item_is_found_by_its_sku_and_its_page_shows_it(page: Page, tmp_path: Path) -> None:
    data = (Path(__file__).parents[2] / "examples/exports/shopify-inventory.csv").read_bytes()
    upload(page, tmp_path, "shopify.csv", data)
    expect(page.locator("#upload-status")).to_contain_text("loaded")
    page.fill("#find", "tee-red")
    result = page.locator("#find-results li")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Classic Tee - Red / M (SKU TEE-RED-M)")
    result.locator("a").click()
    expect(page.locator("#item-summary")).to_contain_text("SKU TEE-RED-M")
    page.goto(page.url.split("#")[0] + "#/store/Main%20Street")
    page.fill("#item-search", "MUG-1")
    expect(page.locator("#stock-rows tr")).to_have_count(1)
    expect(page.locator("#stock-rows tr")).to_contain_text("Enamel Mug MUG-1")


def test_the_order_page_marks_lines_ordered_and_downloads_them(
    page: Page, server: LiveServer
) -> None:
    for day, count in enumerate((40, 35, 30, 25, 20), start=1):
        data = csv_bytes(("Lima", "Echo Dot", count), ("Lima", "=SUM(A1)", count - 10))
        command = Upload(f"lima-{day}.csv", as_of=f"2026-11-0{day}T08:00:00.000Z")
        assert server.backend.ingest(command, io.BytesIO(data)).status == "loaded"
    page.click("a[data-nav=order]")
    dot = page.locator("#order-rows tr[data-line]", has_text="Echo Dot")
    expect(dot).to_contain_text("runs out Mon 9 Nov; 7-day lead time")
    expect(dot.locator("input.qty")).to_have_value("50")
    expect(page.locator("#order-summary")).to_contain_text("2 items to order")
    with page.expect_download() as info:
        page.click("#download-order")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Lima,'=SUM(A1)," in text and "Lima,Echo Dot,,20,0,5.0" in text

    page.locator("#order-rows tr[data-line]", has_text="=SUM(A1)").locator(
        "input[type=checkbox]"
    ).uncheck()
    dot.locator("input.qty").fill("48")
    page.click("#mark-ordered")
    expect(page.locator("#order-status")).to_contain_text("Recorded 1 order")
    expect(page.locator("#open-order-rows tr", has_text="Echo Dot")).to_contain_text("48")
    expect(dot.locator("input.qty")).to_have_value("2")  # 48 on order of 70 -> 2 more
    page.locator("#open-order-rows tr", has_text="Echo Dot").get_by_role("button").click()
    expect(page.locator("#order-status")).to_contain_text("Received 48 × Echo Dot for Lima")
    expect(page.locator("#open-order-rows")).to_contain_text("No open orders.")
    expect(page.locator("#transfer-panel")).to_be_hidden()  # one store: nobody to move from
