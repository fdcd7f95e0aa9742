"""Errors raised by guardrails. Messages name the bad value with !r and say how to fix it."""

from __future__ import annotations


class GuardrailsError(Exception):
    """Base class for every guardrails error."""

    code = "guardrails_error"


class Forbidden(GuardrailsError):
    """The principal's role does not allow this action on this resource (checked server-side, always)."""

    code = "forbidden"


class NotFound(GuardrailsError):
    code = "not_found"


class InvalidTransition(GuardrailsError):
    """A review or application decision that the record's current status does not allow."""

    code = "invalid_transition"


class InvalidInput(GuardrailsError):
    code = "invalid_input"


class RuleSetError(GuardrailsError):
    """A rule file is malformed (bad id, version, regex or verdict)."""

    code = "invalid_rules"


class AuditError(GuardrailsError):
    code = "audit_error"
