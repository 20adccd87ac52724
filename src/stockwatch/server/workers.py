"""Background workers of ``stockwatch serve``: uploads, notifications, the inbox folder.

Each worker is a thread with its own SQLite connection. One thread processes uploads, so
there is one writer of inventory at a time; the API's own writes (receiving, thresholds)
are short and wait their turn on SQLite's busy timeout.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from stockwatch.core.report import FINISHED
from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.database import DataDirError
from stockwatch.web.metrics import Metrics

log = logging.getLogger("stockwatch.server")


class Worker(threading.Thread):
    """A loop that runs ``step`` when woken, or every ``interval`` seconds."""

    interval = 1.0

    def __init__(self, name: str, backend: SqliteBackend) -> None:
        super().__init__(name=name, daemon=True)
        # Its calls from this thread use this thread's own connection.
        self.db = backend
        self._wake = threading.Event()
        self._halt = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._halt.is_set()

    def run(self) -> None:
        while not self._halt.is_set():
            self._wake.clear()
            try:
                self.step()
            except DataDirError as exc:  # the database busy or the disk full: say so plainly
                log.warning("%s: %s; trying again shortly", self.name, exc)
                time.sleep(self.interval)
            except Exception:
                log.exception("%s failed; trying again shortly", self.name)
                time.sleep(self.interval)
            self._wake.wait(self.interval)

    def step(self) -> None:
        raise NotImplementedError


class UploadWorker(Worker):
    def __init__(self, backend: SqliteBackend, outbox: Worker) -> None:
        super().__init__("stockwatch-uploads", backend)
        self.outbox = outbox

    def step(self) -> None:
        for upload_id in self.db.pending_uploads():
            if self.stopping:
                return  # what is left stays queued for the next start
            self.db.process_upload(upload_id)
            self.outbox.wake()


class RetentionWorker(Worker):
    """Retention (``sqlite.retention``) once a day, counted from its last run as recorded in
    the data directory, so restarts neither skip nor repeat it. Checked every ten minutes,
    never at start-up, when uploads may be waiting; VACUUM only when none waits."""

    interval = 600.0

    def __init__(self, backend: SqliteBackend) -> None:
        super().__init__("stockwatch-retention", backend)
        self._first_check_done = False

    def step(self) -> None:
        if not self._first_check_done:
            self._first_check_done = True
            return
        from stockwatch.core.retention import Retention, due
        from stockwatch.sqlite.retention import compact, last_run

        if not due(last_run(self.db.conn), datetime.now(UTC)):
            return
        idle = not self.db.pending_uploads()
        done = compact(self.db.conn, self.db.data_dir, Retention.from_env(), vacuum=idle)
        log.info(
            "retention: %d changes to history, %d history points thinned, %d alerts archived,"
            " %d stored files removed",
            done.changes_moved,
            done.changes_thinned,
            done.alerts_archived,
            done.files_removed,
        )


class OutboxWorker(Worker):
    def __init__(self, backend: SqliteBackend, metrics: Metrics | None = None) -> None:
        super().__init__("stockwatch-outbox", backend)
        self.metrics = metrics

    def step(self) -> None:
        result = self.db.deliver()
        for error in result.errors:
            channel = error.split(":", 1)[0]
            if self.metrics is not None:
                self.metrics.notification_failures.labels(channel).inc()


class InboxWatcher(Worker):
    """Uploads files dropped into a folder, then moves them to processed/ or rejected/.

    A file is taken once its size has not changed for one look, so a copy still being
    written is left alone. Files starting with ``.`` or ending in ``.part``/``.tmp`` are
    ignored.
    """

    def __init__(self, backend: SqliteBackend, inbox: Path, upload_worker: Worker) -> None:
        super().__init__("stockwatch-inbox", backend)
        self.inbox = inbox
        self.upload_worker = upload_worker
        self._sizes: dict[Path, int] = {}
        self._in_hand: dict[int, Path] = {}
        for folder in ("processing", "processed", "rejected"):
            (inbox / folder).mkdir(mode=0o700, parents=True, exist_ok=True)

    def step(self) -> None:
        self._take_new_files(self.db)
        self._move_finished(self.db)

    def _take_new_files(self, db: SqliteBackend) -> None:
        seen: dict[Path, int] = {}
        for path in sorted(self.inbox.iterdir()):
            if not path.is_file() or path.name.startswith(".") or path.suffix in (".part", ".tmp"):
                continue
            size = path.stat().st_size
            seen[path] = size
            if self._sizes.get(path) != size:
                continue  # maybe still being written; look again next time
            with open(path, "rb") as source:
                upload_id = db.receive(Upload(path.name, uploader="inbox"), source)
            target = self.inbox / "processing" / f"{upload_id}-{path.name}"
            shutil.move(path, target)
            self._in_hand[upload_id] = target
            seen.pop(path)
            self.upload_worker.wake()
        self._sizes = seen

    def _move_finished(self, db: SqliteBackend) -> None:
        for upload_id, path in list(self._in_hand.items()):
            record = db.upload(upload_id)
            if record is None or record.status not in FINISHED:
                continue
            folder = "rejected" if record.status == "rejected" else "processed"
            shutil.move(path, self.inbox / folder / path.name)
            del self._in_hand[upload_id]
