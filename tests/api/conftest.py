"""Fixtures for the API tests: one mutable sample container per session, demo accounts, a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.container import Container, build_container
from api.demo import seed_demo_accounts
from kb.embedders import HashEmbedder
from tests.conftest import make_settings


@pytest.fixture(scope="session")
def api_container(tmp_path_factory: pytest.TempPathFactory) -> Container:
    """The sample KB (hash embedder) in its own home; API tests may change it (retire, draft, decide)."""
    c = build_container(make_settings(tmp_path_factory.mktemp("api-home")), embedder=HashEmbedder())
    report = c.bootstrap()
    assert report is not None and not report.skipped
    c.warm_up()
    c.assistant.warm_up()
    return c


@pytest.fixture(scope="session")
def tokens(api_container: Container) -> dict[str, str]:
    return {role: token for role, _name, token in seed_demo_accounts(api_container)}


@pytest.fixture(scope="session")
def client(api_container: Container) -> TestClient:
    return TestClient(create_app(api_container), raise_server_exceptions=False)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class LiveServer:
    url: str
    container: Container


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(api_container: Container, tokens: dict[str, str]) -> Iterator[LiveServer]:
    """A real uvicorn server on 127.0.0.1 and a free port, in a background thread."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(api_container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", container=api_container)
    server.should_exit = True
    thread.join(timeout=10)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
