"""One notification per upload per channel: the alerts it raised, grouped by store."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stockwatch.core.model import AlertDecision

_KIND_ORDER = {"out_of_stock": 0, "low_stock": 1, "running_out": 2, "back_in_stock": 3}


def alert_line(decision: AlertDecision) -> str:
    """The sentence for one alert; out-of-stock wording is relied on by users' filters."""
    if decision.kind == "out_of_stock":
        return f"{decision.store} is out of stock of {decision.item}"
    if decision.kind == "low_stock":
        return (
            f"{decision.store} is low on {decision.item}: {decision.count} left "
            f"(minimum {decision.minimum})"
        )
    if decision.kind == "running_out":
        days = max(1, round(decision.days_of_cover or 0))
        return (
            f"{decision.store} will run out of {decision.item} in about {days} "
            f"day{'s' if days != 1 else ''}"
        )
    return f"{decision.store} is back in stock of {decision.item}: {decision.count}"


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    upload: dict[str, Any]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    # What to order of the items alerted (``service.replenishment.order_notes``).
    to_order: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "text": self.text,
            "upload": self.upload,
            "alerts": self.alerts,
            "total": self.total,
            "to_order": self.to_order,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        return cls(
            data["subject"],
            data["text"],
            data["upload"],
            data["alerts"],
            data["total"],
            data.get("to_order", []),  # queued before digests said what to order
        )


def count_kinds(decisions: Sequence[AlertDecision]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for d in decisions:
        if d.action == "raise":
            counts[d.kind] += 1
    return dict(counts)


def _summary(counts: Mapping[str, int]) -> str:
    counts = defaultdict(int, counts)
    parts = []
    if counts["out_of_stock"]:
        parts.append(f"{counts['out_of_stock']} out of stock")
    if counts["low_stock"]:
        parts.append(f"{counts['low_stock']} low on stock")
    if counts["running_out"]:
        parts.append(f"{counts['running_out']} running out")
    if counts["back_in_stock"]:
        parts.append(f"{counts['back_in_stock']} back in stock")
    return ", ".join(parts)


# What a header may not hold: controls and Unicode's line breaks (the reader refuses them in
# names, but a digest may hold names from before it did).
_HEADER_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(text: str, limit: int | None = None, ascii_only: bool = False) -> str:
    """A digest's subject made safe for a mail header or an SNS subject: one line, each run
    of control or line-breaking characters a space; ``ascii_only`` for SNS, which takes only
    printable ASCII there; cut to ``limit`` characters."""
    clean = " ".join(_HEADER_BREAKS.sub(" ", text).split())
    if ascii_only:
        clean = "".join(c if " " <= c <= "~" else "?" for c in clean)
    return clean if limit is None else clean[:limit]


def compose_digest(
    upload: dict[str, Any],
    decisions: Sequence[AlertDecision],
    max_lines: int = 500,
    kind_counts: Mapping[str, int] | None = None,
    to_order: Mapping[tuple[str, str], OrderNote] | None = None,
) -> Digest | None:
    """Build the digest of the alerts raised by one upload, or None when it raised none.

    A huge upload may pass only its first decisions plus ``kind_counts`` for all of them.

    Resolutions are recorded but not sent: managers want to hear what needs action, and
    ``back_in_stock`` already tells them when an empty shelf is filled again.
    """
    raised = [d for d in decisions if d.action == "raise"]
    if not raised:
        return None
    raised.sort(key=lambda d: (d.store, _KIND_ORDER[d.kind], d.item))
    shown = raised[:max_lines]
    counts = count_kinds(raised) if kind_counts is None else kind_counts
    total = max(sum(counts.values()), len(raised))
    if total == 1:
        subject = f"stockwatch: {alert_line(raised[0])}"
    else:
        subject = f"stockwatch: {_summary(counts)}"
    source = upload.get("file") or "an upload"
    where = f" (upload {upload['id']})" if upload.get("id") is not None else ""
    lines = [f"Alerts from {source}{where}: {_summary(counts)}."]
    current_store = None
    for d in shown:
        if d.store != current_store:
            lines.append("")
            lines.append(f"{d.store}:")
            current_store = d.store
        lines.append(f"- {alert_line(d)}")
    if total > len(shown):
        lines.append("")
        lines.append(f"… and {total - len(shown):,} more; run `stockwatch alerts` to see all.")
    alerts = [d.to_json() for d in shown]
    keys = dict.fromkeys((d.store, d.item) for d in shown)
    notes = [to_order[k] for k in keys if to_order and k in to_order]
    if notes:
        lines.append("")
        lines.append("To order:")
        lines.extend(f"- {n.store} / {n.item}: {n.quantity:,} ({n.reason})" for n in notes)
    return Digest(subject, "\n".join(lines), upload, alerts, total, [n.to_json() for n in notes])


@dataclass(frozen=True, slots=True)
class OrderNote:
    """An alerted item's suggested order, for the digest."""

    store: str
    item: str
    quantity: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "item": self.item, "quantity": self.quantity,
                "reason": self.reason}  # fmt: skip
