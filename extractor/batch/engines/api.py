"""`--engine batch-api` and `--collect`: the request file to the provider's Batch API,
and its answers back into the database, round after round.

Every step is recorded before the next one starts, so a kill at any point loses
nothing: the file uploaded (its id), the batch created (its id; a kill between creating
and recording is found again by its input file), its answers imported (idempotent), its
remote files deleted. `collect` picks up from whatever the database says.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from extractor.batch.engines import ledger
from extractor.batch.engines.provider import ENDED, Provider, Remote
from extractor.batch.engines.results import Importer
from extractor.batch.migrations import writing
from extractor.batch.store import Store


def submit_written(db: Store, provider: Provider, batch_ids: list[int], path: str) -> None:
    """Upload the request file holding `batch_ids` and create one provider batch for it."""
    if not batch_ids:
        return
    file_id = provider.upload(path)
    _update(db, batch_ids, status="uploaded", input_file_id=file_id)
    remote = provider.create(file_id, {"imr_extract_batches": ",".join(map(str, batch_ids))})
    _update(db, batch_ids, status="submitted", remote_id=remote, remote_status="validating")


def recover(db: Store, provider: Provider) -> None:
    """Batches a killed command left between steps: adopt a batch created but not
    recorded; give up on one never uploaded (its letters are requested again)."""
    stuck = "engine = 'batch-api' and status in ('written', 'uploaded')"
    for row in ledger.batches(db.conn, stuck):
        found = provider.find(row["input_file_id"]) if row["input_file_id"] else None
        if found:
            _update(db, [row["id"]], status="submitted", remote_id=found.id,
                    remote_status=found.status)
            continue
        with writing(db.conn) as c:
            for req in ledger.pending_of(c, row["id"]):
                ledger.settle(c, req, "failed", error="never submitted (interrupted)")
            ledger.update_batch(c, row["id"], status="abandoned", ended=ledger.now())
        if row["input_file_id"]:
            provider.delete(row["input_file_id"])


def look(db: Store, provider: Provider, importer: Importer, keep_files: bool, say) -> int:
    """One look at every open batch: import the ended ones. How many are still open."""
    still_open = 0
    for remote_id, rows in _by_remote(db).items():
        remote = provider.get(remote_id)
        if rows[0]["status"] == "submitted":
            _update(db, [r["id"] for r in rows], remote_status=remote.status)
            if remote.status not in ENDED:
                still_open += 1
                continue
            _import(db, provider, importer, remote, [r["id"] for r in rows], say)
        _close(db, provider, remote, [r["id"] for r in rows], keep_files)
    return still_open


def _by_remote(db: Store) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in ledger.batches(db.conn, "engine = 'batch-api' and status in "
                                       "('submitted', 'imported')"):
        out.setdefault(row["remote_id"], []).append(row)
    return out


def _import(db: Store, provider: Provider, importer: Importer, remote: Remote,
            batch_ids: list[int], say) -> None:
    folder = str(Path(db.path).resolve().parent)
    for file_id in (remote.output_file_id, remote.error_file_id):
        if file_id:
            path = provider.download(file_id, folder)
            try:
                importer.file(path, say)
            finally:
                os.unlink(path)
    reason = f"batch {remote.status}" + (f" ({', '.join(remote.errors[:3])})"
                                         if remote.errors else "")
    for bid in batch_ids:  # what the provider never answered: failed, with its reason
        for req in ledger.pending_of(db.conn, bid):
            importer.fail(req, reason)
    importer.writer.flush()
    _update(db, batch_ids, status="imported", ended=ledger.now(),
            error=reason if remote.status != "completed" else None)


def _close(db: Store, provider: Provider, remote: Remote, batch_ids: list[int],
           keep_files: bool) -> None:
    if not keep_files:
        for file_id in (remote.input_file_id, remote.output_file_id, remote.error_file_id):
            if file_id:
                provider.delete(file_id)
    _update(db, batch_ids, status="closed")


def wait(seconds: float, stop) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop():
        time.sleep(min(0.2, max(0.0, end - time.monotonic())))


def _update(db: Store, batch_ids: list[int], **fields) -> None:
    with writing(db.conn) as c:
        for bid in batch_ids:
            ledger.update_batch(c, bid, **fields)
