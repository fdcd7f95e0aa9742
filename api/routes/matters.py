"""Matters (事项) and bundles (一件事) from the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContainerDep, CurrentPrincipal
from api.schemas import ERRORS, BundlePublic, MatterPublic, Page, page
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1", tags=["matters"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]


@router.get("/matters", response_model=Page[MatterPublic], summary="List matters")
def list_matters(principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50,
                 offset: Offset = 0) -> Page[MatterPublic]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="matter"))
    return page([MatterPublic.of(m) for m in container.registry.matters()], limit, offset)


@router.get("/matters/{matter_id}", response_model=MatterPublic, summary="Get a matter")
def get_matter(matter_id: str, principal: CurrentPrincipal, container: ContainerDep) -> MatterPublic:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="matter", id=matter_id))
    return MatterPublic.of(container.registry.matter(matter_id))


@router.get("/bundles", response_model=Page[BundlePublic], summary="List bundles (一件事)")
def list_bundles(principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50,
                 offset: Offset = 0) -> Page[BundlePublic]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="bundle"))
    return page([BundlePublic.model_validate(b) for b in container.registry.bundles()], limit, offset)


@router.get("/bundles/{bundle_id}", response_model=BundlePublic, summary="Get a bundle")
def get_bundle(bundle_id: str, principal: CurrentPrincipal, container: ContainerDep) -> BundlePublic:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="bundle", id=bundle_id))
    return BundlePublic.model_validate(container.registry.bundle(bundle_id))
