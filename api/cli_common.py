"""The one way a CLI command gets the application: the composition root over the environment's Settings."""

from __future__ import annotations

from rich.console import Console

from api.container import Container, build_container
from api.settings import Settings

err = Console(stderr=True)


def container(warm: bool = False, bootstrap: bool = False) -> Container:
    """Build every service from `QINGSONG_*` settings. `bootstrap` ingests the bundled sample knowledge base on
    first use (chat commands); `warm` loads the heavy parts before the first question (bootstrap implies it)."""
    c = build_container(Settings())
    if bootstrap and c.is_empty():
        err.print("首次使用：正在导入示例知识库… first run: ingesting the bundled sample knowledge base")
        c.bootstrap()
    return c.warm_up() if warm or bootstrap else c
