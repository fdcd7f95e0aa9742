"""Owner console ingest upload: POST /api/v1/knowledge/ingest runs a background job (drafts only, as the
uploader), GET /api/v1/knowledge/ingest/{id} reports progress and, when finished, the report. The uploaded
files are kept under $QINGSONG_HOME/uploads/<job id>/ so each draft's source_path exists."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.container import Container
from ingest.jobs import MAX_NAME_CHARS, keep_files, safe_name
from tests.api.conftest import auth

GUIDE = """---
id: {id}
kind: guide
title: {title}
owner: {owner}
level: 区
audience: 法人
effective_from: 2025-01-01
---
# {title}

## 申请条件
申请人为本区登记的企业。

## 申请材料
1. 申请书原件1份。
2. 营业执照（电子证照可免交）。

## 办理流程
网上申请，窗口受理，审核决定。

## 办理时限
5个工作日。

## 收费标准
不收费。

## 设定依据
《测试条例》第一条。
"""


def wait(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = client.get(f"/api/v1/knowledge/ingest/{job_id}", headers=headers)
        assert job.status_code == 200, job.text
        body = job.json()
        assert {"stage", "done", "total"} <= set(body)
        if body["status"] in ("finished", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_upload_creates_drafts_of_my_unit_and_reports_rejections(client: TestClient, tokens: dict[str, str]) -> None:
    owner = auth(tokens["owner"])  # demo owner of sj-scjgj
    files = [
        ("files", ("mine.md", GUIDE.format(id="guide-upload-mine", title="上传测试事项", owner="sj-scjgj").encode(),
                   "text/markdown")),
        ("files", ("other.md", GUIDE.format(id="guide-upload-other", title="他人单位事项", owner="sh-gjj").encode(),
                   "text/markdown")),
        ("files", ("broken.md", "---\nid: guide-broken\nkind: guide\n---\n没有标题也没有章节".encode(), "text/markdown")),
    ]
    started = client.post("/api/v1/knowledge/ingest", files=files, headers=owner)
    assert started.status_code == 202, started.text
    job = wait(client, started.json()["id"], owner)
    assert job["status"] == "finished" and job["stage"] == "done", job
    report = job["report"]
    assert report["created"] == 1 and report["published"] is False
    assert [(o["source"], o["item_id"], o["action"]) for o in report["outcomes"]] == [
        ("mine.md", "guide-upload-mine", "create")]
    messages = {m["source"]: m["message"] for m in report["messages"]}
    assert "may not author items of unit 'sh-gjj'" in messages["other.md"]
    assert "broken.md" in messages and "/uploads/" not in str(report)  # the server's folders stay private

    item = client.get("/api/v1/knowledge/items/guide-upload-mine", headers=owner).json()
    assert (item["owner"], item["status"], item["current_version"]) == ("sj-scjgj", "draft", None)
    assert client.get("/api/v1/knowledge/items/guide-upload-other", headers=owner).status_code == 404
    versions = client.get("/api/v1/knowledge/items/guide-upload-mine/versions", headers=owner).json()["items"]
    me = client.get("/api/v1/me", headers=owner).json()["account_id"]
    assert [(v["state"], v["author"]) for v in versions] == [("draft", me)]

    # Only the uploader (or an admin) sees the job; citizens and reviewers may not upload.
    assert client.get(f"/api/v1/knowledge/ingest/{job['id']}", headers=auth(tokens["reviewer"])).status_code == 404
    assert client.get(f"/api/v1/knowledge/ingest/{job['id']}", headers=auth(tokens["admin"])).status_code == 200
    denied = client.post("/api/v1/knowledge/ingest", files=files[:1], headers=auth(tokens["reviewer"]))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/knowledge/ingest", files=files[:1]).status_code == 401


def test_upload_limits(client: TestClient, tokens: dict[str, str]) -> None:
    owner = auth(tokens["owner"])
    bad = client.post("/api/v1/knowledge/ingest", files=[("files", ("run.exe", b"MZ", "application/octet-stream"))],
                      headers=owner)
    assert bad.status_code == 422 and "unsupported file type: run.exe" in bad.json()["error"]["message"]
    big = client.post("/api/v1/knowledge/ingest", files=[("files", ("big.md", b"x" * (11 * 1024 * 1024), "text/markdown"))],
                      headers=owner)
    assert big.status_code in (413, 422) and big.json()["error"]["code"] in ("payload_too_large", "invalid_request")
    assert client.get("/api/v1/knowledge/ingest/ingest-404", headers=owner).status_code == 404


def test_uploaded_file_is_kept_as_the_drafts_source(client: TestClient, tokens: dict[str, str],
                                                     api_container: Container) -> None:
    owner = auth(tokens["owner"])
    body = GUIDE.format(id="guide-upload-kept", title="保留源文件测试", owner="sj-scjgj").encode()
    started = client.post("/api/v1/knowledge/ingest", files=[("files", ("../../../etc/上传 指南.md", body, "text/markdown"))],
                          headers=owner)
    assert started.status_code == 202, started.text
    job = wait(client, started.json()["id"], owner)
    assert job["status"] == "finished" and job["files"] == ["上传_指南.md"], job
    assert [o["source"] for o in job["report"]["outcomes"]] == ["上传_指南.md"]

    source = Path(api_container.kb.store.get_item("guide-upload-kept").source_path or "")
    folder = (api_container.settings.home / "uploads" / job["id"]).resolve()
    assert source == folder / "上传_指南.md" and source.read_bytes() == body
    assert [p.name for p in folder.iterdir()] == ["上传_指南.md"]  # nothing escaped the job's folder


@pytest.mark.unit
def test_safe_names_stay_inside_the_folder() -> None:
    taken: set[str] = set()
    assert safe_name("../../etc/passwd.md", taken) == "passwd.md"
    assert safe_name("..\\..\\windows\\a b.md", taken) == "a_b.md"
    assert safe_name(".hidden.md", taken) == "hidden.md"
    assert safe_name("passwd.md", taken) == "passwd-2.md"
    assert safe_name("..", taken) == "upload"
    long = safe_name("长" * 300 + ".pdf", taken)
    assert long == "长" * MAX_NAME_CHARS + ".pdf" and len(long.encode()) < 255


@pytest.mark.unit
def test_keep_files_writes_a_new_folder_per_job(tmp_path: Path) -> None:
    folder, names = keep_files(tmp_path / "uploads", "ingest-1", [("a.md", b"A"), ("sub/a.md", b"B")])
    assert folder == tmp_path / "uploads" / "ingest-1" and names == ["a.md", "a-2.md"]
    assert (folder / "a.md").read_bytes() == b"A" and (folder / "a-2.md").read_bytes() == b"B"
    assert folder.stat().st_mode & 0o777 == 0o700
    with pytest.raises(FileExistsError):  # a job id is never reused: its files are not overwritten
        keep_files(tmp_path / "uploads", "ingest-1", [("c.md", b"C")])
    assert (folder / "a.md").read_bytes() == b"A"


def test_a_job_started_by_one_worker_is_visible_to_another(kb: Any, tmp_path: Path) -> None:
    """API workers are separate processes: a progress poll may reach a worker that did not start the job."""
    from api.container import SYSTEM
    from ingest.jobs import IngestJobs
    from tests.ingest.sources import GUIDE

    worker_a, worker_b = IngestJobs(engine=kb.store.engine), IngestJobs(engine=kb.store.engine)
    text = GUIDE.format(id="guide-upload-shared", title="跨进程上传测试", days=3).encode("utf-8")
    job = worker_a.start(kb, SYSTEM, "acc-admin", [("跨进程.md", text)], tmp_path / "uploads")
    deadline = time.monotonic() + 60
    while worker_a.get(job.id).status not in ("finished", "failed") and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.1)
    seen = worker_b.get(job.id)
    assert seen is not None and seen.account_id == "acc-admin"
    assert seen.public() == worker_a.get(job.id).public()  # type: ignore[union-attr]
    assert seen.status == "finished" and seen.report and seen.report["created"] == 1
    assert worker_b.get("ingest-0000000000000000") is None
