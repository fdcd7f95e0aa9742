"""FastAPI application factory. Routes are thin: parse, authorise, call one service, map to a schema."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.container import Container
from api.deps import CurrentPrincipal, build_services
from api.errors import MAX_BODY, BodyLimit, install_error_handlers
from api.openai_compat import router as openai_router
from api.routes import accounts, audit, chat, knowledge, matters, ratings, review
from api.schemas import ErrorEnvelope, HitPublic
from guardrails.roles import Action, Resource, require
from ingest.jobs import MAX_UPLOAD_BYTES
from kb.models import Kind, SearchFilters

WEB = Path(__file__).parent / "web"
PAGES = {"/": "index.html", "/owner": "owner.html", "/review": "review.html", "/audit": "audit.html"}


def create_app(container: Container, max_body: int = MAX_BODY) -> FastAPI:
    app = FastAPI(title="QingSong 轻松办", version="0.1.0", description="Government knowledge base and 边聊边办 assistant",
                  responses={400: {"model": ErrorEnvelope}, 401: {"model": ErrorEnvelope},
                             403: {"model": ErrorEnvelope}, 404: {"model": ErrorEnvelope},
                             409: {"model": ErrorEnvelope}, 413: {"model": ErrorEnvelope},
                             422: {"model": ErrorEnvelope}})
    app.state.container = container
    app.state.services = build_services(container)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=max_body, paths={knowledge.INGEST_PATH: MAX_UPLOAD_BYTES + 256 * 1024})

    if container.settings.environment != "production":
        pid = str(os.getpid())

        @app.middleware("http")
        async def worker_header(request: Request, call_next):  # type: ignore[no-untyped-def]
            """Which worker process answered: lets tests and load runs check that every worker is current."""
            response = await call_next(request)
            response.headers["X-QingSong-Worker"] = pid
            return response

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, object]:
        kb = container.kb
        return {"status": "ok", "generation": kb.store.generation(), "embedder": kb.embedder.name}

    @app.get("/api/v1/search", response_model=list[HitPublic], tags=["knowledge"])
    def search(
        principal: CurrentPrincipal,
        q: Annotated[str, Query(min_length=1, max_length=500, description="Question in plain Chinese")],
        top_k: Annotated[int, Query(ge=1, le=50, description="How many hits")] = 5,
        as_of: Annotated[dt.date | None, Query(description="What was in force on that day")] = None,
        kind: Annotated[list[Kind] | None, Query(description="Only these kinds")] = None,
    ) -> list[HitPublic]:
        require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge"))
        filters = SearchFilters(as_of=as_of, kinds=tuple(kind or ()))
        hits = container.kb.retriever.search(q, top_k=top_k, filters=filters, per_item=1)
        return [HitPublic(**h.model_dump(include=set(HitPublic.model_fields)) | {"kind": h.kind.value}) for h in hits]

    for r in (chat.router, matters.router, knowledge.router, review.router, audit.router, ratings.router,
              accounts.router, openai_router):
        app.include_router(r)

    for route, name in PAGES.items():
        app.add_api_route(route, _page(name), include_in_schema=False, methods=["GET"])
    app.add_api_route("/k/{item_id}/{version}", _page("guide.html"), include_in_schema=False, methods=["GET"])
    app.add_api_route("/login", lambda: RedirectResponse("/"), include_in_schema=False, methods=["GET"])
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


def _page(name: str):  # type: ignore[no-untyped-def]
    def serve() -> FileResponse:
        return FileResponse(WEB / name, media_type="text/html; charset=utf-8")

    return serve


def create_app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory` and multi-worker `qingsong serve --workers N`."""
    from api.container import build_container

    return create_app(build_container().warm_up())
