"""Knowledge core: domain models, SQL store (source of truth), retrieval indexes, Chinese text."""
