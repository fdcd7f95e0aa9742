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
