import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from api import db
from ingest.pipeline import run_ingest
from kb.embedders import CountingEmbedder, HashEmbedder
from kb.models import ItemStatus, Kind, SearchFilters
from kb.runtime import KnowledgeBase
from tests.ingest.sources import GUIDE, write_guide

pytestmark = pytest.mark.integration

def test_sample_kb_meets_the_brief(sample_container):
    """The bundled sample KB: ≥40 guides (个人 and 法人), ≥15 policies with 文号, ≥15 review points, ≥30 FAQs,
    owners over ≥8 units at all three levels, ≥3 items retired or expired."""
    store = sample_container.kb.store
    items = store.list_items()
    kinds = Counter(i.kind for i in items)
    assert kinds[Kind.GUIDE] >= 40 and kinds[Kind.POLICY] >= 15
    assert kinds[Kind.REVIEW_POINT] >= 15 and kinds[Kind.FAQ] >= 30
    guides = [i for i in items if i.kind == Kind.GUIDE]
    assert {a.value for g in guides for a in g.audience} == {"个人", "法人"}
    owners = {i.owner for i in items}
    assert len(owners) >= 8
    assert {i.level.value for i in items} == {"市", "区", "街镇"}
    for p in (i for i in items if i.kind == Kind.POLICY):
        assert store.get_version(p.id, p.latest_version).content.doc_number
    today = dt.date.today()
    retired = [i for i in items if i.status == ItemStatus.RETIRED]
    expired = [i for i in items if i.current_version and
               not store.get_version(i.id, i.current_version).in_force(today)]
    assert len(retired) + len(expired) >= 3
    live = sample_container.kb.retriever.live()
    for i in retired + expired:
        assert not any(h.item_id == i.id for h in sample_container.kb.retriever.search(i.title, top_k=10))
        assert i.id not in live or not live[i.id].in_force(today)


def test_reingest_unchanged_folder_writes_and_embeds_nothing(settings, tmp_path):
    emb = CountingEmbedder(HashEmbedder())
    kb = KnowledgeBase.build(settings, embedder=emb, migrate=db.upgrade)
    src = tmp_path / "src"
    write_guide(src)
    write_guide(src, "guide-demo-two", "另一个示范事项")
    first = run_ingest(src, kb, _admin(), publish=True)
    assert first.count("create") == 2 and first.embedded > 0
    generation, embedded = kb.store.generation(), emb.documents_embedded
    again = run_ingest(src, kb, _admin(), publish=True)
    assert again.changed == 0 and again.embedded == 0 and not again.skipped
    assert kb.store.generation() == generation and emb.documents_embedded == embedded


def test_changed_section_reembeds_only_its_chunks(settings, tmp_path):
    emb = CountingEmbedder(HashEmbedder())
    kb = KnowledgeBase.build(settings, embedder=emb, migrate=db.upgrade)
    src = tmp_path / "src"
    write_guide(src, days=3)
    run_ingest(src, kb, _admin(), publish=True)
    total_chunks = len(kb.store.chunks_for("guide-demo", 1))
    before = emb.documents_embedded
    write_guide(src, days=5)
    report = run_ingest(src, kb, _admin(), publish=True)
    assert report.count("new_version") == 1
    assert emb.documents_embedded - before == 1 < total_chunks
    assert kb.store.get_item("guide-demo").current_version == 2
    assert [h.version for h in kb.retriever.search("5个工作日", top_k=3, per_item=1) if h.item_id == "guide-demo"] == [2]
    assert kb.writer.verify().ok


def test_draft_without_publish_then_retire_missing(settings, tmp_path):
    kb = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    src = tmp_path / "src"
    path = write_guide(src)
    write_guide(src, "guide-stays", "保留事项")
    report = run_ingest(src, kb, _admin(), publish=False)
    assert report.count("create") == 2 and kb.store.get_item("guide-demo").status == ItemStatus.DRAFT
    assert kb.retriever.search("示范登记") == []
    run_ingest(src, kb, _admin(), publish=True)  # publishes the pending drafts, no new versions
    assert kb.store.get_item("guide-demo").latest_version == 1
    path.unlink()
    report = run_ingest(src, kb, _admin(), retire_missing=True)
    assert [o.item_id for o in report.outcomes if o.action == "retire"] == ["guide-demo"]
    assert kb.store.get_item("guide-demo").status == ItemStatus.RETIRED
    assert kb.store.get_item("guide-stays").status == ItemStatus.PUBLISHED


