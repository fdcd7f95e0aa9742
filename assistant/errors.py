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
