"""Validators decide (table-driven), with the checksum rules of guardrails.pii."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import FieldType, FormField, ValidatorSpec
from assistant.validators import default_validators
from guardrails import pii

pytestmark = pytest.mark.unit
V = default_validators(pii)


@pytest.mark.parametrize(("name", "args", "value", "ok", "normalised"), [
    ("id_card", (), "310117198803120113", True, "310117198803120113"),
    ("id_card", (), "31011719951111113x", True, "31011719951111113X"),  # lower-case x accepted, upper-cased
    ("id_card", (), "310117198803120112", False, None),  # wrong check digit
    ("id_card", (), "3101171988031201", False, None),  # 16 digits
    ("uscc", (), "92310117MA7XC0056G", True, "92310117MA7XC0056G"),
    ("uscc", (), "92310117MA7XC0056H", False, None),
    ("uscc", (), "9231", False, None),
    ("mobile", (), "13800001001", True, "13800001001"),
    ("mobile", (), "138 0000 1001", True, "13800001001"),
    ("mobile", (), "12345", False, None),
    ("mobile", (), "23800001001", False, None),
    ("date", (), "2026-12-01", True, dt.date(2026, 12, 1)),
    ("date", (), "明天", False, None),
    ("enum", ("男", "女"), "女", True, "女"),
    ("enum", ("男", "女"), "其他", False, None),
    ("range", (1, 10000), 40, True, 40),
    ("range", (1, 10000), 20000, False, None),
    ("range", (0.5, 100), 0.4, False, None),
])
def test_validator_table(name: str, args: tuple, value: object, ok: bool, normalised: object) -> None:
    result = V.run(ValidatorSpec(name=name, args=args), value)
    assert result.ok is ok, result.reason
    if ok:
        assert result.value == normalised
    else:
        assert result.reason  # always says why, in Chinese


def test_reasons_never_echo_a_full_identifier() -> None:
    r = V.run(ValidatorSpec(name="id_card"), "310117198803120112")
    assert "310117198803120112" not in (r.reason or "")


def test_field_type_checks_run_before_the_named_validator() -> None:
    area = FormField(name="a", label="面积（平方米）", type=FieldType.NUMBER, validator=ValidatorSpec(name="range", args=(1, 10)))
    assert V.validate(area, "abc").ok is False
    assert V.validate(area, "5").value == 5
    count = FormField(name="n", label="人数", type=FieldType.INTEGER)
    assert V.validate(count, 2.5).ok is False
    assert V.validate(count, 3.0).value == 3


def test_unknown_validator_names_the_registered_ones() -> None:
    with pytest.raises(Exception, match="known"):
        V.run(ValidatorSpec(name="nope"), "x")


def test_deployments_register_their_own_validator() -> None:
    reg = default_validators(pii)
    from assistant.validators import Validation

    reg.register("even", lambda v, a: Validation.accept(v) if int(v) % 2 == 0 else Validation.reject("需为偶数"))
    assert reg.run(ValidatorSpec(name="even"), 4).ok and not reg.run(ValidatorSpec(name="even"), 3).ok
