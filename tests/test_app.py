import pytest
from fastapi.testclient import TestClient

from api.app import create_app

pytestmark = pytest.mark.integration


def test_healthz_and_search(sample_container):
    client = TestClient(create_app(sample_container))
    assert client.get("/healthz").json()["status"] == "ok"
    hits = client.get("/api/v1/search", params={"q": "居住证到期了怎么续签", "top_k": 3}).json()
    assert hits and {"item_id", "version", "title", "owner", "section", "score", "text"} <= set(hits[0])
    assert client.get("/api/v1/search", params={"q": ""}).status_code == 422
