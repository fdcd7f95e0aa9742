"""一人一档 / 一企一档: citizen and enterprise profiles with their e-licences (电子证照).

An expired e-licence is kept (the citizen is told about it) but never used for pre-fill or to
waive a material.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import AssistantError, ProfileNotFoundError


class ProfileKind(StrEnum):
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"


class ELicence(BaseModel):
    """An electronic licence or certificate: number, holder, issuer and validity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    name: str
    number: str
    holder: str
    issuer: str
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None  # None = 长期有效
    address: str | None = None

    def expired(self, as_of: dt.date) -> bool:
        return self.expires_on is not None and self.expires_on < as_of

    def field(self, name: str) -> Any:
        """A licence attribute named in a pre-fill spec (`elicence.id_card.number`)."""
        return self.model_dump().get(name)


class Profile(BaseModel):
    """A citizen's or an enterprise's stored profile. Scalar profile fields live in `attributes`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: ProfileKind
    name: str
    synthetic: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)
    elicences: tuple[ELicence, ...] = ()

    def get(self, name: str) -> Any:
        return self.name if name == "name" else self.attributes.get(name)

    def licence(self, licence_type: str) -> ELicence | None:
        return next((lic for lic in self.elicences if lic.type == licence_type), None)

    def valid_licences(self, as_of: dt.date) -> list[ELicence]:
        return [lic for lic in self.elicences if not lic.expired(as_of)]

    def expired_licences(self, as_of: dt.date) -> list[ELicence]:
        return [lic for lic in self.elicences if lic.expired(as_of)]

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> Profile:
        raw = dict(raw)
        core = {k: raw.pop(k) for k in ("id", "kind", "name", "synthetic") if k in raw}
        licences = tuple(ELicence.model_validate(x) for x in raw.pop("elicences", None) or ())
        return cls(**core, attributes=raw, elicences=licences)


class ProfileStore:
    """Profiles loaded from a folder (`citizens/*.yaml`, `enterprises/*.yaml`); a deployment swaps the source."""

    def __init__(self, profiles: list[Profile] | None = None) -> None:
        self._profiles: dict[str, Profile] = {}
        for p in profiles or []:
            self.add(p)

    def add(self, profile: Profile) -> None:
        self._profiles[profile.id] = profile

    @classmethod
    def from_folder(cls, folder: Path) -> ProfileStore:
        store = cls()
        for path in sorted(folder.glob("*/*.y*ml")):
            try:
                store.add(Profile.from_mapping(yaml.safe_load(path.read_text(encoding="utf-8"))))
            except (yaml.YAMLError, ValidationError, TypeError) as exc:
                raise AssistantError(f"profile file {str(path)!r} is invalid: {exc}") from exc
        return store

    def get(self, profile_id: str) -> Profile:
        p = self._profiles.get(profile_id)
        if p is None:
            raise ProfileNotFoundError(
                f"no profile {profile_id!r}; list them with `qingsong profiles list` (e.g. {next(iter(self._profiles), '-')!r})"
            )
        return p

    def find(self, profile_id: str | None) -> Profile | None:
        return self._profiles.get(profile_id) if profile_id else None

    def list(self, kind: ProfileKind | None = None) -> list[Profile]:
        return [p for _, p in sorted(self._profiles.items()) if kind is None or p.kind == kind]

    def __len__(self) -> int:
        return len(self._profiles)
