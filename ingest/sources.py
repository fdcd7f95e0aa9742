"""Reading source files into raw records: Markdown with YAML front matter, JSON/JSONL, .docx, .pdf, .html.

Text files may be UTF-8 or GBK/GB18030 (many government files are). Binary formats take their
metadata from a sidecar `<file>.meta.yaml` and their sections from headings.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import SourceError

SUPPORTED = {".md", ".markdown", ".json", ".jsonl", ".docx", ".pdf", ".html", ".htm"}
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_CN_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|【)?\s*(\S{2,12}?)】?\s*[:：]?\s*$")


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings, so invalid ones get our error message, not PyYAML's."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> object:
    return yaml.load(text, Loader=_FrontMatterLoader)


@dataclass
class RawRecord:
    """Metadata plus ordered sections, before validation."""

    path: str
    meta: dict[str, Any]
    sections: list[tuple[str, str]] = field(default_factory=list)


def decode(data: bytes, path: str) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK/GB2312), then detection."""
    if not data.strip():
        raise SourceError(path, "file is empty", fix="remove it or add content")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "gb18030" and not re.search(r"[\u4e00-\u9fff]", text):
            continue
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise SourceError(path, "cannot detect the text encoding", fix="save the file as UTF-8")
    return str(best)


def discover(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith((".", "_"))
    )


def read_source(path: Path, max_bytes: int) -> list[RawRecord]:
    size = path.stat().st_size
    if size > max_bytes:
        raise SourceError(
            str(path), f"file is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:.0f} MB limit",
            fix="split it or raise QINGSONG_MAX_SOURCE_BYTES",
        )
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        return [parse_markdown(decode(data, str(path)), str(path))]
    if suffix == ".json":
        return _records_from_json(_load_json(decode(data, str(path)), str(path)), str(path))
    if suffix == ".jsonl":
        out: list[RawRecord] = []
        for n, line in enumerate(decode(data, str(path)).splitlines(), 1):
            if line.strip():
                out += _records_from_json(_load_json(line, f"{path}:{n}"), f"{path}:{n}")
        return out
    meta = _sidecar(path)
    if suffix == ".docx":
        sections = _docx_sections(data, str(path))
    elif suffix == ".pdf":
        sections = _pdf_sections(data, str(path))
    else:
        sections, title = _html_sections(decode(data, str(path)))
        meta.setdefault("title", title)
    return [RawRecord(str(path), meta, sections)]


def parse_markdown(text: str, path: str) -> RawRecord:
    m = _FRONT.match(text)
    if not m:
        raise SourceError(path, "no YAML front matter", fix="start the file with '---', the metadata, and '---'")
    try:
        meta = load_yaml(m.group(1))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where else ""
        raise SourceError(path, f"broken YAML front matter{line}: {getattr(exc, 'problem', exc)}",
                          fix="check colons, quotes and indentation") from exc
    if not isinstance(meta, dict):
        raise SourceError(path, "front matter is not a mapping of key: value", fix="use 'key: value' lines")
    return RawRecord(path, meta, markdown_sections(text[m.end():]))


def markdown_sections(body: str) -> list[tuple[str, str]]:
    """`##` headings start sections; `#` (the title line) and text before the first `##` are skipped."""
    sections: list[tuple[str, str]] = []
    heading: str | None = None
    lines: list[str] = []
    for line in body.splitlines():
        hm = _HEADING.match(line)
        if hm and len(hm.group(1)) == 2:
            if heading is not None:
                sections.append((heading, "\n".join(lines).strip()))
            heading, lines = hm.group(2).strip(), []
        elif hm and len(hm.group(1)) == 1:
            continue
        elif heading is not None:
            lines.append(line)
    if heading is not None:
        sections.append((heading, "\n".join(lines).strip()))
    return sections


def _load_json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


