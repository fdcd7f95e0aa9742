"""Validators decide whether a proposed slot value is acceptable. Built-ins are registered through the
same `ValidatorRegistry.register` a deployment uses for its own.

A validator gets the proposed value and the spec's arguments and returns a `Validation`: the
normalised value, or a Chinese reason the citizen can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant.catalog import FieldType, FormField, ValidatorSpec
from assistant.errors import ValidatorNotFoundError
from assistant.ports import PiiChecks


class Validation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    value: Any = None
    reason: str | None = None

    @classmethod
    def accept(cls, value: Any) -> Validation:
        return cls(ok=True, value=value)

    @classmethod
    def reject(cls, reason: str) -> Validation:
        return cls(ok=False, reason=reason)


ValidatorFn = Callable[[Any, tuple[Any, ...]], Validation]


class ValidatorRegistry:
    def __init__(self) -> None:
        self._fns: dict[str, ValidatorFn] = {}

    def register(self, name: str, fn: ValidatorFn) -> None:
        self._fns[name] = fn

    def names(self) -> list[str]:
        return sorted(self._fns)

    def run(self, spec: ValidatorSpec, value: Any) -> Validation:
        fn = self._fns.get(spec.name)
        if fn is None:
            raise ValidatorNotFoundError(f"validator {spec.name!r} is not registered; known: {self.names()}")
        return fn(value, spec.args)

    def validate(self, f: FormField, value: Any) -> Validation:
        """Type check (number, date, enum, boolean) first, then the field's named validator."""
        typed = _by_type(f, value)
        if not typed.ok or f.validator is None:
            return typed
        return self.run(f.validator, typed.value)


def _by_type(f: FormField, value: Any) -> Validation:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Validation.reject(f"没有识别到{f.label}，请再说一遍")
    if f.type in (FieldType.NUMBER, FieldType.INTEGER):
        try:
            num = float(value)
        except (TypeError, ValueError):
            return Validation.reject(f"{f.label}应当是数字，{value!r}不是数字")
        if f.type == FieldType.INTEGER:
            if num != int(num):
                return Validation.reject(f"{f.label}应当是整数，{value!r}不是整数")
            return Validation.accept(int(num))
        return Validation.accept(int(num) if num == int(num) else num)
    if f.type == FieldType.DATE:
        return validate_date(value, ())
    if f.type == FieldType.ENUM:
        return validate_enum(value, f.options)
    if f.type == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return Validation.accept(value)
        return Validation.reject(f"{f.label}请回答“是”或“否”")
    return Validation.accept(str(value).strip())


def validate_date(value: Any, args: tuple[Any, ...]) -> Validation:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return Validation.accept(value)
    try:
        return Validation.accept(dt.date.fromisoformat(str(value).strip()))
    except ValueError:
        return Validation.reject(f"{value!r}不是有效日期，请按“2026年12月1日”或“2026-12-01”的格式告诉我")


def validate_enum(value: Any, args: tuple[Any, ...]) -> Validation:
    options = [str(a) for a in args]
    if str(value) in options:
        return Validation.accept(str(value))
    return Validation.reject(f"{value!r}不在可选范围内，请从以下选项中选择：{'、'.join(options)}")


def validate_range(value: Any, args: tuple[Any, ...]) -> Validation:
    lo, hi = float(args[0]), float(args[1])
    try:
        num = float(value)
    except (TypeError, ValueError):
        return Validation.reject(f"{value!r}不是数字")
    if not lo <= num <= hi:
        return Validation.reject(f"{_fmt(num)}超出了允许范围（{_fmt(lo)}～{_fmt(hi)}），请核对后重新告诉我")
    return Validation.accept(value)


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")


def _pii_validators(pii: PiiChecks) -> dict[str, ValidatorFn]:
    def id_card(value: Any, args: tuple[Any, ...]) -> Validation:
        v = str(value).strip().upper()
        if not _ID_SHAPE.match(v):
            return Validation.reject(f"身份证号码应为18位（最后一位可以是X），{_mask(v)}的位数或格式不对")
        if not pii.valid_id_card(v):
            return Validation.reject(f"身份证号码{_mask(v)}的校验位不正确，请核对后重新输入")
        return Validation.accept(v)

    def uscc(value: Any, args: tuple[Any, ...]) -> Validation:
        v = str(value).strip().upper()
        if not _USCC_SHAPE.match(v):
            return Validation.reject(f"统一社会信用代码应为18位数字或大写字母，{v!r}的格式不对")
        if not pii.valid_uscc(v):
            return Validation.reject(f"统一社会信用代码{v}的校验码不正确，请对照营业执照核对")
        return Validation.accept(v)

    def mobile(value: Any, args: tuple[Any, ...]) -> Validation:
        v = re.sub(r"[\s-]", "", str(value))
        if not pii.valid_mobile(v):
            return Validation.reject(f"手机号码{_mask(v)}不正确，应为1开头的11位数字")
        return Validation.accept(v)

    return {"id_card": id_card, "uscc": uscc, "mobile": mobile}


def _mask(v: str) -> str:
    """Never echo a full identifier back into logs or replies."""
    return v if len(v) <= 7 else f"{v[:3]}…{v[-4:]}"


def default_validators(pii: PiiChecks) -> ValidatorRegistry:
    """The built-in validators, registered exactly like a deployment registers its own."""
    reg = ValidatorRegistry()
    for name, fn in _pii_validators(pii).items():
        reg.register(name, fn)
    reg.register("date", validate_date)
    reg.register("enum", validate_enum)
    reg.register("range", validate_range)
    return reg
