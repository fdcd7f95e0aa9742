"""What a person reads instead of a code: matter names and field labels of an application (never `name`,
`id_number` or a matter id on a screen)."""

from __future__ import annotations

from api.container import Container
from guardrails.applications import Application


def matter_name(container: Container, matter_id: str) -> str:
    return container.registry.title(matter_id) if matter_id in container.registry else "办件"


def field_label(container: Container, app: Application, name: str) -> str:
    """A field's Chinese label: as recorded at submission, else from the catalogue, else a neutral word."""
    if name in app.sources and app.sources[name].get("label"):
        return app.sources[name]["label"]
    if app.matter_id in container.registry:
        f = container.registry.matter(app.matter_id).field(name)
        if f is not None:
            return f.label
    return "其他信息"


def field_labels(container: Container, app: Application) -> dict[str, str]:
    return {name: field_label(container, app, name) for name in app.fields}
