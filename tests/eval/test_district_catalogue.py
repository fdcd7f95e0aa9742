"""The SAMPLE district catalogue and its utterances pass their validator, and the validator
catches the mistakes it is there for."""

import importlib.util
import subprocess
import sys

import pytest

from kb.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "validate_catalogue", PROJECT_ROOT / "samples/matters/validate_catalogue.py")
assert _spec and _spec.loader
vc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vc)

GOOD = {
    "id": "c-ga-999", "title": "往来港澳通行证签注", "aliases": ["港澳签注", "去香港签注", "香港签注"],
    "department": "上海市公安局松江分局", "audience": "个人", "life_event": "出行", "enterprise_stage": None,
    "description": "持有效往来港澳通行证的，申请旅游、探亲等签注。", "knowledge_item": None, "matter_id": None,
    "online_entry": "一网通办 > 个人办事 > 公安 > 出入境",
}


def _errors(**changes):
    errors: list[str] = []
    vc.check_entry("t", {**GOOD, **changes}, {"guide-dibao"}, {"m-dibao": "最低生活保障申请"}, errors)
    return errors


def test_sample_catalogue_and_utterances_are_valid(capsys):
    assert vc.main() == []
    out = capsys.readouterr().out
    assert "district catalogue:" in out and "district utterances:" in out


@pytest.mark.parametrize("script", ["samples/matters/catalogue/source/author.py",
                                    "eval/datasets/matters_district/build.py"])
def test_generated_files_are_up_to_date(script):
    done = subprocess.run([sys.executable, script, "--check"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_well_formed_entry_passes():
    assert _errors() == []
    assert _errors(audience=["个人", "法人"], enterprise_stage="经营") == []
    assert _errors(matter_id="m-dibao", title="最低生活保障", aliases=["低保", "吃低保", "最低生活保障申请"],
                   knowledge_item="guide-dibao") == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"aliases": ["往来港澳通行证签注", "港澳签注", "香港签注"]}, "equal the title"),
    ({"aliases": ["港澳签注", "香港签注"]}, "3-8 aliases"),
    ({"life_event": "旅游"}, "life_event"),
    ({"audience": "法人", "life_event": None}, "enterprise_stage"),
    ({"audience": "企业"}, "audience"),
    ({"knowledge_item": "guide-nowhere"}, "knowledge_item"),
    ({"matter_id": "m-nowhere"}, "matter_id"),
    ({"matter_id": "m-dibao"}, "add it as an alias"),
    ({"id": "ga-1"}, "id"),
    ({"online_entry": "https://zwdt.sh.gov.cn"}, "online_entry"),
])
def test_a_bad_entry_is_named(changes, message):
    errors = _errors(**changes)
    assert errors and message in " ".join(errors)


def test_near_duplicate_titles_are_caught_but_real_siblings_are_not():
    def entry(i: int, title: str) -> dict[str, str]:
        return {"id": f"c-x-{i:03d}", "title": title}
    pairs = vc.near_duplicates([entry(1, "居民身份证换领"), entry(2, "居民身份证（换领）"),
                                entry(3, "公司注销登记"), entry(4, "分公司注销登记"),
                                entry(5, "食品经营许可证核发"), entry(6, "食品经营许可变更、延续")])
    assert [(a[0], b[0]) for a, b in pairs] == [("c-x-001", "c-x-002")]
