"""Liveness and freshness: which knowledge generation and embedder this worker serves."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ContainerDep
from api.schemas import HealthPublic

router = APIRouter(tags=["meta"])


@router.get("/healthz", response_model=HealthPublic, summary="Health, knowledge generation and embedder")
def healthz(container: ContainerDep) -> HealthPublic:
    return HealthPublic(status="ok", generation=container.kb.queries.generation(), embedder=container.kb.embedder.name)
