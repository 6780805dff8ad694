"""The app factory: `create_app(settings)` wires routes, errors, limits and the log."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from extractor import __version__
from extractor.batch import query
from extractor.serve import errors, routes
from extractor.serve.access import AccessLog
from extractor.serve.limits import BodyLimit
from extractor.serve.settings import Settings
from extractor.serve.work import Workers


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.workers = Workers(settings)
        try:
            yield
        finally:
            app.state.workers.close()

    app = FastAPI(title="imr-extract", version=__version__, lifespan=lifespan,
                  description="Verified, structured data from California IMR final "
                  "determination letters. Every value carries the quote and offsets where "
                  "the letter says it.")
    app.state.settings = settings
    errors.install(app)
    app.include_router(routes.api)
    app.include_router(routes.site)
    app.add_middleware(BodyLimit, max_bytes=settings.max_bytes)
    app.add_middleware(errors.InternalErrors)
    app.add_middleware(AccessLog)  # added last: outermost, so it sees every answer
    return app


def run(settings: Settings) -> None:
    import uvicorn

    settings.check()
    if settings.db:  # a file that is no results database fails now, not on every request
        query.connect(settings.db).close()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                access_log=False, log_config=LOG_CONFIG, server_header=False)


# uvicorn's default configuration, plus our access logger on the same stream.
LOG_CONFIG = {
    "version": 1, "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                            "stream": "ext://sys.stderr"}},
    "loggers": {name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
                for name in ("uvicorn", "uvicorn.error", "imr_extract.access",
                             "imr_extract.serve")},
}
