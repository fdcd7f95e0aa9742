"""Errors of the 好差评 package. Messages name the bad value with !r and say how to fix it."""

from __future__ import annotations


class FeedbackError(Exception):
    """Base of the ratings, tickets, disputes and report errors."""

    code = "feedback_error"
