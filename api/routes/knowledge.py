"""Knowledge items: list, get, versions, diff, draft, submit/approve/publish/retire (owner unit scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.container import Container
from api.deps import ContainerDep, CurrentPrincipal, LoggedIn
from api.schemas import (
    DecisionIn,
    DiffPublic,
    DraftIn,
    IngestJobPublic,
    ItemPublic,
    Page,
    RetireIn,
    VersionPublic,
    page,
)
from guardrails.errors import InvalidInput, NotFound
from guardrails.roles import Action, Principal, Resource, Role, require, to_actor
from ingest.jobs import MAX_UPLOAD_BYTES, UPLOADS_DIR
from kb.diff import diff_versions
from kb.lifecycle import ItemDraft
from kb.models import Audience, ItemStatus, ItemVersion, Kind, KnowledgeItem, Level, Section, VersionContent

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
INGEST_PATH = "/api/v1/knowledge/ingest"
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]


def item_public(i: KnowledgeItem) -> dict[str, Any]:
    return {"id": i.id, "kind": i.kind.value, "title": i.title, "owner": i.owner, "level": i.level.value,
            "status": i.status.value, "current_version": i.current_version, "latest_version": i.latest_version,
            "retired_reason": i.retired_reason, "replaced_by": i.replaced_by, "updated_at": i.updated_at}


def version_public(v: ItemVersion, content: bool = False) -> dict[str, Any]:
    return {"item_id": v.item_id, "number": v.number, "state": v.state.value, "author": v.author,
            "approved_by": v.approved_by, "change_note": v.change_note, "effective_from": v.effective_from,
            "expires_at": v.expires_at, "content_hash": v.content_hash,
            "content": v.content.model_dump(mode="json") if content else None}


def _enum(enum: type[Any], value: str, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(f"{name} {value!r} is unknown; use one of {[e.value for e in enum]}") from None


@router.get("/items", response_model=Page[ItemPublic], summary="List knowledge items")
def list_items(
    principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
    owner: Annotated[str | None, Query(max_length=64, description="Only this owner unit")] = None,
    kind: Annotated[Kind | None, Query(description="Only this kind")] = None,
    status: Annotated[ItemStatus | None, Query(description="Only this status")] = None,
    mine: Annotated[bool, Query(description="Only items of my units (owners)")] = False,
) -> dict[str, Any]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge"))
    found = container.kb.store.list_items(owner=owner, kind=kind, status=status)
    if mine:
        found = [i for i in found if i.owner in principal.units]
    return page([item_public(i) for i in found], limit, offset)


@router.get("/items/{item_id}", response_model=ItemPublic, summary="Get an item")
def get_item(item_id: str, principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge", id=item_id))
    return item_public(container.kb.store.get_item(item_id))


def _readable(container: Container, principal: Principal, item: KnowledgeItem, v: ItemVersion) -> None:
    """Published history is public; drafts are visible to the owner unit (and admins) only."""
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge", id=item.id, unit=item.owner))
    if v.state.value in ("draft", "in_review", "approved", "withdrawn"):
        require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", id=item.id, unit=item.owner))


@router.get("/items/{item_id}/versions", response_model=Page[VersionPublic], summary="Versions of an item")
def list_versions(item_id: str, principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50,
                  offset: Offset = 0) -> dict[str, Any]:
    item = container.kb.store.get_item(item_id)
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge", id=item.id, unit=item.owner))
    return page([version_public(v) for v in container.kb.store.list_versions(item.id)], limit, offset)


@router.get("/items/{item_id}/versions/{number}", response_model=VersionPublic, summary="One version with content")
def get_version(item_id: str, number: int, principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    item = container.kb.store.get_item(item_id)
    v = container.kb.store.get_version(item.id, number)
    _readable(container, principal, item, v)
    return version_public(v, content=True)


@router.get("/items/{item_id}/diff", response_model=DiffPublic, summary="Section-by-section diff of two versions")
def diff(item_id: str, principal: CurrentPrincipal, container: ContainerDep,
         left: Annotated[int, Query(ge=1, description="Left version")],
         right: Annotated[int, Query(ge=1, description="Right version")]) -> dict[str, Any]:
    item = container.kb.store.get_item(item_id)
    a, b = container.kb.store.get_version(item.id, left), container.kb.store.get_version(item.id, right)
    _readable(container, principal, item, a)
    _readable(container, principal, item, b)
    d = diff_versions(a, b)
    return {"item_id": d.item_id, "left": d.left, "right": d.right, "changed_sections": d.changed_sections,
            "sections": [s.model_dump() for s in d.sections],
            "dates_changed": {k: list(v) for k, v in d.dates_changed.items()}}


@router.post("/drafts", response_model=VersionPublic, status_code=201, summary="Propose a draft version")
def draft(body: DraftIn, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    existing = container.kb.store.find_item(body.id)
    require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", id=body.id, unit=body.owner))
    if existing is not None:
        require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", id=body.id, unit=existing.owner))
    d = ItemDraft(
        id=body.id, kind=_enum(Kind, body.kind, "kind"), owner=body.owner, level=_enum(Level, body.level, "level"),
        audience=tuple(_enum(Audience, a, "audience") for a in body.audience),
        content=VersionContent(title=body.title, sections=tuple(Section(heading=s.heading, text=s.text)
                                                                for s in body.sections)),
        effective_from=body.effective_from, expires_at=body.expires_at, change_note=body.change_note,
    )
    return version_public(container.kb.service.propose(d, to_actor(principal)), content=True)


_ACTIONS = {"submit": Action.KNOWLEDGE_SUBMIT, "approve": Action.KNOWLEDGE_APPROVE, "publish": Action.KNOWLEDGE_PUBLISH}


def transition(container: Container, principal: Principal, name: str, item_id: str, number: int, note: str) -> ItemVersion:
    item = container.kb.store.get_item(item_id)
    v = container.kb.store.get_version(item.id, number)
    require(principal, _ACTIONS[name], Resource(kind="knowledge", id=f"{item.id}:{number}", unit=item.owner,
                                                author=v.author))
    done: ItemVersion = getattr(container.kb.service, name)(item.id, number, to_actor(principal))
    if note:
        container.guardrails.audit.record(f"knowledge.{name}_note", principal.account_id, f"{item.id}:{number}",
                                          {"note": note})
    return done


@router.post("/items/{item_id}/versions/{number}/{action}", response_model=VersionPublic,
             summary="submit, approve or publish a version (four-eyes on approve)")
async def decide(item_id: str, number: int, action: str, body: DecisionIn, principal: LoggedIn,
                 container: ContainerDep) -> dict[str, Any]:
    if action not in _ACTIONS:
        raise InvalidInput(f"action {action!r} is unknown; use submit, approve or publish")
    v = await run_in_threadpool(transition, container, principal, action, item_id, number, body.note)
    return version_public(v)


@router.post("/items/{item_id}/retire", response_model=ItemPublic, summary="Retire an item with a reason")
async def retire(item_id: str, body: RetireIn, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    item = container.kb.store.get_item(item_id)
    require(principal, Action.KNOWLEDGE_RETIRE, Resource(kind="knowledge", id=item.id, unit=item.owner))
    done = await run_in_threadpool(container.kb.service.retire, item.id, to_actor(principal), body.reason,
                                   body.replaced_by)
    return item_public(done)


# -- ingest upload (owner console) -------------------------------------------------------------------
def _may_ingest(principal: Principal) -> None:
    """Admins may bulk-load; an owner may upload drafts, and each file's unit is re-checked per item."""
    if principal.role == Role.OWNER and principal.units:
        require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", unit=principal.units[0]))
    else:
        require(principal, Action.KNOWLEDGE_INGEST, Resource(kind="knowledge"))


