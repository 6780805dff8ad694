"""What `imr-extract batch --engine ...`, `--import-results` and `--collect` do.

Each opens the results database, records a `runs` row (as `batch` does), writes a
group of letters per transaction (--commit-letters/--commit-seconds) and returns a
report whose `line()` is the one summary line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field

from extractor.backends.model import cache as call_cache
from extractor.batch import run as live
from extractor.batch.engines import ledger, settings as engine_settings
from extractor.batch.engines.requests import RequestFile, RequestWriter, Written
from extractor.batch.engines.results import Imported, Importer
from extractor.batch.engines.writer import Writer
from extractor.batch.group import Limits
from extractor.batch.run import Summary
from extractor.batch.store import Store, StoreError
from extractor.config import Config


@dataclass
class Report:
    counts: Summary
    written: Written | None = None
    imported: Imported | None = None
    out_path: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Letters that failed, and output lines that could not be used: exit 1."""
        i = self.imported
        return self.counts.failed + (i.malformed + i.unknown if i else 0)

    def line(self) -> str:
        c, parts = self.counts, []
        if self.imported:
            i = self.imported
            parts.append(f"{i.answers} answers imported ({i.next_round} for another round), "
                         f"{i.again} already imported, {i.engine_errors} engine errors, "
                         f"{i.stale} for changed files, {i.unknown} unknown, "
                         f"{i.malformed} malformed lines")
        if self.written and self.out_path:
            w = self.written
            parts.append(f"{w.requests} requests ({w.bytes:,} bytes, mode 0600) -> "
                         f"{self.out_path}")
        parts.append(f"{c.done} done, {c.skipped} skipped, {c.failed} failed, "
                     f"{c.rejected} rejected values in {self.seconds:.1f}s")
        return "; ".join(parts)


def _cache_path(config: Config) -> str | None:
    if not config.use_cache:
        return None
    return str(config.cache_path or call_cache.default_path())


@contextlib.contextmanager
def _session(db_path: str, config: Config, info: dict, paths, letters: int, limits: Limits):
    """The database, a `runs` row, and a Writer; the run is finished with its counts."""
    started = time.perf_counter()
    try:
        with Store(db_path) as db:
            run_id = db.start_run(**info, fingerprint=live.fingerprint(info), concurrency=1,
                                  paths=json.dumps(list(paths)), letters=letters)
            writer = Writer(db, run_id, _cache_path(config), limits,
                            on_failed=lambda s: print(s, file=sys.stderr, flush=True))
            report = Report(writer.counts)
            status = "failed"
            try:
                yield writer, report
                writer.flush()
                status = "finished"
            finally:
                report.seconds = time.perf_counter() - started
                with contextlib.suppress(sqlite3.Error):
                    writer.counts.letters = letters
                    db.finish_run(run_id, status=status, **writer.counts.counts())
    except sqlite3.Error as e:
        raise StoreError(f"{db_path}: {e}") from None


@dataclass(frozen=True)
class Work:
    """Worker processes (default: one per core) and the seconds a letter may take in one
    (`batch --concurrency`, `--letter-timeout`)."""
    workers: int | None = None
    letter_timeout: float = 60.0

    def args(self) -> tuple[int, float]:
        return self.workers or os.cpu_count() or 1, self.letter_timeout


def write_requests(paths, db_path: str, config: Config, out_path: str,
                   engine: str = "batch-file", limits: Limits | None = None,
                   work: Work = Work()) -> Report:
    """Requests for every letter under `paths` not done yet, and every queued re-ask."""
    files = live.discover(paths) if paths else []
    settings = engine_settings.from_config(config, engine) if paths else None
    info = live.extractor_info(config) if paths else _engine_info(engine)
    with _session(db_path, config, info, paths, len(files), limits or Limits()) as (w, report):
        if config.use_cache:  # created here, once: workers only look answers up in it
            call_cache.Cache(_cache_path(config)).close()
        out = RequestFile(out_path)
        requests = RequestWriter(w, out, engine, config.max_bytes, _cache_path(config),
                                 *work.args())
        try:
            if settings:
                requests.letters(files, settings)
            requests.queued()
            w.flush()
        except BaseException:
            out.close(complete=False)
            raise
        out.close(complete=True)
        report.written, report.out_path = requests.written, out_path
    return report


def import_results(db_path: str, results_path: str, config: Config,
                   next_path: str | None = None, limits: Limits | None = None,
                   work: Work = Work()) -> Report:
    with _session(db_path, config, _engine_info("import"), [results_path], 0,
                  limits or Limits()) as (w, report):
        report.imported = Importer(w, config.max_bytes, *work.args()).file(
            results_path, say=lambda s: print(s, file=sys.stderr, flush=True))
    if next_path and report.imported.next_round:
        nxt = write_requests([], db_path, config, next_path, limits=limits, work=work)
        report.written, report.out_path = nxt.written, next_path
    return report


def _engine_info(what: str) -> dict:
    return {"backend": what, "model": None, "prompt_version": None}


# -- the Batch API ---------------------------------------------------------------------
def submit(paths, db_path: str, config: Config, out_path: str | None = None,
           limits: Limits | None = None, work: Work = Work()) -> Report:
    """Requests for `paths` (and queued re-asks) uploaded as one provider batch."""
    from extractor.batch.engines import api
    from extractor.batch.engines.provider import Provider

    provider = Provider(config.base_url, config.api_key)
    with Store(db_path) as db:
        api.recover(db, provider)
    report = _submit(paths, db_path, config, provider, out_path, limits, work)
    report.notes.append("submitted; run `imr-extract batch --db DB --collect` to bring the "
                        "answers in" if report.written.requests else "nothing to submit")
    return report


def _submit(paths, db_path: str, config: Config, provider, out_path: str | None,
            limits: Limits | None, work: Work) -> Report:
    from extractor.batch.engines import api

    path = out_path or _private_temp(db_path)
    try:
        report = write_requests(paths, db_path, config, path, "batch-api", limits, work)
        with Store(db_path) as db:
            api.submit_written(db, provider, report.written.batch_ids, path)
    finally:
        if not out_path and os.path.exists(path):
            os.unlink(path)  # it holds letters: gone once uploaded
    return report


def _private_temp(db_path: str) -> str:
    folder = os.path.dirname(os.path.abspath(db_path))
    fd, path = tempfile.mkstemp(prefix=".imr-extract-requests-", suffix=".jsonl", dir=folder)
    os.close(fd)
    return path


def collect(db_path: str, config: Config, limits: Limits | None = None, once: bool = False,
            poll_seconds: float = 60, keep_remote_files: bool = False,
            work: Work = Work()) -> Report:
    """Look at every batch this database submitted until all have ended: import the
    answers of each ended one, submit the next round's re-asks."""
    from extractor.batch.engines import api
    from extractor.batch.engines.provider import Provider

    provider = Provider(config.base_url, config.api_key)
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    with _session(db_path, config, _engine_info("collect"), [], 0,
                  limits or Limits()) as (w, report):
        importer = Importer(w, config.max_bytes, *work.args())
        report.imported = importer.out
        while True:
            api.recover(w.db, provider)
            still_open = api.look(w.db, provider, importer, keep_remote_files, say)
            if ledger.queued(w.db.conn, "batch-api"):
                _submit([], db_path, config, provider, None, limits, work)
                still_open += 1
            if not still_open or once:
                break
            api.wait(poll_seconds, lambda: False)
        if still_open:
            report.notes.append(f"{still_open} batches not finished yet; run --collect again")
    return report
