"""The reader's fuzz target, run long: hypothesis with a large example budget.

Inputs are arbitrary bytes, CSV-like noise built from the tokens that matter to the reader
(delimiters, quotes, BOMs, NUL, line ends, signs), and the hostile corpus's files with
random bytes flipped, inserted or cut. Every input must end in rows, row errors or one
clear FileRejected; anything else is counted as a crash and printed.

    python -m tests.reliability.fuzz --examples 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_reader_properties import _csvish, consume

CORPUS = sorted(
    p.read_bytes()[:4096]
    for p in (Path(__file__).resolve().parents[1] / "data" / "hostile").iterdir()
    if p.is_file() and p.suffix != ".json"
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(0, 8))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "cut"]))
        if action == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[where : where + draw(st.integers(1, 64))]
    return bytes(data)


INPUTS = st.one_of(st.binary(max_size=600), _csvish.map(b"".join), mutated())


def run(examples: int) -> dict[str, object]:
    figures: dict[str, object] = {"inputs": 0, "rows": 0, "rejected_files": 0, "crashes": 0}
    crashes: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(INPUTS)
    def target(data: bytes) -> None:
        figures["inputs"] = int(figures["inputs"]) + 1  # type: ignore[call-overload]
        try:
            rows, _ = consume(data)
        except Exception:  # the finding: an input the reader did not handle
            figures["crashes"] = int(figures["crashes"]) + 1  # type: ignore[call-overload]
            crashes.append(f"{data[:200]!r}\n{traceback.format_exc(limit=3)}")
            return
        if rows < 0:
            figures["rejected_files"] = int(figures["rejected_files"]) + 1  # type: ignore[call-overload]
        else:
            figures["rows"] = int(figures["rows"]) + rows  # type: ignore[call-overload]

    started = time.perf_counter()
    target()
    figures["seconds"] = round(time.perf_counter() - started, 1)
    figures["first_crashes"] = crashes[:5]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    args = parser.parse_args()
    figures = run(args.examples)
    print(json.dumps(figures, indent=1))
    return 1 if figures["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
