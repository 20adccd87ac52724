"""In-memory adapters of the service's ports, for testing the use cases alone.

They keep to the core's rules (``decide``, ``can_change_alerts``) and nothing more, so a
service test says what the use case does, whatever backend runs it. ``can_undo`` picks
which kind of backend a test stands for: one with transactions (SQLite) or without
(DynamoDB).
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Self

from stockwatch.core.alert_rules import OpenAlerts, can_change_alerts
from stockwatch.core.cost import Cost
from stockwatch.core.details import ItemDetails
from stockwatch.core.digest import Digest
from stockwatch.core.figures import Figures
from stockwatch.core.limits import Limits
from stockwatch.core.loading import ChunkOutcome, LoadProgress
from stockwatch.core.model import AlertDecision, Row, StockChange
from stockwatch.core.ordering import Outcome, decide
from stockwatch.core.reader import Readable
from stockwatch.core.replenishment import OrderingEntry
from stockwatch.core.report import FINISHED, UploadReport
from stockwatch.core.rows import StockQuery, StockRow, StoreSummary
from stockwatch.core.subscriptions import Subscription
from stockwatch.core.thresholds import Threshold, Thresholds
from stockwatch.service.commands import Upload
from stockwatch.service.ports import MissingObject, UploadJob
from stockwatch.service.replenishment import Order
from stockwatch.service.uploads import FileChunks


@dataclass
class State:
    """Everything the fake backend stores; copied whole for a rollback."""

    uploads: dict[int, dict[str, Any]] = field(default_factory=dict)
    rows: dict[tuple[str, str], tuple[int, str, int]] = field(default_factory=dict)
    changes: list[StockChange] = field(default_factory=list)
    open_alerts: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    raised: list[AlertDecision] = field(default_factory=list)
    outbox: list[tuple[int | str, Digest]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    snapshot_defaults: dict[str, bool] = field(default_factory=dict)


class FakeWriter:
    def __init__(self, state: State, calls: list[str]) -> None:
        self.state = state
        self.calls = calls

    def flush(self, version: str) -> ChunkOutcome:
        return ChunkOutcome()

    def apply(self, chunk: Sequence[Row], version: str) -> ChunkOutcome:
        self.calls.append("apply")
        outcome = ChunkOutcome()
        for line, store, item, count in chunk:
            now = self.state.rows.get((store, item))
            result = decide(now[0] if now else None, now[1] if now else None, count, version)
            if result in (Outcome.INSERT, Outcome.CHANGE):
                self.state.changes.append(
                    StockChange(store, item, now[0] if now else None, count, version)
                )
                self.state.rows[(store, item)] = (count, version, line)
                outcome.loaded += 1
            elif result is Outcome.CONFIRM:
                self.state.rows[(store, item)] = (count, version, line)
                outcome.unchanged += 1
            elif result is Outcome.STALE:
                outcome.superseded += 1
            else:
                outcome.repeats.append((line, now[2] if now else 0, store, item))
        return outcome


class FakeUndo:
    def __init__(self, uow: StreamedUnitOfWork) -> None:
        self.uow = uow
        self.saved = copy.deepcopy(uow.state)

    def undo(self) -> bool:
        if not self.uow.can_undo:
            return False
        self.uow.state.__dict__.update(copy.deepcopy(self.saved).__dict__)
        return True


class StreamedUnitOfWork:
    """All the ports of the plain unit of work at once; each repository is this object
    under another name. Like AWS: the changes are judged elsewhere (a stream)."""

    def __init__(self, can_undo: bool = True, limits: Limits | None = None) -> None:
        self.can_undo = can_undo
        self.limits = limits or Limits()
        self.state = State()
        self.files: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.commits = 0
        self.chunk_rows = 2  # small chunks, so a file can fail halfway through
        self.pause_every: int | None = None  # chunks per run, like a short Lambda invocation
        self.paused = 0
        self._start = 0
        self._saved: State | None = None

    # UploadUnitOfWork
    uploads = property(lambda self: self)
    objects = property(lambda self: self)
    inventory = property(lambda self: self)
    figures = property(lambda self: self)
    thresholds = property(lambda self: self)

    def __enter__(self) -> Self:
        self._saved = copy.deepcopy(self.state)
        self._start = len(self.state.changes)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            self.rollback()

    def commit(self) -> None:
        self.commits += 1
        self._saved = None

    def rollback(self) -> None:
        if self._saved is not None and self.can_undo:
            self.state = self._saved
        self._saved = None

    # the test's way in
    def add(
        self, name: str, data: bytes, strict: bool = False, snapshot: bool | None = None
    ) -> int:
        upload_id = len(self.state.uploads) + 1
        self.files[f"objects/{upload_id}"] = data
        self.state.uploads[upload_id] = {
            "name": name,
            "strict": strict,
            "snapshot": snapshot,
            "report": None,
        }
        return upload_id

    # UploadLog
    def begin(self, upload_id: int) -> UploadJob:
        upload = self.state.uploads[upload_id]
        command = Upload(upload["name"], upload["strict"], snapshot=upload.get("snapshot"))
        job = UploadJob(upload_id, f"{upload_id:06d}", command, f"objects/{upload_id}")
        report = upload["report"]
        if report is not None and report.status in FINISHED:
            job.done = report
        if upload.get("refuse"):
            job.refusal = upload["refuse"]
        if upload.get("progress") is not None:
            job.resume = LoadProgress.from_json(upload["progress"])
        if self.pause_every is not None:
            written = [0]

            def should_pause() -> bool:
                written[0] += 1
                return written[0] >= (self.pause_every or 0)

            job.should_pause = should_pause
        return job

    def trial(self, command: Upload) -> UploadJob:
        return UploadJob(None, f"{len(self.state.uploads) + 1:06d}", command, "")

    def settled(self, job: UploadJob) -> UploadReport | None:
        if not isinstance(job.upload_id, int):
            return None
        report: UploadReport | None = self.state.uploads[job.upload_id]["report"]
        return report if report is not None and report.status in FINISHED else None

    def finish(self, job: UploadJob, report: UploadReport) -> None:
        assert isinstance(job.upload_id, int)
        self.state.uploads[job.upload_id]["report"] = report

    def pause(self, job: UploadJob, progress: LoadProgress, report: UploadReport) -> bool:
        assert isinstance(job.upload_id, int)
        self.paused += 1
        self.state.uploads[job.upload_id]["progress"] = progress.to_json()
        self.state.uploads[job.upload_id]["report"] = report
        return True

    def cost(self, job: UploadJob, elapsed_ms: float) -> Cost:
        return Cost(time_ms=elapsed_ms)

    # Objects
    def open(self, job: UploadJob) -> Readable:
        if job.object_key not in self.files:
            raise MissingObject(f"the stored file {job.object_key} is missing")
        return io.BytesIO(self.files[job.object_key])

    # Inventory
    def read(self, job: UploadJob, source: Readable, on_progress: Any) -> FileChunks:
        self.calls.append("read")
        return FileChunks(source, self.limits, on_progress, self.chunk_rows)

    def writer(self, job: UploadJob) -> FakeWriter:
        return FakeWriter(self.state, self.calls)

    @contextmanager
    def attempt(self) -> Iterator[FakeUndo]:
        yield FakeUndo(self)

    def items_of(self, store: str) -> Iterator[tuple[str, int]]:
        for (s, item), (count, _, _) in sorted(self.state.rows.items()):
            if s == store:
                yield item, count

    def snapshot_defaults(self) -> dict[str, bool]:
        return dict(self.state.snapshot_defaults)

    def keep_details(self, job: UploadJob, details: ItemDetails) -> int:
        """SKUs and minimums are the backends' to keep (tests/contract); here, none."""
        return 0

    def details_done(self, job: UploadJob) -> None:
        pass

    # StoreFigures
    def refresh(self, job: UploadJob) -> list[str]:
        return sorted({c.store for c in self.state.changes[self._start :]})

    # ThresholdStore
    def load(self) -> Thresholds:
        return Thresholds(self.state.thresholds)

    # ChangeFeed
    def candidates(self, bound: int, with_cover: bool = False) -> Iterator[list[StockChange]]:
        """No as-of times here: days of cover is the contract suite's (on real backends)."""
        changes = self.state.changes[self._start :]
        yield [c for c in changes if can_change_alerts(c.old_count, c.new_count, bound)]

    # Alerts
    def mutes(self, now: str) -> dict[tuple[str, str], str]:
        return {}

    def open_alerts(self, changes: Sequence[StockChange]) -> OpenAlerts:
        return {
            (c.store, c.item): set(self.state.open_alerts.get((c.store, c.item), set()))
            for c in changes
        }

    def record(
        self, decisions: Sequence[AlertDecision], version: Any, now: str
    ) -> list[AlertDecision]:
        for d in decisions:
            kinds = self.state.open_alerts.setdefault((d.store, d.item), set())
            if d.action == "resolve":
                kinds.discard(d.kind)
            else:
                self.state.raised.append(d)
                if d.opens:
                    kinds.add(d.kind)
        return list(decisions)

    # Outbox
    def queue(self, upload_id: int | str, digest: Digest) -> None:
        self.state.outbox.append((upload_id, digest))

    def subscriptions(self) -> list[Subscription]:
        return list(self.state.subscriptions)

    def queue_to(self, upload_id: int | str, subscription: Subscription, digest: Digest) -> None:
        self.state.outbox.append((f"{upload_id}:{subscription.channel_name}", digest))


