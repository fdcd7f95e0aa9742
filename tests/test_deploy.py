"""The deployment files agree with the code: deploy/compose.yaml, deploy/Dockerfile, deploy/.env.example,
.dockerignore and docs/deploy.md name only settings the app reads and only CLI commands that exist.

Fast and offline; `docker compose config` runs only where a Compose v2 binary is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.settings import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCS = ROOT / "docs" / "deploy.md"
IMAGE_ONLY = {"QINGSONG_WORKERS"}  # read by the image's start command, not by Settings
SETTINGS_VARS = {f"QINGSONG_{name.upper()}" for name in Settings.model_fields}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
SKIP_NO_COMPOSE = ("docker compose plugin not installed; apt-get install docker-compose-plugin or use Docker Desktop "
                   "to check the file")


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _unknown(names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("QINGSONG_")} - SETTINGS_VARS - IMAGE_ONLY


def _is_interpolation(value: str) -> bool:
    return bool(re.fullmatch(INTERPOLATION.pattern, value))


# -- (a) compose.yaml ------------------------------------------------------------------------------
def test_compose_has_the_three_services_and_no_version_key() -> None:
    doc = _compose()
    assert "version" not in doc, "the Compose spec has no `version:`; remove it"
    assert set(doc["services"]) == {"postgres", "chroma", "qingsong"}


def test_compose_names_only_settings_the_app_reads() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert not _unknown(set(re.findall(r"QINGSONG_\w+", text))), "a QINGSONG_* name in compose.yaml is not in Settings"
    env = _environment(_compose()["services"]["qingsong"])
    assert env["QINGSONG_DATABASE_URL"].startswith("postgresql+psycopg://qingsong:")
    assert env["QINGSONG_DATABASE_URL"].endswith("@postgres:5432/qingsong")
    assert env["QINGSONG_CHROMA_URL"] == "http://chroma:8000"
    assert env["QINGSONG_HOME"] == "/data"
    assert env["QINGSONG_ENVIRONMENT"] == "production"
    assert "QINGSONG_WORKERS" in env


def test_compose_holds_no_literal_secrets() -> None:
    for name, service in _compose()["services"].items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert _is_interpolation(value), f"{name}.{key} must come from deploy/.env, not be written in the file"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert _is_interpolation(password), f"{name}.{key} has a literal password in its URL"
    postgres = _environment(_compose()["services"]["postgres"])
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?"), "the password must be required"


def test_compose_publishes_only_on_loopback_and_waits_for_healthy_backends() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port!r} beyond the host's loopback"
    for backend in ("postgres", "chroma"):  # Chroma has no authentication here
        assert not services[backend].get("ports"), f"{backend} stays on the compose network, unpublished"
    depends = services["qingsong"]["depends_on"]
    for backend in ("postgres", "chroma"):
        assert depends[backend]["condition"] == "service_healthy"
        assert services[backend]["healthcheck"]["test"]
    assert any(str(v).endswith(":/data") for v in services["qingsong"]["volumes"]), "keys live in /data: keep a volume"


def test_compose_chroma_image_matches_the_pinned_client() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pinned = next(d.split("==", 1)[1] for d in deps if d.startswith("chromadb=="))
    assert _compose()["services"]["chroma"]["image"] == f"chromadb/chroma:{pinned}"


def test_env_example_has_placeholders_that_resolve_every_variable() -> None:
    example = _env_file(ENV_EXAMPLE)
    assert not _unknown(set(example)), "a QINGSONG_* name in .env.example is not in Settings"
    for key, value in example.items():
        if SECRET_NAME.search(key):
            assert "change-me" in value, f"{key} in .env.example must be an obvious placeholder, not a secret"
    for var, op, _default in INTERPOLATION.findall(COMPOSE.read_text(encoding="utf-8")):
        if op.endswith("?") or not op:
            assert example.get(var), f"compose.yaml needs {var}; give it a placeholder in deploy/.env.example"


# -- (b) docker compose config ---------------------------------------------------------------------
def _compose_binary() -> list[str] | None:
    """`docker compose` (v2 plugin), else a standalone docker-compose v2; v1 predates the spec's `name:`."""
    candidates = []
    if docker := shutil.which("docker"):
        candidates.append([docker, "compose"])
    if legacy := shutil.which("docker-compose"):
        candidates.append([legacy])
    for cmd in candidates:
        try:
            out = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = re.match(r"v?(\d+)\.", out.stdout.strip())
        if out.returncode == 0 and major and int(major.group(1)) >= 2:
            return cmd
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    cmd = _compose_binary()
    if cmd is None:
        pytest.skip(SKIP_NO_COMPOSE)
    out = subprocess.run([*cmd, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


# -- (c) Dockerfile and .dockerignore --------------------------------------------------------------
def _instructions() -> list[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    lines = [ln for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines() if i.strip()]


def test_dockerfile_installs_the_pg_extra_and_no_torch() -> None:
    steps = _instructions()
    assert steps[0] == "FROM python:3.11-slim"
    runs = " ".join(s for s in steps if s.startswith("RUN "))
    assert re.search(r"pip install (--?\S+ )*'\.\[pg\]'", runs), "the image installs the project with '.[pg]'"
    assert "torch" not in "\n".join(steps), "the image must not install torch"
    assert not re.search(r"\.\[[^]]*\b(st|dev)\b", runs), "no st (torch) or dev extras in the image"


def test_dockerfile_runs_as_non_root_migrates_then_serves() -> None:
    steps = _instructions()
    user = [s.split()[1] for s in steps if s.startswith("USER ")]
    assert user and user[-1] not in ("root", "0"), "the server must not run as root"
    assert "EXPOSE 8000" in steps
    health = next(s for s in steps if s.startswith("HEALTHCHECK "))
    assert "python" in health and "/healthz" in health
    cmd = next(s for s in steps if s.startswith("CMD "))
    assert cmd.index("qingsong db upgrade") < cmd.index("qingsong serve")
    for part in ("--host 0.0.0.0", "--port 8000", "${QINGSONG_WORKERS:-2}", "--bootstrap"):
        assert part in cmd
    env_names = set(re.findall(r"\b(QINGSONG_\w+)=", "\n".join(s for s in steps if s.startswith("ENV "))))
    assert not _unknown(env_names), "a QINGSONG_* name in the Dockerfile is not in Settings"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image() -> None:
    patterns = {ln.strip() for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".venv", "var", "test-output", ".git", "deploy/.env"} <= patterns
    assert any("__pycache__" in p for p in patterns)


# -- (d) docs/deploy.md ----------------------------------------------------------------------------
def _documented_vars() -> set[str]:
    rows = [ln for ln in DOCS.read_text(encoding="utf-8").splitlines() if ln.startswith("| `QINGSONG_")]
    return {re.match(r"\| `(QINGSONG_\w+)`", row).group(1) for row in rows}  # type: ignore[union-attr]


def test_docs_table_lists_exactly_the_settings() -> None:
    documented = _documented_vars()
    assert not _unknown(documented), f"docs/deploy.md documents variables the app does not read: {_unknown(documented)}"
    missing = SETTINGS_VARS - documented
    assert not missing, f"add these settings to the table in docs/deploy.md: {sorted(missing)}"


def test_docs_and_image_name_only_cli_commands_and_flags_that_exist() -> None:
    import typer

    from api.cli import app

    root = typer.main.get_command(app)
    text = DOCS.read_text(encoding="utf-8") + "\n" + DOCKERFILE.read_text(encoding="utf-8")
    seen = 0
    for m in re.finditer(r"(?:^|(?<=[\s`/\"']))qingsong(?=[ \t]+([a-z][a-z-]*)([^\n]*))", text, re.MULTILINE):
        word, rest = m.group(1), m.group(2)
        if word == "qingsong":  # `docker compose exec qingsong qingsong …`: the service name
            continue
        assert word in root.commands, f"`qingsong {word}` is not a command"  # type: ignore[attr-defined]
        cmd = root.commands[word]  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):  # a group: the next word names its subcommand
            sub = re.match(r"[ \t]+([a-z][a-z-]*)", rest)
            assert sub and sub.group(1) in cmd.commands, f"`qingsong {word}` has no subcommand {rest.split()[:1]}"
            cmd, rest = cmd.commands[sub.group(1)], rest[sub.end():]
        rest = re.split(r"`|#|&&|\||;|\"", rest)[0]
        options = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
        for flag in re.findall(r"(?<!\S)(--[a-z][a-z-]*)", rest):
            assert flag in options, f"`qingsong {word} … {flag}` is not an option"
        seen += 1
    assert seen >= 15, "the command pattern stopped matching docs/deploy.md"
