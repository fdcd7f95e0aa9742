"""FastAPI application factory. Routes are thin: parse, authorise, call one service, map to a schema."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.container import Container
from kb.errors import KbError, NotFoundError, PermissionDeniedError
from kb.models import Kind, SearchFilters


class HitPublic(BaseModel):
    item_id: str = Field(description="Knowledge item id")
    version: int = Field(description="Version number that produced the hit")
    kind: str = Field(description="guide, policy, review_point or faq")
    title: str = Field(description="Item title")
    owner: str = Field(description="Owner unit id (谁录入谁负责)")
    section: str = Field(description="Section of the item the passage comes from")
    score: float = Field(description="Fused retrieval score")
    text: str = Field(description="The passage")


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="QingSong 轻松办", version="0.1.0", description="Government knowledge base and 边聊边办 assistant")
    app.state.container = container

    @app.exception_handler(KbError)
    async def kb_error(_: Request, exc: KbError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, PermissionDeniedError) else 400
        return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, status_code=status)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        kb = container.kb
        return {"status": "ok", "generation": kb.store.generation(), "embedder": kb.embedder.name}

    @app.get("/api/v1/search", response_model=list[HitPublic])
    def search(
        q: Annotated[str, Query(min_length=1, max_length=500, description="Question in plain Chinese")],
        top_k: Annotated[int, Query(ge=1, le=50)] = 5,
        as_of: Annotated[dt.date | None, Query(description="What was in force on that day")] = None,
        kind: Annotated[list[Kind] | None, Query()] = None,
    ) -> list[HitPublic]:
        filters = SearchFilters(as_of=as_of, kinds=tuple(kind or ()))
        hits = container.kb.retriever.search(q, top_k=top_k, filters=filters, per_item=1)
        return [HitPublic(**h.model_dump(include=set(HitPublic.model_fields)) | {"kind": h.kind.value}) for h in hits]

    return app
