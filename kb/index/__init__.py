"""Derived retrieval indexes (rebuildable from the SQL store at any time)."""
