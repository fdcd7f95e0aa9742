"""Errors of the 免申即享 package. Messages name the bad value with !r and say how to fix it."""

from __future__ import annotations


class PolicyError(Exception):
    """Base of the policy rule-language, matching and simulation errors."""

    code = "policy_error"
