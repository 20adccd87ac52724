"""The backtest of the demo data, as docs/ordering.md shows it: a table and docs/backtest.svg.

    python bench/backtest_demo.py            # prints the table, writes docs/backtest.svg

Loads the demo (six stores, three weeks of dated counts, a threshold of 8 on every item)
into a temporary data directory, replays each store's recorded demand under the
order-up-to policy (the defaults: lead 7 days, review 7, service level 95 %) and under
min/max (min 8, max 16), and draws each store's fill rate under both. The chart is plain
SVG written here, so the docs need no plotting library.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from stockwatch.cli.demo import load_demo
from stockwatch.service.order_list import run_backtest
from stockwatch.sqlite.backend import SqliteBackend

DOCS = Path(__file__).resolve().parents[1] / "docs"
NAMES = {"order_up_to": "order-up-to", "min_max": "min/max"}
COLOURS = {"order_up_to": "#1570ef", "min_max": "#f79009"}


def results() -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="stockwatch-backtest-") as tmp:
        backend = SqliteBackend(Path(tmp) / "data", channel_names=())
        try:
            load_demo(backend, None)
            reads, book = backend.reads(), backend.order_book()
            stores = sorted(s.store for s in reads.stores())
            return {s: run_backtest(reads, book, s, 28)["policies"] for s in stores}
        finally:
            backend.close()


def table(found: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| store | policy | fill rate | days out of stock | average on hand |",
        "|---|---|---:|---:|---:|",
    ]
    for store, policies in found.items():
        for name, p in policies.items():
            lines.append(
                f"| {store} | {NAMES[name]} | {p['fill_rate']:.1%} | {p['stockout_days']} |"
                f" {p['avg_on_hand']} |"
            )
    return "\n".join(lines)


def svg(found: dict[str, dict[str, Any]]) -> str:
    width, height, left, bottom, top = 720, 300, 50, 40, 30
    plot_h = height - bottom - top
    group = (width - left - 20) / len(found)
    bar = group / 3
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left}" y="18" font-size="14" font-weight="bold">Fill rate of the demo'
        " stores' last 28 days, replayed</text>",
    ]
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaecf0"/>'
        )
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
    for n, (store, policies) in enumerate(found.items()):
        x0 = left + n * group + bar / 2
        for k, name in enumerate(("order_up_to", "min_max")):
            rate = (policies.get(name) or {}).get("fill_rate") or 0.0
            h = plot_h * rate
            x = x0 + k * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}"'
                f' height="{h:.1f}" fill="{COLOURS[name]}"><title>{store}, {NAMES[name]}:'
                f" {rate:.1%}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + bar:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{store}</text>"
        )
    for k, name in enumerate(("order_up_to", "min_max")):
        x = width - 250 + k * 120
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{COLOURS[name]}"/>')
        parts.append(f'<text x="{x + 16}" y="18">{NAMES[name]}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    found = results()
    print(table(found))
    (DOCS / "backtest.svg").write_text(svg(found), encoding="utf-8")
    print(f"wrote {DOCS / 'backtest.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
