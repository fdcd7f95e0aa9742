"""Negation in requests (issue #12): "不是X" excludes X; "都不是，就是Y" keeps Y."""

from __future__ import annotations

import pytest

from assistant.negation import excludes, split_negation

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "kept", "excluded"), [
    ("不是低保！我是想问残疾人证怎么办", "我是想问残疾人证怎么办", ("低保",)),
    ("不是低保！帮我办登记吧", "帮我办登记吧", ("低保",)),
    ("都不是，就是租房备案", "就是租房备案", ()),
    ("我不办营业执照，我要刻章", "我要刻章", ("营业执照",)),
    ("公积金提取不办了，帮我查下社保", "帮我查下社保", ("公积金提取",)),
    ("我想办居住证", "我想办居住证", ()),
    ("不是的", "不是的", ()),
])
def test_split_negation(text: str, kept: str, excluded: tuple[str, ...]) -> None:
    n = split_negation(text)
    assert n.kept == kept and n.excluded == excluded


def test_none_of_the_shown_choices() -> None:
    assert split_negation("都不是，就是租房备案").none_of_shown
    assert not split_negation("就是租房备案").none_of_shown


def test_excluded_matters_match_by_title_or_alias() -> None:
    n = split_negation("不是低保！帮我办登记吧")
    assert excludes(n, ["最低生活保障申请", "低保"])
    assert not excludes(n, ["个体工商户设立登记", "开店"])
