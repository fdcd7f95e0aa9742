"""Where a 一件事 starts and which steps a message names (assistant/bundles.py), said the way people say it."""

from __future__ import annotations

import pytest

from assistant import bundles
from assistant.catalog import MatterRegistry
from tests.conftest import SAMPLES

pytestmark = pytest.mark.unit
REG = MatterRegistry.from_folder(SAMPLES / "matters")


@pytest.mark.parametrize(("bundle", "text", "step"), [
    ("b-open-company", "企业开办一件事，执照和章都弄好了，从税务那步开始", 2),
    ("b-open-company", "企业开办一件事，开公司从注册到刻章领发票一起办", 0),
    ("b-open-company", "从刻章开始办", 1),
    ("b-retire", "退休一件事，养老金那块单位已经帮我办好了，现在要取公积金", 1),
    ("b-open-shop", "开店一件事，执照和食品许可都有了，只剩招牌没办", 2),
    ("b-open-shop", "开店的手续一起办", 0),
    ("b-birth", "出生一件事，就差社保卡了", 2),
])
def test_the_bundle_starts_at_the_step_named(bundle: str, text: str, step: int) -> None:
    assert bundles.start_step(REG, REG.bundle(bundle), text) == step


@pytest.mark.parametrize(("text", "done"), [
    ("出生证医院已经给了，跳过这步", True), ("执照和章都弄好了", True), ("营业执照已经拿到了", True),
    ("跳过", True), ("执照还没下来", False), ("不跳过，要办", False),
])
def test_a_step_said_done(text: str, done: bool) -> None:
    assert bundles.says_done(text) is done


def test_naming_several_steps_names_their_bundle() -> None:
    text = "听朋友说要办执照、办食品许可，还有门口的招牌也要审批"
    assert bundles.named_steps(REG, REG.bundle("b-open-shop"), text) == {0, 1, 2}
    assert len(bundles.named_steps(REG, REG.bundle("b-open-company"), text)) < 2
