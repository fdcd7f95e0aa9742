"""Shared API schema parts: the base class, pages of results and the one error envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
# The largest integer a path or body field may carry into SQL: a 32-bit INTEGER column on PostgreSQL, and far
# beyond any version number or log position. Bigger values get 422 instead of an overflow deep in the driver.
DB_INT_MAX = 2**31 - 1


class Public(BaseModel):
    """Base of every API schema: unknown fields refused, built from domain objects by attribute."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Page(Public, Generic[T]):
    items: list[T] = Field(description="This page of results")
    total: int = Field(description="How many results there are in all")
    limit: int = Field(description="Page size that was applied")
    offset: int = Field(description="How many results were skipped")


def page(values: Sequence[T], limit: int, offset: int) -> Page[T]:
    return Page[T](items=list(values[offset:offset + limit]), total=len(values), limit=limit, offset=offset)


class ErrorBody(Public):
    code: str = Field(description="Machine-readable error code, e.g. not_found, forbidden, invalid_request")
    message: str = Field(description="What went wrong and how to fix it")


class ErrorEnvelope(Public):
    error: ErrorBody = Field(description="The error")


_ERROR_TEXT = {400: "Invalid request", 401: "Not logged in, or the token is unknown or revoked",
               403: "Forbidden for your role or units", 404: "Not found", 409: "Conflict with the current state",
               413: "Request body too large", 422: "Request fails validation",
               500: "Unexpected server error (see the server log)"}
# Every error any route can answer, in the single envelope: declared on each router so OpenAPI shows it.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope, "description": text} for code, text in _ERROR_TEXT.items()
}
# The same, for routes whose success is not JSON (their default media type would be used for the errors too).
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    for code, text in _ERROR_TEXT.items()
}
