"""Errors raised by the assistant. Messages name the bad value with !r and say how to fix it."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for every assistant error."""

    code = "assistant_error"


class CatalogError(AssistantError):
    """A matter or bundle definition is invalid or conflicts with one already registered."""

    code = "invalid_catalog"


class UnknownMatterError(AssistantError):
    code = "unknown_matter"


class ProfileNotFoundError(AssistantError):
    code = "profile_not_found"


class SessionNotFoundError(AssistantError):
    code = "session_not_found"


class ValidatorNotFoundError(AssistantError):
    code = "unknown_validator"


class ChatModelError(AssistantError):
    """The optional OpenAI-compatible chat model failed or answered something unusable."""

    code = "chat_model_error"


class ChatModelTimeoutError(ChatModelError):
    """The chat model did not answer within its timeout (QINGSONG_LLM_TIMEOUT)."""

    code = "chat_model_timeout"


class HandoffNotFoundError(AssistantError):
    code = "not_found"


class HandoffTransitionError(AssistantError):
    """Accepting or closing a hand-off whose status does not allow it (or that someone else moved meanwhile)."""

    code = "invalid_transition"


class InvalidHandoffNoteError(AssistantError):
    code = "invalid_handoff_note"


class SessionBusyError(AssistantError):
    """Another request changed the same session at the same moment (two workers, a double click)."""

    code = "session_busy"


class InvalidSessionIdError(AssistantError):
    """A client sent a session id or label that is not a plain short name (paths, spaces, control characters)."""

    code = "invalid_session_id"


class StaleSessionError(AssistantError):
    """The page confirming a form is not showing the session's latest turn (it was reloaded and lost it, or another
    tab moved on): the confirmation is refused so nobody submits a form they cannot see."""

    code = "stale_session"
