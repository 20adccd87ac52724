"""Background workers of ``stockwatch serve``: uploads, notifications, retention (and the
inbox folder, ``server/inbox.py``).

Each worker is a thread with its own SQLite connection. One thread processes uploads, so
there is one writer of inventory at a time; the API's own writes (receiving, thresholds)
are short and wait their turn on SQLite's busy timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

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
