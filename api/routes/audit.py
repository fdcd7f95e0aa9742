"""Audit: traces by turn id, receipts (inclusion proofs), consistency proofs, verify, export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from api.deps import ContainerDep, LoggedIn
from api.schemas import (
    DB_INT_MAX,
    ERRORS,
    JSON_ERRORS,
    ConsistencyPublic,
    EventPublic,
    Page,
    ReceiptPublic,
    TracePublic,
    VerifyPublic,
    page,
)
from guardrails.errors import NotFound
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
JSONL = "application/x-ndjson"  # the audit export's JSON Lines media type (one event per line)
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Results to skip")]


@router.get("/events", response_model=Page[EventPublic], summary="Search audit events (newest first)")
def events(
    principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
    event: Annotated[str | None, Query(max_length=64, description="Event name, e.g. turn.finalised")] = None,
    subject: Annotated[str | None, Query(max_length=200, description="Subject, e.g. a turn id")] = None,
) -> Page[EventPublic]:
    require(principal, Action.AUDIT_READ, Resource(kind="audit"))
    found = container.guardrails.audit.events(event=event, subject=subject)
    return page([EventPublic.model_validate(e) for e in reversed(found)], limit, offset)


@router.get("/traces/{turn_id}", response_model=TracePublic, summary="A turn's trace with receipt and verification")
async def trace(turn_id: str, principal: LoggedIn, container: ContainerDep) -> TracePublic:
    require(principal, Action.AUDIT_READ, Resource(kind="trace", id=turn_id))
    log = container.guardrails.audit
    found = log.events(subject=turn_id)
    if not found:
        raise NotFound(f"no audit events for turn {turn_id!r}; search with GET /api/v1/audit/events?event=turn.finalised")
    final = next((e for e in found if e.event == "turn.finalised"), found[0])
    receipt = ReceiptPublic.of(log.inclusion_proof(final.seq))
    require(principal, Action.AUDIT_VERIFY, Resource(kind="audit"))
    report = await run_in_threadpool(log.verify)
    return TracePublic(turn_id=turn_id, events=[EventPublic.model_validate(e) for e in found], receipt=receipt,
                       verified=receipt.verified and report.ok)


@router.get("/receipts/{seq}", response_model=ReceiptPublic, summary="Inclusion proof of one event")
def receipt(seq: Annotated[int, Path(ge=0, le=DB_INT_MAX, description="Position of the event in the log")],
            principal: LoggedIn, container: ContainerDep) -> ReceiptPublic:
    require(principal, Action.AUDIT_READ, Resource(kind="audit", id=str(seq)))
    return ReceiptPublic.of(container.guardrails.audit.inclusion_proof(seq))


@router.get("/consistency", response_model=ConsistencyPublic,
            summary="Consistency proof from an earlier tree size to the current head (auditors only)")
def consistency(
    principal: LoggedIn, container: ContainerDep,
    first: Annotated[int, Query(ge=0, le=2**53, description="Tree size of the checkpoint you kept")],
) -> ConsistencyPublic:
    """Proves the current log still begins with the `first` events your checkpoint signed (RFC 6962 2.1.2)."""
    require(principal, Action.AUDIT_CONSISTENCY, Resource(kind="audit"))
    return ConsistencyPublic.model_validate(container.guardrails.audit.consistency(first))


@router.post("/verify", response_model=VerifyPublic, summary="Verify the whole log")
async def verify(principal: LoggedIn, container: ContainerDep) -> VerifyPublic:
    require(principal, Action.AUDIT_VERIFY, Resource(kind="audit"))
    return VerifyPublic.model_validate(await run_in_threadpool(container.guardrails.audit.verify))


class JsonLinesResponse(PlainTextResponse):
    media_type = JSONL


@router.get("/export", response_class=JsonLinesResponse, summary="Export events as JSON Lines or CSV",
            responses={**JSON_ERRORS, 200: {"description": "The events, oldest first: one JSON object per line "
                                            "(`application/x-ndjson`, fmt=jsonl) or CSV with a header row "
                                            "(`text/csv`, fmt=csv)",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export(principal: LoggedIn, container: ContainerDep,
           fmt: Annotated[Literal["jsonl", "csv"], Query(description="jsonl or csv")] = "jsonl",
           since: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")] = None,
           ) -> PlainTextResponse:
    require(principal, Action.AUDIT_EXPORT, Resource(kind="audit"))
    body = container.guardrails.audit.export(since=since, fmt=fmt)
    media = JSONL if fmt == "jsonl" else "text/csv"
    return PlainTextResponse(body, media_type=media)
