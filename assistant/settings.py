"""What the assistant reads from the application's settings (api/settings.py satisfies it)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import SecretStr


class AssistantSettings(Protocol):
    """The bundled sample data and the optional OpenAI-compatible LLM endpoint."""

    @property
    def samples_dir(self) -> Path: ...

    @property
    def llm_base_url(self) -> str | None: ...

    @property
    def llm_model(self) -> str | None: ...

    @property
    def llm_api_key(self) -> SecretStr | None: ...

    @property
    def llm_timeout(self) -> float: ...
