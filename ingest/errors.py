"""Ingest errors name the file, the field and the fix."""

from __future__ import annotations


class IngestError(Exception):
    code = "ingest_error"


class SourceError(IngestError):
    """A source that cannot be used. The rest of the batch goes on."""

    code = "bad_source"

    def __init__(self, path: str, message: str, field: str | None = None, fix: str | None = None) -> None:
        self.path, self.field, self.fix, self.message = path, field, fix, message
        text = f"{path}: {message}"
        if field:
            text = f"{path}: field {field!r}: {message}"
        if fix:
            text += f" — fix: {fix}"
        super().__init__(text)
