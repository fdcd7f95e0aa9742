"""Bundled rule sets and semantic-rail exemplars (data only)."""
