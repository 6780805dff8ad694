"""Extraction off the event loop: rules in worker processes, model calls in threads.

The rules are CPU-bound Python, so they run in a process pool (one worker per core by
default) and the event loop stays free. Model calls wait on the network, so they run
in threads, at most `--concurrency` at once. Each request has a time limit.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace

from extractor.batch.pool import exit_with_parent
from extractor.config import Config
from extractor.core import ingest
from extractor.errors import ImrError
from extractor.pipeline import extract_document
from extractor.present import review
from extractor.serve.errors import ApiError, for_imr
from extractor.serve.settings import Settings
from extractor.serve.upload import Letter

RAW_BODY_NAME = "request body"  # what error messages call a letter sent without a file name


def extract(letter: Letter, config: Config, view: bool) -> dict:
    """One letter -> {"record": its JSON text, and with `view` the page's HTML pieces}.
    Runs in a worker and returns plain strings (or raises ImrError): they cross processes
    cheaply, and the event loop sends the JSON as it is, without encoding it again."""
    doc = ingest.from_bytes(letter.data, letter.name or RAW_BODY_NAME, config.max_bytes,
                            fmt=letter.fmt)
    record = extract_document(doc, config)
    record.source.path = letter.name
    out = {"record": record.model_dump_json()}
    if view:
        out.update(review.fragments(record, doc))
    return out


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's business
    exit_with_parent()  # even when the server is killed, or exits before the pool stops


class Workers:
    """The pools, created at startup and shut down with the server."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model_calls = asyncio.Semaphore(settings.concurrency)
        self.threads = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="imr-model")
        self.processes = self._processes()

    def _processes(self) -> ProcessPoolExecutor:
        # forkserver: workers start from a clean process, not a fork of a threaded server
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["extractor.serve.work"])
        return ProcessPoolExecutor(self.settings.workers, mp_context=context,
                                   initializer=_init_worker)

    def close(self) -> None:
        self.processes.shutdown(wait=False, cancel_futures=True)
        self.threads.shutdown(wait=False, cancel_futures=True)

    async def run(self, letter: Letter, config: Config, view: bool) -> dict:
        try:
            return await asyncio.wait_for(self._run(letter, config, view), self.settings.timeout)
        except TimeoutError:
            raise ApiError(504, "timeout", f"extraction took longer than "
                           f"{self.settings.timeout:g} s (--request-timeout)") from None
        except ImrError as e:
            raise for_imr(e) from None

    async def _run(self, letter: Letter, config: Config, view: bool) -> dict:
        loop = asyncio.get_running_loop()
        if config.backend == "rules":
            pool = self.processes
            try:
                return await loop.run_in_executor(pool, extract, letter, config, view)
            except BrokenExecutor:  # a worker died (killed, out of memory): start afresh
                if self.processes is pool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self.processes = self._processes()
                raise ApiError(503, "worker_died", "the extraction worker died; "
                               "try again") from None
        async with self.model_calls:
            return await loop.run_in_executor(self.threads, extract, letter, config, view)


def request_config(settings: Settings, backend: str | None, model: str | None,
                   strict: bool | None = None) -> Config:
    """The server's configuration with a request's choices, within what it allows."""
    allowed = settings.backends()
    backend = backend or settings.config.backend
    if backend not in allowed:
        raise ApiError(400, "bad_option", f"backend {backend!r} is not offered here (allowed: "
                       f"{', '.join(allowed)}; llm and hybrid need the server started with "
                       "--model)")
    if model is not None and model != settings.config.model:
        raise ApiError(400, "bad_option", f"model {model!r} is not offered here (allowed: "
                       f"{settings.config.model or 'none'})")
    strict = settings.config.strict if strict is None else strict
    return replace(settings.config, backend=backend, strict=strict)
