"""Knowledge items: list, get, versions, diff, draft, submit/approve/publish/retire (owner unit scope)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.container import Container
from api.deps import ContainerDep, CurrentPrincipal, LoggedIn
from api.schemas import (
    DB_INT_MAX,
    ERRORS,
    DecisionIn,
    DiffPublic,
    DraftIn,
    DuePublic,
    InboxPublic,
    IngestJobPublic,
    ItemPublic,
    Page,
    RetireIn,
    TagEditIn,
    VersionPublic,
    page,
)
from guardrails.errors import InvalidInput, NotFound
from guardrails.roles import Action, Principal, Resource, Role, authorize, require, to_actor
from ingest.jobs import MAX_UPLOAD_BYTES, UPLOADS_DIR
from kb.lifecycle import ItemDraft
from kb.models import (
    Audience,
    ItemStatus,
    ItemVersion,
    Kind,
    KnowledgeItem,
    Level,
    Section,
    VersionContent,
    VersionState,
)
from kb.runtime import LifecycleStep
from kb.sections import required_sections

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"], responses=ERRORS)
INGEST_PATH = "/api/v1/knowledge/ingest"
E = TypeVar("E", bound=StrEnum)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=100000, description="Results to skip")]
VersionNumber = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="Version number")]
class PendingState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"


# Versions anyone may read: what is or was live. Drafts, reviews, approvals and withdrawn drafts are not.
PUBLIC_STATES = frozenset({VersionState.PUBLISHED, VersionState.SUPERSEDED, VersionState.RETIRED})


def _enum(enum: type[E], value: str, name: str) -> E:
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
    pending: Annotated[PendingState | None, Query(
        description="Only items with a version in this state (a published item can have one in review)")] = None,
) -> Page[ItemPublic]:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge"))
    found = container.kb.queries.list_items(owner=owner, kind=kind, status=status)
    if mine:
        found = [i for i in found if i.owner in principal.units]
    names, open_versions = _unit_names(container), container.kb.queries.pending_versions()
    shown = []
    for i in found:
        if not _item_visible(principal, i):
            continue
        view = _item_view(principal, names, i)
        if _sees_drafts(principal, i) and i.id in open_versions:
            number, state = open_versions[i.id]
            view = view.model_copy(update={"pending_version": number, "pending_state": state})
        if pending is None or view.pending_state == VersionState(pending.value):
            shown.append(view)
    return page(shown, limit, offset)


def _sees_drafts(principal: Principal, item: KnowledgeItem) -> bool:
    """Unpublished work is for the owner unit, reviewers, auditors and admins only."""
    return authorize(principal, Action.KNOWLEDGE_READ_DRAFT, Resource(kind="knowledge", id=item.id,
                                                                      unit=item.owner)).allowed


def _item_visible(principal: Principal, item: KnowledgeItem) -> bool:
    """An item that was never published (a draft, or one retired before it went live) exists only for those who
    see drafts; to everyone else it is not there at all, title included."""
    return item.current_version is not None or _sees_drafts(principal, item)


def _unit_names(container: Container) -> dict[str, str]:
    return {u.id: u.name for u in container.kb.queries.units()}


def _item_view(principal: Principal, names: dict[str, str], item: KnowledgeItem) -> ItemPublic:
    view = ItemPublic.model_validate(item).model_copy(update={"owner_name": names.get(item.owner, item.owner)})
    if not _sees_drafts(principal, item):  # do not reveal that a newer draft exists
        view = view.model_copy(update={"latest_version": item.current_version or 0})
    return view


def _visible_item(principal: Principal, container: Container, item_id: str) -> KnowledgeItem:
    require(principal, Action.KNOWLEDGE_READ, Resource(kind="knowledge", id=item_id))
    item = container.kb.queries.find_item(item_id)
    if item is None or not _item_visible(principal, item):
        raise NotFound(f"no knowledge item {item_id!r}; list items with GET /api/v1/knowledge/items")
    return item


def _readable_version(principal: Principal, container: Container, item: KnowledgeItem, number: int) -> ItemVersion:
    """Published history is public; drafts (and reviews, approvals, withdrawn drafts) only for those who see
    drafts. A hidden version answers 404 like a missing one, so its existence does not leak either."""
    v = container.kb.queries.get_version(item.id, number)
    if v.state not in PUBLIC_STATES and not _sees_drafts(principal, item):
        raise NotFound(f"item {item.id!r} has no version {number} you may read")
    return v


@router.get("/items/{item_id}", response_model=ItemPublic, summary="Get an item")
def get_item(item_id: str, principal: CurrentPrincipal, container: ContainerDep) -> ItemPublic:
    item = _visible_item(principal, container, item_id)
    view = _item_view(principal, _unit_names(container), item).model_copy(update={"required_sections": list(
        required_sections(item.kind, container.settings.guide_sections))})
    in_progress = container.kb.queries.pending_versions().get(item.id)
    if in_progress is not None and _sees_drafts(principal, item):
        view = view.model_copy(update={"pending_version": in_progress[0], "pending_state": in_progress[1]})
    return view


@router.get("/items/{item_id}/versions", response_model=Page[VersionPublic], summary="Versions of an item")
def list_versions(item_id: str, principal: CurrentPrincipal, container: ContainerDep, limit: Limit = 50,
                  offset: Offset = 0) -> Page[VersionPublic]:
    item = _visible_item(principal, container, item_id)
    drafts = _sees_drafts(principal, item)
    versions = [VersionPublic.model_validate(v).summary() for v in container.kb.queries.list_versions(item.id)
                if drafts or v.state in PUBLIC_STATES]
    return page(versions, limit, offset)


@router.get("/items/{item_id}/versions/{number}", response_model=VersionPublic, summary="One version with content")
def get_version(item_id: str, number: VersionNumber, principal: CurrentPrincipal,
                container: ContainerDep) -> VersionPublic:
    item = _visible_item(principal, container, item_id)
    return VersionPublic.model_validate(_readable_version(principal, container, item, number))


@router.get("/items/{item_id}/diff", response_model=DiffPublic,
            summary="Section-by-section diff of two versions, with their dates and metadata")
def diff(item_id: str, principal: CurrentPrincipal, container: ContainerDep,
         left: Annotated[int, Query(ge=1, le=DB_INT_MAX, description="Left version")],
         right: Annotated[int, Query(ge=1, le=DB_INT_MAX, description="Right version")]) -> DiffPublic:
    item = _visible_item(principal, container, item_id)
    _readable_version(principal, container, item, left)
    _readable_version(principal, container, item, right)
    return DiffPublic.model_validate(container.kb.queries.diff(item.id, left, right))


@router.post("/drafts", response_model=VersionPublic, status_code=201, summary="Propose a draft version")
def draft(body: DraftIn, principal: LoggedIn, container: ContainerDep) -> VersionPublic:
    existing = container.kb.queries.find_item(body.id)
    require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", id=body.id, unit=body.owner))
    if existing is not None:
        require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", id=body.id, unit=existing.owner))
    d = ItemDraft(
        id=body.id, kind=_enum(Kind, body.kind, "kind"), owner=body.owner, level=_enum(Level, body.level, "level"),
        audience=tuple(_enum(Audience, a, "audience") for a in body.audience),
        content=VersionContent(title=body.title, sections=tuple(Section(heading=s.heading, text=s.text)
                                                                for s in body.sections)),
        effective_from=body.effective_from, expires_at=body.expires_at, review_due=body.review_due,
        change_note=body.change_note, related=tuple(body.related) if body.related is not None else (existing.related if existing else ()),
    )
    return VersionPublic.model_validate(container.kb.service.propose(d, to_actor(principal)))


_ACTIONS: dict[LifecycleStep, Action] = {"submit": Action.KNOWLEDGE_SUBMIT, "approve": Action.KNOWLEDGE_APPROVE,
                                         "publish": Action.KNOWLEDGE_PUBLISH}
# Decisions that close a version without it going live, with the note as their reason.
_CLOSING: dict[str, Action] = {"reject": Action.KNOWLEDGE_APPROVE, "withdraw": Action.KNOWLEDGE_SUBMIT}


def transition(container: Container, principal: Principal, name: LifecycleStep, item_id: str, number: int,
               note: str) -> ItemVersion:
    item = container.kb.queries.get_item(item_id)
    v = container.kb.queries.get_version(item.id, number)
    require(principal, _ACTIONS[name], Resource(kind="knowledge", id=f"{item.id}:{number}", unit=item.owner,
                                                author=v.author))
    done = container.kb.advance(name, item.id, number, to_actor(principal))
    if note:
        container.guardrails.audit.record(f"knowledge.{name}_note", principal.account_id, f"{item.id}:{number}",
                                          {"note": note})
    return done


def close_version(container: Container, principal: Principal, name: str, item_id: str, number: int,
                  note: str) -> ItemVersion:
    """reject (a reviewer, not the author, with a reason) or withdraw (the owner unit) a version not yet live."""
    item = container.kb.queries.get_item(item_id)
    v = container.kb.queries.get_version(item.id, number)
    require(principal, _CLOSING[name], Resource(kind="knowledge", id=f"{item.id}:{number}", unit=item.owner,
                                                author=v.author if name == "reject" else None))
    actor = to_actor(principal)
    if name == "reject":
        return container.kb.service.reject(item.id, number, actor, note)
    return container.kb.service.withdraw(item.id, number, actor, note)


@router.post("/items/{item_id}/versions/{number}/{action}", response_model=VersionPublic,
             summary="submit, approve, publish, reject (with a reason) or withdraw a version (four-eyes on approve "
                     "and reject)")
async def decide(item_id: str, number: VersionNumber, action: str, body: DecisionIn, principal: LoggedIn,
                 container: ContainerDep) -> VersionPublic:
    if action in _CLOSING:
        closed = await run_in_threadpool(close_version, container, principal, action, item_id, number, body.note)
        return VersionPublic.model_validate(closed).summary()
    step = next((s for s in _ACTIONS if s == action), None)
    if step is None:
        raise InvalidInput(f"action {action!r} is unknown; use submit, approve, publish, reject or withdraw")
    v = await run_in_threadpool(transition, container, principal, step, item_id, number, body.note)
    return VersionPublic.model_validate(v).summary()


@router.post("/items/{item_id}/retire", response_model=ItemPublic, summary="Retire an item with a reason")
async def retire(item_id: str, body: RetireIn, principal: LoggedIn, container: ContainerDep) -> ItemPublic:
    item = container.kb.queries.get_item(item_id)
    require(principal, Action.KNOWLEDGE_RETIRE, Resource(kind="knowledge", id=item.id, unit=item.owner))
    done = await run_in_threadpool(container.kb.service.retire, item.id, to_actor(principal), body.reason,
                                   body.replaced_by)
    return ItemPublic.model_validate(done)


@router.post("/items/{item_id}/tags", response_model=VersionPublic, status_code=201,
             summary="Propose a tag change as a draft version (live only after a second person approves)")
async def edit_tags(item_id: str, body: TagEditIn, principal: LoggedIn, container: ContainerDep) -> VersionPublic:
    item = container.kb.queries.get_item(item_id)
    require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", id=item.id, unit=item.owner))
    v = await run_in_threadpool(container.kb.service.set_tags, item.id, to_actor(principal), body.add, body.remove)
    return VersionPublic.model_validate(v).summary()


INBOX_DAYS = 30
REJECTED_SHOWN = 20


@router.get("/inbox", response_model=InboxPublic, summary="My units' drafts, rejections with reasons, and items "
                                                          "due for review or expiring (谁录入谁负责)")
def inbox(principal: LoggedIn, container: ContainerDep,
          days: Annotated[int, Query(ge=0, le=3650, description="Due window in days")] = INBOX_DAYS) -> InboxPublic:
    units = tuple(principal.units)
    if units:
        require(principal, Action.KNOWLEDGE_DRAFT, Resource(kind="knowledge", unit=units[0]))
    q = container.kb.queries
    drafts: list[VersionPublic] = []
    rejected: list[ItemVersion] = []
    open_versions = q.pending_versions()
    for item in q.list_items():
        if item.owner not in units:
            continue
        if item.id in open_versions:
            drafts.append(VersionPublic.model_validate(q.get_version(item.id, open_versions[item.id][0])).summary())
        latest = q.get_version(item.id, item.latest_version) if item.latest_version else None
        if latest is not None and latest.state == VersionState.REJECTED:
            rejected.append(latest)
    rejected.sort(key=lambda v: v.created_at, reverse=True)
    due = q.due(days, owners=units) if units else []
    return InboxPublic(units=list(units), drafts=drafts,
                       rejected=[VersionPublic.model_validate(v).summary() for v in rejected[:REJECTED_SHOWN]],
                       due=[DuePublic.model_validate(d.model_dump()) for d in due])


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
) -> IngestJobPublic:
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
    return IngestJobPublic.model_validate(job.public())


@router.get("/ingest/{job_id}", response_model=IngestJobPublic, summary="Progress and report of an ingest upload")
def ingest_job(job_id: str, principal: LoggedIn, container: ContainerDep) -> IngestJobPublic:
    job = container.ingest_jobs.get(job_id)
    if job is None or (job.account_id != principal.account_id and principal.role != Role.ADMIN):
        raise NotFound(f"no ingest job {job_id!r} of yours")
    return IngestJobPublic.model_validate(job.public())
