"""SQL store, the source of truth. SQLAlchemy Core with portable SQL (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kb.errors import NotFoundError
from kb.models import (
    Audience,
    Chunk,
    ItemStatus,
    ItemVersion,
    Kind,
    KnowledgeItem,
    Level,
    LiveVersion,
    Tag,
    Unit,
    VersionContent,
    VersionMeta,
    VersionState,
)
from kb.schema import metadata

units = sa.Table(
    "units",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("title", sa.String(400), nullable=False),
    sa.Column("owner", sa.String(64), sa.ForeignKey("units.id"), nullable=False, index=True),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("audience", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("removed_tags", sa.JSON, nullable=False),
    sa.Column("related", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("current_version", sa.Integer, nullable=True),
    sa.Column("latest_version", sa.Integer, nullable=False, default=0),
    sa.Column("retired_reason", sa.Text, nullable=True),
    sa.Column("replaced_by", sa.String(128), nullable=True),
    sa.Column("source_path", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

item_versions = sa.Table(
    "item_versions",
    metadata,
    sa.Column("item_id", sa.String(128), sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("change_note", sa.Text, nullable=False, default=""),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("expires_at", sa.Date, nullable=True),
    sa.Column("review_due", sa.Date, nullable=True),
    sa.Column("submitted_by", sa.String(128), nullable=True),
    sa.Column("approved_by", sa.String(128), nullable=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Owner, level, audience, tags, related, source path proposed with this version; applied at publish.
    sa.Column("meta", sa.JSON, nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),  # why a reviewer rejected it, or its unit withdrew it
)

chunks = sa.Table(
    "chunks",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("item_id", sa.String(128), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("section", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
)

embedding_cache = sa.Table(
    "embedding_cache",
    metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(400), nullable=False),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_engine(url: str) -> Engine:
    """Engine with SQLite set up for concurrent readers (WAL) and foreign keys."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # A server database: each API worker runs up to ~40 request threads (and a turn holds one extra
    # connection for its session lock), so allow bursts beyond the steady pool.
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40, pool_timeout=60)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _item(row: Any) -> KnowledgeItem:
    return KnowledgeItem(
        id=row.id,
        kind=Kind(row.kind),
        title=row.title,
        owner=row.owner,
        level=Level(row.level),
        audience=tuple(Audience(a) for a in row.audience),
        tags=tuple(Tag(**t) for t in row.tags),
        removed_tags=tuple(row.removed_tags),
        related=tuple(row.related),
        status=ItemStatus(row.status),
        current_version=row.current_version,
        latest_version=row.latest_version,
        retired_reason=row.retired_reason,
        replaced_by=row.replaced_by,
        source_path=row.source_path,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


def _version(row: Any) -> ItemVersion:
    return ItemVersion(
        item_id=row.item_id,
        number=row.number,
        content=VersionContent.model_validate(row.content),
        content_hash=row.content_hash,
        state=VersionState(row.state),
        author=row.author,
        change_note=row.change_note or "",
        effective_from=row.effective_from,
        expires_at=row.expires_at,
        review_due=row.review_due,
        submitted_by=row.submitted_by,
        approved_by=row.approved_by,
        published_at=_aware(row.published_at),
        created_at=_aware(row.created_at),
        meta=VersionMeta.model_validate(row.meta) if row.meta else None,
        review_note=row.review_note,
    )


class SqlStore:
    """Repository over the SQL tables. Each public method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        return cls(create_engine(url))

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- units -------------------------------------------------------------------------------
    def upsert_units(self, new_units: Iterable[Unit]) -> None:
        with self.tx() as conn:
            for u in new_units:
                exists = conn.execute(sa.select(units.c.id).where(units.c.id == u.id)).first()
                if exists:
                    conn.execute(units.update().where(units.c.id == u.id).values(name=u.name, level=u.level.value))
                else:
                    conn.execute(units.insert().values(id=u.id, name=u.name, level=u.level.value))

    def list_units(self) -> list[Unit]:
        with self.tx() as conn:
            return [Unit(id=r.id, name=r.name, level=Level(r.level)) for r in conn.execute(sa.select(units))]

    def unit(self, unit_id: str) -> Unit | None:
        with self.tx() as conn:
            r = conn.execute(sa.select(units).where(units.c.id == unit_id)).first()
        return Unit(id=r.id, name=r.name, level=Level(r.level)) if r else None

    # -- items -------------------------------------------------------------------------------
    def find_item(self, item_id: str) -> KnowledgeItem | None:
        with self.tx() as conn:
            row = conn.execute(sa.select(items).where(items.c.id == item_id)).first()
        return _item(row) if row else None

    def get_item(self, item_id: str) -> KnowledgeItem:
        item = self.find_item(item_id)
        if item is None:
            raise NotFoundError(f"no knowledge item {item_id!r}; list items with `qingsong kb list`")
        return item

    def list_items(
        self, *, owner: str | None = None, kind: Kind | None = None, status: ItemStatus | None = None
    ) -> list[KnowledgeItem]:
        q = sa.select(items).order_by(items.c.id)
        if owner:
            q = q.where(items.c.owner == owner)
        if kind:
            q = q.where(items.c.kind == kind.value)
        if status:
            q = q.where(items.c.status == status.value)
        with self.tx() as conn:
            return [_item(r) for r in conn.execute(q)]

    def insert_item(self, item: KnowledgeItem, conn: Connection | None = None) -> None:
        values = item.model_dump(mode="json")
        if conn is None:
            with self.tx() as c:
                c.execute(items.insert().values(**_item_values(values)))
        else:
            conn.execute(items.insert().values(**_item_values(values)))

    def update_item(self, item_id: str, conn: Connection | None = None, **fields: Any) -> None:
        fields["updated_at"] = utcnow()
        for key in ("tags",):
            if key in fields:
                fields[key] = [t.model_dump(mode="json") if isinstance(t, Tag) else t for t in fields[key]]
        for key in ("audience", "removed_tags", "related"):
            if key in fields:
                fields[key] = [str(v) for v in fields[key]]
        stmt = items.update().where(items.c.id == item_id).values(**fields)
        if conn is None:
            with self.tx() as c:
                c.execute(stmt)
        else:
            conn.execute(stmt)

    # -- versions ----------------------------------------------------------------------------
    def insert_version(self, version: ItemVersion, conn: Connection | None = None) -> None:
        values = version.model_dump(mode="python")
        values["content"] = version.content.model_dump(mode="json")
        values["state"] = version.state.value
        values["meta"] = version.meta.model_dump(mode="json") if version.meta is not None else None
        stmt = item_versions.insert().values(**values)
        if conn is None:
            with self.tx() as c:
                c.execute(stmt)
        else:
            conn.execute(stmt)

    def get_version(self, item_id: str, number: int) -> ItemVersion:
        with self.tx() as conn:
            row = conn.execute(
                sa.select(item_versions).where(item_versions.c.item_id == item_id, item_versions.c.number == number)
            ).first()
        if row is None:
            raise NotFoundError(f"item {item_id!r} has no version {number}; see `qingsong kb history {item_id}`")
        return _version(row)

    def list_versions(self, item_id: str) -> list[ItemVersion]:
        with self.tx() as conn:
            rows = conn.execute(
                sa.select(item_versions).where(item_versions.c.item_id == item_id).order_by(item_versions.c.number)
            )
            return [_version(r) for r in rows]

    def pending_versions(self) -> dict[str, tuple[int, VersionState]]:
        """Each item's unpublished version in progress (draft, in review or approved; proposing a new draft
        withdraws the older one, so there is at most one), as item id -> (number, state)."""
        open_states = [VersionState.DRAFT.value, VersionState.IN_REVIEW.value, VersionState.APPROVED.value]
        q = sa.select(item_versions.c.item_id, item_versions.c.number, item_versions.c.state).where(
            item_versions.c.state.in_(open_states)).order_by(item_versions.c.number)
        with self.tx() as conn:
            return {r.item_id: (r.number, VersionState(r.state)) for r in conn.execute(q)}

    def set_version_state(
        self, item_id: str, number: int, state: VersionState, conn: Connection | None = None, **fields: Any
    ) -> None:
        stmt = (
            item_versions.update()
            .where(item_versions.c.item_id == item_id, item_versions.c.number == number)
            .values(state=state.value, **fields)
        )
        if conn is None:
            with self.tx() as c:
                c.execute(stmt)
        else:
            conn.execute(stmt)

    def live_versions(self) -> dict[str, LiveVersion]:
        """Published items joined with their live version: what queries may answer from."""
        q = (
            sa.select(items, item_versions.c.effective_from, item_versions.c.expires_at, item_versions.c.content_hash)
            .join(
                item_versions,
                sa.and_(item_versions.c.item_id == items.c.id, item_versions.c.number == items.c.current_version),
            )
            .where(items.c.status == ItemStatus.PUBLISHED.value)
        )
        out: dict[str, LiveVersion] = {}
        with self.tx() as conn:
            for r in conn.execute(q):
                out[r.id] = LiveVersion(
                    item_id=r.id,
                    version=r.current_version,
                    kind=Kind(r.kind),
                    title=r.title,
                    owner=r.owner,
                    level=Level(r.level),
                    audience=tuple(Audience(a) for a in r.audience),
                    tags=tuple(t["tag"] for t in r.tags),
                    effective_from=r.effective_from,
                    expires_at=r.expires_at,
                    content_hash=r.content_hash,
                )
        return out

    # -- chunks ------------------------------------------------------------------------------
    def put_chunks(self, new_chunks: list[Chunk]) -> None:
        if not new_chunks:
            return
        with self.tx() as conn:
            ids = [c.id for c in new_chunks]
            conn.execute(chunks.delete().where(chunks.c.id.in_(ids)))
            conn.execute(
                chunks.insert(),
                [
                    dict(
                        id=c.id, item_id=c.item_id, version=c.version, idx=c.index,
                        section=c.section, text=c.text, text_hash=c.text_hash,
                    )
                    for c in new_chunks
                ],
            )

    def chunks_for(self, item_id: str, version: int) -> list[Chunk]:
        with self.tx() as conn:
            rows = conn.execute(
                sa.select(chunks).where(chunks.c.item_id == item_id, chunks.c.version == version).order_by(chunks.c.idx)
            )
            return [_chunk(r) for r in rows]

    def delete_chunks(self, item_id: str, keep_version: int | None = None) -> list[str]:
        """Delete an item's chunks except those of `keep_version`; return the deleted ids."""
        cond = chunks.c.item_id == item_id
        if keep_version is not None:
            cond = sa.and_(cond, chunks.c.version != keep_version)
        with self.tx() as conn:
            ids = [r.id for r in conn.execute(sa.select(chunks.c.id).where(cond))]
            conn.execute(chunks.delete().where(cond))
        return ids

    def all_chunks(self) -> list[Chunk]:
        with self.tx() as conn:
            return [_chunk(r) for r in conn.execute(sa.select(chunks).order_by(chunks.c.id))]

    # -- embedding cache ---------------------------------------------------------------------
    def cached_embeddings(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self.tx() as conn:
            for start in range(0, len(hashes), 500):
                part = hashes[start : start + 500]
                q = sa.select(embedding_cache).where(
                    embedding_cache.c.model == model, embedding_cache.c.text_hash.in_(part)
                )
                for r in conn.execute(q):
                    out[r.text_hash] = np.frombuffer(r.vector, dtype=np.float32)
        return out

    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        with self.tx() as conn:
            existing = set(self.cached_embeddings(model, list(vectors)))
            rows = [
                dict(model=model, text_hash=h, vector=np.asarray(v, dtype=np.float32).tobytes())
                for h, v in vectors.items()
                if h not in existing
            ]
            if rows:
                conn.execute(embedding_cache.insert(), rows)

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.tx() as conn:
            r = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).first()
        return r.value if r else default

    def set_meta(self, key: str, value: str, conn: Connection | None = None) -> None:
        def _do(c: Connection) -> None:
            if c.execute(sa.select(meta.c.key).where(meta.c.key == key)).first():
                c.execute(meta.update().where(meta.c.key == key).values(value=value))
            else:
                c.execute(meta.insert().values(key=key, value=value))

        if conn is None:
            with self.tx() as c:
                _do(c)
        else:
            _do(conn)

    def bump_generation(self, conn: Connection | None = None) -> int:
        """Increase the knowledge generation; per-process caches compare it to know they are stale."""
        if conn is None:
            with self.tx() as c:
                return self.bump_generation(c)
        # Row lock: two publishes in different processes must not both write N+1 (a worker that refreshed
        # between them would keep a snapshot missing the second). SQLite's write lock does the same.
        row = conn.execute(sa.select(meta.c.value).where(meta.c.key == "generation").with_for_update()).first()
        value = int(row.value) + 1 if row else 1
        self.set_meta("generation", str(value), conn)
        return value

    def generation(self) -> int:
        return int(self.get_meta("generation", "0") or 0)


def _chunk(r: Any) -> Chunk:
    return Chunk(
        id=r.id, item_id=r.item_id, version=r.version, index=r.idx, section=r.section, text=r.text,
        text_hash=r.text_hash,
    )


def _item_values(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values["created_at"] = dt.datetime.fromisoformat(values["created_at"])
    values["updated_at"] = dt.datetime.fromisoformat(values["updated_at"])
    return values


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
