"""The audit trail: who changed what, and when, read as one list.

Changes people make (users, thresholds, acknowledgements, mutes) are written as they are
made, by the use case that makes them. Uploads are not written a second time: each one
already keeps who sent it and when, so the trail reads them from the uploads list. On AWS
that keeps an upload at the writes it costs anyway.
"""

from __future__ import annotations

from stockwatch.core.rows import UploadRow
from stockwatch.service.reads import ReadModel
from stockwatch.service.users import AuditRow, AuditTrail, note

# Uploads looked through for one listing of the trail.
MAX_UPLOADS = 5000
UPLOAD_PAGE = 200


def _upload_line(upload: UploadRow) -> AuditRow:
    rows = f"{upload.rows_loaded:,} loaded, {upload.rows_rejected:,} rejected"
    detail = f"upload {upload.id}: {upload.status.replace('_', ' ')}"
    if upload.status not in ("queued", "processing"):
        detail += f", {rows}"
    return AuditRow(
        f"upload:{upload.id}",
        upload.received_at,
        upload.uploaded_by or "(put into storage directly)",
        "upload",
        upload.file,
        detail,
    )


def trail(changes: AuditTrail, model: ReadModel, since: str | None, limit: int) -> list[AuditRow]:
    """The changes and the uploads since ``since``, oldest first, at most ``limit``."""
    rows = changes.audit(since, limit)
    before: str | None = None
    looked = 0
    while looked < MAX_UPLOADS:
        page = model.uploads(UPLOAD_PAGE, before)
        looked += len(page)
        fresh = [u for u in page if since is None or u.received_at >= since]
        rows += [_upload_line(u) for u in fresh]
        if len(page) < UPLOAD_PAGE or len(fresh) < len(page):
            break
        before = str(page[-1].id)
    rows.sort(key=lambda r: (r.at, str(r.id)))
    return rows[:limit]


__all__ = ["AuditTrail", "note", "trail"]
