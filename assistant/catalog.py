"""The matter catalogue (事项目录): matters, bundles (一件事) and the registry that holds them.

The bundled sample matters are loaded through the same `MatterRegistry.register` a deployment uses
for its own. Matters are versioned like knowledge: registering a higher version makes it current,
older versions stay readable so a session keeps the version it started with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import CatalogError, UnknownMatterError
from kb.models import Audience
from policy.eligibility import (
    Op as Op,  # one operator vocabulary for pre-review rules and policy conditions (re-exported)
)

log = logging.getLogger(__name__)


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    ENUM = "enum"
    ADDRESS = "address"
    BOOLEAN = "boolean"


def _when(value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"`when` must be a mapping of situation id to value(s), got {value!r}")
    return {str(k): tuple(str(x) for x in (v if isinstance(v, list | tuple) else [v])) for k, v in value.items()}


class Option(Value):
    value: str
    label: str
    keywords: tuple[str, ...] = ()


class Situation(Value):
    """A 情形 question whose answer changes materials or pre-review rules."""

    id: str
    question: str
    options: tuple[Option, ...]

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


class Material(Value):
    id: str
    name: str
    copies: int | None = None
    elicence: str | None = None  # an e-licence type that covers this material (免交) when valid
    when: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("when", mode="before")
    @classmethod
    def _norm_when(cls, v: Any) -> dict[str, tuple[str, ...]]:
        return _when(v)


class ValidatorSpec(Value):
    """A named validator with arguments: `id_card`, `mobile`, `range` (lo, hi), `enum` (values)."""

    name: str
    args: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> ValidatorSpec | None:
        if raw is None or isinstance(raw, ValidatorSpec):
            return raw
        if isinstance(raw, str):
            return cls(name=raw)
        if isinstance(raw, dict) and len(raw) == 1:
            (name, args), = raw.items()
            return cls(name=str(name), args=tuple(args) if isinstance(args, list | tuple) else (args,))
        if isinstance(raw, dict) and "name" in raw:
            return cls(name=str(raw["name"]), args=tuple(raw.get("args") or ()))
        raise ValueError(f"validator {raw!r} is not a name or a one-key mapping like {{range: [1, 100]}}")


class FormField(Value):
    name: str
    label: str
    type: FieldType
    required: bool = False
    validator: ValidatorSpec | None = None
    prefill: str | None = None  # profile.<field> or elicence.<type>.<field>
    help: str | None = None
    options: tuple[str, ...] = ()

    @field_validator("validator", mode="before")
    @classmethod
    def _norm_validator(cls, v: Any) -> ValidatorSpec | None:
        return ValidatorSpec.parse(v)


class Check(Value):
    field: str
    op: Op
    value: Any = None


class PrereviewRule(Value):
    """A 智能预审 rule: when `when` holds, `check` should hold; otherwise `message` explains, citing `cite`."""

    id: str
    when: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    check: Check
    message: str
    cite: str

    @field_validator("when", mode="before")
    @classmethod
    def _norm_when(cls, v: Any) -> dict[str, tuple[str, ...]]:
        return _when(v)


class Matter(Value):
    """A government service matter (事项) with its situations, materials, form and pre-review rules."""

    id: str
    version: int = 1
    name: str
    department: str
    audience: Audience
    aliases: tuple[str, ...] = ()
    description: str = ""
    examples: tuple[str, ...] = ()
    knowledge: tuple[str, ...] = ()  # cited knowledge item ids, the guide first
    requires_staff_approval: bool = False
    produces: str | None = None  # the e-licence type this matter issues (营业执照 business_license, …)
    situations: tuple[Situation, ...] = ()
    materials: tuple[Material, ...] = ()
    form: tuple[FormField, ...] = ()
    prereview: tuple[PrereviewRule, ...] = ()

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.form if f.name == name), None)

    def situation(self, situation_id: str) -> Situation | None:
        return next((s for s in self.situations if s.id == situation_id), None)

    @property
    def guide(self) -> str | None:
        return next((k for k in self.knowledge if k.startswith("guide-")), self.knowledge[0] if self.knowledge else None)

    def deciding_situations(self) -> list[Situation]:
        """Situations whose answer changes a material or a pre-review rule; only these are asked."""
        used: set[str] = set()
        for m in self.materials:
            used |= set(m.when)
        for r in self.prereview:
            used |= set(r.when)
            used.add(r.check.field)
        return [s for s in self.situations if s.id in used]


class MatterBundle(Value):
    """一件事: matters done one after the other, with fields carried over between them."""

    id: str
    version: int = 1
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    examples: tuple[str, ...] = ()
    matters: tuple[str, ...]
    carry_over: tuple[str, ...] = ()


class CatalogEntry(Value):
    """What matter identification sees of a matter or bundle. A bare-titles catalogue has only id and title."""

    id: str
    title: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    examples: tuple[str, ...] = ()
    knowledge: tuple[str, ...] = ()
    kind: str = "matter"  # matter | bundle
    members: tuple[str, ...] = ()  # a bundle's matters

    def bare(self) -> CatalogEntry:
        return CatalogEntry(id=self.id, title=self.title, kind=self.kind, members=self.members)


def entry_of(m: Matter | MatterBundle, knowledge: Iterable[str] = ()) -> CatalogEntry:
    if isinstance(m, Matter):
        return CatalogEntry(id=m.id, title=m.name, aliases=m.aliases, description=m.description,
                            examples=m.examples, knowledge=m.knowledge, kind="matter")
    return CatalogEntry(id=m.id, title=m.name, aliases=m.aliases, description=m.description,
                        examples=m.examples, knowledge=tuple(knowledge), kind="bundle", members=m.matters)


_Entry = TypeVar("_Entry", Matter, MatterBundle)


class MatterRegistry:
    """Holds every version of every matter and bundle; the highest registered version is current."""

    def __init__(self) -> None:
        self._matters: dict[str, dict[int, Matter]] = {}
        self._bundles: dict[str, dict[int, MatterBundle]] = {}

    # -- registration --------------------------------------------------------------------------
    def register(self, entry: Matter | MatterBundle) -> None:
        """Register a matter or bundle version. Re-registering identical content is a no-op."""
        if isinstance(entry, Matter):
            self._add(self._matters, self._bundles, entry)
        else:
            self._add(self._bundles, self._matters, entry)

    def _add(self, table: dict[str, dict[int, _Entry]], other: dict[str, Any], entry: _Entry) -> None:
        if entry.id in other:
            raise CatalogError(f"id {entry.id!r} is already registered as a {'bundle' if other is self._bundles else 'matter'}; "
                               "matter ids start with m-, bundle ids with b-")
        versions = table.setdefault(entry.id, {})
        old = versions.get(entry.version)
        if old is not None and old != entry:
            raise CatalogError(f"{entry.id!r} version {entry.version} is already registered with other content; "
                               f"bump `version` to {max(versions) + 1}")
        versions[entry.version] = entry

    def load_folder(self, folder: Path) -> int:
        """Register every `matters/*.yaml` and `bundles/*.yaml` under `folder`; return how many."""
        if not folder.is_dir():
            raise CatalogError(f"matter folder {str(folder)!r} does not exist; point it at a folder with matters/ and bundles/")
        n = 0
        for path in sorted((folder / "matters").glob("*.y*ml")):
            self.register(_parse(Matter, path))
            n += 1
        for path in sorted((folder / "bundles").glob("*.y*ml")):
            self.register(_parse(MatterBundle, path))
            n += 1
        self.check()
        return n

    @classmethod
    def from_folder(cls, folder: Path) -> MatterRegistry:
        reg = cls()
        reg.load_folder(folder)
        return reg

    def check(self) -> None:
        """Cross-references: bundle matters exist and carried-over fields are in their forms."""
        for bundle in self.bundles():
            for mid in bundle.matters:
                if mid not in self._matters:
                    raise CatalogError(f"bundle {bundle.id!r} lists unknown matter {mid!r}; register the matter first")
            for name in bundle.carry_over:
                if not any(self.matter(mid).field(name) for mid in bundle.matters):
                    raise CatalogError(f"bundle {bundle.id!r} carries over {name!r}, which no matter's form has")

    # -- lookup --------------------------------------------------------------------------------
    def matter(self, matter_id: str, version: int | None = None) -> Matter:
        return self._get(self._matters, matter_id, version, "matter")

    def bundle(self, bundle_id: str, version: int | None = None) -> MatterBundle:
        return self._get(self._bundles, bundle_id, version, "bundle")

    def is_bundle(self, entry_id: str) -> bool:
        return entry_id in self._bundles

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._matters or entry_id in self._bundles

    def _get(self, table: dict[str, dict[int, _Entry]], key: str, version: int | None, what: str) -> _Entry:
        versions = table.get(key)
        if not versions:
            raise UnknownMatterError(f"no {what} {key!r} in the catalogue; list them with `qingsong matters`")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise UnknownMatterError(f"{what} {key!r} has no version {version}; known: {sorted(versions)}")
        return versions[version]

    def matters(self) -> list[Matter]:
        return [v[max(v)] for _, v in sorted(self._matters.items())]

    def bundles(self) -> list[MatterBundle]:
        return [v[max(v)] for _, v in sorted(self._bundles.items())]

    def bundles_with(self, matter_id: str) -> list[MatterBundle]:
        return [b for b in self.bundles() if matter_id in b.matters]

    def title(self, entry_id: str) -> str:
        return (self.bundle(entry_id) if self.is_bundle(entry_id) else self.matter(entry_id)).name

    def entries(self) -> list[CatalogEntry]:
        """Identification view of the current matters and bundles (a bundle cites its matters' knowledge)."""
        out = [entry_of(m) for m in self.matters()]
        for b in self.bundles():
            out.append(entry_of(b, dict.fromkeys(k for mid in b.matters for k in self.matter(mid).knowledge[:1])))
        return out

    def __iter__(self) -> Iterator[Matter]:
        return iter(self.matters())

    def __len__(self) -> int:
        return len(self._matters) + len(self._bundles)


def _parse(model: type[Matter] | type[MatterBundle], path: Path) -> Any:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return model.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise CatalogError(f"{str(path)!r} is not a valid {model.__name__}: {exc}") from exc


def load_catalog_jsonl(path: Path) -> list[CatalogEntry]:
    """An evaluation catalogue: JSONL lines `{"id", "title"}` with optional `aliases`, `description`, `examples`."""
    out: list[CatalogEntry] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(CatalogEntry(
                id=str(d["id"]), title=str(d.get("title") or d.get("name")), aliases=tuple(d.get("aliases") or ()),
                description=d.get("description") or "", examples=tuple(d.get("examples") or ()),
                knowledge=tuple(d.get("knowledge") or ()), kind="bundle" if str(d["id"]).startswith("b-") or "一件事" in str(d.get("title")) else "matter",
            ))
        except (KeyError, ValueError, ValidationError) as exc:
            raise CatalogError(f"{str(path)!r} line {n} is not a catalogue entry {{\"id\",\"title\"}}: {exc}") from exc
    return out
