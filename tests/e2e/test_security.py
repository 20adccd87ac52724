"""Security: hostile file names, CSV export injection, SQL built from parameters, oversize.

Also covered elsewhere: the token guarding every read and write (test_api.py
test_token_guards_the_api, and behind API Gateway in test_aws_api.py), XSS payloads staying
text in a real browser (test_dashboard_browser.py test_names_are_text_never_html), and the
template's least privilege, private bucket, TLS-only policy and encryption
(test_infra_template.py).
"""

from __future__ import annotations

import ast
import csv
import io
import socket
import time
from pathlib import Path

import httpx

from stockwatch.core.export import spreadsheet_safe
from stockwatch.core.limits import Limits
from tests.conftest import csv_bytes
from tests.live_server import live_server

SRC = Path(__file__).resolve().parents[2] / "src" / "stockwatch"


def wait_done(c: httpx.Client, upload_id: int) -> dict[str, object]:
    for _ in range(200):
        report: dict[str, object] = c.get(f"/api/uploads/{upload_id}").json()
        if report["status"] not in ("queued", "processing"):
            return report
        time.sleep(0.05)
    raise AssertionError("the upload was not processed")


def test_hostile_upload_names_are_stored_inside_the_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "data"
    names = [
        "../../escape.csv",
        "/tmp/absolute.csv",
        "..\\..\\windows.csv",
        "a\x00b.csv",
        "\u202ecod.exe.csv",
        "",
        ".",
        "..",
    ]
    with live_server(data_dir) as live, httpx.Client(base_url=live.url) as c:
        for name in names:
            raw = c.post(
                "/api/uploads",
                params={"filename": name},
                content=csv_bytes(("Berlin", "Echo", 1)),
                headers={"Content-Type": "text/csv"},
            )
            assert raw.status_code == 202, (name, raw.text)
            report = wait_done(c, raw.json()["id"])
            shown = str(report["file"])
            assert "/" not in shown and "\\" not in shown and "\x00" not in shown
            assert shown not in ("", ".", "..")
            form = c.post(
                "/api/uploads",
                files={"file": (name or "x", csv_bytes(("Berlin", "Echo", 2)), "text/csv")},
            )
            assert form.status_code in (202, 422), (name, form.text)
    assert (
        not (tmp_path / "escape.csv").exists() and not (tmp_path / "deep" / "escape.csv").exists()
    )
    assert not Path("/tmp/absolute.csv").exists()
    objects = (data_dir / "objects").resolve()
    kept = [p for p in objects.rglob("*") if p.is_file()]
    assert kept and all(p.resolve().is_relative_to(objects) for p in kept)
    outside = [p for p in tmp_path.rglob("*.csv") if not p.resolve().is_relative_to(objects)]
    assert outside == []


def test_formulas_are_neutralised_in_the_csv_export(tmp_path: Path) -> None:
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "-cmd|' /C calc'!A0", "=1"]
    rows = [(name, f"Item {n}", n) for n, name in enumerate(hostile)]
    rows += [("Safe", name, 1) for name in hostile]
    with live_server(tmp_path / "d") as live, httpx.Client(base_url=live.url) as c:
        queued = c.post(
            "/api/uploads",
            params={"filename": "formulas.csv"},
            content=csv_bytes(*rows),
            headers={"Content-Type": "text/csv"},
        )
        report = wait_done(c, queued.json()["id"])
        assert report["rows_loaded"] == len(rows), report
        export = c.get("/api/stock.csv")
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
    cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    for name in hostile:
        assert "'" + name in cells  # kept, visibly, as text
    assert spreadsheet_safe(12) == 12 and spreadsheet_safe("Echo") == "Echo"


def test_injection_payloads_are_data_not_sql(tmp_path: Path) -> None:
    payloads = ["x' OR '1'='1", "'; DROP TABLE inventory; --", 'Robert"); --', "%", "_"]
    with live_server(tmp_path / "d") as live, httpx.Client(base_url=live.url) as c:
        queued = c.post(
            "/api/uploads",
            params={"filename": "sql.csv"},
            content=csv_bytes(*[(p, p, 3) for p in payloads], ("Berlin", "Echo", 1)),
            headers={"Content-Type": "text/csv"},
        )
        wait_done(c, queued.json()["id"])
        for payload in payloads:
            page = c.get("/api/stock", params={"store": payload}).json()["rows"]
            assert [(r["store"], r["item"]) for r in page] == [(payload, payload)]
            found = c.get("/api/stock", params={"q": payload}).json()["rows"]
            assert all(payload in r["item"] or payload in r["store"] for r in found)
        assert len(c.get("/api/stock").json()["rows"]) == len(payloads) + 1


def _sql_text_parts(node: ast.expr) -> list[ast.expr]:
    """The interpolated parts of an f-string, a .format() call or a % expression."""
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return [*node.args, *(k.value for k in node.keywords)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return [node.right]
    return []


def test_sql_text_never_takes_values() -> None:
    """Every execute() gets SQL text built only from constants; values go as parameters.

    Allowed inside SQL text: module constants (UPPER_CASE), int(...), and the staging
    table's name, which apply_staged checks against a fixed list.
    """
    offending = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany", "executescript")
                and node.args
            ):
                continue
            for part in _sql_text_parts(node.args[0]):
                allowed = (
                    (isinstance(part, ast.Name) and (part.id.isupper() or part.id == "stage"))
                    or (
                        isinstance(part, ast.Call)
                        and isinstance(part.func, ast.Name)
                        and part.func.id == "int"
                    )
                    or isinstance(part, ast.Constant)
                )
                if not allowed:
                    offending.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offending == []


def test_an_oversize_upload_is_refused_before_its_body_is_read(tmp_path: Path) -> None:
    """Content-Length says 10 GB and only a few bytes follow: the 413 comes at once."""
    limits = Limits(max_file_bytes=1_000_000)
    with live_server(tmp_path / "d", limits=limits) as live:
        host, port = live.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /api/uploads?filename=huge.csv HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nContent-Type: text/csv\r\n"
                b"Content-Length: 10000000000\r\n\r\nstore,item,count\n"
            )
            answer = sock.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 413"), answer
        assert not any(p.is_file() for p in (tmp_path / "d" / "objects").rglob("*"))
