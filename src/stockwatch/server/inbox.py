"""The inbox folder of ``stockwatch serve``: files dropped there are uploaded, then moved to
``processed/`` or ``rejected/`` (with ``<name>.reason.txt`` beside a rejected one).

Anyone who can write the folder can drop anything there, and ordinary copies are slow, so:

* only regular files are taken: a symbolic link (which could point at the token file) or a
  special file is moved to ``rejected/`` as it is, never opened or followed
  (``lstat``, then ``open`` with ``O_NOFOLLOW`` and the same inode checked again);
* a file is taken only once it has been quiet (size, time and inode unchanged) for
  ``QUIET_S`` seconds and its last line ends in a newline; one whose last line never gets
  one is taken after ``NO_NEWLINE_S`` quiet seconds. Writers should write ``NAME.part``
  (or a dot-file) and rename it when done: those names are never taken;
* a file that changes while it is copied in is put back and taken later;
* each file is handled on its own: whatever goes wrong with one moves it to ``rejected/``
  with the reason, and never stops the others or makes it upload again;
* names in ``processing/`` are ``<upload id>-<name>``, shortened to what the file system
  takes; on start, files left there by an upload that has finished are moved on.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from stockwatch.core.filenames import safe_filename
from stockwatch.core.ports import ObjectTooLarge
from stockwatch.core.report import FINISHED
from stockwatch.server.workers import Worker
from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend

log = logging.getLogger("stockwatch.server")

QUIET_S = 5.0  # unchanged this long: a copy that pauses for less is never taken half-done
NO_NEWLINE_S = 60.0  # a last line without a newline: taken only after this long quiet
NAME_BYTES = 255  # the longest file name most file systems take
FOLDERS = ("processing", "processed", "rejected")
Signature = tuple[int, int, int]  # size, modification time (ns), inode


def ignored(name: str) -> bool:
    """Files still being written by the convention: dot-files, ``*.part``, ``*.tmp``."""
    return name.startswith(".") or name.endswith((".part", ".tmp")) or name in FOLDERS


def short_name(name: str, prefix: str = "", suffix: str = "") -> str:
    """``prefix + name + suffix`` within ``NAME_BYTES`` bytes, the name's end (its
    extension) kept and its middle cut; never splitting a character."""
    whole = prefix + name + suffix
    if len(whole.encode()) <= NAME_BYTES:
        return whole
    stem, dot, ext = name.rpartition(".")
    ext = (dot + ext) if dot and len(ext) <= 16 else ""
    stem = name[: len(name) - len(ext)]
    room = NAME_BYTES - len((prefix + "…" + ext + suffix).encode())
    cut = stem.encode()[: max(room, 1)].decode("utf-8", "ignore")
    return prefix + cut + "…" + ext + suffix


def signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def looks_finished(path: Path) -> bool:
    """Whether its last line is complete: it ends in a newline (UTF-16's too), or it is no
    text at all (a NUL near its end, no UTF-16 mark), which the reader refuses whole anyway.
    Read without following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return False
        head = os.read(fd, 2)
        os.lseek(fd, max(size - 512, 0), os.SEEK_SET)
        tail = os.read(fd, 512)
    finally:
        os.close(fd)
    if head in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: a newline is two bytes
        return tail.endswith((b"\n\x00", b"\x00\n"))
    return tail.endswith(b"\n") or b"\x00" in tail


class InboxWatcher(Worker):
    interval = 1.0

    def __init__(
        self,
        backend: SqliteBackend,
        inbox: Path,
        upload_worker: Worker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__("stockwatch-inbox", backend)
        self.inbox = inbox
        self.upload_worker = upload_worker
        self.clock = clock
        self._quiet: dict[str, tuple[Signature, float]] = {}  # name -> (signature, since)
        self._in_hand: dict[int, Path] = {}
        self._stuck: set[str] = set()  # could not even be moved aside: said once
        for folder in FOLDERS:
            (inbox / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        self._recovered = False

    def step(self) -> None:
        if not self._recovered:
            self._recover()
            self._recovered = True
        self._take_new_files()
        self._move_finished()

    # -- taking files in ----------------------------------------------------------------------

    def _take_new_files(self) -> None:
        present = set()
        with os.scandir(self.inbox) as entries:
            names = sorted(e.name for e in entries)
        for name in names:
            if ignored(name) or name in self._stuck:
                continue
            present.add(name)
            try:
                self._consider(name)
            except Exception as exc:  # this file only: the others are still taken
                log.exception("inbox: %s could not be taken", name)
                self._reject(self.inbox / name, f"it could not be taken: {exc}")
        for gone in set(self._quiet) - present:
            del self._quiet[gone]

    def _consider(self, name: str) -> None:
        path = self.inbox / name
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            self._reject(
                path,
                "it is a symbolic link: the inbox takes regular files only and never"
                " follows a link; copy the file itself in",
            )
            return
        if stat.S_ISDIR(st.st_mode):
            return  # a folder of someone's: left alone
        if not stat.S_ISREG(st.st_mode):
            self._reject(path, "it is not a regular file (a pipe, a socket or a device)")
            return
        now = self.clock()
        seen = signature(st)
        before = self._quiet.get(name)
        if before is None or before[0] != seen:
            self._quiet[name] = (seen, now)
            return  # new or still changing: look again later
        quiet = now - before[1]
        if quiet < QUIET_S:
            return
        if quiet < NO_NEWLINE_S and not looks_finished(path):
            return  # its last line is not finished yet, or will never be: wait longer
        self._take(path, seen)

    def _take(self, path: Path, seen: Signature) -> None:
        """Copy it in, check it did not change meanwhile, then register and move it."""
        db = self.db
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as source:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode) or opened.st_ino != seen[2]:
                raise OSError(f"{path.name} was replaced as it was opened")
            name = safe_filename(path.name)
            try:
                stored = db.objects.put(db.objects.new_key(name), source, db.limits.max_file_bytes)
            except ObjectTooLarge as exc:
                self._reject(path, f"{exc} (STOCKWATCH_MAX_FILE_BYTES)")
                return
        if signature(os.lstat(path)) != seen:
            db.objects.discard(stored.key)
            self._quiet.pop(path.name, None)
            log.info("inbox: %s changed while it was read; taken once it is quiet", path.name)
            return
        upload_id = db.submit(Upload(name, uploader="inbox"), stored)
        target = self.inbox / "processing" / short_name(path.name, f"{upload_id}-")
        os.rename(path, target)
        self._quiet.pop(path.name, None)
        self._in_hand[upload_id] = target
        self.upload_worker.wake()

    # -- moving them on -------------------------------------------------------------------------

    def _recover(self) -> None:
        """Files left in processing/ by an earlier run: moved on once their upload is done."""
        for path in sorted((self.inbox / "processing").iterdir()):
            head = path.name.split("-", 1)[0]
            if head.isdigit():
                self._in_hand[int(head)] = path

    def _move_finished(self) -> None:
        for upload_id, path in list(self._in_hand.items()):
            try:
                record = self.db.upload(upload_id)
                if record is None:
                    self._move(path, "rejected", f"upload {upload_id} is not known here")
                elif record.status in FINISHED:
                    if record.status == "rejected":
                        reason = (record.report.message if record.report else None) or "rejected"
                        self._move(path, "rejected", f"upload {upload_id}: {reason}")
                    else:
                        self._move(path, "processed")
                else:
                    continue
            except OSError as exc:
                log.warning("inbox: could not move %s on: %s", path.name, exc)
            del self._in_hand[upload_id]

    def _reject(self, path: Path, reason: str) -> None:
        try:
            self._move(path, "rejected", reason)
        except OSError as exc:
            self._stuck.add(path.name)
            log.error("inbox: %s is refused (%s) but cannot be moved aside: %s", path, reason, exc)
        else:
            log.warning("inbox: %s rejected: %s", path.name, reason)
        self._quiet.pop(path.name, None)

    def _move(self, path: Path, folder: str, reason: str | None = None) -> None:
        """Rename it (a link is renamed, not followed) into ``folder`` under a free name,
        with the reason beside it."""
        where = self.inbox / folder
        target = where / short_name(path.name, suffix="")
        n = 1
        while os.path.lexists(target):
            n += 1
            target = where / short_name(path.name, suffix=f".{n}")
        os.rename(path, target)
        if reason is not None:
            note = where / short_name(target.name, suffix=".reason.txt")
            fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(reason.rstrip() + "\n")