class FakeOrderBook:
    """``service.replenishment.OrderBook`` in memory."""

    def __init__(self) -> None:
        self.settings: dict[tuple[str, str], OrderingEntry] = {}
        self.placed: list[Order] = []

    def entries(self) -> list[OrderingEntry]:
        return list(self.settings.values())

    def put(self, entry: OrderingEntry) -> None:
        self.settings[(entry.store, entry.item)] = entry

    def delete(self, store: str, item: str) -> bool:
        return self.settings.pop((store, item), None) is not None

    def orders(self, open_only: bool) -> list[Order]:
        return [o for o in self.placed if not (open_only and o.received_at)]

    def add(self, order: Order) -> Order:
        made = replace(order, id=str(len(self.placed) + 1))
        self.placed.append(made)
        return made

    def receive(self, order_id: str, at: str, by: str) -> bool:
        for n, order in enumerate(self.placed):
            if order.id == order_id and order.received_at is None:
                self.placed[n] = replace(order, received_at=at, received_by=by)
                return True
        return False


class FakeUnitOfWork(StreamedUnitOfWork):
    """With transactions, like one machine: the changes are judged in the unit of work.
    Its items have no dated history, so a digest says nothing of what to order."""

    feed = property(lambda self: self)
    alerts = property(lambda self: self)
    outbox = property(lambda self: self)
    demand = property(lambda self: self)
    orders = property(lambda self: FakeOrderBook())

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[tuple[float, int]]]:
        return {}

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
        return {}


