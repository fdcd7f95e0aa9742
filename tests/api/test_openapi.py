"""The OpenAPI document: valid OpenAPI 3.1, every JSON route a typed schema, errors and content types described."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.integration
ERROR_CODES = ("400", "401", "403", "404", "409", "413", "422")


@pytest.fixture(scope="module")
def spec(client: Any) -> dict[str, Any]:
    return client.get("/openapi.json").json()  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def test_document_validates_against_the_openapi_meta_schema(spec: dict[str, Any]) -> None:
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.validate()  # raises on any violation of the OpenAPI 3.1 schema
    assert all(r.ok() for r in loaded.get_all_operations())


def test_every_json_route_returns_a_named_schema(spec: dict[str, Any]) -> None:
    untyped = []
    for path, method, op in _operations(spec):
        ok = next(v for code, v in op["responses"].items() if code.startswith("2"))
        content = ok.get("content", {})
        if "text/html" in content or path == "/api/v1/audit/export":
            continue
        schema = content.get("application/json", {}).get("schema", {})
        named = schema.get("$ref") or schema.get("items", {}).get("$ref")
        if not named:
            untyped.append(f"{method.upper()} {path}")
    assert not untyped, untyped


def test_every_api_route_describes_the_error_envelope(spec: dict[str, Any]) -> None:
    missing = []
    for path, method, op in _operations(spec):
        if not path.startswith(("/api/", "/v1/")):
            continue
        for code in ERROR_CODES:
            schema = op["responses"].get(code, {}).get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != "#/components/schemas/ErrorEnvelope":
                missing.append(f"{method.upper()} {path} {code}")
    assert not missing, missing
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    body = _resolve(spec, envelope["properties"]["error"])
    assert set(body["required"]) == {"code", "message"}


def test_non_json_content_types_are_declared(spec: dict[str, Any]) -> None:
    export = spec["paths"]["/api/v1/audit/export"]["get"]["responses"]["200"]["content"]
    assert {"application/x-ndjson", "text/csv"} <= set(export)
    stream = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert {"application/json", "text/event-stream"} <= set(stream)
    for page in ("/", "/owner", "/review", "/audit", "/k/{item_id}/{version}"):
        assert "text/html" in spec["paths"][page]["get"]["responses"]["200"]["content"], page


@pytest.mark.parametrize(("schema", "field"), [
    ("ItemPublic", "kind"), ("ItemPublic", "status"), ("ItemPublic", "level"), ("VersionPublic", "state"),
    ("TurnPublic", "outcome"), ("HeldPublic", "status"), ("ApplicationPublic", "status"),
    ("HandoffPublic", "status"), ("TicketDetailPublic", "status"), ("AccountPublic", "role"), ("MePublic", "role"),
    ("IngestJobPublic", "status"), ("IngestJobPublic", "stage"), ("PolicyMatchPublic", "verdict"),
])
def test_closed_sets_are_enums(spec: dict[str, Any], schema: str, field: str) -> None:
    prop = _resolve(spec, spec["components"]["schemas"][schema]["properties"][field])
    assert prop.get("enum"), f"{schema}.{field} is not an enum: {prop}"
