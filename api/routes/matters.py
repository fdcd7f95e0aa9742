"""Matters (事项) and bundles (一件事) from the catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ContainerDep, CurrentPrincipal
from api.schemas import BundlePublic, MatterPublic, Page, page
from assistant.catalog import Matter, MatterBundle
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1", tags=["matters"])
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]


def matter_public(m: Matter) -> dict[str, Any]:
    dumped = m.model_dump(mode="json")
    return {"id": m.id, "version": m.version, "name": m.name, "department": m.department,
            "audience": str(dumped.get("audience")), "description": m.description, "knowledge": list(m.knowledge),
            "requires_staff_approval": m.requires_staff_approval, "fields": list(dumped.get("form") or [])}


def bundle_public(b: MatterBundle) -> dict[str, Any]:
    return {"id": b.id, "version": b.version, "name": b.name, "description": b.description,
            "matters": list(b.matters), "carry_over": list(b.carry_over)}


@router.get("/matters", response_model=Page[MatterPublic], summary="List matters")
def list_matters(principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="matter"))
    return page([matter_public(m) for m in container.registry.matters()], limit, offset)


@router.get("/matters/{matter_id}", response_model=MatterPublic, summary="Get a matter")
def get_matter(matter_id: str, principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="matter", id=matter_id))
    return matter_public(container.registry.matter(matter_id))


@router.get("/bundles", response_model=Page[BundlePublic], summary="List bundles (一件事)")
def list_bundles(principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="bundle"))
    return page([bundle_public(b) for b in container.registry.bundles()], limit, offset)


@router.get("/bundles/{bundle_id}", response_model=BundlePublic, summary="Get a bundle")
def get_bundle(bundle_id: str, principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="bundle", id=bundle_id))
    return bundle_public(container.registry.bundle(bundle_id))