def fake_uow(can_undo: bool = True, limits: Limits | None = None) -> StreamedUnitOfWork:
    """A backend that can undo a load judges it in its transaction; one that cannot
    (DynamoDB) leaves the judging to its stream."""
    kind = FakeUnitOfWork if can_undo else StreamedUnitOfWork
    return kind(can_undo=can_undo, limits=limits)


class FakeThresholdChange:
    """``ThresholdUnitOfWork`` over the same state: thresholds, the stock they cover, the
    alerts, and the one digest of the change."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.notified: list[tuple[Digest, list[AlertDecision]]] = []
        self.refreshed: list[str] = []
        self.commits = 0
        self._pending: list[tuple[Digest, list[AlertDecision]]] = []
        self._stores: set[str] = set()

    thresholds = property(lambda self: self)
    stock = property(lambda self: self)
    alerts = property(lambda self: self)

    def __enter__(self) -> FakeThresholdChange:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pending.clear()

    def commit(self) -> None:
        self.commits += 1
        self.notified += self._pending
        self._pending = []

    def notify(self, digest: Digest, decisions: Sequence[AlertDecision]) -> None:
        self._pending.append((digest, list(decisions)))

    def refresh(self, stores: Sequence[str]) -> None:
        self.refreshed += stores

    # ThresholdStore
    def load(self) -> Thresholds:
        return Thresholds(self.state.thresholds)

    def entries(self) -> list[Any]:
        return list(self.state.thresholds)

    def set(self, entries: Sequence[Any], now: str) -> None:
        for store, item, minimum, cover in entries:
            self.delete(store, item)
            self.state.thresholds.append(Threshold(store, item, minimum, cover))

    def delete(self, store: str, item: str) -> bool:
        before = len(self.state.thresholds)
        self.state.thresholds = [
            t for t in self.state.thresholds if (t.store, t.item) != (store, item)
        ]
        return len(self.state.thresholds) < before

    # CoveredStock
    def under(
        self, scopes: Sequence[tuple[str, str]], bound: int, with_cover: bool = False
    ) -> Iterator[list[StockChange]]:
        def covered(store: str, item: str) -> bool:
            return any(s in ("*", store) and i in ("*", item) for s, i in scopes)

        found = []
        for (store, item), (count, _, _) in sorted(self.state.rows.items()):
            low = "low_stock" in self.state.open_alerts.get((store, item), set())
            if covered(store, item) and (count < bound or low):
                self._stores.add(store)
                found.append(StockChange(store, item, count, count, "threshold"))
        yield found

    def stores(self) -> list[str]:
        return sorted(self._stores)

    # Alerts: as the unit of work's
    open_alerts = StreamedUnitOfWork.open_alerts
    record = StreamedUnitOfWork.record

    def mutes(self, now: str) -> dict[tuple[str, str], str]:
        return {}


class FakeNotes:
    """``AlertNotes`` over a dict: acknowledgements by alert id, mutes by (store, item)."""

    def __init__(self, alert_ids: Sequence[str] = ()) -> None:
        self.acks: dict[str, tuple[str, str | None]] = {a: ("", None) for a in alert_ids}
        self.muted: dict[tuple[str, str], tuple[str, str, str | None]] = {}

    def acknowledge(self, alert_id: str, by: str, note: str | None) -> bool:
        if alert_id not in self.acks:
            return False
        self.acks[alert_id] = (by, note)
        return True

    def set_mute(self, store: str, item: str, until: str, by: str, note: str | None) -> None:
        self.muted[(store, item)] = (until, by, note)

    def delete_mute(self, store: str, item: str) -> bool:
        return self.muted.pop((store, item), None) is not None


class FakeTrail:
    """``AuditTrail``: the lines written, in order."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str, str | None]] = []

    def record(self, actor: str, action: str, subject: str, detail: str | None) -> None:
        self.lines.append((actor, action, subject, detail))

    def audit(self, since: str | None, limit: int) -> list[Any]:
        return []


