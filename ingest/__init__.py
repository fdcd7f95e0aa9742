"""Ingestion: sources -> parsed items -> validated -> planned (pure) -> applied (I/O)."""
