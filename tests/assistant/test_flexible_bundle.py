"""Birth bundle details said the way parents say them (issue #12 item 4), and corrected counts.

Unit level (the slot filler over the sample matters, no model): a child's sex said as 男孩/闺女/小姑娘 fills the
birth form's 性别 and never an adult's; "领了证的"/"结过婚" settle the marriage question; a count corrected to a
total keeps the total. Production wiring: a birth bundle whose first step is already an e-licence, with the sex
and the marriage said in the first message, reaches the confirmation page without asking them again.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import MatterRegistry
from assistant.engine import Assistant
from assistant.extractors import default_extractors
from assistant.models import Outcome
from assistant.slots import SlotFiller, detect_situations
from assistant.validators import default_validators
from guardrails import pii
from tests.assistant.test_safety import say
from tests.conftest import SAMPLES

TODAY = dt.date(2026, 12, 5)
REG = MatterRegistry.from_folder(SAMPLES / "matters")
FILLER = SlotFiller(default_extractors(), default_validators(pii))


def _proposed(matter_id: str, text: str, expected: str | None = None) -> dict[str, object]:
    m = REG.matter(matter_id)
    asked = m.field(expected) if expected else None
    return {f.name: v for f, v in FILLER.proposals(text, m, asked, TODAY) if FILLER.check(f, v)[1].ok}


@pytest.mark.unit
@pytest.mark.parametrize(("text", "sex"), [
    ("孩子是11月3号生的 是个闺女", "女"),
    ("生了个大胖小子", "男"),
    ("小人是女小囡 上礼拜生的", "女"),
    ("男宝宝 11月10号出生", "男"),
])
def test_a_childs_sex_said_in_family_words(text: str, sex: str) -> None:
    assert _proposed("m-hukou-birth-registration", text).get("child_gender") == sex


@pytest.mark.unit
def test_family_words_never_set_an_adults_sex() -> None:
    # 性别 of the applicant on other forms comes from the record; "我儿子" is about the son, not the applicant
    assert "gender" not in _proposed("m-flexible-employment-ss", "我儿子帮我问的 我要交灵活就业社保")


@pytest.mark.unit
@pytest.mark.parametrize("text", ["我们是领了证的", "两个人早就结过婚", "伊拉老早领过证了"])
def test_marriage_said_with_the_particle_inside(text: str) -> None:
    m = REG.matter("m-hukou-birth-registration")
    assert detect_situations(text, m, {}).get("parents_married") == "married"


@pytest.mark.unit
def test_a_negated_marriage_is_not_married() -> None:
    m = REG.matter("m-hukou-birth-registration")
    assert detect_situations("我们还没领证", m, {}).get("parents_married") != "married"


@pytest.mark.unit
def test_a_corrected_count_keeps_the_total() -> None:
    got = _proposed("m-road-freight-permit", "3辆 哦不对 又添了两辆 总共5辆", "vehicle_count")
    assert got.get("vehicle_count") == 5


@pytest.mark.e2e
def test_birth_bundle_from_the_second_step_with_details_said_first(real_assistant: Assistant) -> None:
    real_assistant.deps.today = lambda: TODAY
    first, consent = say(real_assistant, ["出生一件事 帮我办掉 户口跟妈妈 阿拉是领了证的 是个女小囡 11月10号生的", "同意"],
                         profile="c-sample-wangfang")
    assert first.outcome == Outcome.COLLECTING and first.matter is not None
    assert first.matter.id == "m-hukou-birth-registration"
    assert consent.outcome == Outcome.AWAITING_CONFIRMATION
    got = {s.name: s.value for s in consent.slots}
    assert got["child_gender"] == "女" and str(got["child_birth_date"]).startswith("2026-11-10")


@pytest.mark.unit
@pytest.mark.parametrize(("text", "day"), [
    ("退休日期写错了 单位说从6月1号开始算", dt.date(2026, 6, 1)),
    ("退休日期搞错了，单位那边讲要从7月1号算", dt.date(2026, 7, 1)),
])
def test_who_said_the_new_date_is_no_field(text: str, day: dt.date) -> None:
    got = _proposed("m-pension-claim", text)
    assert got.get("retire_date") == day and "employer" not in got