class FakeUsers(FakeTrail):
    """``UserDirectory`` in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[str, Any] = {}
        self.revoked: set[str] = set()

    def add(self, user: Any) -> bool:
        if user.name in self.kept:
            return False
        self.kept[user.name] = user
        return True

    def by_hash(self, digest: str) -> tuple[str, str, list[str] | None] | None:
        for user in self.kept.values():
            if user.digest == digest and user.name not in self.revoked:
                return user.name, user.role, user.stores
        return None

    def users(self) -> list[Any]:
        from stockwatch.service.users import UserRow

        return [
            UserRow(
                u.name,
                u.role,
                u.stores,
                "",
                None,
                "2026-01-01T00:00:00.000Z" if u.name in self.revoked else None,
                u.email,
            )
            for u in self.kept.values()
        ]

    def revoke(self, name: str) -> bool:
        if name not in self.kept or name in self.revoked:
            return False
        self.revoked.add(name)
        return True

    def replace_token(self, name: str, digest: str) -> bool:
        if name not in self.kept or name in self.revoked:
            return False
        self.kept[name] = replace(self.kept[name], digest=digest)
        return True


class FakeSubscriptions:
    """``SubscriptionStore`` in memory."""

    def __init__(self) -> None:
        self.kept: list[Subscription] = []

    def add(self, wanted: Any) -> Subscription:
        made = Subscription(
            len(self.kept) + 1,
            wanted.channel,
            wanted.target,
            wanted.stores,
            wanted.kinds,
            wanted.owner,
        )
        self.kept.append(made)
        return made

    def subscriptions(self) -> list[Subscription]:
        return list(self.kept)

    def delete(self, subscription_id: str) -> bool:
        before = len(self.kept)
        self.kept = [s for s in self.kept if str(s.id) != subscription_id]
        return len(self.kept) < before


class FakeNames:
    """The part of a ``ReadModel`` that knows which stores and items exist (the name
    checks of writes), over a fixed list of (store, item)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.rows = [StockRow(s, i, 1, None, "ok") for s, i in sorted(pairs)]

    def stores(self) -> list[StoreSummary]:
        names = sorted({r.store for r in self.rows})
        return [StoreSummary(n, 0, 0, 0, None) for n in names]

    def stock_page(self, query: StockQuery) -> list[StockRow]:
        rows = [r for r in self.rows if query.store in (None, r.store)]
        rows = [r for r in rows if query.after is None or (r.store, r.item) > query.after]
        return rows[: query.limit]

    def item_everywhere(self, item: str, limit: int) -> list[StockRow]:
        return [r for r in self.rows if r.item == item][:limit]
