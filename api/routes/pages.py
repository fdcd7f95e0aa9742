"""The web pages (static HTML that calls the JSON API): the citizen chat, owner console, review desk, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from swagger_ui_bundle import swagger_ui_path

WEB = Path(__file__).parent.parent / "web"
SWAGGER_UI = Path(str(swagger_ui_path))  # Swagger UI's own files, installed with the package: /docs works offline
router = APIRouter(tags=["pages"], default_response_class=HTMLResponse)
HTML: dict[int | str, dict[str, Any]] = {
    200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}


def _serve(name: str) -> FileResponse:
    return FileResponse(WEB / name, media_type="text/html; charset=utf-8")


@router.get("/", response_class=HTMLResponse, responses=HTML, summary="Citizen chat page (边聊边办)")
def index_page() -> FileResponse:
    return _serve("index.html")


@router.get("/me", response_class=HTMLResponse, responses=HTML, summary="我的办件: my applications and messages")
def my_page() -> FileResponse:
    return _serve("me.html")


@router.get("/owner", response_class=HTMLResponse, responses=HTML, summary="Owner console: drafts, uploads, tickets")
def owner_page() -> FileResponse:
    return _serve("owner.html")


@router.get("/review", response_class=HTMLResponse, responses=HTML,
            summary="Review desk: held answers, applications, hand-offs")
def review_page() -> FileResponse:
    return _serve("review.html")


@router.get("/audit", response_class=HTMLResponse, responses=HTML, summary="Audit page: traces, receipts, verify")
def audit_page() -> FileResponse:
    return _serve("audit.html")


@router.get("/k/{item_id}/{version}", response_class=HTMLResponse, responses=HTML,
            summary="A knowledge version as a readable guide (cited from chat answers)")
def guide_page(item_id: str, version: str) -> FileResponse:
    return _serve("guide.html")  # the page reads item_id and version from its own URL


@router.get("/docs", include_in_schema=False)
def docs_page() -> FileResponse:
    """Swagger UI over /openapi.json, from local assets and an external initialiser (the CSP allows no inline
    script)."""
    return _serve("docs.html")


@router.get("/login", include_in_schema=False)
def login() -> RedirectResponse:
    return RedirectResponse("/")
