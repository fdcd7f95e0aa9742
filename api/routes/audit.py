"""Audit: traces by turn id, receipts (inclusion proofs), consistency proofs, verify, export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from api.deps import ContainerDep, LoggedIn
from api.schemas import ConsistencyPublic, EventPublic, Page, ReceiptPublic, TracePublic, VerifyPublic, page
from guardrails.audit import AuditEvent, AuditLog
from guardrails.errors import NotFound
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Results to skip")]


def event_public(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "ts": e.ts, "event": e.event, "actor": e.actor, "subject": e.subject,
            "leaf_hash": e.leaf_hash, "data": e.data}


def receipt_public(log: AuditLog, seq: int) -> dict[str, Any]:
    r = log.inclusion_proof(seq)
    return r.model_dump() | {"proof": list(r.proof), "verified": r.verify()}


@router.get("/events", response_model=Page[EventPublic], summary="Search audit events (newest first)")
def events(
    principal: LoggedIn, container: ContainerDep, limit: Limit = 50, offset: Offset = 0,
    event: Annotated[str | None, Query(max_length=64, description="Event name, e.g. turn.finalised")] = None,
    subject: Annotated[str | None, Query(max_length=200, description="Subject, e.g. a turn id")] = None,
) -> dict[str, Any]:
    require(principal, Action.AUDIT_READ, Resource(kind="audit"))
    found = container.guardrails.audit.events(event=event, subject=subject)
    return page([event_public(e) for e in reversed(found)], limit, offset)


@router.get("/traces/{turn_id}", response_model=TracePublic, summary="A turn's trace with receipt and verification")
async def trace(turn_id: str, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.AUDIT_READ, Resource(kind="trace", id=turn_id))
    log = container.guardrails.audit
    found = log.events(subject=turn_id)
    if not found:
        raise NotFound(f"no audit events for turn {turn_id!r}; search with GET /api/v1/audit/events?event=turn.finalised")
    final = next((e for e in found if e.event == "turn.finalised"), found[0])
    receipt = receipt_public(log, final.seq)
    require(principal, Action.AUDIT_VERIFY, Resource(kind="audit"))
    report = await run_in_threadpool(log.verify)
    return {"turn_id": turn_id, "events": [event_public(e) for e in found], "receipt": receipt,
            "verified": bool(receipt["verified"] and report.ok)}


@router.get("/receipts/{seq}", response_model=ReceiptPublic, summary="Inclusion proof of one event")
def receipt(seq: int, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.AUDIT_READ, Resource(kind="audit", id=str(seq)))
    return receipt_public(container.guardrails.audit, seq)


@router.get("/consistency", response_model=ConsistencyPublic,
            summary="Consistency proof from an earlier tree size to the current head (auditors only)")
def consistency(
    principal: LoggedIn, container: ContainerDep,
    first: Annotated[int, Query(ge=0, le=2**53, description="Tree size of the checkpoint you kept")],
) -> dict[str, Any]:
    """Proves the current log still begins with the `first` events your checkpoint signed (RFC 6962 2.1.2)."""
    require(principal, Action.AUDIT_CONSISTENCY, Resource(kind="audit"))
    p = container.guardrails.audit.consistency(first)
    return {"first": p.first, "second": p.second, "first_root": p.first_root, "second_root": p.second_root,
            "proof": list(p.proof)}


@router.post("/verify", response_model=VerifyPublic, summary="Verify the whole log")
async def verify(principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.AUDIT_VERIFY, Resource(kind="audit"))
    r = await run_in_threadpool(container.guardrails.audit.verify)
    return {"ok": r.ok, "tree_size": r.tree_size, "root": r.root, "checkpoints_checked": r.checkpoints_checked,
            "problems": [p.model_dump(mode="json") for p in r.problems], "seconds": r.seconds}


@router.get("/export", response_class=PlainTextResponse, summary="Export events as JSON Lines or CSV")
def export(principal: LoggedIn, container: ContainerDep,
           fmt: Annotated[str, Query(pattern="^(jsonl|csv)$", description="jsonl or csv")] = "jsonl",
           since: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")] = None,
           ) -> PlainTextResponse:
    require(principal, Action.AUDIT_EXPORT, Resource(kind="audit"))
    body = container.guardrails.audit.export(since=since, fmt=fmt)
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return PlainTextResponse(body, media_type=media)
