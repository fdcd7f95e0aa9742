"""The application's one settings class, env prefix `QINGSONG_`, built once at the composition root.

It extends the knowledge base's own `KbSettings` (kb/settings.py) with the app-wide fields: the bundled
sample data, the optional LLM endpoint and the deployment environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb.settings import DEFAULT_GUIDE_SECTIONS, PROJECT_ROOT, SAMPLES_DIR, KbSettings

__all__ = ["DEFAULT_GUIDE_SECTIONS", "PROJECT_ROOT", "SAMPLES_DIR", "Settings"]


class Settings(BaseSettings, KbSettings):
    """Runtime configuration. Every field can be set as `QINGSONG_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="QINGSONG_", extra="ignore", frozen=True)

    samples_dir: Path = Field(default=SAMPLES_DIR, description="Bundled sample data.")
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=8.0, gt=0, description="Seconds to wait for the optional LLM; then the rules go on alone.")
    environment: Literal["dev", "test", "production"] = "dev"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.embedder == "hash":
            raise ValueError("QINGSONG_EMBEDDER=hash is a test embedder; refusing to start in production")
        return self
