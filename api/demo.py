"""Demo accounts for `make run`: one per role, created on first start, tokens kept in $QINGSONG_HOME."""

from __future__ import annotations

import os
from pathlib import Path

from api.container import Container

DEMO_FILE = "demo-accounts.txt"
CITIZEN_PROFILE = "c-test-zhangsan"  # 厨师，想在松江开小饭馆（开店一件事）
OWNER_UNIT = "sj-scjgj"
DEMO = (  # role, name, units, profile
    ("citizen", "demo-citizen", (), CITIZEN_PROFILE),
    ("owner", "demo-owner", (OWNER_UNIT,), None),
    ("reviewer", "demo-reviewer", (), None),
    ("auditor", "demo-auditor", (), None),
    ("admin", "demo-admin", (), None),
)


def _read(path: Path) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                out[parts[0]] = (parts[1], parts[2])  # role -> (name, token)
    return out


def seed_demo_accounts(container: Container) -> list[tuple[str, str, str]]:
    """Create the demo accounts once; return (role, name, token) for each. Later starts read the saved tokens."""
    path = container.settings.home / DEMO_FILE
    saved = _read(path)
    accounts = container.guardrails.accounts
    out: list[tuple[str, str, str]] = []
    for role, name, units, profile in DEMO:
        if role in saved and accounts.authenticate(saved[role][1]) is not None:
            out.append((role, saved[role][0], saved[role][1]))
            continue
        lost = name if accounts.find_by_name(name) is not None else None
        if lost is not None:  # token lost: replace the account (the new one first: the last admin stays revocable)
            name = f"{name}-{len(accounts.list())}"
        new = accounts.add(name, role, units, profile_id=profile, created_by="system")
        if lost is not None:
            accounts.revoke(lost)
        out.append((role, name, new.token))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# QingSong demo accounts: role name token (keep private)\n")
        fh.writelines(f"{r} {n} {t}\n" for r, n, t in out)
    path.chmod(0o600)
    return out