def _records_from_json(data: Any, path: str) -> list[RawRecord]:
    records = data if isinstance(data, list) else data.get("items", [data]) if isinstance(data, dict) else None
    if records is None:
        raise SourceError(path, "JSON must be an object, a list of objects or {'items': [...]}")
    out: list[RawRecord] = []
    for n, rec in enumerate(records):
        where = f"{path}#{n}" if len(records) > 1 else path
        if not isinstance(rec, dict):
            raise SourceError(where, "each record must be a JSON object")
        rec = dict(rec)
        raw = rec.pop("sections", None)
        if isinstance(raw, dict):
            sections = [(str(k), str(v)) for k, v in raw.items()]
        elif isinstance(raw, list):
            sections = [(str(s.get("heading", "")), str(s.get("text", ""))) for s in raw if isinstance(s, dict)]
        elif isinstance(rec.get("content"), str):
            sections = markdown_sections(rec.pop("content"))
        else:
            sections = []
        out.append(RawRecord(where, rec, sections))
    return out


def _sidecar(path: Path) -> dict[str, Any]:
    side = path.with_name(path.name + ".meta.yaml")
    if not side.exists():
        raise SourceError(str(path), "no metadata", fix=f"add {side.name} with id, kind, title, owner, dates")
    try:
        meta = load_yaml(decode(side.read_bytes(), str(side)))
    except yaml.YAMLError as exc:
        raise SourceError(str(side), f"broken YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise SourceError(str(side), "metadata must be a mapping of key: value")
    return meta


def _docx_sections(data: bytes, path: str) -> list[tuple[str, str]]:
    try:
        import docx

        doc = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for damaged files
        raise SourceError(path, f"cannot open .docx ({type(exc).__name__}); the file is damaged or truncated",
                          fix="re-export it from the word processor") from exc
    paras = [(p.style.name if p.style is not None else "", p.text.strip()) for p in doc.paragraphs]
    return _sections_from_lines([(style.lower().startswith(("heading", "标题")), text) for style, text in paras])


def _pdf_sections(data: bytes, path: str) -> list[tuple[str, str]]:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # pypdf raises several types for damaged files
        raise SourceError(path, f"cannot read .pdf ({type(exc).__name__}); the file is damaged or truncated",
                          fix="re-export the PDF") from exc
    if not text.strip():
        raise SourceError(path, "the PDF has no extractable text (a scan?)", fix="provide a text PDF or .docx")
    return _sections_from_lines([(False, line.strip()) for line in text.splitlines()])


def _html_sections(text: str) -> tuple[list[tuple[str, str]], str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "footer"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    lines: list[tuple[bool, str]] = []
    for el in soup.find_all(["h1", "h2", "h3", "p", "li", "td"]):
        t = el.get_text(" ", strip=True)
        if t:
            lines.append((el.name in ("h2", "h3"), t))
    return _sections_from_lines(lines), title


KNOWN_HEADINGS = (
    "适用对象", "申请条件", "办理条件", "申请材料", "办理流程", "办理时限", "收费标准", "设定依据", "办理地点", "咨询电话",
    "注意事项", "政策概述", "支持对象", "支持内容", "申报条件", "兑现方式", "政策依据", "适用事项", "审查内容", "退回情形",
    "审查依据", "问题", "答复",
)


def _sections_from_lines(lines: list[tuple[bool, str]]) -> list[tuple[str, str]]:
    """Headings are styled headings, or short lines naming a known section (e.g. '一、申请条件')."""
    sections: list[tuple[str, str]] = []
    heading: str | None = None
    body: list[str] = []
    for is_heading, text in lines:
        name = None
        m = _CN_HEADING.match(text)
        if m and m.group(1) in KNOWN_HEADINGS:
            name = m.group(1)
        elif is_heading and len(text) <= 20:
            name = text
        if name:
            if heading is not None:
                sections.append((heading, "\n".join(body).strip()))
            heading, body = name, []
        elif heading is not None and text:
            body.append(text)
    if heading is not None:
        sections.append((heading, "\n".join(body).strip()))
    return sections