def test_a_metadata_change_in_a_source_is_a_new_draft_not_a_live_edit(settings, tmp_path):
    """Owner, level, audience and related items go live only with an approved, published version (#16)."""
    kb = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    src = tmp_path / "src"
    path = write_guide(src)
    run_ingest(src, kb, _admin(), publish=True)
    path.write_text(path.read_text(encoding="utf-8").replace("audience: 法人", "audience: 个人"), encoding="utf-8")
    report = run_ingest(src, kb, _admin(), publish=False)
    assert [(o.action, o.version, o.detail) for o in report.outcomes] == [("new_version", 2, "audience changed")]
    assert [a.value for a in kb.store.get_item("guide-demo").audience] == ["法人"]
    assert kb.retriever.search("示范登记", filters=SearchFilters(audience="个人")) == []  # type: ignore[arg-type]
    run_ingest(src, kb, _admin(), publish=True)  # publishes the pending version: now the audience changes
    assert [a.value for a in kb.store.get_item("guide-demo").audience] == ["个人"]
    assert kb.store.get_item("guide-demo").current_version == 2


def _admin():
    from api.container import SYSTEM

    return SYSTEM


def test_bad_files_are_reported_and_nothing_is_lost(settings, tmp_path):
    """GBK text, truncated docx/pdf, empty, 20 MB, broken front matter, and validation errors."""
    kb = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    src = tmp_path / "src"
    write_guide(src, "guide-good", "好的事项")
    run_ingest(src, kb, _admin(), publish=True)
    # GBK-encoded but valid: accepted
    (src / "gbk.md").write_bytes(GUIDE.format(id="guide-gbk", title="国标编码事项", days=2).encode("gbk"))
    (src / "empty.md").write_bytes(b"")
    (src / "huge.md").write_bytes(b"x" * (20 * 1024 * 1024))
    (src / "broken.md").write_text("---\nid: guide-broken\ntitle: [未闭合\n---\n## 申请条件\n内容\n", encoding="utf-8")
    (src / "nofront.md").write_text("# 只有标题\n正文", encoding="utf-8")
    (src / "truncated.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    (src / "truncated.docx.meta.yaml").write_text("id: guide-docx\nkind: guide\n", encoding="utf-8")
    (src / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    (src / "truncated.pdf.meta.yaml").write_text("id: guide-pdf\nkind: guide\n", encoding="utf-8")
    (src / "missing.md").write_text(GUIDE.format(id="guide-missing", title="缺节", days=1).replace("## 收费标准\n不收费。\n", ""),
                                    encoding="utf-8")
    (src / "owner.md").write_text(GUIDE.format(id="guide-owner", title="未知单位", days=1).replace("sj-scjgj", "nobody"),
                                  encoding="utf-8")
    (src / "date.md").write_text(GUIDE.format(id="guide-date", title="坏日期", days=1).replace("2024-01-01", "2024-13-45"),
                                 encoding="utf-8")
    (src / "dup.md").write_text(GUIDE.format(id="guide-good", title="重复", days=1), encoding="utf-8")
    report = run_ingest(src, kb, _admin(), publish=True)
    errors = dict(report.skipped)
    msgs = "\n".join(errors.values())
    assert "empty.md: file is empty" in msgs
    assert "huge.md: file is 20.0 MB, over the 10 MB limit" in msgs
    assert "broken.md: broken YAML front matter" in msgs
    assert "nofront.md: no YAML front matter" in msgs
    assert "truncated.docx: cannot open .docx" in msgs and "truncated.pdf: cannot read .pdf" in msgs
    assert "missing.md: field 'sections': a guide needs the section(s) 收费标准" in msgs
    assert "owner.md: field 'owner': unknown owner unit 'nobody'" in msgs
    assert "date.md: field 'effective_from': invalid date '2024-13-45'" in msgs
    assert "duplicate id 'guide-good'" in msgs and "fix:" in msgs
    created = {o.item_id for o in report.outcomes if o.action == "create"}
    assert created == {"guide-gbk"}
    assert kb.store.get_version("guide-gbk", 1).content.title == "国标编码事项"
    assert kb.store.get_item("guide-good").status == ItemStatus.PUBLISHED  # nothing lost
    assert kb.store.get_item("guide-good").latest_version == 1
    assert kb.writer.verify().ok


def test_json_jsonl_docx_pdf_html_sources(settings, tmp_path):
    import docx

    kb = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    src = tmp_path / "src"
    write_guide(src, "guide-md", "马克当事项")
    meta = {"kind": "faq", "owner": "sj-mzj", "audience": "个人", "effective_from": "2024-01-01"}
    (src / "faq.json").write_text(json.dumps({**meta, "id": "faq-json", "title": "结婚登记要预约吗？",
                                              "sections": {"问题": "结婚登记要预约吗？", "答复": "可以网上预约。"}},
                                             ensure_ascii=False), encoding="utf-8")
    (src / "faqs.jsonl").write_text("\n".join(json.dumps({**meta, "id": f"faq-jsonl-{n}", "title": f"问题{n}",
                                                          "content": f"## 问题\n问题{n}\n## 答复\n答复{n}。"},
                                                         ensure_ascii=False) for n in range(2)), encoding="utf-8")
    d = docx.Document()
    d.add_heading("公章刻制备案（文档版）", 1)
    for h, t in [("申请条件", "已领取营业执照。"), ("申请材料", "营业执照副本。"), ("办理流程", "网上申请。"),
                 ("办理时限", "即时办结。"), ("收费标准", "首套免费。"), ("设定依据", "国务院决定。")]:
        d.add_heading(h, 2)
        d.add_paragraph(t)
    d.save(src / "seal.docx")
    side = "id: {id}\nkind: guide\ntitle: {title}\nowner: sj-gaj\naudience: 法人\neffective_from: 2024-01-01\n"
    (src / "seal.docx.meta.yaml").write_text(side.format(id="guide-docx", title="公章刻制备案（文档版）"), encoding="utf-8")
    (src / "page.html").write_text(
        "<html><head><title>网页版指南</title></head><body><h2>申请条件</h2><p>年满18周岁。</p><h2>申请材料</h2>"
        "<ul><li>身份证。</li></ul><h2>办理流程</h2><p>窗口办理。</p><h2>办理时限</h2><p>当场办结。</p>"
        "<h2>收费标准</h2><p>不收费。</p><h2>设定依据</h2><p>某条例。</p><script>alert(1)</script></body></html>",
        encoding="utf-8")
    (src / "page.html.meta.yaml").write_text(side.format(id="guide-html", title="网页版指南").replace("sj-gaj", "sj-mzj"),
                                             encoding="utf-8")
    _write_pdf(src / "doc.pdf", ["Application conditions", "Materials"])
    (src / "doc.pdf.meta.yaml").write_text(side.format(id="guide-pdf", title="PDF guide"), encoding="utf-8")
    report = run_ingest(src, kb, _admin(), publish=True)
    created = {o.item_id for o in report.outcomes if o.action == "create"}
    assert {"guide-md", "faq-json", "faq-jsonl-0", "faq-jsonl-1", "guide-docx", "guide-html"} <= created
    # the English PDF has no recognisable sections, so it is rejected with the missing sections named
    assert any("doc.pdf" in s and "申请条件" in m for s, m in report.skipped)
    docx_v = kb.store.get_version("guide-docx", 1)
    assert docx_v.content.section("收费标准") == "首套免费。"
    html_v = kb.store.get_version("guide-html", 1)
    assert html_v.content.section("申请材料") == "身份证。" and "alert" not in str(html_v.content)
    assert kb.retriever.search("网上预约 结婚", top_k=1, filters=SearchFilters(kinds=(Kind.FAQ,)))[0].item_id == "faq-json"


def _write_pdf(path: Path, lines: list[str]) -> None:
    """A minimal one-page text PDF (Helvetica), enough for pypdf to extract text."""
    stream = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -20 Td" for line in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)


def test_machine_tags_record_source_and_reason(sample_container):
    item = sample_container.kb.store.get_item("guide-birth-medical-cert")
    machine = [t for t in item.tags if t.source.value != "author"]
    assert machine and all(t.reason and "vocab v1" in t.reason for t in machine)
    assert "出生" in item.tag_names


def test_pathological_or_overlong_items_are_refused_in_chinese_before_tokenising(kb, tmp_path):
    from ingest.parse import MAX_ITEM_CHARS

    src = tmp_path / "src"
    write_guide(src, item_id="guide-fine", title="正常")
    base = GUIDE.format(id="guide-repeat", title="重复字符", days=1)
    (src / "repeat.md").write_text(base.replace("经营者应当具有经营能力。", "啊" * 50_000), encoding="utf-8")
    long = GUIDE.format(id="guide-long", title="过长", days=1)
    text = "".join(f"第{i}条规定的内容各不相同，编号{i}。" for i in range(MAX_ITEM_CHARS // 10))
    (src / "long.md").write_text(long.replace("经营者应当具有经营能力。", text), encoding="utf-8")
    report = run_ingest(src, kb, _admin(), publish=True)
    msgs = "\n".join(m for _, m in report.skipped)
    assert "内容异常：大段重复字符" in msgs and "repeat.md" in msgs
    assert "内容过长" in msgs and "long.md" in msgs
    assert kb.store.find_item("guide-repeat") is None and kb.store.find_item("guide-long") is None
    assert kb.store.get_item("guide-fine").status == ItemStatus.PUBLISHED  # nothing else lost
