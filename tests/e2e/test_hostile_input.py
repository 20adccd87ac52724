"""The hostile-input corpus (tests/data/hostile/): each file gets its expected, clear answer.

Run through the whole pipeline (kept, loaded, reported) and through the CLI: never a
traceback, never a crash, never silent loss.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile"
EXPECTED: dict[str, dict[str, str]] = json.loads((CORPUS / "expected.json").read_text())


def test_the_corpus_is_big_enough() -> None:
    assert len(EXPECTED) >= 40
    assert all((CORPUS / name).exists() for name in EXPECTED)


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> SqliteBackend:
    return SqliteBackend(tmp_path_factory.mktemp("hostile") / "data", channel_names=())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_gets_its_answer(hostile_app: SqliteBackend, name: str) -> None:
    data = (CORPUS / name).read_bytes()
    report = hostile_app.process_upload(hostile_app.receive(Upload(name), io.BytesIO(data)))
    want = EXPECTED[name]
    assert report.status == want["status"], report.to_json()
    said = [report.message or "", *report.warnings] + [
        f"{e.line}: {e.message}" for e in report.errors
    ]
    assert any(want["expect"] in text for text in said), said
    stored = hostile_app.upload(int(report.upload_id or 0))
    assert stored is not None
    with hostile_app.objects.open(stored.object_key) as kept:
        assert kept.read() == data  # kept exactly as received, whatever it is


def test_names_are_stored_as_given(hostile_app: SqliteBackend) -> None:
    stores = {s for (s,) in hostile_app.conn.execute("SELECT store FROM inventory")}
    assert "Berlin'; DROP TABLE inventory; --" in stores
    assert "<script>alert(1)</script>" in stores
    assert '=HYPERLINK("http://x")' in stores


def test_the_cli_answers_every_file_without_a_traceback(tmp_path: Path) -> None:
    files = [str(CORPUS / name) for name in sorted(EXPECTED)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockwatch",
            "--data-dir",
            str(tmp_path / "d"),
            "validate",
            "--json",
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    reports = json.loads(result.stdout)
    assert [r["status"] for r in reports] == [EXPECTED[n]["status"] for n in sorted(EXPECTED)]