@router.post("/ingest", response_model=IngestJobPublic, status_code=202,
             summary="Upload files to ingest as drafts (background job; poll its progress)")
async def ingest_upload(
    principal: LoggedIn, container: ContainerDep,
    files: Annotated[list[UploadFile], File(description=".md, .json, .jsonl, .docx, .pdf or .html files, "
                                                        "10 MB in total")],
) -> dict[str, Any]:
    _may_ingest(principal)
    data: list[tuple[str, bytes]] = []
    total = 0
    for f in files:
        chunk = await f.read(MAX_UPLOAD_BYTES + 1 - total)
        total += len(chunk)
        if total > MAX_UPLOAD_BYTES:
            raise InvalidInput("upload is over the 10 MB limit; split it into several uploads")
        data.append((f.filename or "upload", chunk))
    job = await run_in_threadpool(container.ingest_jobs.start, container.kb, to_actor(principal),
                                  principal.account_id, data, container.settings.home / UPLOADS_DIR)
    return job.public()


@router.get("/ingest/{job_id}", response_model=IngestJobPublic, summary="Progress and report of an ingest upload")
def ingest_job(job_id: str, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    job = container.ingest_jobs.get(job_id)
    if job is None or (job.account_id != principal.account_id and principal.role != Role.ADMIN):
        raise NotFound(f"no ingest job {job_id!r} of yours")
    return job.public()
