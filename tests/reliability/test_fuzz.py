"""The reader's fuzz target (tests/reliability/fuzz.py), short; the 1,000,000-input run is
``python -m tests.reliability.fuzz --examples 1000000`` and its figures are in
docs/reliability.md. STOCKWATCH_FUZZ_EXAMPLES sets the size of this one."""

from __future__ import annotations

import os

from tests.reliability.fuzz import run


def test_the_reader_fuzz_target_finds_no_crash() -> None:
    figures = run(int(os.environ.get("STOCKWATCH_FUZZ_EXAMPLES", "2000")))
    assert figures["crashes"] == 0, figures["first_crashes"]
    assert int(figures["inputs"]) > 0  # type: ignore[call-overload]
