"""The storage, lifecycle and retrieval suites run on both backends (SQLite + embedded Chroma, and
PostgreSQL + Chroma server): `settings` here is the parametrised backend's."""

from __future__ import annotations

import pytest

from api.settings import Settings


@pytest.fixture
def settings(backend_settings: Settings) -> Settings:
    return backend_settings
