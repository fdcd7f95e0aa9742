"""One JSON error envelope for every error: {"error": {"code", "message"}}; plus the request size limit."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.security import error_page, wants_html
from assistant.errors import AssistantError, ProfileNotFoundError, SessionNotFoundError, UnknownMatterError
from feedback.errors import FeedbackError
from guardrails.errors import Forbidden, GuardrailsError, InvalidInput, InvalidTransition, NotFound
from kb.errors import InvalidContentError, KbError, LifecycleError, NotFoundError, PermissionDeniedError
from policy.errors import PolicyError

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_request",
               429: "too_many_requests"}


def envelope(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, (NotFoundError, NotFound, SessionNotFoundError, ProfileNotFoundError, UnknownMatterError)):
        return 404
    if isinstance(exc, (PermissionDeniedError, Forbidden)):
        return 403
    if isinstance(exc, (LifecycleError, InvalidTransition)):
        return 409
    if isinstance(exc, (InvalidContentError, InvalidInput)):
        return 422
    code = str(getattr(exc, "code", ""))
    if code == "not_found":
        return 404
    if code == "forbidden":
        return 403
    if code in ("invalid_transition", "session_busy", "stale_session"):
        return 409
    if code.startswith("invalid_") or code.startswith("unknown_"):
        return 422
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405) and wants_html(request):  # a browser gets a page, API clients the envelope
            return error_page(exc.status_code)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        resp = envelope(exc.status_code, code, str(exc.detail))
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return envelope(422, "invalid_request", "; ".join(parts) or "the request is not valid")

    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        """Every package's error base carries a `code`; the status follows from its class and code."""
        return envelope(_status_of(exc), str(getattr(exc, "code", "error")), str(exc))

    for base in (KbError, GuardrailsError, AssistantError, PolicyError, FeedbackError):  # one error base per package
        app.add_exception_handler(base, domain_error)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if wants_html(request):
            return error_page(500)
        return envelope(500, "internal_error", "服务器内部错误，请稍后再试。internal error; see the server log")


class BodyLimit:
    """Refuse request bodies above `limit` bytes with 413 in the envelope (by header and while streaming)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, paths: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths or {}  # exact path -> larger limit (the ingest upload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope.get("path", ""), self.limit)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = envelope(413, "payload_too_large", f"request body is larger than {limit} bytes; send less")
        try:
            declared = int(length) if length is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            await too_big(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:  # chunked body without a length: handled as an HTTP error, same envelope
                    raise StarletteHTTPException(413, f"request body is larger than {limit} bytes; send less")
            return msg

        await self.app(scope, limited, send)
