import pytest

from kb.chunking import chunk_version
from kb.models import Section, VersionContent
from kb.text import JiebaTokenizer, normalize, split_sentences

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("申请条件：\u3000年满18周岁", "申请条件： 年满18周岁"),
        ("第一行\r\n第二行", "第一行\n第二行"),
        ("费用，不收费；时限！", "费用，不收费；时限！"),  # Chinese punctuation is kept
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_split_sentences_keeps_punctuation() -> None:
    assert split_sentences("受理。审核；发证！结束") == ["受理。", "审核；", "发证！", "结束"]


def test_user_dictionary_keeps_titles_whole() -> None:
    tk = JiebaTokenizer(["老年综合津贴"]).warm_up()
    assert "老年综合津贴" in tk.cut("我妈想申请老年综合津贴")
    tokens = tk.tokens("请问怎么申请老年综合津贴呢？")
    assert "老年综合津贴" in tokens and "怎么" not in tokens and "？" not in tokens


def test_chunks_follow_sections_and_carry_title() -> None:
    long = "。".join(f"第{i}项材料需要提交原件和复印件各一份" for i in range(40)) + "。"
    content = VersionContent(title="测试指南", sections=(Section(heading="申请材料", text=long),
                                                        Section(heading="收费标准", text="不收费。")))
    chunks = chunk_version("guide-x", 3, content, target_chars=200)
    assert [c.id for c in chunks][:2] == ["guide-x:3:0", "guide-x:3:1"]
    assert {c.section for c in chunks} == {"申请材料", "收费标准"}
    assert all(c.text.startswith("测试指南｜") for c in chunks)
    assert max(len(c.text) for c in chunks if c.section == "申请材料") < 320
    assert chunks[-1].text == "测试指南｜收费标准：不收费。"
