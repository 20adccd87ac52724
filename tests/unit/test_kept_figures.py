"""The kept figures as DynamoDB holds them (``aws.figures``): written with each changed
count, read back exactly, and folded from ``History`` for an item written before there were
figures (or by another program), so such an item forecasts the same as one that has them."""

from __future__ import annotations

import json

from stockwatch.aws import figures as aws_figures
from stockwatch.aws.inventory_table import next_history
from stockwatch.core.figures import Figures, as_of, decode, encode, figures_of
from stockwatch.core.forecast import DAY, epoch, forecast_of

VERSIONS = [f"2026-11-{d:02d}T08:00:00.000Z#{d:020d}" for d in range(1, 7)]
COUNTS = [40, 35, 30, 30, 22, 20]


def _written() -> tuple[str, str]:
    """The item's Figures and History after the loader wrote each changed count."""
    kept, history, old = "", "", None
    for version, count in zip(VERSIONS, COUNTS, strict=True):
        if count == old:
            continue  # a confirmation: the loader writes neither
        kept = aws_figures.moved_on(kept, history, old, count, version)
        history = next_history(history, old, count, version)
        old = count
    return kept, history


def test_the_written_figures_are_the_core_fold_of_the_changes() -> None:
    kept, _ = _written()
    changes = [
        (epoch(v[:24]), c) for n, (v, c) in enumerate(zip(VERSIONS, COUNTS, strict=True))
        if n == 0 or c != COUNTS[n - 1]
    ]  # fmt: skip
    assert decode(kept, COUNTS[-1]) == figures_of(changes)
    assert encode(figures_of(changes) or Figures(0, 0)) == kept


def test_an_item_without_figures_reads_them_from_its_history() -> None:
    kept, history = _written()
    item = {"Count": {"N": "20"}, "History": {"S": history}, "Version": {"S": VERSIONS[-1]}}
    with_figures = {**item, "Figures": {"S": kept}}
    later = "2026-11-09T08:00:00.000Z#x"
    legacy = aws_figures.latest(item, 20, later)
    assert legacy == aws_figures.latest(with_figures, 20, later)
    assert legacy is not None and forecast_of(legacy).daily_usage is not None
    # unreadable text is no figures: the history stands in
    garbled = {**item, "Figures": {"S": "12,x,y"}}
    assert aws_figures.latest(garbled, 20, later) == legacy


def test_a_change_to_an_item_without_figures_folds_its_history_first() -> None:
    kept, history = _written()
    next_version = "2026-11-08T08:00:00.000Z#x"
    from_history = aws_figures.moved_on("", history, 20, 15, next_version)
    from_figures = aws_figures.moved_on(kept, history, 20, 15, next_version)
    assert from_history == from_figures
    # a stream image (plain values) reads the same as a low-level item
    image = {"Count": 15, "History": json.dumps([]), "Figures": from_figures}
    moved = decode(from_figures, 15)
    assert moved is not None
    assert aws_figures.latest(image, 15, next_version) == as_of(moved, moved.at)
    assert moved.at == epoch(next_version[:24]) and moved.at - (epoch(VERSIONS[0][:24])) > DAY
