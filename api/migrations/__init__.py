"""Alembic migrations for every QingSong table (kb, guardrails, assistant). Run with `qingsong db upgrade`."""
