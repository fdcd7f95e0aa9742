"""Errors raised by the knowledge core. Messages name the bad value and say how to fix it."""

from __future__ import annotations


class KbError(Exception):
    """Base class for every knowledge-core error."""

    code = "kb_error"


class NotFoundError(KbError):
    code = "not_found"


class LifecycleError(KbError):
    """A transition that the item's current state does not allow."""

    code = "invalid_transition"


class PermissionDeniedError(KbError):
    """The actor may not change this item (谁录入谁负责: only the owner unit or an admin)."""

    code = "forbidden"


class InvalidContentError(KbError):
    code = "invalid_content"


class IndexDriftError(KbError):
    code = "index_drift"
