"""FastAPI application factory. Routes are thin: parse, authorise, call one service, map to a schema."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from api.container import Container
from api.errors import MAX_BODY, BodyLimit, install_error_handlers
from api.routes import (
    accounts,
    audit,
    chat,
    health,
    knowledge,
    matters,
    me,
    openai_compat,
    pages,
    ratings,
    review,
    search,
)
from api.schemas import ERRORS
from api.security import SecurityHeaders
from ingest.jobs import MAX_UPLOAD_BYTES

WEB = Path(__file__).parent / "web"


def create_app(container: Container, max_body: int = MAX_BODY) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        container.close()  # no orphaned embedding worker after shutdown

    # /docs is served by pages.py from locally installed Swagger UI assets (no CDN); ReDoc is off (CDN only).
    app = FastAPI(title="QingSong 轻松办", version="0.1.0", description="Government knowledge base and 边聊边办 assistant",
                  responses=ERRORS, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.container = container
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=max_body, paths={knowledge.INGEST_PATH: MAX_UPLOAD_BYTES + 256 * 1024})
    app.add_middleware(SecurityHeaders)  # outermost: every response, errors and 413s included

    if container.settings.environment != "production":
        pid = str(os.getpid())

        @app.middleware("http")
        async def worker_header(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            """Which worker process answered: lets tests and load runs check that every worker is current."""
            response = await call_next(request)
            response.headers["X-QingSong-Worker"] = pid
            return response

    for r in (health.router, search.router, chat.router, matters.router, knowledge.router, review.router,
              audit.router, ratings.router, accounts.router, openai_compat.router, me.router, pages.router):
        app.include_router(r)

    app.mount("/static/swagger", StaticFiles(directory=pages.SWAGGER_UI), name="swagger")
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory` and multi-worker `qingsong serve --workers N`."""
    from api.container import build_container

    return create_app(build_container().warm_up())
