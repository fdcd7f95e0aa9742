"""Guardrails: roles, input/output rails, review gates, tamper-evident audit log."""
