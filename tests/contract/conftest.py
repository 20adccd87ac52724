"""The ``backend`` fixture: every contract case runs on SQLite and on AWS (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.drivers import Backend, Embedded, OnAws


@pytest.fixture(params=["sqlite", "aws"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        instance = Embedded(tmp_path / "data")
        yield instance
        instance.close()
        return
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    from tests.aws_stack import running_stack

    yield from (OnAws(aws) for aws in running_stack(monkeypatch))


def only_on(backend: Any, name: str, why: str) -> None:
    """Skip a case that one backend cannot honour; ``why`` is what docs/design.md lists."""
    if backend.name != name:
        pytest.skip(f"{backend.name}: {why}")
