"""Search: hybrid retrieval over the live knowledge, one hit per item."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContainerDep, CurrentPrincipal
from api.schemas import ERRORS, HitPublic
from guardrails.roles import Action, Resource, require
from kb.models import Kind, SearchFilters

router = APIRouter(prefix="/api/v1", tags=["knowledge"], responses=ERRORS)


@router.get("/search", response_model=list[HitPublic], summary="Search the knowledge in force")
def search(
    principal: CurrentPrincipal, container: ContainerDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Question in plain Chinese")],
    top_k: Annotated[int, Query(ge=1, le=50, description="How many hits")] = 5,
    as_of: Annotated[dt.date | None, Query(description="What was in force on that day")] = None,
    kind: Annotated[list[Kind] | None, Query(description="Only these kinds")] = None,
) -> list[HitPublic]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge"))
    filters = SearchFilters(as_of=as_of, kinds=tuple(kind or ()))
    hits = container.kb.retriever.search(q, top_k=top_k, filters=filters, per_item=1)
    return [HitPublic.model_validate(h) for h in hits]
